package httpget

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLocal: a regular file is read; a missing one is ErrNotFound; a
// directory, a FIFO (without waiting for a writer) and a file over the
// limit are refused, each saying what it is.
func TestLocal(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "doc")
	os.WriteFile(file, []byte("hello"), 0o644)
	fifo := filepath.Join(dir, "fifo")
	hasFIFO := syscall.Mkfifo(fifo, 0o644) == nil
	l := Limit{Max: 5, What: "doc", Field: "T.Max"}

	if got, err := ReadLocal(file, "file:///doc", l); err != nil || string(got) != "hello" {
		t.Errorf("regular file: %q, %v", got, err)
	}
	if _, err := ReadLocal(filepath.Join(dir, "missing"), "file:///missing", l); !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "file:///missing: ") {
		t.Errorf("missing: %v", err)
	}
	if _, err := ReadLocal(dir, "u", l); err == nil || err.Error() != dir+": a directory, not a file" {
		t.Errorf("directory: %v", err)
	}
	if hasFIFO {
		if _, err := ReadLocal(fifo, "u", l); err == nil || err.Error() != fifo+": a named pipe (FIFO), not a regular file" {
			t.Errorf("FIFO: %v", err)
		}
	}
	l.Max = 4
	var le *LimitError
	if _, err := OpenLocal(file, "file:///doc", l); !errors.As(err, &le) || le.URL != "file:///doc" {
		t.Errorf("over the limit: %v", err)
	}
}

func TestFileURL(t *testing.T) {
	for _, tc := range []struct {
		in, path string
		ok, err  bool
	}{
		{"file:///a/b%20c", "/a/b c", true, false},
		{"https://h/a", "", false, false},
		{"file://%zz", "", true, true},
	} {
		p, ok, err := FileURL(tc.in)
		if p != filepath.FromSlash(tc.path) || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("FileURL(%q) = %q, %v, %v", tc.in, p, ok, err)
		}
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f")
	for _, body := range []string{"first", "second, longer"} {
		if err := WriteAtomic(p, []byte(body[:3]), []byte(body[3:])); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); string(got) != body {
			t.Errorf("got %q, want %q", got, body)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "sub")); len(ents) != 1 {
		t.Errorf("%d files left, want 1 (no temporary file)", len(ents))
	}
	// A directory in the way: the error, and no temporary file left.
	os.Mkdir(filepath.Join(dir, "sub", "d"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "d", "x"), nil, 0o644)
	if err := WriteAtomic(filepath.Join(dir, "sub", "d"), []byte("x")); err == nil {
		t.Error("renamed over a non-empty directory")
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "sub")); len(ents) != 2 {
		t.Errorf("%d files left, want 2", len(ents))
	}
}

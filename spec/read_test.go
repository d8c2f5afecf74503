package spec

import (
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// ReadFile refuses what is not a regular file before opening it, and what
// is larger than the limit, whether the size is known up front or not.
func TestReadFile(t *testing.T) {
	fsys := fstest.MapFS{
		"ok.yml":   {Data: []byte("dependencies: [python]\n")},
		"big.yml":  {Data: bytes.Repeat([]byte("x"), 100)},
		"fifo.yml": {Mode: fs.ModeNamedPipe},
		"dev.yml":  {Mode: fs.ModeDevice | fs.ModeCharDevice},
		"dir.yml":  {Mode: fs.ModeDir},
	}
	if data, err := ReadFile(fsys, "ok.yml", 100); err != nil || string(data) != "dependencies: [python]\n" {
		t.Errorf("ok: %q %v", data, err)
	}
	var tl *TooLargeError
	if _, err := ReadFile(fsys, "big.yml", 99); !errors.As(err, &tl) || err.Error() != "big.yml is larger than the limit of 99 bytes (raise it with the max-file-size option)" {
		t.Errorf("big: %v", err)
	}
	for name, want := range map[string]string{"fifo.yml": "a named pipe (FIFO)", "dev.yml": "a character device", "dir.yml": "a directory"} {
		var nr *NotRegularError
		if _, err := ReadFile(fsys, name, 0); !errors.As(err, &nr) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	// An FS whose Stat shows a symlink (the frontend's) is read as it
	// resolves the link, and still bounded while reading.
	lfs := linkFS{target: bytes.Repeat([]byte("y"), 50)}
	if data, err := ReadFile(lfs, "link.yml", 50); err != nil || len(data) != 50 {
		t.Errorf("link: %d bytes, %v", len(data), err)
	}
	if _, err := ReadFile(lfs, "link.yml", 49); !errors.As(err, &tl) {
		t.Errorf("link over the limit: %v", err)
	}
}

// linkFS has one file, link.yml, that Stat shows as a symlink and Open
// reads as its target.
type linkFS struct{ target []byte }

func (l linkFS) Open(name string) (fs.File, error) {
	if name != "link.yml" {
		return nil, fs.ErrNotExist
	}
	return &linkFile{Reader: bytes.NewReader(l.target)}, nil
}

type linkFile struct{ *bytes.Reader }

func (f *linkFile) Stat() (fs.FileInfo, error) { return linkInfo{}, nil }
func (f *linkFile) Close() error               { return nil }

type linkInfo struct{}

func (linkInfo) Name() string       { return "link.yml" }
func (linkInfo) Size() int64        { return 8 }
func (linkInfo) Mode() fs.FileMode  { return fs.ModeSymlink | 0o777 }
func (linkInfo) ModTime() time.Time { return time.Time{} }
func (linkInfo) IsDir() bool        { return false }
func (linkInfo) Sys() any           { return nil }

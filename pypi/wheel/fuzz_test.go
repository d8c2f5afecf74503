package wheel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The seed corpus is in testdata/fuzz/FuzzRead/ (generated wheels: the
// .data schemes and entry points, a RECORD that does not match, a member
// that leaves the archive); go test runs it with the real wheel added
// below.

// FuzzRead feeds whole archives (zip directory, local headers, deflate
// streams, WHEEL, RECORD, entry_points.txt) to Read and Verify, and
// installs what they accept: each must succeed or return an *Error
// wrapping a sentinel, never panic, within small limits; an accepted wheel
// installs inside its layer, and its RECORD accounts for every file.
func FuzzRead(f *testing.F) {
	data, err := os.ReadFile(realWheel(f, "wheel-0.38.4-py3-none-any.whl"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("wheel-0.38.4-py3-none-any.whl", data)
	limits := Limits{MaxUnpackedSize: 8 << 20, MaxMetadataSize: 1 << 20, MaxMembers: 1000}
	sentinels := []error{ErrFormat, ErrUnsafePath, ErrMismatch, ErrTooLarge, ErrUnsupported}
	check := func(t *testing.T, err error) {
		t.Helper()
		var we *Error
		if !errors.As(err, &we) {
			t.Fatalf("error %v (%T) is not an *Error", err, err)
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error %v wraps no sentinel", err)
	}
	f.Fuzz(func(t *testing.T, filename string, data []byte) {
		if strings.ContainsAny(filename, "/\x00") || filename == "" {
			return
		}
		w, err := Read(bytesReader(data), int64(len(data)), filename, limits)
		if err != nil {
			check(t, err)
			return
		}
		if w.DistInfo == "" || w.Info == nil || w.Version.IsZero() {
			t.Fatalf("accepted a wheel without metadata: %+v", w)
		}
		for _, m := range w.files {
			if checkPath(m.name) != nil {
				t.Fatalf("accepted member %q", m.name)
			}
			if m.record == nil && !w.unhashed(m.name) {
				t.Fatalf("accepted member %q not in RECORD", m.name)
			}
		}
		if err := w.Verify(context.Background()); err != nil {
			check(t, err)
			return
		}
		dest := t.TempDir()
		p := filepath.Join(t.TempDir(), filename)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := Install(context.Background(), p, Options{Prefix: envPrefix, Dest: dest, Python: py312, Limits: limits})
		if err != nil {
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("install: %v (%T)", err, err)
			}
			return
		}
		got := regularFiles(t, filepath.Join(dest, envPrefix))
		if len(got) != len(res.Files) {
			t.Fatalf("installed %d files, Result has %d", len(got), len(res.Files))
		}
		if all := regularFiles(t, dest); len(all) != len(got) {
			t.Fatalf("%d files outside the prefix", len(all)-len(got))
		}
	})
}

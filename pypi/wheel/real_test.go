package wheel

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// zipContents reads every file of a wheel with archive/zip alone.
func zipContents(t *testing.T, p string) map[string]string {
	t.Helper()
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = string(b)
	}
	return out
}

// checkInstalledRecord reads an installed RECORD and checks every row
// against the file on disk; it returns the rows' paths relative to the
// prefix.
func checkInstalledRecord(t *testing.T, prefixDir, distInfo string) []string {
	t.Helper()
	recPath := path.Join(site, distInfo, "RECORD")
	data, err := os.ReadFile(filepath.Join(prefixDir, recPath))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(data), "\r\n") || strings.Count(string(data), "\n") != strings.Count(string(data), "\r\n") {
		t.Error("RECORD lines do not end in CRLF as pip writes them")
	}
	rows, err := ParseRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i, r := range rows {
		if i > 0 && rows[i-1].Path >= r.Path {
			t.Errorf("RECORD not sorted: %s after %s", r.Path, rows[i-1].Path)
		}
		p := path.Clean(path.Join(site, r.Path))
		paths = append(paths, p)
		if p == recPath {
			if r.Hash != "" || r.Size != -1 {
				t.Errorf("RECORD's own row %+v has a hash or size", r)
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(prefixDir, p))
		if err != nil {
			t.Errorf("RECORD row %s: %v", r.Path, err)
			continue
		}
		if r.Hash != hashOf(string(b)) || r.Size != int64(len(b)) {
			t.Errorf("RECORD row %s: %s,%d; the file has %s,%d", r.Path, r.Hash, r.Size, hashOf(string(b)), len(b))
		}
	}
	return paths
}

func TestInstallRealWheels(t *testing.T) {
	for _, tc := range []struct {
		wheel, distInfo string
		scripts         []string
		module          string
	}{
		// pip's launchers follow the target Python, not the one that
		// built the wheel (its entry_points.txt says pip3.11).
		{"pip-23.0.1-py3-none-any.whl", "pip-23.0.1.dist-info", []string{"pip", "pip3", "pip3.12"}, "from pip._internal.cli.main import main\n"},
		{"setuptools-66.1.1-py3-none-any.whl", "setuptools-66.1.1.dist-info", nil, ""},
		{"wheel-0.38.4-py3-none-any.whl", "wheel-0.38.4.dist-info", []string{"wheel"}, "from wheel.cli import main\n"},
	} {
		t.Run(tc.wheel, func(t *testing.T) {
			src := realWheel(t, tc.wheel)
			dest := t.TempDir()
			res, err := Install(context.Background(), src, Options{Prefix: envPrefix, Dest: dest, Python: py312, Requested: true})
			if err != nil {
				t.Fatal(err)
			}
			prefixDir := filepath.Join(dest, envPrefix)
			if res.DistInfo != path.Join(site, tc.distInfo) {
				t.Errorf("DistInfo %s", res.DistInfo)
			}
			// Every file of the wheel but RECORD is in site-packages with
			// its bytes.
			want := map[string]bool{}
			for name, body := range zipContents(t, src) {
				if name == tc.distInfo+"/RECORD" {
					continue
				}
				p := path.Join(site, name)
				want[p] = true
				b, err := os.ReadFile(filepath.Join(prefixDir, p))
				if err != nil || string(b) != body {
					t.Errorf("%s: not installed with the wheel's bytes (%v)", p, err)
				}
			}
			for _, s := range tc.scripts {
				want["bin/"+s] = true
			}
			for _, f := range []string{"INSTALLER", "REQUESTED", "RECORD"} {
				want[path.Join(res.DistInfo, f)] = true
			}
			got := regularFiles(t, prefixDir)
			wantList := make([]string, 0, len(want))
			for p := range want {
				wantList = append(wantList, p)
			}
			slices.Sort(wantList)
			if !slices.Equal(got, wantList) {
				t.Errorf("installed %d files, want %d", len(got), len(wantList))
			}
			if !slices.Equal(res.Files, wantList) {
				t.Errorf("Result.Files has %d files, want %d", len(res.Files), len(wantList))
			}
			if rec := checkInstalledRecord(t, prefixDir, tc.distInfo); !slices.Equal(slices.Sorted(slices.Values(rec)), wantList) {
				t.Errorf("RECORD lists %d files, want %d", len(rec), len(wantList))
			}
			if b, _ := os.ReadFile(filepath.Join(prefixDir, res.DistInfo, "INSTALLER")); string(b) != "envkit\n" {
				t.Errorf("INSTALLER %q", b)
			}
			if b, err := os.ReadFile(filepath.Join(prefixDir, res.DistInfo, "REQUESTED")); err != nil || len(b) != 0 {
				t.Errorf("REQUESTED %q, %v", b, err)
			}
			var names []string
			for _, s := range res.Scripts {
				names = append(names, s.Name)
				if s.Kind != ConsoleScript || s.Path != "bin/"+s.Name {
					t.Errorf("script %+v", s)
				}
				b, err := os.ReadFile(filepath.Join(prefixDir, s.Path))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(string(b), "#!"+envPrefix+"/bin/python3.12\n") || !strings.Contains(string(b), tc.module) ||
					!strings.HasSuffix(string(b), "    sys.exit(main())\n") {
					t.Errorf("%s:\n%s", s.Path, b)
				}
			}
			if !slices.Equal(names, tc.scripts) {
				t.Errorf("scripts %v, want %v", names, tc.scripts)
			}
			// Modes and times: 0755 directories and scripts, 0644 files,
			// all at the epoch, up to the layer root.
			for p, e := range tree(t, dest) {
				if p == "." {
					continue
				}
				wantMode := "-rw-r--r--"
				if e.mode.IsDir() {
					wantMode = "drwxr-xr-x"
				} else if strings.HasPrefix(p, strings.TrimPrefix(envPrefix, "/")+"/bin/") {
					wantMode = "-rwxr-xr-x"
				}
				if e.mode.String() != wantMode {
					t.Errorf("%s: mode %s, want %s", p, e.mode, wantMode)
				}
				if !e.mtime.Equal(time.Unix(0, 0)) {
					t.Errorf("%s: mtime %s", p, e.mtime)
				}
			}
		})
	}
}

// TestInstallThreeIntoOnePrefix installs the three wheels side by side,
// as a merged environment holds them.
func TestInstallThreeIntoOnePrefix(t *testing.T) {
	dest := t.TempDir()
	total := 0
	for _, w := range realWheels {
		res, err := Install(context.Background(), realWheel(t, w), Options{Prefix: envPrefix, Dest: dest, Python: py312})
		if err != nil {
			t.Fatal(err)
		}
		total += len(res.Files)
		if _, err := os.Stat(filepath.Join(dest, envPrefix, res.DistInfo, "REQUESTED")); !os.IsNotExist(err) {
			t.Errorf("%s: REQUESTED written for a package that was not requested (%v)", w, err)
		}
	}
	if got := len(regularFiles(t, filepath.Join(dest, envPrefix))); got != total {
		t.Errorf("%d files in the prefix, the three installs reported %d", got, total)
	}
}

// TestVerifyPip checks pip's own RECORD against its files, and that one
// changed byte is found and located.
func TestVerifyPip(t *testing.T) {
	src := realWheel(t, "pip-23.0.1-py3-none-any.whl")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Read(bytesReader(data), int64(len(data)), src, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "pip" || w.Version.String() != "23.0.1" || !w.Info.RootIsPurelib || len(w.Record) != 500 || w.Info.WheelVersion != "1.0" {
		t.Errorf("read %s %s purelib=%v, %d RECORD rows", w.Name, w.Version, w.Info.RootIsPurelib, len(w.Record))
	}
	if err := w.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The same archive with pip/__init__.py changed (same size), RECORD
	// untouched.
	contents := zipContents(t, src)
	var files []zfile
	for _, name := range slices.Sorted(mapsKeys(contents)) {
		body := contents[name]
		if name == "pip/__init__.py" {
			body = strings.Replace(body, "23.0.1", "23.0.9", 1)
		}
		files = append(files, file(name, body))
	}
	tampered := zipBytes(t, files)
	line := 0
	for _, r := range w.Record {
		if r.Path == "pip/__init__.py" {
			line = r.Line
		}
	}
	w2, err := Read(bytesReader(tampered), int64(len(tampered)), "pip-23.0.1-py3-none-any.whl", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	err = w2.Verify(context.Background())
	assertError(t, err, ErrMismatch, "pip-23.0.1.dist-info/RECORD", line,
		"pip/__init__.py: hash sha256=5yroedzc2dKKbcynDrHX8vBoLxqU27KmFvvHmdqQN9w, the wheel's file has sha256=")
	// Install refuses it and leaves nothing behind.
	dest := t.TempDir()
	_, err = Install(context.Background(), writeWheel(t, "pip-23.0.1-py3-none-any.whl", tampered), Options{Prefix: envPrefix, Dest: dest, Python: py312})
	assertError(t, err, ErrMismatch, "pip-23.0.1.dist-info/RECORD", line, "pip/__init__.py: hash")
	if left := regularFiles(t, dest); len(left) != 0 {
		t.Errorf("%d files left after a failed install: %v", len(left), left[:min(3, len(left))])
	}
}

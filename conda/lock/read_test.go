package lock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadMambaJS(t *testing.T) {
	for _, path := range fixtures(t, "conda-lock", "good_*.json") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			l, err := ReadMambaJS(path, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Platforms) != 1 || l.Platforms[0] != "emscripten-wasm32" || len(l.Channels) != 2 ||
				l.Channels[0].URL != "https://prefix.dev/emscripten-forge-dev" {
				t.Errorf("platforms %v channels %v", l.Platforms, l.Channels)
			}
			// _libgcc_mutex-0.1-conda_forge.tar.bz2 says build
			// py313h027658c_0 in two fixtures: it is skipped.
			if got, want := len(l.Packages)+len(l.Skipped), strings.Count(string(data), `"build"`); got != want {
				t.Errorf("%d packages and %d skipped, want %d", len(l.Packages), len(l.Skipped), want)
			}
			for _, s := range l.Skipped {
				if w := s.Warning; s.Name != "_libgcc_mutex" || s.Platform != "emscripten-wasm32" || w.File != path || w.Line == 0 ||
					!strings.Contains(w.Msg, "does not match the record's name, version and build (_libgcc_mutex-0.1-py313h027658c_0)") {
					t.Errorf("skipped %s: %v", s.Name, w)
				}
			}
			for _, p := range l.Packages {
				r := p.Record
				if r.URL != r.Channel+"/"+r.Subdir+"/"+r.FileName || !strings.HasPrefix(r.Channel, "https://prefix.dev/") {
					t.Errorf("%s: url %s", p.Name, r.URL)
				}
			}
		})
	}
	path, data := readFixture(t, "conda-lock", "good_multiple_packages-lock.json")
	l, err := Read(path, data)
	if err != nil {
		t.Fatal(err)
	}
	var pandas *Package
	for _, p := range l.Packages {
		if p.Name == "pandas" {
			pandas = p
		}
	}
	if pandas == nil || pandas.Version != "2.3.3" || pandas.Record.Build != "np22py313h9d9dc1e_0" ||
		pandas.URL != "https://prefix.dev/emscripten-forge-dev/emscripten-wasm32/pandas-2.3.3-np22py313h9d9dc1e_0.tar.bz2" {
		t.Errorf("pandas %+v", pandas)
	}
	if _, err := l.Records("emscripten-wasm32"); err == nil || !strings.Contains(err.Error(), "no sha256") {
		t.Errorf("Records of a hashless lock: %v", err)
	}
}

func TestReadMambaJSBad(t *testing.T) {
	for file, want := range map[string]string{
		"bad_version-lock.json": `:2:18: lockVersion: unsupported mambajs lock version "0.0.0"`,
		"bad_package-lock.json": `:28: invalid YAML: did not find expected ','`,
	} {
		path, data := readFixture(t, "conda-lock", file)
		_, err := Read(path, data)
		assertErrors(t, err, path, []string{want})
	}
}

// Read tells every fixture's format apart.
func TestReadDetects(t *testing.T) {
	for _, c := range []struct{ dir, file string }{
		{"conda-lock", "conda-lock.yml"},
		{"conda-lock", "good_one_package-lock.yaml"},
		{"conda-lock", "good_one_package-lock.json"},
		{"explicit", "ros-noetic_linux-64.txt"},
		{"pixi/v7", "numpy-as-pypi-lock.yml"},
		{"pixi/v6", "python-from-conda-only-lock.yml"},
	} {
		path, data := readFixture(t, c.dir, c.file)
		l, err := Read(path, data)
		if err != nil || len(l.Packages)+len(l.Skipped) == 0 {
			t.Errorf("%s/%s: %v", c.dir, c.file, err)
		}
	}
	path, data := readFixture(t, "pixi", "v7", "options-lock.yml")
	if _, err := Read(path, data); err == nil || !strings.Contains(err.Error(), "no default environment") {
		t.Errorf("pixi lock without default: %v", err)
	}
}

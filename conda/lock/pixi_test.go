package lock

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadPixiFixtures(t *testing.T) {
	files := append(fixtures(t, "pixi/v6", "*.yml"), fixtures(t, "pixi/v7", "*.yml")...)
	for _, path := range files {
		t.Run(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			envs, err := ReadPixi(path, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(envs) == 0 {
				t.Fatal("no environments")
			}
			// Every binary package selected by an environment is there, or
			// noted when it is a source package.
			wantSel := strings.Count(string(data), "        - conda") + strings.Count(string(data), "        - pypi")
			got := 0
			for _, l := range envs {
				got += len(l.Packages) + len(l.Notes)
				for _, p := range l.Packages {
					if p.Manager == Conda && (p.Record.Name == "" || p.Record.Build == "" || p.Record.Subdir == "" || p.Record.Channel == "") {
						t.Errorf("%s: record %+v", p.Name, p.Record)
					}
				}
			}
			if got != wantSel {
				t.Errorf("%d packages and notes, want %d selected", got, wantSel)
			}
		})
	}
}

func TestReadPixiNumpyAsPypi(t *testing.T) {
	for _, v := range []string{"v6", "v7"} {
		path, data := readFixture(t, "pixi", v, "numpy-as-pypi-lock.yml")
		envs, err := ReadPixi(path, data)
		if err != nil {
			t.Fatal(err)
		}
		l := envs["default"]
		if l == nil || !reflect.DeepEqual(l.Platforms, []string{"osx-arm64"}) || len(l.Channels) != 1 || l.Channels[0].URL != "https://prefix.dev/conda-forge" {
			t.Fatalf("%s: lock %+v", v, l)
		}
		var python, numpy *Package
		for _, p := range l.Packages {
			switch p.Name {
			case "python":
				python = p
			case "numpy":
				numpy = p
			}
		}
		if python == nil || numpy == nil {
			t.Fatalf("%s: python %v numpy %v", v, python, numpy)
		}
		r := python.Record
		if r.Version.String() != "3.13.0" || r.Build != "hbbac1ca_101_cp313" || r.BuildNumber != 101 || r.Subdir != "osx-arm64" ||
			r.SHA256 != "742544a4cf9a10cf2c16d35d96fb696c27d58b9df0cc29fbef5629283aeca941" || r.Size != 12806496 ||
			r.Timestamp != 1732735488999 || r.License != "Python-2.0" || len(r.Depends) != 14 || r.Depends[0] != "__osx >=11.0" {
			t.Errorf("%s: python record %+v", v, r)
		}
		if python.Dependencies["python_abi"] != "3.13.* *_cp313" {
			t.Errorf("%s: python dependencies %v", v, python.Dependencies)
		}
		if numpy.Manager != Pip || numpy.Version != "2.2.1" || numpy.Platform != "osx-arm64" || numpy.Record != nil ||
			numpy.SHA256 != "3ecc47cd7f6ea0336042be87d9e7da378e5c7e9b3c8ad0f7c966f714fc10d821" {
			t.Errorf("%s: numpy %+v", v, numpy)
		}
		recs, err := l.Records("osx-arm64")
		if err != nil {
			t.Fatal(err)
		}
		pos := map[string]int{}
		for i, r := range recs {
			pos[r.Name] = i
		}
		if len(recs) != 19 || pos["python"] < pos["openssl"] || pos["python"] < pos["tzdata"] || pos["openssl"] < pos["ca-certificates"] {
			t.Errorf("%s: %d records, order %v", v, len(recs), pos)
		}
		assertCondaLockRoundTrip(t, pixiAsCondaLock(l))
	}
}

// pixiAsCondaLock is l as conda-lock can hold it: no notes, no record
// fields beyond conda-lock's, and the content hash a lock needs.
func pixiAsCondaLock(l *Lock) *Lock {
	c := *l
	c.Notes = nil
	c.Sources = []string{}
	for _, p := range l.Platforms {
		c.ContentHash[p] = "unknown"
	}
	c.Packages = nil
	for _, p := range l.Packages {
		q := *p
		if p.Record != nil {
			r, err := recordFromURL(p.URL)
			if err != nil {
				panic(err)
			}
			r.Name, r.Version, r.Build, r.MD5, r.SHA256 = p.Record.Name, p.Record.Version, p.Record.Build, p.MD5, p.SHA256
			r.Depends = dependsList(p.Dependencies)
			q.Record = r
		}
		c.Packages = append(c.Packages, &q)
	}
	return &c
}

func TestReadPixiSourcesAndPlatforms(t *testing.T) {
	path, data := readFixture(t, "pixi", "v7", "conda-path-lock.yml")
	envs, err := ReadPixi(path, data)
	if err != nil {
		t.Fatal(err)
	}
	l := envs["default"]
	if len(envs) != 2 || l == nil || !reflect.DeepEqual(l.Platforms, []string{"linux-64", "win-64"}) || len(l.Packages) != 0 || len(l.Notes) != 4 {
		t.Fatalf("envs %v, default %+v", len(envs), l)
	}
	if !strings.Contains(l.Notes[0], "linux-64: left out source package minimal-project[ac2e8eb3] @ ../minimal-project") {
		t.Errorf("notes %q", l.Notes)
	}

	path, data = readFixture(t, "pixi", "v6", "derived-channel-lock.yml")
	envs, err = ReadPixi(path, data)
	if err != nil {
		t.Fatal(err)
	}
	l = envs["default"]
	if len(l.Packages) != 1 || len(l.Notes) != 1 {
		t.Fatalf("packages %d, notes %q", len(l.Packages), l.Notes)
	}
	if r := l.Packages[0].Record; r.Arch != "x86_64" || r.Platform != "win" || r.Channel != "https://conda.anaconda.org/conda-forge" || r.Name != "python" {
		t.Errorf("record %+v", r)
	}
}

func TestReadPixiBad(t *testing.T) {
	base := `version: 7
platforms:
  - name: linux-64
environments:
  default:
    channels:
      - url: https://conda.anaconda.org/conda-forge/
    packages:
      linux-64:
        - conda: https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda
packages:
  - conda: https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda
    sha256: 8f5c9f1e8c6a3d2b9c1f9c0d8d7a8c1e4b5d9f5e7a2a4e7b3f1c9d2e8a6b4c0f
    build_number: 2
`
	if _, err := ReadPixi("ok.lock", []byte(base)); err != nil {
		t.Fatalf("base: %v", err)
	}
	for _, c := range []struct{ old, new, want string }{
		{"version: 7", "version: 5", ":1:10: version: unsupported pixi.lock version 5"},
		{"      linux-64:", "      osx-64:", ":9:7: environments.default.packages.osx-64: platform \"osx-64\" is not in platforms"},
		{"build_number: 2", "build_number: two", ":14:19: packages[0].build_number: must be an integer"},
		{"  - conda: https://conda.anaconda.org/conda-forge/linux-64/zlib", "  - conda: https://conda.anaconda.org/conda-forge/linux-64/zlib-other", ":10:18: environments.default.packages.linux-64[0].conda: conda package"},
		{"packages:\n  - conda: https", "packages:\n  - npm: https", ":12:5: packages[0]: want a conda, conda_source or pypi key"},
	} {
		src := strings.Replace(base, c.old, c.new, 1)
		if src == base {
			t.Fatalf("case %q does not apply", c.old)
		}
		_, err := ReadPixi("x.lock", []byte(src))
		assertErrors(t, err, "x.lock", []string{c.want})
	}
}

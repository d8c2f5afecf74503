package link

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
)

func TestWriteHistory(t *testing.T) {
	dest := t.TempDir()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	h := History{
		Time: at, Command: "envkit build\nenv.yml", Tool: "envkit", ToolVersion: "0.1.0",
		Linked: []*record.RepoDataRecord{
			{PackageRecord: record.PackageRecord{Name: "python", Version: version.MustParse("3.11.9"), Build: "h_0", Subdir: "linux-64"},
				Channel: "https://conda.anaconda.org/conda-forge"},
			{PackageRecord: record.PackageRecord{Name: "mypkg", Version: version.MustParse("1.0"), Build: "0", Subdir: "noarch"},
				Channel: "https://example.com/channel"},
			{PackageRecord: record.PackageRecord{Name: "bare", Version: version.MustParse("2"), Build: "1"}},
		},
		Specs: []string{"python=3.11", "it's"},
	}
	if err := WriteHistory(dest, h); err != nil {
		t.Fatal(err)
	}
	want := "==> 2026-03-04 04:06:07 <==\n" +
		"# cmd: envkit build env.yml\n" +
		"# envkit version: 0.1.0\n" +
		"+conda-forge/linux-64::python-3.11.9-h_0\n" +
		"+https://example.com/channel/noarch::mypkg-1.0-0\n" +
		"+bare-2-1\n" +
		"# update specs: ['python=3.11', 'it\\'s']\n"
	name := filepath.Join(dest, "conda-meta", "history")
	if got := readFile(t, name); got != want {
		t.Errorf("history:\n%s\nwant\n%s", got, want)
	}
	for _, p := range []string{name, filepath.Dir(name)} {
		if fi, err := os.Stat(p); err != nil || !fi.ModTime().Equal(at) {
			t.Errorf("%s: mtime %v (%v), want %v", p, fi.ModTime(), err, at)
		}
	}
}

func TestWriteState(t *testing.T) {
	dest := t.TempDir()
	if err := WriteState(dest, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dest, "conda-meta", "state")); !os.IsNotExist(err) {
		t.Errorf("state written without variables: %v", err)
	}
	vars := map[string]string{"B": "2", "A": "x=y"}
	if err := WriteState(dest, vars, time.Time{}); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, filepath.Join(dest, "conda-meta", "state"))
	if want := "{\n  \"env_vars\": {\n    \"A\": \"x=y\",\n    \"B\": \"2\"\n  }\n}\n"; got != want {
		t.Errorf("state:\n%s\nwant\n%s", got, want)
	}
	var st struct {
		EnvVars map[string]string `json:"env_vars"`
	}
	if err := json.Unmarshal([]byte(got), &st); err != nil || !reflect.DeepEqual(st.EnvVars, vars) {
		t.Errorf("state reads back as %v (%v)", st.EnvVars, err)
	}
	if err := WriteState(dest, map[string]string{"A=B": "1"}, time.Time{}); err == nil {
		t.Error("variable name with '=' accepted")
	}
}

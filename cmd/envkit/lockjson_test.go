package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
)

func TestWriteLockJSONPip(t *testing.T) {
	py := &record.RepoDataRecord{
		PackageRecord: record.PackageRecord{Name: "python", Version: version.MustParse("3.12.0"), Build: "h0_0", Subdir: "linux-64", SHA256: strings.Repeat("a", 64)},
		FileName:      "python-3.12.0-h0_0.conda", URL: "https://c.example/ch/linux-64/python-3.12.0-h0_0.conda", Channel: "https://c.example/ch",
	}
	l := &lock.Lock{}
	if err := l.SetPlatform("linux-64", "h", []*record.RepoDataRecord{py}); err != nil {
		t.Fatal(err)
	}
	if err := l.SetPip("linux-64", []*lock.Package{{Name: "Flask", Version: "3.0.0", URL: "https://f.example/flask-3.0.0-py3-none-any.whl", SHA256: strings.Repeat("b", 64)}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeLockJSON(&buf, l); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["manager"] != "conda" || got[0]["name"] != "python" || got[0]["build"] != "h0_0" {
		t.Fatalf("conda first: %v", got)
	}
	want := map[string]any{"manager": "pip", "name": "Flask", "version": "3.0.0", "url": "https://f.example/flask-3.0.0-py3-none-any.whl", "sha256": strings.Repeat("b", 64)}
	if len(got[1]) != len(want) {
		t.Errorf("pip entry %v, want %v", got[1], want)
	}
	for k, v := range want {
		if got[1][k] != v {
			t.Errorf("pip entry %s = %v, want %v", k, got[1][k], v)
		}
	}
}

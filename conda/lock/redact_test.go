package lock

import (
	"bytes"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/record"
)

func TestRedact(t *testing.T) {
	l := &Lock{
		Platforms: []string{"linux-64"},
		Channels:  []Channel{{URL: "https://conda.example.com/t/tk-s3kr1t/private"}, {URL: "conda-forge"}},
		Packages: []*Package{
			{Name: "a", Version: "1", Manager: Conda, Platform: "linux-64", URL: "https://conda.example.com/t/tk-s3kr1t/private/linux-64/a-1-0.conda",
				Record: &record.RepoDataRecord{URL: "https://conda.example.com/t/tk-s3kr1t/private/linux-64/a-1-0.conda", Channel: "https://conda.example.com/t/tk-s3kr1t/private"}},
			{Name: "b", Version: "1", Manager: Conda, Platform: "linux-64", URL: "https://u:s3kr1t@other.example/c/noarch/b-1-0.conda"},
			{Name: "c", Version: "1", Manager: Conda, Platform: "linux-64", URL: "https://conda.anaconda.org/conda-forge/noarch/c-1-0.conda"},
		},
	}
	if !l.Redact() {
		t.Fatal("Redact found nothing")
	}
	want := []string{"https://conda.example.com/private/linux-64/a-1-0.conda", "https://other.example/c/noarch/b-1-0.conda", "https://conda.anaconda.org/conda-forge/noarch/c-1-0.conda"}
	for i, p := range l.Packages {
		if p.URL != want[i] {
			t.Errorf("package %s: URL %q, want %q", p.Name, p.URL, want[i])
		}
	}
	if r := l.Packages[0].Record; r.URL != want[0] || r.Channel != "https://conda.example.com/private" {
		t.Errorf("record: %q, %q", r.URL, r.Channel)
	}
	if l.Channels[0].URL != "https://conda.example.com/private" || l.Channels[1].URL != "conda-forge" {
		t.Errorf("channels %v", l.Channels)
	}
	var b bytes.Buffer
	if err := WriteCondaLock(&b, l); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "s3kr1t") {
		t.Errorf("written lock holds the credential:\n%s", b.String())
	}
	if l.Redact() {
		t.Error("a second Redact found something")
	}
}

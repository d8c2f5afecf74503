package channel

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cwd := "/home/u/proj"
	tests := []struct {
		in         string
		opts       []Option
		name, base string
	}{
		{"conda-forge", nil, "conda-forge", "https://conda.anaconda.org/conda-forge"},
		{" bioconda ", nil, "bioconda", "https://conda.anaconda.org/bioconda"},
		{"conda-forge/linux-64", nil, "conda-forge", "https://conda.anaconda.org/conda-forge"},
		{"conda-forge/noarch/", nil, "conda-forge", "https://conda.anaconda.org/conda-forge"},
		{"conda-forge/label/dev", nil, "conda-forge/label/dev", "https://conda.anaconda.org/conda-forge/label/dev"},
		{"pytorch", []Option{WithAlias("https://mirror.example/conda/")}, "pytorch", "https://mirror.example/conda/pytorch"},
		{"pkgs/main", nil, "pkgs/main", "https://repo.anaconda.com/pkgs/main"},
		{"https://conda.anaconda.org/conda-forge", nil, "conda-forge", "https://conda.anaconda.org/conda-forge"},
		{"https://conda.anaconda.org/conda-forge/", nil, "conda-forge", "https://conda.anaconda.org/conda-forge"},
		{"HTTPS://Conda.Anaconda.org/conda-forge/linux-aarch64/", nil, "conda-forge", "https://conda.anaconda.org/conda-forge"},
		{"https://repo.anaconda.com/pkgs/main/win-64", nil, "pkgs/main", "https://repo.anaconda.com/pkgs/main"},
		{"http://127.0.0.1:8080/chan/osx-arm64", nil, "http://127.0.0.1:8080/chan", "http://127.0.0.1:8080/chan"},
		{"https://host/t/tk-123/chan?x=1", nil, "https://host/chan", "https://host/chan"},
		{"https://user:p%40ss@Host:8443/chan/linux-64", nil, "https://host:8443/chan", "https://host:8443/chan"},
		{"https://conda.anaconda.org/t/tk_1-2/conda-forge", nil, "conda-forge", "https://conda.anaconda.org/conda-forge"},
		{"https://host/linux-64", nil, "https://host", "https://host"},
		{"file:///srv/chan", nil, "file:///srv/chan", "file:///srv/chan"},
		{"file:///srv/chan/noarch/", nil, "file:///srv/chan", "file:///srv/chan"},
		{"file://localhost/srv/my%20chan", nil, "file:///srv/my%20chan", "file:///srv/my%20chan"},
		{"/srv/chan/", nil, "file:///srv/chan", "file:///srv/chan"},
		{"/srv/my chan", nil, "file:///srv/my%20chan", "file:///srv/my%20chan"},
		{"./chan", []Option{WithWorkDir(cwd)}, "file:///home/u/proj/chan", "file:///home/u/proj/chan"},
		{"../chan/linux-64", []Option{WithWorkDir(cwd)}, "file:///home/u/chan", "file:///home/u/chan"},
		{".", []Option{WithWorkDir(cwd)}, "file:///home/u/proj", "file:///home/u/proj"},
	}
	for _, tt := range tests {
		c, err := Parse(tt.in, tt.opts...)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if c.Name != tt.name || c.BaseURL != tt.base {
			t.Errorf("Parse(%q) = {%q, %q}, want {%q, %q}", tt.in, c.Name, c.BaseURL, tt.name, tt.base)
		}
	}
}

func TestParseRelativeDefaultsToWorkingDir(t *testing.T) {
	c, err := Parse("./x")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("x")
	if want := "file://" + filepath.ToSlash(abs); c.BaseURL != want {
		t.Errorf("BaseURL = %q, want %q", c.BaseURL, want)
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "empty",
		"defaults":             "channel.Expand",
		"ftp://host/chan":      "unsupported URL scheme",
		"https:///chan":        "no host",
		"file://server/share":  "host",
		"conda-forge/../x":     "invalid channel name component",
		"conda forge":          "invalid channel name component",
		"s3://bucket/channel/": "unsupported URL scheme",
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want it to mention %q", in, err, want)
		}
	}
}

func TestExpand(t *testing.T) {
	cs, err := Expand("defaults")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != "pkgs/main" || cs[0].BaseURL != "https://repo.anaconda.com/pkgs/main" ||
		cs[1].BaseURL != "https://repo.anaconda.com/pkgs/r" {
		t.Errorf("Expand(defaults) = %+v", cs)
	}
	cs, err = Expand("conda-forge")
	if err != nil || len(cs) != 1 || cs[0].Name != "conda-forge" {
		t.Errorf("Expand(conda-forge) = %+v, %v", cs, err)
	}
}

func TestSubdirURL(t *testing.T) {
	c, _ := Parse("conda-forge")
	if got := c.SubdirURL("noarch"); got != "https://conda.anaconda.org/conda-forge/noarch" {
		t.Errorf("SubdirURL = %q", got)
	}
}

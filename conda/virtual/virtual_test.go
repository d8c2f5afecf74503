package virtual

import (
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/record"
)

func render(rs []*record.PackageRecord) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, r.Name+"="+r.Version.String()+"="+r.Build)
	}
	return strings.Join(parts, " ")
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestForPlatform(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"linux-64 defaults", Options{Platform: "linux-64"},
			"__unix=0=0 __linux=0=0 __glibc=2.17=0 __archspec=1=x86_64"},
		{"linux-aarch64", Options{Platform: "linux-aarch64", Glibc: "2.28", Linux: "5.15"},
			"__unix=0=0 __linux=5.15=0 __glibc=2.28=0 __archspec=1=aarch64"},
		{"osx-arm64", Options{Platform: "osx-arm64"}, "__unix=0=0 __osx=11.0=0 __archspec=1=arm64"},
		{"osx-64", Options{Platform: "osx-64", OSX: "12.1"}, "__unix=0=0 __osx=12.1=0 __archspec=1=x86_64"},
		{"win-64", Options{Platform: "win-64"}, "__win=0=0 __archspec=1=x86_64"},
		{"cuda only when asked", Options{Platform: "linux-64", Cuda: "12.4"},
			"__unix=0=0 __linux=0=0 __glibc=2.17=0 __archspec=1=x86_64 __cuda=12.4=0"},
		{"noarch", Options{Platform: "noarch"}, ""},
		{"env overrides as conda", Options{Platform: "linux-64", Glibc: "2.28", Env: env(map[string]string{
			"CONDA_OVERRIDE_GLIBC": "2.31", "CONDA_OVERRIDE_CUDA": "11.8", "CONDA_OVERRIDE_LINUX": "6.1.0-13-amd64",
			"CONDA_OVERRIDE_ARCHSPEC": "skylake",
		})}, "__unix=0=0 __linux=6.1.0=0 __glibc=2.31=0 __archspec=1=skylake __cuda=11.8=0"},
		{"empty env removes glibc, keeps linux at 0", Options{Platform: "linux-64", Linux: "5.4", Env: env(map[string]string{
			"CONDA_OVERRIDE_GLIBC": "", "CONDA_OVERRIDE_LINUX": "",
		})}, "__unix=0=0 __linux=0=0 __archspec=1=x86_64"},
		{"explicit map beats env", Options{Platform: "linux-64",
			Env:       env(map[string]string{"CONDA_OVERRIDE_GLIBC": "2.31", "CONDA_OVERRIDE_CUDA": "12"}),
			Overrides: map[string]string{"__glibc": "2.34", "cuda": ""},
		}, "__unix=0=0 __linux=0=0 __glibc=2.34=0 __archspec=1=x86_64"},
		{"environment ignored without Env", Options{Platform: "linux-64"},
			"__unix=0=0 __linux=0=0 __glibc=2.17=0 __archspec=1=x86_64"},
	}
	t.Setenv("CONDA_OVERRIDE_GLIBC", "9.9")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ForPlatform(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if g := render(got); g != tt.want {
				t.Errorf("got  %s\nwant %s", g, tt.want)
			}
			for _, r := range got {
				if r.Subdir != tt.opts.Platform {
					t.Errorf("%s: subdir %q", r.Name, r.Subdir)
				}
			}
		})
	}
}

func TestLookupEnv(t *testing.T) {
	t.Setenv("CONDA_OVERRIDE_CUDA", "12.2")
	got, err := ForPlatform(Options{Platform: "linux-64", Env: LookupEnv})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(render(got), "__cuda=12.2=0") {
		t.Errorf("got %s", render(got))
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{Platform: "linux"}, `platform "linux": want <os>-<arch>`},
		{Options{Platform: "linux-mips"}, `unknown architecture "mips"`},
		{Options{Platform: "plan9-64"}, `unknown operating system "plan9"`},
		{Options{Platform: "linux-64", Overrides: map[string]string{"__osx": "12"}}, `override "__osx": not a virtual package of linux-64`},
		{Options{Platform: "linux-64", Glibc: "2..17"}, "__glibc (from options or default)"},
		{Options{Platform: "linux-64", Env: env(map[string]string{"CONDA_OVERRIDE_CUDA": "1..2"})}, "__cuda (from CONDA_OVERRIDE_CUDA)"},
	}
	for _, tt := range tests {
		_, err := ForPlatform(tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: got %v, want %q", tt.opts, err, tt.want)
		}
	}
}

package stack

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// installDeps runs scripts/install-deps.sh with apt and dpkg replaced by
// shims that log their calls to calls.log: dpkg-query reports the packages
// in installed as installed, apt-cache reports a candidate only once
// "apt-get update" has run. The binary cache is prefilled with stand-ins, so
// nothing is built. It returns the logged calls.
func installDeps(t *testing.T, cache string, installed ...string) []string {
	t.Helper()
	shims := t.TempDir()
	calls := filepath.Join(shims, "calls.log")
	updated := filepath.Join(shims, "updated")
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(shims, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("dpkg-query", `echo "dpkg-query $*" >> `+calls+`
for last; do :; done
for p in `+strings.Join(installed, " ")+`; do
	[ "$p" = "$last" ] && { printf 'install ok installed'; exit 0; }
done
exit 1
`)
	write("apt-cache", `echo "apt-cache $*" >> `+calls+`
if [ -e `+updated+` ]; then echo "  Candidate: 1.0"; else echo "  Candidate: (none)"; fi
`)
	write("apt-get", `echo "apt-get $*" >> `+calls+`
[ "$1" = update ] && touch `+updated+`
exit 0
`)
	cmd := exec.Command("bash", "../../scripts/install-deps.sh")
	cmd.Env = append(os.Environ(), "PATH="+shims+":"+os.Getenv("PATH"), "ENVKIT_CACHE="+cache)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install-deps.sh: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(calls)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l != "" && !strings.HasPrefix(l, "dpkg-query") {
			lines = append(lines, l)
		}
	}
	return lines
}

// prefillCache puts stand-in binaries where install-deps.sh caches the real
// ones, at the versions it wants.
func prefillCache(t *testing.T) string {
	cache := t.TempDir()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/moby/buildkit").Output()
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("../../scripts/install-deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(script), "\nBUILDX_VERSION=")
	if !ok {
		t.Fatal("install-deps.sh has no BUILDX_VERSION= line")
	}
	buildx, _, _ := strings.Cut(rest, "\n")
	for _, f := range []string{
		"bin/buildkit-" + strings.TrimSpace(string(out)) + "/buildkitd",
		"bin/buildkit-" + strings.TrimSpace(string(out)) + "/buildctl",
		"bin/buildx-" + buildx + "/docker-buildx",
	} {
		p := filepath.Join(cache, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return cache
}

// debPackages are the Debian packages install-deps.sh must install: the
// stack's daemons and tools (runc, the registry, containerd for pulling and
// running built images), the base images' busybox and patchelf (the
// relocatable CPython of the integration tests).
var debPackages = []string{"runc", "docker-registry", "busybox-static", "containerd", "patchelf"}

func TestInstallDepsAllPresent(t *testing.T) {
	cache := prefillCache(t)
	if calls := installDeps(t, cache, debPackages...); len(calls) != 0 {
		t.Errorf("apt used although everything is installed: %q", calls)
	}
	// FindTools finds the cached tools through bin/current, at their versioned paths.
	t.Setenv("ENVKIT_CACHE", cache)
	for _, v := range []string{"ENVKIT_BUILDKITD", "ENVKIT_BUILDCTL", "ENVKIT_DOCKER_BUILDX"} {
		t.Setenv(v, "")
	}
	tools, err := FindTools()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{tools.Buildkitd, tools.Buildctl, tools.DockerBuildx} {
		if !strings.HasPrefix(p, cache+"/bin/build") || strings.Contains(p, "/current/") {
			t.Errorf("tool path %s: want a versioned path under %s/bin", p, cache)
		}
	}
}

func TestInstallDepsInstallsMissing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("install-deps.sh installs Debian packages only as root")
	}
	calls := installDeps(t, prefillCache(t), "runc")
	joined := strings.Join(calls, "\n")
	// apt-cache knows no candidate before the update: update once, then install.
	if !strings.Contains(joined, "apt-get update") {
		t.Errorf("no apt-get update although apt knew no candidate:\n%s", joined)
	}
	var install string
	for _, c := range calls {
		if strings.HasPrefix(c, "apt-get install") {
			install = c
		}
	}
	// The missing ones (docker.io too, on a machine without a docker CLI), not runc.
	fields := strings.Fields(install)
	for _, p := range debPackages[1:] {
		if !slices.Contains(fields, p) {
			t.Errorf("install line %q lacks the missing package %s", install, p)
		}
	}
	if slices.Contains(fields, "runc") {
		t.Errorf("install line %q reinstalls runc", install)
	}
	if strings.Count(joined, "apt-get update") != 1 {
		t.Errorf("apt-get update ran %d times", strings.Count(joined, "apt-get update"))
	}
}

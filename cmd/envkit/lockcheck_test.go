package main

import (
	"strconv"
	"strings"
	"testing"
)

// lockBlock returns the package entry of name in a conda-lock file written
// by envkit lock ("  - name: NAME\n" up to the next entry).
func lockBlock(t *testing.T, src, name string) string {
	t.Helper()
	i := strings.Index(src, "  - name: "+name+"\n")
	if i < 0 {
		t.Fatalf("no package %s in\n%s", name, src)
	}
	end := strings.Index(src[i+1:], "  - name: ")
	if end < 0 {
		return src[i:]
	}
	return src[i : i+1+end]
}

// replaceIn replaces old by new in the package entry of name.
func replaceIn(t *testing.T, src, name, old, new string) string {
	t.Helper()
	b := lockBlock(t, src, name)
	if !strings.Contains(b, old) {
		t.Fatalf("%q not in the entry of %s:\n%s", old, name, b)
	}
	return strings.Replace(src, b, strings.Replace(b, old, new, 1), 1)
}

// TestLockCheckTampered: a lock whose content hash still matches the
// request is up to date only when every package in it is consistent with
// the request; each tampering makes --check say stale, which package and
// which rule, and envkit lock --lockfile solves again instead of keeping it.
func TestLockCheckTampered(t *testing.T) {
	url := serveChannel(t, "rattler-dummy")
	dir := t.TempDir()
	request := []string{"-c", url, "-p", "linux-64", "foobar 2.0", "xbar"}
	code, genuine, errs := runCLI(t, append([]string{"lock"}, request...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	check := func(file string) (int, string, string) {
		return runCLI(t, append([]string{"lock", "--check", "--lockfile", file}, request...)...)
	}
	good := writeFile(t, dir, "good.yml", genuine)
	if code, out, errs := check(good); code != exitOK || out != good+": linux-64: up to date\n" || errs != "" {
		t.Fatalf("genuine lock: exit %d %q %q", code, out, errs)
	}
	sha256Line := strings.Count(genuine[:strings.Index(genuine, "      sha256: ")], "\n") + 1

	for _, c := range []struct {
		name   string
		tamper func(src string) string
		want   string // in --check's output, after "FILE: linux-64: stale"
		warn   string // in stderr
	}{
		{"injected package", func(src string) string {
			b := lockBlock(t, src, "bors")
			evil := strings.NewReplacer("name: bors", "name: issue_717", "version: 1.2.1", `version: "2.1"`, "bors-1.2.1-bla_1", "issue_717-2.1-bla_1").Replace(b)
			return strings.Replace(src, b, b+evil, 1)
		}, ": package issue_717-2.1-bla_1: required: neither requested nor a dependency of a locked package that is\n", ""},
		{"URL to another host", func(src string) string {
			return replaceIn(t, src, "bors", url+"/linux-64/", "https://evil.example/c/linux-64/")
		}, ": package bors-1.2.1-bla_1: channel: URL https://evil.example/c/linux-64/bors-1.2.1-bla_1.tar.bz2 is not inside any of the request's channels (" + url + ")\n", ""},
		{"URL with ..", func(src string) string {
			return replaceIn(t, src, "bors", url+"/linux-64/", url+"/linux-64/../linux-64/")
		}, ": package bors-1.2.1-bla_1: channel: URL " + url + "/linux-64/../linux-64/bors-1.2.1-bla_1.tar.bz2 has \"..\"", ""},
		{"sha256 abc", func(src string) string {
			return replaceIn(t, src, "bors", "sha256: 97ec377d2ad83dfef1194b7aa31b0c9076194e10d995a6e696c9d07dd782b14a", "sha256: abc")
		}, "  record: FILE:" + strconv.Itoa(sha256Line) + ":15: package[0].hash.sha256: skipped package bors: sha256 \"abc\" is not 64 hex digits",
			"warning: FILE:" + strconv.Itoa(sha256Line) + ":15: package[0].hash.sha256: skipped package bors"},
		{"bad file name", func(src string) string {
			return replaceIn(t, src, "bors", "/bors-1.2.1-bla_1.tar.bz2", "/bors-1.2.1-bla_1.tar.bz2/../../../../etc/passwd")
		}, `package[0].url: skipped package bors: "passwd" is not a conda package file`, "skipped package bors"},
		{"dropped dependency", func(src string) string {
			return strings.Replace(src, lockBlock(t, src, "xfoo"), "", 1)
		}, ": package xbar-1-xxx: depends: xfoo >=2: no locked package xfoo\n", ""},
		{"spec no longer satisfied", func(src string) string {
			src = replaceIn(t, src, "foobar", `version: "2.0"`, `version: "2.1"`)
			return replaceIn(t, src, "foobar", "foobar-2.0-bla_1.conda", "foobar-2.1-bla_1.tar.bz2")
		}, ": spec: foobar==2.0: the locked foobar-2.1-bla_1 does not satisfy it\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "-")+".yml", c.tamper(genuine))
			code, out, errs := check(file)
			want := strings.ReplaceAll(c.want, "FILE", file)
			if code != exitFailure || !strings.HasPrefix(out, file+": linux-64: stale") || !strings.Contains(out, want) {
				t.Errorf("exit %d\n%s\nwant stale with %q", code, out, want)
			}
			if w := strings.ReplaceAll(c.warn, "FILE", file); !strings.Contains(errs, w) || (w == "") != (errs == "") {
				t.Errorf("stderr %q, want %q", errs, w)
			}
			// Locking with it solves again: the lock that comes out is
			// the genuine one.
			code, out, errs = runCLI(t, append([]string{"lock", "--lockfile", file}, request...)...)
			if code != exitOK || out != genuine {
				t.Errorf("lock --lockfile: exit %d %s\n%s", code, errs, out)
			}
		})
	}
}

// Every broken rule is listed, one per line; many are cut short.
func TestLockCheckManyProblems(t *testing.T) {
	url := serveChannel(t, "rattler-dummy")
	dir := t.TempDir()
	request := []string{"-c", url, "-p", "linux-64", "foobar 2.0"}
	code, genuine, errs := runCLI(t, append([]string{"lock"}, request...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// 25 injected packages, each its own problem.
	b := lockBlock(t, genuine, "bors")
	src := genuine
	for i := range 25 {
		src += strings.NewReplacer("name: bors", "name: evil"+strconv.Itoa(i), "bors-1.2.1", "evil"+strconv.Itoa(i)+"-1.2.1").Replace(b)
	}
	file := writeFile(t, dir, "many.yml", src)
	code, out, _ := runCLI(t, append([]string{"lock", "--check", "--lockfile", file}, request...)...)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != exitFailure || len(lines) != 1+maxStaleProblems+1 || lines[0] != file+": linux-64: stale:" ||
		!strings.HasPrefix(lines[1], "  package evil0-1.2.1-bla_1: required: ") || lines[len(lines)-1] != "  and 5 more" {
		t.Errorf("exit %d\n%s", code, out)
	}
}

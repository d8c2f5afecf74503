package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/internal/condatest"
)

// sbomChannel is a local channel: tool depends on libfoo, for linux-64 and
// linux-aarch64.
func sbomChannel(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var pkgs []condatest.Package
	for _, sub := range []string{"linux-64", "linux-aarch64"} {
		pkgs = append(pkgs,
			condatest.Package{Name: "libfoo", Version: "1.0", Build: "h0_0", Subdir: sub, Files: []condatest.File{{Path: "lib/foo", Content: sub}}},
			condatest.Package{Name: "tool", Version: "2.0", Build: "0", Subdir: sub, Depends: []string{"libfoo >=1"}, Files: []condatest.File{{Path: "bin/tool", Content: "x"}}})
	}
	if err := condatest.WriteChannel(dir, pkgs...); err != nil {
		t.Fatal(err)
	}
	return dir
}

type sbomPkg struct {
	Name, VersionInfo string
	License           string `json:"licenseDeclared"`
	Checksums         []struct{ Algorithm, ChecksumValue string }
	ExternalRefs      []struct{ ReferenceLocator string }
}

func runSBOMCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"sbom"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// envkit sbom FILE solves the conda file for the platform and lists its
// packages; a lock given is listed as it is when fresh.
func TestSBOMOfFile(t *testing.T) {
	ch := sbomChannel(t)
	dir := t.TempDir()
	writeFile(t, dir, "conda.yml", "channels: ["+ch+"]\ndependencies: [tool]\n")
	env := writeFile(t, dir, "environment.yml", "name: sbom-cli\nversion: \"2\"\nimage: registry.invalid/base:1\nconda_file: conda.yml\n")
	t.Setenv("ENVKIT_WORKSPACE", "")
	out, errs, code := runSBOMCmd(t, env, "--platform", "linux/arm64")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "the base image's digest is not listed") {
		t.Errorf("no warning for an unreachable base: %q", errs)
	}
	var doc struct {
		Name     string
		Packages []sbomPkg
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.Name != "envkit sbom-cli:2 linux/arm64" || len(doc.Packages) != 4 {
		t.Fatalf("document %s with %d packages:\n%s", doc.Name, len(doc.Packages), out)
	}
	for _, p := range doc.Packages[2:] {
		if len(p.Checksums) == 0 || len(p.Checksums[0].ChecksumValue) != 64 || p.License != "BSD-3-Clause" ||
			len(p.ExternalRefs) != 1 || !strings.Contains(p.ExternalRefs[0].ReferenceLocator, "subdir=linux-aarch64") {
			t.Errorf("package %+v", p)
		}
	}
	if purl := doc.Packages[1].ExternalRefs[0].ReferenceLocator; purl != "pkg:oci/base?arch=arm64&repository_url=registry.invalid%2Fbase&tag=1" {
		t.Errorf("base purl %s", purl)
	}

	// The same from a lock: the lock's packages, byte for byte the same
	// document; another sha256 in it shows.
	var l bytes.Buffer
	if code := run([]string{"lock", "-f", env, "--platform", "linux-aarch64"}, &l, &bytes.Buffer{}); code != exitOK {
		t.Fatal("lock failed")
	}
	lf := writeFile(t, dir, "conda-lock.yml", l.String())
	again, _, code := runSBOMCmd(t, env, "--platform", "linux/arm64", "--lockfile", lf)
	if code != exitOK || again != out {
		t.Errorf("from the lock (exit %d), another document:\n%s\n%s", code, again, out)
	}
	parsed, err := lock.Read(lf, l.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	old := parsed.Packages[0].SHA256
	writeFile(t, dir, "conda-lock.yml", strings.ReplaceAll(l.String(), old, strings.Repeat("0", 64)))
	if edited, _, _ := runSBOMCmd(t, env, "--platform", "linux/arm64", "--lockfile", lf); edited == out {
		t.Error("a lock with another sha256 gives the same document")
	}

	cdx, errs, code := runSBOMCmd(t, env, "--platform", "linux/arm64", "--format", "cyclonedx")
	var bom struct {
		BOMFormat  string
		Components []struct{ Name, PURL string }
	}
	if code != exitOK || json.Unmarshal([]byte(cdx), &bom) != nil || bom.BOMFormat != "CycloneDX" || len(bom.Components) != 3 {
		t.Errorf("cyclonedx (exit %d, %s):\n%s", code, errs, cdx)
	}
}

func TestSBOMUsage(t *testing.T) {
	dir := t.TempDir()
	env := writeFile(t, dir, "environment.yml", "name: plain\nimage: registry.invalid/base:1\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{env, "--format", "xml"}, `--format "xml": want spdx or cyclonedx`},
		{[]string{env, "--platform", "linux/"}, `--platform "linux/"`},
		{[]string{filepath.Join(dir, "missing.yml")}, "no such file"},
	} {
		if _, errs, code := runSBOMCmd(t, c.args...); code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
	// An environment without conda lists its base alone.
	out, _, code := runSBOMCmd(t, env, "--platform", "linux/amd64")
	if code != exitOK || strings.Count(out, `"SPDXID": "SPDXRef-`) != 3 { // the document, the environment, the base
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// A build context's base is its Dockerfile's final stage's, as the
// frontend labels it.
func TestSBOMBuildContextBase(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "docker/Dockerfile", "FROM registry.invalid/tools:1 AS tools\nFROM registry.invalid/base:2 AS final\nFROM final\nRUN true\n")
	env := writeFile(t, dir, "environment.yml", "name: ctx\nbuild: {path: docker}\n")
	out, errs, code := runSBOMCmd(t, env, "--platform", "linux/amd64")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, `"referenceLocator": "pkg:oci/base?arch=amd64&repository_url=registry.invalid%2Fbase&tag=2"`) {
		t.Errorf("no final-stage base in\n%s", out)
	}
}

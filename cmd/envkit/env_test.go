package main

import (
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/workspace"
)

// Every env subcommand has a summary, an example and its flags in --help.
func TestEnvHelp(t *testing.T) {
	root := newRoot(io.Discard, io.Discard)
	env, _, err := root.Find([]string{"env"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range env.Commands() {
		names = append(names, c.Name())
		code, out, errs := runCLI(t, "env", c.Name(), "--help")
		if code != exitOK || errs != "" || !strings.HasPrefix(out, c.Short+"\n") || !strings.Contains(out, "Examples:\n  envkit env "+c.Name()) ||
			!strings.Contains(out, "--workspace string") {
			t.Errorf("env %s --help: exit %d, stderr %q\n%s", c.Name(), code, errs, out)
		}
	}
	if got := strings.Join(names, " "); got != "archive clone create list restore show" {
		t.Errorf("env subcommands: %s", got)
	}
}

// The curated catalog works without a registry; wrong command lines exit 2.
func TestEnvOffline(t *testing.T) {
	code, out, errs := runCLI(t, "env", "list", "--curated", "--json")
	var rs []workspace.Record
	if code != exitOK || json.Unmarshal([]byte(out), &rs) != nil || len(rs) < 3 {
		t.Fatalf("env list --curated --json: exit %d, %s\n%s", code, errs, out)
	}
	code, out, errs = runCLI(t, "env", "show", "azureml:"+rs[0].Name+"@latest", "--json")
	var r workspace.Record
	if code != exitOK || json.Unmarshal([]byte(out), &r) != nil || r.Hash != rs[0].Hash || r.Kind != "curated" {
		t.Errorf("env show %s: exit %d, %s\n%s", rs[0].Name, code, errs, out)
	}
	for _, k := range []string{`"name"`, `"version"`, `"hash"`, `"kind"`, `"archived"`, `"created"`, `"description"`, `"tags"`} {
		if !strings.Contains(out, k) {
			t.Errorf("env show --json has no %s:\n%s", k, out)
		}
	}
	dir := filepath.Join(t.TempDir(), "copy")
	if code, out, errs = runCLI(t, "env", "clone", rs[0].Name, "my-copy", "--dir", dir); code != exitOK || strings.TrimSpace(out) != filepath.Join(dir, "environment.yml") {
		t.Errorf("env clone: exit %d, %q, %s", code, out, errs)
	}
	if code, _, errs = runCLI(t, "env", "show", "AzureML-nope:1"); code != exitFailure || !strings.Contains(errs, "no curated environment is named AzureML-nope") {
		t.Errorf("unknown curated: exit %d, %s", code, errs)
	}
	for _, args := range [][]string{
		{"env", "show", "no-version"},
		{"env", "show", "x@newest"},
		{"env", "create"},
		{"env", "list", "--curated", "--include-archived"},
		{"env", "clone", "AzureML-x"},
	} {
		if code, _, errs := runCLI(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, errs)
		}
	}
}

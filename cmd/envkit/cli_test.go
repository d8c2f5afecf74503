package main

import (
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// sameRun runs both command lines and wants the same successful result;
// it returns the first one's stdout.
func sameRun(t *testing.T, a, b []string) string {
	t.Helper()
	codeA, outA, errA := runCLI(t, a...)
	codeB, outB, errB := runCLI(t, b...)
	if codeA != exitOK {
		t.Fatalf("%q: exit %d: %s", a, codeA, errA)
	}
	if codeB != codeA || outB != outA || errB != errA {
		t.Errorf("%q: exit %d\n%s%s\n%q: exit %d\n%s%s", a, codeA, outA, errA, b, codeB, outB, errB)
	}
	return outA
}

// Every command reads its flags after its arguments as well as before
// them, as docker, az and kubectl do; "--" ends the flags.
func TestFlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	env := writeFile(t, dir, "env.yml", "name: t\nimage: busybox\n")

	t.Run("validate", func(t *testing.T) {
		if out := sameRun(t, []string{"validate", "-q", env}, []string{"validate", env, "-q"}); out != "" {
			t.Errorf("-q printed %q", out)
		}
		if _, out, _ := runCLI(t, "validate", env); !strings.Contains(out, "valid user-managed environment") {
			t.Errorf("without -q: %q", out)
		}
	})

	t.Run("hash", func(t *testing.T) {
		canonical := sameRun(t, []string{"hash", "--canonical", env}, []string{"hash", env, "--canonical"})
		full := sameRun(t, []string{"hash", "--full", env}, []string{"hash", env, "--full"})
		_, short, _ := runCLI(t, "hash", env)
		if !strings.Contains(canonical, "busybox") || !strings.HasPrefix(full, "sha256:") || !strings.HasPrefix(short, "envkit_") {
			t.Errorf("canonical %q full %q short %q", canonical, full, short)
		}
	})

	t.Run("search", func(t *testing.T) {
		url := serveChannel(t, "rattler-dummy")
		out := sameRun(t,
			[]string{"search", "-c", url, "--platform", "linux-64", "--json", "foo*"},
			[]string{"search", "foo*", "-c", url, "--platform", "linux-64", "--json"})
		var recs []recordJSON
		if err := json.Unmarshal([]byte(out), &recs); err != nil || len(recs) == 0 {
			t.Fatalf("%v: %q", err, out)
		}
		for _, r := range recs {
			if !strings.HasPrefix(r.Name, "foo") || r.Subdir != "linux-64" && r.Subdir != "noarch" {
				t.Errorf("record %s/%s", r.Subdir, r.Name)
			}
		}
	})

	t.Run("lock", func(t *testing.T) {
		url := serveChannel(t, "rattler-dummy")
		conda := writeFile(t, dir, "conda.yml", "channels: ["+url+"]\ndependencies: [foobar 2.0]\n")
		fromFile := sameRun(t,
			[]string{"lock", "--platform", "linux-64", "--format", "json", "-f", conda},
			[]string{"lock", "-f", conda, "--platform", "linux-64", "--format", "json"})
		fromSpecs := sameRun(t,
			[]string{"lock", "-c", url, "-p", "linux-64", "--format", "json", "foobar 2.0"},
			[]string{"lock", "foobar 2.0", "-c", url, "-p", "linux-64", "--format", "json"})
		for _, out := range []string{fromFile, fromSpecs} {
			var recs []recordJSON // one platform: an array
			if err := json.Unmarshal([]byte(out), &recs); err != nil {
				t.Fatalf("%v: %q", err, out)
			}
			if !slices.ContainsFunc(recs, func(r recordJSON) bool { return r.Name == "foobar" && r.Version == "2.0" }) {
				t.Errorf("no foobar 2.0 in %s", out)
			}
		}
	})

	// Without a buildkitd: flags after FILE are read (no "unexpected
	// argument"), -t and --addr are used: the build gets as far as
	// dialling the given socket.
	t.Run("build", func(t *testing.T) {
		sock := "unix://" + filepath.Join(dir, "none.sock")
		code, _, errs := runCLI(t, "build", env, "--addr", sock, "--platform", "linux/arm64", "-t", "registry.example/t:1", "--progress", "quiet")
		if code != exitFailure || !strings.Contains(errs, "hash envkit_") || !strings.Contains(errs, "none.sock") {
			t.Errorf("exit %d: %s", code, errs)
		}
		// Without -t and away from the local stack there is nowhere to push.
		code, _, errs = runCLI(t, "build", env, "--addr", sock)
		if code != exitUsage || !strings.Contains(errs, "with -t") {
			t.Errorf("no -t: exit %d: %s", code, errs)
		}
	})

	t.Run("--", func(t *testing.T) {
		dash := writeFile(t, dir, "-env.yml", "name: dash\nimage: busybox\n")
		t.Chdir(dir)
		code, out, errs := runCLI(t, "validate", "-q", "--", filepath.Base(dash))
		if code != exitOK || out != "" {
			t.Errorf("validate -q -- -env.yml: exit %d %q %s", code, out, errs)
		}
		if code, _, errs := runCLI(t, "validate", filepath.Base(dash)); code != exitUsage || !strings.Contains(errs, "unknown shorthand flag: 'e'") {
			t.Errorf("validate -env.yml: exit %d %s", code, errs)
		}
	})
}

// Flags written as Go's flag package took them keep their meaning: -check
// is --check, not -c heck; --q is -q.
func TestSingleDashLongFlags(t *testing.T) {
	dir := t.TempDir()
	env := writeFile(t, dir, "env.yml", "name: t\nimage: busybox\n")
	sameRun(t, []string{"hash", "-canonical", env}, []string{"hash", "--canonical", env})
	sameRun(t, []string{"hash", "-full=true", env}, []string{"hash", "--full", env})
	sameRun(t, []string{"validate", "--q", env}, []string{"validate", "-q", env})

	root := newRoot(io.Discard, io.Discard)
	lock, _, err := root.Find([]string{"lock"})
	if err != nil {
		t.Fatal(err)
	}
	got := singleDashLongFlags(lock, []string{"lock", "-c", "-check", "-check", "-format=json", "-lockfile", "-f", "-p", "linux-64", "-x", "-help", "--c=x", "--p", "--f", "--", "-check"})
	want := []string{"lock", "-c", "-check", "--check", "--format=json", "--lockfile", "-f", "-p", "linux-64", "-x", "--help", "-c=x", "-p", "--f", "--", "-check"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// --help, -h and `envkit help CMD` print to stdout, exit 0, and show the
// summary, usage line, an example and every flag with its default.
func TestHelp(t *testing.T) {
	root := newRoot(io.Discard, io.Discard)
	var names []string
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			continue
		}
		names = append(names, c.Name())
		for _, args := range [][]string{{c.Name(), "--help"}, {c.Name(), "-h"}, {"help", c.Name()}, {c.Name(), "x", "y", "--help"}} {
			code, out, errs := runCLI(t, args...)
			if code != exitOK || errs != "" {
				t.Errorf("%q: exit %d, stderr %q", args, code, errs)
				continue
			}
			if !strings.HasPrefix(out, c.Short+"\n") {
				t.Errorf("%q: does not start with the summary %q:\n%s", args, c.Short, out)
			}
			for _, want := range []string{"Usage:\n  envkit " + c.Use, "Examples:\n  envkit " + c.Name(), "-h, --help"} {
				if !strings.Contains(out, want) {
					t.Errorf("%q: no %q in\n%s", args, want, out)
				}
			}
			c.Flags().VisitAll(func(f *pflag.Flag) {
				if !strings.Contains(out, "--"+f.Name+" ") && !strings.Contains(out, "--"+f.Name+"\n") {
					t.Errorf("%q: flag --%s not shown", args, f.Name)
				}
				if f.Shorthand != "" && !strings.Contains(out, "-"+f.Shorthand+", --"+f.Name) {
					t.Errorf("%q: -%s not shown", args, f.Shorthand)
				}
				if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && !strings.Contains(out, `(default "`+f.DefValue+`")`) && !strings.Contains(out, "(default "+f.DefValue+")") {
					t.Errorf("%q: default of --%s not shown", args, f.Name)
				}
			})
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"build", "env", "hash", "lock", "patch", "sbom", "search", "stack", "validate"}) {
		t.Errorf("commands %v", names)
	}
	// A few defaults by name, so that the loop above cannot pass on none.
	for cmd, want := range map[string]string{"lock": `--format string   `, "build": `(default "auto")`, "search": `--platform string`} {
		if _, out, _ := runCLI(t, cmd, "--help"); !strings.Contains(out, want) {
			t.Errorf("%s --help: no %q in\n%s", cmd, want, out)
		}
	}
	if _, out, _ := runCLI(t, "lock", "--help"); !strings.Contains(out, `(default "conda-lock")`) || !strings.Contains(out, `(default "strict")`) {
		t.Errorf("lock --help:\n%s", out)
	}
	// envkit --help and envkit help list the commands.
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}} {
		code, out, _ := runCLI(t, args...)
		if code != exitOK {
			t.Errorf("%q: exit %d", args, code)
		}
		for _, n := range names {
			if !strings.Contains(out, "\n  "+n+" ") {
				t.Errorf("%q: %s not listed:\n%s", args, n, out)
			}
		}
	}
}

// A wrong command line exits 2 with a short message naming the problem and
// pointing at --help, before any work.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	env := writeFile(t, dir, "env.yml", "name: t\nimage: busybox\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `envkit: unknown command "frobnicate" for "envkit"`},
		{[]string{"biuld", env}, "Did you mean this?\n\tbuild"},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--frobnicate"}, "unknown flag: --frobnicate"},
		{[]string{"hash", "--nope", env}, "envkit hash: unknown flag: --nope\nRun 'envkit hash --help' for usage.\n"},
		{[]string{"validate", env, "-x"}, "envkit validate: unknown shorthand flag: 'x' in -x"},
		{[]string{"hash", "--full", "--canonical", env}, "[canonical full] were all set"},
		{[]string{"validate"}, "envkit validate: missing FILE"},
		{[]string{"hash"}, "envkit hash: missing FILE"},
		{[]string{"search", "-c", "x"}, "envkit search: missing SPEC"},
		{[]string{"lock", "-c", "x"}, "envkit lock: give either -f environment.yml or SPEC arguments"},
		{[]string{"lock", "-f", env, "numpy"}, "give either -f environment.yml or SPEC arguments"},
		{[]string{"lock", "-c", "x", "--check", "numpy"}, "--check needs --lockfile"},
		{[]string{"lock", "-c", "x", "numpy", "--format", "yaml"}, `--format "yaml": want conda-lock, explicit or json`},
		{[]string{"validate", env, env}, `envkit validate: unexpected argument "` + env + `"`},
		{[]string{"build", env, env}, `envkit build: unexpected argument`},
		{[]string{"build", env, "--platform"}, "flag needs an argument: --platform"},
		{[]string{"build", env, "--progress", "fancy"}, `--progress "fancy"`},
	} {
		code, out, errs := runCLI(t, tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(errs, tc.want) || !strings.Contains(errs, "--help' for usage.") {
			t.Errorf("%q: exit %d, stdout %q, stderr:\n%s", tc.args, code, out, errs)
		}
		if strings.Count(errs, "\n") > 5 {
			t.Errorf("%q: not a short message:\n%s", tc.args, errs)
		}
	}
	// No command at all: the list of commands, on stderr.
	code, out, errs := runCLI(t)
	if code != exitUsage || out != "" || !strings.Contains(errs, "Usage:\n  envkit [command]") || !strings.Contains(errs, "validate") {
		t.Errorf("no args: exit %d %q\n%s", code, out, errs)
	}
}

// The exit-code contract for commands to come: an error RunE returns is a
// failure (exit 1), a usageErrorf a usage error (exit 2), exit(code) is
// code, whatever the command printed itself.
func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err        error
		code       int
		wantStderr string
	}{
		{nil, exitOK, ""},
		{errors.New("registry unreachable"), exitFailure, "envkit: registry unreachable\n"},
		{usageErrorf("--json and --quiet"), exitUsage, "envkit try: --json and --quiet\nRun 'envkit try --help' for usage.\n"},
		{exit(exitFailure), exitFailure, ""},
		{exit(exitUsage), exitUsage, ""},
	} {
		var stderr strings.Builder
		root := newRoot(io.Discard, &stderr)
		root.AddCommand(&cobra.Command{Use: "try", RunE: func(*cobra.Command, []string) error { return tc.err }})
		if code := execute(root, []string{"try"}, &stderr); code != tc.code || stderr.String() != tc.wantStderr {
			t.Errorf("%v: exit %d, stderr %q; want %d %q", tc.err, code, stderr.String(), tc.code, tc.wantStderr)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envkit/envkit/internal/testdata"
)

// The hostile-input suite: one case per finding of issue 8 on the
// environment-file side, each input made here, each run by the CLI in a
// child process (this test binary again) so that its time and its peak
// memory are its own. Every case asserts the exit code, the error's
// file:line and text, a generous time bound, a memory bound, and that no
// content of a file outside the directory is printed.

const (
	hostileTime = 30 * time.Second // generous: each case takes well under a second
	hostileRSS  = 320 << 20        // bytes; the child starts at ~80 MiB
	secret      = "root:*:20228:0:99999:7:::SECRET"
)

type hostileCase struct {
	name string
	// files to make in the environment's directory (see confinedDir):
	// "->target" is a symlink, "|fifo" a FIFO; make is called after.
	files map[string]string
	make  func(t *testing.T, dir string)
	args  []string // "ENV" is replaced by the environment file's path
	code  int
	want  []string // in stderr (stdout for exit 0)
	// maxOut bounds what is printed (bytes); 0: 64 KiB.
	maxOut int
}

func gen(n int, format string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

func hostileCases() []hostileCase {
	const condaEnv = "name: e\nimage: busybox\nconda_file: conda.yml\n"
	const ctxEnv = "name: e\nbuild:\n  path: ctx\n"
	return []hostileCase{
		// Symlinks escape the directory checks.
		{name: "conda_file symlink to a secret", files: map[string]string{"env.yml": condaEnv, "conda.yml": "->../secret.txt"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{`env.yml:3:13: conda_file: cannot read "conda.yml": path escapes from parent`}},
		{name: "conda_file symlink to /etc/shadow", files: map[string]string{"env.yml": condaEnv, "conda.yml": "->/etc/shadow"},
			args: []string{"hash", "ENV"}, code: 1, want: []string{`env.yml:3:13: conda_file: cannot read "conda.yml": path escapes from parent`}},
		{name: "build.path symlink to a directory outside", files: map[string]string{"env.yml": ctxEnv, "ctx": "->../secretdir"},
			args: []string{"hash", "--canonical", "ENV"}, code: 1, want: []string{`env.yml:3:9: build.path: cannot open the build context "ctx": path escapes from parent`}},
		{name: "environment file symlink to a secret", files: map[string]string{"env.yml": "->../secret.txt"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{"env.yml: a symlink that leads outside its directory"}},
		// Reads have no bound.
		{name: "conda_file symlink to /dev/zero", files: map[string]string{"env.yml": condaEnv, "conda.yml": "->/dev/zero"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{`env.yml:3:13: conda_file: cannot read "conda.yml": path escapes from parent`}},
		{name: "conda_file a character device", files: map[string]string{"env.yml": condaEnv},
			make: func(t *testing.T, dir string) {
				if err := syscall.Mknod(filepath.Join(dir, "conda.yml"), syscall.S_IFCHR|0o666, 1<<8|5); err != nil { // /dev/zero
					t.Skipf("mknod: %v", err)
				}
			},
			args: []string{"validate", "ENV"}, code: 1, want: []string{"env.yml:3:13: conda_file: conda.yml is a character device, not a regular file"}},
		{name: "107 MB environment file", files: map[string]string{},
			make: func(t *testing.T, dir string) {
				f, err := os.Create(filepath.Join(dir, "env.yml"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if err := f.Truncate(107 << 20); err != nil {
					t.Fatal(err)
				}
			},
			args: []string{"validate", "ENV"}, code: 1, want: []string{"env.yml is larger than the limit of 4 MiB (raise it with the max-file-size option)"}},
		{name: "5 MB conda file", files: map[string]string{"env.yml": condaEnv, "conda.yml": "dependencies:\n" + strings.Repeat("  - python\n", 500_000)},
			args: []string{"hash", "ENV"}, code: 1, want: []string{"env.yml:3:13: conda_file: conda.yml is larger than the limit of 4 MiB"}},
		// Waits have no bound.
		{name: "environment file FIFO", files: map[string]string{"env.yml": "|fifo"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{"env.yml is a named pipe (FIFO), not a regular file"}},
		{name: "conda_file FIFO", files: map[string]string{"env.yml": condaEnv, "conda.yml": "|fifo"},
			args: []string{"hash", "ENV"}, code: 1, want: []string{"env.yml:3:13: conda_file: conda.yml is a named pipe (FIFO), not a regular file"}},
		{name: ".dockerignore FIFO", files: map[string]string{"env.yml": ctxEnv, "ctx/Dockerfile": "FROM busybox\n", "ctx/.dockerignore": "|fifo"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{`env.yml:3:9: build.path: build context "ctx": .dockerignore: .dockerignore is a named pipe (FIFO), not a regular file`}},
		{name: "--lockfile FIFO", files: map[string]string{"env.yml": "channels: [conda-forge]\ndependencies: [python]\n", "lock.yml": "|fifo"},
			args: []string{"lock", "-f", "ENV", "--lockfile", "DIR/lock.yml"}, code: 1, want: []string{"lock.yml is a named pipe (FIFO), not a regular file"}},
		// Work grows faster than input.
		{name: "64k lines of docker_steps", files: map[string]string{"env.yml": "name: e\nimage: busybox\ndocker_steps: |\n" + gen(64_000, "  RUN echo %d\n")},
			args: []string{"validate", "ENV"}, code: 0, want: []string{"valid user-managed environment"}},
		{name: "a spec of 50k alternatives", files: map[string]string{"env.yml": "name: e\nimage: busybox\nconda_file:\n  dependencies:\n    - numpy " + strings.TrimSuffix(gen(50_000, "1.%d|"), "|") + "\n"},
			args: []string{"hash", "ENV"}, code: 0, want: []string{"envkit_"}},
		{name: "100k dependencies", files: map[string]string{"env.yml": "name: e\nimage: busybox\nconda_file:\n  dependencies:\n" + gen(100_000, "    - unknown-pkg-%d\n")},
			args: []string{"validate", "ENV"}, code: 0, want: []string{"valid system-managed environment"}},
		{name: "100k unknown dependencies locked", files: map[string]string{"env.yml": "channels: [CHANNEL]\ndependencies:\n" + gen(100_000, "  - unknown-pkg-%d\n")},
			args: []string{"lock", "-f", "ENV", "--platform", "linux-64"}, code: 1,
			want: []string{`linux-64: cannot solve the request: no candidates were found for "unknown-pkg-0", "unknown-pkg-1"`, `"unknown-pkg-49" and 99950 more`}, maxOut: 4 << 10},
		{name: "100k bad dependencies on one line", files: map[string]string{"env.yml": "name: e\nimage: busybox\nconda_file: {dependencies: [" + gen(100_000, "bad-%d>=, ") + "]}\n"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{`env.yml:3:29: dependencies: invalid match spec "bad-0>="`, "envkit: and 99950 more errors", "… ("}, maxOut: 32 << 10},
		{name: "1M unknown keys", files: map[string]string{"env.yml": "image: busybox\n" + gen(1_000_000, "k%d: 1\n")},
			args: []string{"validate", "ENV"}, code: 1, want: []string{"env.yml is larger than the limit of 4 MiB"}},
		{name: "300k unknown keys", files: map[string]string{"env.yml": "image: busybox\n" + gen(300_000, "k%d: 1\n")},
			args: []string{"validate", "ENV"}, code: 1, want: []string{"env.yml:2:1: k0: unknown key", "envkit: and 299950 more errors"}, maxOut: 32 << 10},
		{name: "100k duplicate keys", files: map[string]string{"env.yml": "image: busybox\n" + strings.Repeat("tags: {}\n", 100_000)},
			args: []string{"validate", "ENV"}, code: 1, want: []string{"env.yml:3:1: tags: duplicate key (first at line 2)", "envkit: and 99949 more errors"}, maxOut: 32 << 10},
		// validate passes what hash and lock refuse.
		{name: "numpy>=", files: map[string]string{"env.yml": "name: e\nimage: busybox\nconda_file:\n  dependencies:\n    - numpy>=\n"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{`env.yml:5:7: dependencies: invalid match spec "numpy>="`}},
		{name: "numpy 1.2 3 4", files: map[string]string{"env.yml": condaEnv, "conda.yml": "dependencies:\n  - numpy 1.2 3 4\n"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{`conda.yml:2:5: dependencies: invalid match spec "numpy 1.2 3 4": build "3 4": invalid character ' '`}},
		{name: "missing build context", files: map[string]string{"env.yml": ctxEnv},
			args: []string{"validate", "ENV"}, code: 1, want: []string{`env.yml:3:9: build.path: cannot open the build context "ctx"`}},
		{name: "bad .dockerignore", files: map[string]string{"env.yml": ctxEnv, "ctx/Dockerfile": "FROM busybox\n", "ctx/.dockerignore": "a/[\n"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{`env.yml:3:9: build.path: build context "ctx": .dockerignore:`}},
		{name: "duplicate keys", files: map[string]string{"env.yml": "name: e\nimage: busybox\nimage: evil.example/busybox\n"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{"env.yml:3:1: image: duplicate key (first at line 2)"}},
		{name: "a second YAML document", files: map[string]string{"env.yml": "name: e\nimage: busybox\n---\nimage: evil.example/busybox\n"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{"env.yml:4:1: a second YAML document"}},
		{name: "!!binary tag", files: map[string]string{"env.yml": "name: !!binary ZQ==\nimage: busybox\n"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{"env.yml:1:7: YAML tag !!binary is not accepted"}},
		{name: "version: true", files: map[string]string{"env.yml": "name: e\nversion: true\nimage: busybox\n"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{"env.yml:2:10: version: must be a string or a number, not a boolean"}},
		{name: "name with control characters", files: map[string]string{"env.yml": "name: \"e\\u001b[31m\\r\"\nimage: busybox\n"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{`env.yml:1:1: name: invalid name "e\x1b[31m\r"`}},
		{name: "leading space before AzureML-", files: map[string]string{"env.yml": "name: \" AzureML-sklearn\"\nimage: busybox\n"},
			args: []string{"validate", "ENV"}, code: 1, want: []string{`env.yml:1:1: name: invalid name " AzureML-sklearn"`}},
		{name: "SDK v1 baseImageRegistry", files: map[string]string{"env.json": `{"name": "e",
 "docker": {"baseImage": "team/base:1", "baseImageRegistry": {"address": "myregistry.azurecr.io", "username": null, "password": null}}}
`},
			args: []string{"validate", "DIR/env.json"}, code: 1, want: []string{"env.json:2:74: docker.baseImageRegistry.address: the base image is pulled from myregistry.azurecr.io by Azure ML; envkit does not read baseImageRegistry (write the registry into baseImage (myregistry.azurecr.io/team/base:1)"}},
	}
}

// TestHostile runs each case in a child process.
func TestHostile(t *testing.T) {
	if os.Getenv("ENVKIT_HOSTILE_CHILD") != "" {
		t.Skip("in a child")
	}
	channel := "file://" + filepath.ToSlash(testdata.Path(t, "conda", "channels", "rattler-dummy"))
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{}
			for name, s := range c.files {
				files[name] = strings.ReplaceAll(s, "CHANNEL", channel)
			}
			dir := confinedDir(t, files)
			if c.make != nil {
				c.make(t, dir)
			}
			args := make([]string, len(c.args))
			for i, a := range c.args {
				a = strings.ReplaceAll(a, "ENV", filepath.Join(dir, "env.yml"))
				args[i] = strings.ReplaceAll(a, "DIR", dir)
			}
			enc, _ := json.Marshal(args)
			cmd := exec.Command(os.Args[0], "-test.run=^TestHostileChild$")
			cmd.Env = append(os.Environ(), "ENVKIT_HOSTILE_CHILD="+string(enc), "ENVKIT_CACHE="+t.TempDir())
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			timer := time.AfterFunc(hostileTime, func() { cmd.Process.Kill() })
			err := cmd.Wait()
			timer.Stop()
			took := time.Since(start)
			code := cmd.ProcessState.ExitCode()
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
			t.Logf("exit %d in %v, max RSS %d MiB, %d bytes printed", code, took.Round(time.Millisecond), rss>>20, stdout.Len()+stderr.Len())
			if took >= hostileTime {
				t.Fatalf("killed after %v (err %v)\n%.2000s", hostileTime, err, stderr.String())
			}
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout: %.2000s\nstderr: %.2000s", code, c.code, stdout.String(), stderr.String())
			}
			out := stderr.String()
			if c.code == 0 {
				out = stdout.String()
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not contain %q:\n%.3000s", w, out)
				}
			}
			if rss > hostileRSS {
				t.Errorf("max RSS %d MiB, more than %d MiB", rss>>20, hostileRSS>>20)
			}
			maxOut := c.maxOut
			if maxOut == 0 {
				maxOut = 64 << 10
			}
			if n := stdout.Len() + stderr.Len(); n > maxOut {
				t.Errorf("printed %d bytes, more than %d", n, maxOut)
			}
			if all := stdout.String() + stderr.String(); strings.Contains(all, "SECRET") || strings.Contains(all, "root:") {
				t.Errorf("leaked content:\n%.3000s", all)
			}
		})
	}
}

// TestHostileChild is the child of TestHostile: it runs the CLI on the
// arguments it is given and exits with its code.
func TestHostileChild(t *testing.T) {
	enc := os.Getenv("ENVKIT_HOSTILE_CHILD")
	if enc == "" {
		t.Skip("run by TestHostile")
	}
	var args []string
	if err := json.Unmarshal([]byte(enc), &args); err != nil {
		t.Fatal(err)
	}
	os.Exit(run(args, os.Stdout, os.Stderr))
}

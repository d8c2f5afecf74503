package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/stack"
	envllb "github.com/envkit/envkit/llb"
)

// privateStack is an envkit CLI environment with its own local stack (state
// directory and registry port), stopped when t ends.
type privateStack struct {
	bin, state string
	port       int
}

func newPrivateStack(t *testing.T) privateStack {
	t.Helper()
	harness.SkipShort(t)
	state, err := os.MkdirTemp("", "envkit-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := stack.Stop(ctx, state); err != nil {
			t.Errorf("stop: %v", err)
		}
		if !t.Failed() {
			os.RemoveAll(state)
		}
	})
	return privateStack{bin: envkitBinary(t), state: state, port: freePort(t)}
}

func (p privateStack) env() []string {
	return append(os.Environ(), "ENVKIT_STACK_DIR="+p.state, "ENVKIT_REGISTRY_PORT="+strconv.Itoa(p.port),
		"BUILDKIT_HOST=", "ENVKIT_FRONTEND_IMAGE=", "ENVKIT_HELPER_IMAGE=")
}

// run runs the CLI and returns its stdout and stderr.
func (p privateStack) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Env = p.env()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// On the embedded stack a conda environment builds with no flag: envkit
// build pushes its own binary as the frontend image and links with it. And
// the README's docker buildx path works as written after
// eval "$(envkit stack env)": the environment file's "# syntax=" names
// <registry>/envkit/frontend:latest, which envkit stack env pushed.
func TestCLISelfSufficientConda(t *testing.T) {
	p := newPrivateStack(t)
	ctx := ctxFor(t)
	exports, stderr, err := p.run(t, "stack", "env")
	if err != nil {
		t.Fatalf("envkit stack env: %v\n%s", err, stderr)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(exports), "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 {
			t.Fatalf("not an export: %q", line)
		}
		vars[k] = strings.Trim(v, "'")
	}
	registry := "127.0.0.1:" + strconv.Itoa(p.port)
	if vars["ENVKIT_REGISTRY"] != registry || vars["BUILDKIT_HOST"] != "unix://"+filepath.Join(p.state, "buildkitd.sock") ||
		vars["DOCKER_CONFIG"] != filepath.Join(p.state, "docker") || vars["BUILDX_BUILDER"] != stack.BuilderName {
		t.Errorf("exports:\n%s", exports)
	}
	s, err := stack.Start(ctx, stack.Options{StateDir: p.state, Persistent: true, RegistryPort: p.port})
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.PushBaseImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch := condaChannel(t, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"))
	proj := newProject(t, "env.yml", "name: self-conda\nimage: "+base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: [tool]\n", map[string]string{})
	out, stderr, err := p.run(t, "build", "--progress", "plain", filepath.Join(proj.dir, proj.file))
	if err != nil {
		t.Fatalf("envkit build without a frontend image flag: %v\n%s", err, stderr)
	}
	ref := strings.TrimSpace(out)
	if !strings.HasPrefix(ref, registry+"/envkit/self-conda:envkit_") {
		t.Errorf("ref %q", ref)
	}
	reg := &harness.Registry{}
	if got, err := reg.ReadFile(ctx, ref, "linux/amd64", envllb.DefaultPrefix+"/lib/libfoo.txt"); err != nil || string(got) != "libfoo for x86_64\n" {
		t.Errorf("libfoo.txt %q %v", got, err)
	}

	// The README's path: docker buildx with the exports, the frontend
	// named by the file's first line.
	proj = newProject(t, "environment.yml", "# syntax="+registry+"/envkit/frontend:latest\nname: readme\nimage: "+base.Base+
		"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: [libfoo]\n", map[string]string{})
	buildx := exec.CommandContext(ctx, "docker", "buildx", "build", "-f", filepath.Join(proj.dir, proj.file),
		"-t", registry+"/readme/my-env:1", "--push", proj.dir)
	buildx.Env = os.Environ()
	for k, v := range vars {
		buildx.Env = append(buildx.Env, k+"="+v)
	}
	if out, err := buildx.CombinedOutput(); err != nil {
		t.Fatalf("docker buildx build: %v\n%s", err, out)
	}
	if got, err := reg.ReadFile(ctx, registry+"/readme/my-env:1", "linux/amd64", envllb.DefaultPrefix+"/lib/libfoo.txt"); err != nil || string(got) != "libfoo for x86_64\n" {
		t.Errorf("buildx: libfoo.txt %q %v", got, err)
	}
}

package integration

import (
	"context"
	"net"
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

// envkitBinary builds the envkit CLI once per test.
func envkitBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "envkit")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/envkit")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The README's main job: `envkit build` with no file starts its own local
// stack, makes the embedded quickstart and pushes it; a second run reuses
// the stack and gives the same image.
func TestCLIBuildQuickstart(t *testing.T) {
	harness.SkipShort(t)
	bin := envkitBinary(t)
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
	port := freePort(t)
	run := func() (string, string) {
		cmd := exec.Command(bin, "build", "--progress", "plain")
		cmd.Env = append(os.Environ(), "ENVKIT_STACK_DIR="+state, "ENVKIT_REGISTRY_PORT="+strconv.Itoa(port))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("envkit build: %v\n%s", err, stderr.String())
		}
		return strings.TrimSpace(string(out)), stderr.String()
	}
	ref1, log1 := run()
	if !strings.Contains(log1, "started local buildkitd") {
		t.Errorf("first run did not start the stack:\n%s", log1)
	}
	ref2, log2 := run()
	if !strings.Contains(log2, "reusing local buildkitd") {
		t.Errorf("second run did not reuse the stack:\n%s", log2)
	}
	if ref1 != ref2 || !strings.Contains(ref1, "127.0.0.1:"+strconv.Itoa(port)+"/envkit/images:envkit_") {
		t.Errorf("refs %q %q", ref1, ref2)
	}
	reg := &harness.Registry{}
	ctx := ctxFor(t)
	got, err := reg.ReadFile(ctx, ref1, "linux/amd64", "/opt/app/greeting")
	if err != nil || string(got) != "hello from envkit\n" {
		t.Errorf("greeting %q %v", got, err)
	}
	img, err := reg.Image(ctx, ref1, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if img.Config.Config.WorkingDir != "/opt/app" || img.Config.Config.Labels[envllb.LabelName] != "quickstart" ||
		!strings.Contains(strings.Join(img.Config.Config.Env, " "), "APP_HOME=/opt/app") {
		t.Errorf("config %+v", img.Config.Config)
	}
}

// envkit build FILE --addr uses a given buildkitd, and its hash label is
// what `envkit hash` prints.
func TestCLIBuildFile(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	p := newProject(t, "env.yml", "name: cli\nimage: "+e.Base.Base+"\ndocker_steps:\n  - RUN echo cli > /cli.txt\n", map[string]string{})
	ref := e.Ref("it/cli:1")
	out, err := exec.Command(bin, "build", "--addr", e.BuildkitAddr, "-t", ref, "--progress", "quiet", filepath.Join(p.dir, p.file)).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ctx := ctxFor(t)
	if got, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", "/cli.txt"); err != nil || string(got) != "cli\n" {
		t.Errorf("/cli.txt %q %v", got, err)
	}
	short, err := exec.Command(bin, "hash", "--full", filepath.Join(p.dir, p.file)).Output()
	if err != nil {
		t.Fatal(err)
	}
	img, err := e.Reg.Image(ctx, ref, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if img.Config.Config.Labels[envllb.LabelHash] != strings.TrimSpace(string(short)) {
		t.Errorf("label %s, envkit hash %s", img.Config.Config.Labels[envllb.LabelHash], short)
	}
}

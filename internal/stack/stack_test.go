package stack

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needsDaemons skips a test that starts real daemons under go test -short.
func needsDaemons(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts buildkitd and a registry (root): skipped with -short")
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// shortTempDir is a state dir whose socket path fits a sockaddr_un.
func shortTempDir(t *testing.T) string { return shortTempDirB(t) }

func shortTempDirB(tb testing.TB) string {
	dir, err := os.MkdirTemp("", "ekst-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startStack(t *testing.T, opts Options) *Stack {
	t.Helper()
	needsDaemons(t)
	began := time.Now()
	s, err := Start(testCtx(t), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %v (reused: %v); logs in %s", time.Since(began), s.Reused, s.LogDir)
	return s
}

func TestStartClose(t *testing.T) {
	ctx := testCtx(t)
	s := startStack(t, Options{StateDir: shortTempDir(t)})
	defer s.Close()
	if !strings.HasPrefix(s.Registry, "127.0.0.1:") {
		t.Errorf("registry %q is not on 127.0.0.1", s.Registry)
	}
	if err := registryProbe(ctx, s.Registry); err != nil {
		t.Errorf("registry: %v", err)
	}
	out, err := s.Buildctl(ctx, "debug", "workers", "--verbose")
	if err != nil {
		t.Fatal(err)
	}
	flat := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{"org.mobyproject.buildkit.worker.executor: oci", "org.mobyproject.buildkit.worker.network: host"} {
		if !strings.Contains(flat, want) {
			t.Errorf("buildctl debug workers --verbose lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(s.DockerConfig, "cli-plugins", "docker-buildx")); err != nil {
		t.Errorf("buildx plugin: %v", err)
	}
	out, err = s.DockerBuildx(ctx, "ls")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), BuilderName) || !strings.Contains(string(out), "remote") {
		t.Errorf("docker buildx ls lacks the remote builder %s:\n%s", BuilderName, out)
	}
	for _, log := range []string{s.RegistryLog, s.BuildkitdLog} {
		if fi, err := os.Stat(log); err != nil || fi.Size() == 0 {
			t.Errorf("log %s: %v (empty?)", log, err)
		}
	}

	regPID, bkPID := s.registry.pid, s.buildkitd.pid
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if pidAlive(regPID) || pidAlive(bkPID) {
		t.Errorf("after Close: registry alive %v, buildkitd alive %v", pidAlive(regPID), pidAlive(bkPID))
	}
	if err := registryProbe(ctx, s.Registry); err == nil {
		t.Errorf("registry still answers after Close")
	}
}

func TestPersistentReuse(t *testing.T) {
	ctx := testCtx(t)
	dir := shortTempDir(t)
	defer Stop(ctx, dir)
	first := startStack(t, Options{StateDir: dir, Persistent: true})
	if first.Reused {
		t.Error("first Start says Reused")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if !pidAlive(first.buildkitd.pid) || !pidAlive(first.registry.pid) {
		t.Fatal("Close stopped a persistent stack")
	}

	second := startStack(t, Options{StateDir: dir, Persistent: true})
	if !second.Reused {
		t.Error("second Start did not reuse the running stack")
	}
	if second.Registry != first.Registry || second.buildkitd.pid != first.buildkitd.pid || second.registry.pid != first.registry.pid {
		t.Errorf("second Start: registry %s pid %d/%d, want %s pid %d/%d", second.Registry,
			second.registry.pid, second.buildkitd.pid, first.Registry, first.registry.pid, first.buildkitd.pid)
	}
	if _, err := second.Buildctl(ctx, "debug", "workers"); err != nil {
		t.Fatal(err)
	}

	if err := Stop(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if pidAlive(first.buildkitd.pid) || pidAlive(first.registry.pid) {
		t.Error("Stop left a daemon running")
	}
	if _, err := os.Stat(filepath.Join(dir, "stack.json")); !os.IsNotExist(err) {
		t.Errorf("stack.json after Stop: %v", err)
	}
	third := startStack(t, Options{StateDir: dir, Persistent: true})
	if third.Reused || third.buildkitd.pid == first.buildkitd.pid {
		t.Errorf("Start after Stop reused (pid %d)", third.buildkitd.pid)
	}
}

func TestFixedRegistryPort(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s := startStack(t, Options{StateDir: shortTempDir(t), RegistryPort: port})
	defer s.Close()
	if want := "127.0.0.1:" + strconv.Itoa(port); s.Registry != want {
		t.Errorf("Registry = %s, want %s", s.Registry, want)
	}
	cfg, err := os.ReadFile(filepath.Join(s.StateDir, "buildkitd.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), `[registry."`+s.Registry+`"]`) {
		t.Errorf("buildkitd.toml does not mark %s as a plain-HTTP registry:\n%s", s.Registry, cfg)
	}
}

// A registry that cannot bind its port fails Start with its log's tail.
func TestStartFailureShowsLogTail(t *testing.T) {
	needsDaemons(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(testCtx(t), Options{StateDir: shortTempDir(t), RegistryPort: port, ReadyTimeout: 10 * time.Second})
	if err == nil {
		t.Fatal("Start succeeded on a port in use")
	}
	for _, want := range []string{"registry:", "registry.log", "address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestFindToolsOverride(t *testing.T) {
	t.Setenv("ENVKIT_RUNC", "/nonexistent/runc")
	_, err := FindTools()
	if err == nil || !strings.Contains(err.Error(), "ENVKIT_RUNC=/nonexistent/runc") || !strings.Contains(err.Error(), "install-deps.sh") {
		t.Errorf("err = %v", err)
	}
}

func TestCheckStaticELF(t *testing.T) {
	if err := checkStaticELF("/bin/ls"); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("/bin/ls: %v", err)
	}
	if err := checkStaticELF(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file accepted")
	}
	needsDaemons(t) // the installed tools
	tools, err := FindTools()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkStaticELF(tools.Buildkitd); err != nil {
		t.Errorf("buildkitd: %v", err)
	}
	if arch, err := elfArch(tools.Buildkitd); err != nil || arch != "amd64" {
		t.Errorf("elfArch(buildkitd) = %q, %v", arch, err)
	}
}

func TestLockDirWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lockDir(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if _, err := lockDir(ctx, path); err == nil {
		t.Fatal("second lock taken while the first is held")
	}
	unlock()
	u2, err := lockDir(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	u2()
}

// TestHelperStartAndHang is not a test on its own: TestDaemonsDieWithParent
// runs it in a child process that starts a stack, prints the daemons' pids
// and waits to be killed.
func TestHelperStartAndHang(t *testing.T) {
	dir := os.Getenv("ENVKIT_STACK_HELPER_DIR")
	if dir == "" {
		return
	}
	s, err := Start(context.Background(), Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("PIDS " + strconv.Itoa(s.registry.pid) + " " + strconv.Itoa(s.buildkitd.pid) + "\n")
	select {}
}

// A non-persistent stack dies with the process that started it, even when
// that process is killed without a chance to Close.
func TestDaemonsDieWithParent(t *testing.T) {
	needsDaemons(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperStartAndHang$", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), "ENVKIT_STACK_HELPER_DIR="+shortTempDir(t))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("helper: %v", err)
	}
	var reg, bk int
	if _, err := fmt.Sscanf(line, "PIDS %d %d", &reg, &bk); err != nil {
		cmd.Process.Kill()
		t.Fatalf("helper said %q: %v", line, err)
	}
	if !pidAlive(reg) || !pidAlive(bk) {
		t.Fatal("daemons not running while the helper lives")
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for (pidAlive(reg) || pidAlive(bk)) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if pidAlive(reg) || pidAlive(bk) {
		t.Errorf("after SIGKILL of their parent: registry alive %v, buildkitd alive %v", pidAlive(reg), pidAlive(bk))
		syscall.Kill(reg, syscall.SIGKILL)
		syscall.Kill(bk, syscall.SIGKILL)
	}
}

// Stacks started at once (the test binaries of two packages) each have
// buildkitd's trace socket in their own state directory: at buildkitd's
// default path, /run/buildkit/otel-grpc.sock, the second to start failed
// with "address already in use".
func TestConcurrentStarts(t *testing.T) {
	needsDaemons(t)
	ctx := testCtx(t)
	dirs := []string{shortTempDir(t), shortTempDir(t)}
	stacks := make([]*Stack, len(dirs))
	errs := make([]error, len(dirs))
	done := make(chan int)
	for i, d := range dirs {
		go func() {
			stacks[i], errs[i] = Start(ctx, Options{StateDir: d})
			done <- i
		}()
	}
	for range dirs {
		<-done
	}
	for i, s := range stacks {
		if errs[i] != nil {
			t.Errorf("stack %d: %v", i, errs[i])
			continue
		}
		defer s.Close()
		sock := filepath.Join(dirs[i], "otel-grpc.sock")
		if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Errorf("stack %d: buildkitd's trace socket is not %s: %v", i, sock, err)
		}
		if _, err := s.Buildctl(ctx, "debug", "workers"); err != nil {
			t.Errorf("stack %d: %v", i, err)
		}
	}
}

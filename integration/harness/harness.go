// Package harness gives integration tests one real stack (registry,
// buildkitd, docker buildx; see internal/stack) per test binary, with the
// test base images pushed, and helpers to inspect what builds pushed.
//
// A test binary that uses it should have
//
//	func TestMain(m *testing.M) { harness.Main(m) }
//
// so that the stack is stopped when its tests end. Without root or the tools,
// Get fails the test and says to run scripts/install-deps.sh; only
// go test -short skips the tests that need the stack.
//
// By default each test binary starts its own stack in a fresh temporary
// directory (removed after a passing run, kept with its logs after a failing
// one). With ENVKIT_TEST_STACK_DIR set, tests share a persistent stack there,
// started on first use and reused by later runs and other test binaries; stop
// it with stack.Stop.
package harness

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/envkit/envkit/internal/stack"
)

// Env is the shared stack of a test binary.
type Env struct {
	*stack.Stack
	// Base holds the full references of the pushed test base images.
	Base stack.BaseImages
	// Reg inspects the stack's registry.
	Reg *Registry
	// Startup is how long starting (or finding) the stack and pushing the
	// base images took.
	Startup time.Duration
}

var (
	once    sync.Once
	env     *Env
	envErr  error
	tempDir string
)

// Get returns the test binary's stack, starting it on first use. It fails t
// (never skips) when the stack cannot start. Under go test -short it skips:
// the real-stack tests need root and the tools, the rest of the suite does
// not.
func Get(t testing.TB) *Env {
	t.Helper()
	SkipShort(t)
	once.Do(func() { env, envErr = start() })
	if envErr != nil {
		t.Fatalf("integration stack: %v\n(the integration tests need root and the tools that scripts/install-deps.sh installs; run it, then retry)", envErr)
	}
	return env
}

// SkipShort skips a test that needs the real stack (root, buildkitd, a
// registry) under go test -short.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the real stack (root, buildkitd, registry): skipped with -short")
	}
}

func start() (*Env, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	opts := stack.Options{StateDir: os.Getenv("ENVKIT_TEST_STACK_DIR"), Persistent: true}
	if opts.StateDir == "" {
		dir, err := os.MkdirTemp("", "envkit-stack-")
		if err != nil {
			return nil, err
		}
		tempDir = dir
		opts = stack.Options{StateDir: dir}
	}
	s, err := stack.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	base, err := s.PushBaseImages(ctx)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("%w\n(logs: %s)", err, s.LogDir)
	}
	e := &Env{Stack: s, Base: base, Reg: &Registry{Storage: s.RegistryStorage}, Startup: time.Since(began)}
	fmt.Fprintf(os.Stderr, "harness: stack ready in %v (reused: %v): registry %s, buildkitd %s, logs in %s\n",
		e.Startup.Round(time.Millisecond), s.Reused, s.Registry, s.BuildkitAddr, s.LogDir)
	return e, nil
}

// Main runs the tests, then stops the private containerd and the stack if
// they were started. A temporary stack's directory (with containerd's) is
// removed after a passing run and kept (with its logs) after a failing one.
func Main(m *testing.M) {
	code := m.Run()
	stopContainerd()
	if env != nil {
		if err := env.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "harness: stopping the stack: %v\n", err)
		}
	}
	if tempDir != "" {
		if code == 0 {
			os.RemoveAll(tempDir)
		} else {
			fmt.Fprintf(os.Stderr, "harness: stack state and logs kept in %s\n", tempDir)
		}
	}
	os.Exit(code)
}

// SystemBase returns the test base image with files of this machine added
// (see stack.PushSystemBase; e.g. condatest.CPython's System: the loader
// and glibc a real CPython needs), building and pushing it on first use.
func (e *Env) SystemBase(t testing.TB, files map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ref, err := e.PushSystemBase(ctx, files)
	if err != nil {
		t.Fatalf("system base image: %v", err)
	}
	return ref
}

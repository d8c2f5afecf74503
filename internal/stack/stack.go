// Package stack starts, or finds again, the real components envkit builds
// with, on this machine and on loopback only: a docker-registry (CNCF
// distribution) serving plain HTTP on 127.0.0.1, a rootful buildkitd with the
// OCI worker and runc listening on a unix socket, and a docker CLI
// configuration whose buildx plugin has a remote builder on that buildkitd.
//
// Everything lives in one state directory:
//
//	stack.json          pids, addresses and tool paths of a running stack
//	stack.lock          flock held while a stack is being started or reused
//	registry.yml        generated registry config; registry/ is its storage
//	buildkitd.toml      generated buildkitd config; buildkitd/ is its root
//	buildkitd.sock      buildkitd's gRPC socket
//	docker/             DOCKER_CONFIG: cli-plugins/docker-buildx, buildx/ state
//	logs/               registry.log, buildkitd.log
//	contexts/           build contexts of the images this package makes
//
// The tools come from scripts/install-deps.sh (see FindTools).
package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BuilderName is the docker buildx builder that a stack's DOCKER_CONFIG holds.
const BuilderName = "envkit"

// Options configures Start.
type Options struct {
	// StateDir holds everything of the stack (see the package doc). Empty
	// means DefaultStateDir(). Its path must be short enough for a unix socket
	// (about 90 bytes).
	StateDir string
	// Persistent stacks keep running after Close and are found again (through
	// StateDir/stack.json) by the next Start with the same StateDir: this is
	// how the envkit CLI reuses one stack across commands. A non-persistent
	// stack is stopped by Close, and by the kernel if this process dies.
	Persistent bool
	// RegistryPort is the registry's port on 127.0.0.1; 0 picks a free port
	// (or keeps the port of a stack being reused).
	RegistryPort int
	// ReadyTimeout bounds the wait for each daemon to answer; 0 means 60s.
	ReadyTimeout time.Duration
}

// DefaultStateDir is where a persistent stack lives unless told otherwise:
// $ENVKIT_STACK_DIR, or CacheDir()/stack.
func DefaultStateDir() string {
	if d := os.Getenv("ENVKIT_STACK_DIR"); d != "" {
		return d
	}
	return filepath.Join(CacheDir(), "stack")
}

// Stack is a running registry + buildkitd + docker buildx configuration.
type Stack struct {
	// Registry is the registry's host:port, always 127.0.0.1:PORT.
	Registry string
	// BuildkitAddr is buildkitd's address for buildctl --addr and BuildKit
	// clients: unix:///STATE/buildkitd.sock.
	BuildkitAddr string
	// DockerConfig is a DOCKER_CONFIG directory with the buildx plugin and a
	// remote builder named BuilderName on BuildkitAddr.
	DockerConfig string
	// StateDir and LogDir: see the package doc. RegistryLog and BuildkitdLog
	// are the daemons' log files.
	StateDir, LogDir          string
	RegistryLog, BuildkitdLog string
	// RegistryStorage is the registry's filesystem storage root
	// (docker/registry/v2/blobs/ under it holds every blob it stores).
	RegistryStorage string
	// Tools are the programs this stack runs.
	Tools Tools
	// Reused is true when Start found a running persistent stack.
	Reused bool
	// Persistent is Options.Persistent.
	Persistent bool

	registry, buildkitd *daemon
}

// state is the content of stack.json.
type state struct {
	RegistryPID  int    `json:"registry_pid"`
	RegistryAddr string `json:"registry_addr"`
	BuildkitdPID int    `json:"buildkitd_pid"`
	BuildkitAddr string `json:"buildkit_addr"`
	Buildkitd    string `json:"buildkitd"`
	Registry     string `json:"registry"`
	Runc         string `json:"runc"`
}

// Start starts a stack in opts.StateDir, or reuses the persistent stack
// already running there. It waits until the registry answers /v2/ and
// buildkitd lists its workers; a daemon that does not come up yields an error
// carrying the tail of its log.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("stack: buildkitd with the OCI worker must run as root (euid is %d); run the tests or the CLI as root, after scripts/install-deps.sh", os.Geteuid())
	}
	tools, err := FindTools()
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	dir := opts.StateDir
	if dir == "" {
		dir = DefaultStateDir()
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "buildkitd.sock")
	if len(sock) > 100 {
		return nil, fmt.Errorf("stack: state dir %s is too long for a unix socket path (%d bytes); use a shorter one", dir, len(sock))
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	s := &Stack{
		StateDir:     dir,
		LogDir:       filepath.Join(dir, "logs"),
		BuildkitAddr: "unix://" + sock,
		DockerConfig: filepath.Join(dir, "docker"),
		Tools:        tools,
		Persistent:   opts.Persistent,
	}
	s.RegistryLog = filepath.Join(s.LogDir, "registry.log")
	s.RegistryStorage = filepath.Join(dir, "registry")
	s.BuildkitdLog = filepath.Join(s.LogDir, "buildkitd.log")
	for _, d := range []string{s.LogDir, s.DockerConfig, filepath.Join(dir, "contexts")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
	}
	unlock, err := lockDir(ctx, filepath.Join(dir, "stack.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	prev, _ := readState(dir)
	if err := s.startRegistry(ctx, opts, prev); err != nil {
		s.stopStarted()
		return nil, err
	}
	if err := s.startBuildkitd(ctx, opts, prev); err != nil {
		s.stopStarted()
		return nil, err
	}
	s.Reused = s.registry.cmd == nil && s.buildkitd.cmd == nil
	if err := s.setupDocker(ctx); err != nil {
		s.stopStarted()
		return nil, err
	}
	if err := s.writeState(); err != nil {
		s.stopStarted()
		return nil, err
	}
	return s, nil
}

// Close stops the daemons this Stack started, unless it is persistent; a
// daemon it reused is left alone. It keeps the state directory (and so the
// logs).
func (s *Stack) Close() error {
	if s.Persistent || s.registry == nil {
		return nil
	}
	if s.registry.cmd != nil && s.buildkitd.cmd != nil {
		return s.stopAll()
	}
	s.stopStarted()
	return nil
}

// Stop stops the persistent stack running in stateDir (DefaultStateDir() if
// empty), if any.
func Stop(ctx context.Context, stateDir string) error {
	if stateDir == "" {
		stateDir = DefaultStateDir()
	}
	unlock, err := lockDir(ctx, filepath.Join(stateDir, "stack.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	st, err := readState(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	s := &Stack{StateDir: stateDir}
	if pidRuns(st.BuildkitdPID, st.Buildkitd) {
		s.buildkitd = &daemon{name: "buildkitd", pid: st.BuildkitdPID}
	}
	if pidRuns(st.RegistryPID, st.Registry) {
		s.registry = &daemon{name: "registry", pid: st.RegistryPID}
	}
	return s.stopAll()
}

func (s *Stack) stopAll() error {
	err := errors.Join(s.buildkitd.stop(15*time.Second), s.registry.stop(5*time.Second))
	if rmErr := os.Remove(filepath.Join(s.StateDir, "stack.json")); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	return err
}

// stopStarted stops the daemons this call started (after a failed Start).
func (s *Stack) stopStarted() {
	if s.buildkitd != nil && s.buildkitd.cmd != nil {
		_ = s.buildkitd.stop(10 * time.Second)
	}
	if s.registry != nil && s.registry.cmd != nil {
		_ = s.registry.stop(5 * time.Second)
	}
}

// --- registry --------------------------------------------------------------

func (s *Stack) startRegistry(ctx context.Context, opts Options, prev *state) error {
	cfg := filepath.Join(s.StateDir, "registry.yml")
	if prev != nil && pidRuns(prev.RegistryPID, cfg) &&
		(opts.RegistryPort == 0 || prev.RegistryAddr == "127.0.0.1:"+strconv.Itoa(opts.RegistryPort)) &&
		registryProbe(ctx, prev.RegistryAddr) == nil {
		s.registry = &daemon{name: "registry", pid: prev.RegistryPID, log: s.RegistryLog}
		s.Registry = prev.RegistryAddr
		return nil
	}
	if prev != nil && pidRuns(prev.RegistryPID, cfg) {
		// A registry of ours that is unhealthy or on the wrong port.
		_ = (&daemon{name: "registry", pid: prev.RegistryPID}).stop(5 * time.Second)
	}
	// A free port can be taken between our probe and the registry's bind:
	// retry with another one when the registry fails to come up.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		port := opts.RegistryPort
		if port == 0 {
			if port, err = freePort(); err != nil {
				return fmt.Errorf("stack: registry: %w", err)
			}
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if err = os.WriteFile(cfg, []byte(registryConfig(s.RegistryStorage, addr)), 0o644); err != nil {
			return fmt.Errorf("stack: %w", err)
		}
		d, startErr := startDaemon("registry", s.RegistryLog, s.Persistent, s.Tools.Registry, "serve", cfg)
		if startErr != nil {
			return fmt.Errorf("stack: %w", startErr)
		}
		s.registry, s.Registry = d, addr
		err = d.waitReady(ctx, opts.ReadyTimeout, func(ctx context.Context) error { return registryProbe(ctx, addr) })
		if err == nil {
			return nil
		}
		_ = d.stop(5 * time.Second)
		s.registry = nil
		if opts.RegistryPort != 0 {
			break
		}
	}
	return fmt.Errorf("stack: %w", err)
}

// registryConfig is a docker-registry config: no auth, filesystem storage,
// plain HTTP on addr only.
func registryConfig(storage, addr string) string {
	return fmt.Sprintf(`version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %q
  headers:
    X-Content-Type-Options: [nosniff]
`, storage, addr)
}

func registryProbe(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v2/: %s", resp.Status)
	}
	if v := resp.Header.Get("Docker-Distribution-Api-Version"); v != "registry/2.0" {
		return fmt.Errorf("GET /v2/ on %s: not a registry (Docker-Distribution-Api-Version %q)", addr, v)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// --- buildkitd -------------------------------------------------------------

func (s *Stack) startBuildkitd(ctx context.Context, opts Options, prev *state) error {
	cfg := filepath.Join(s.StateDir, "buildkitd.toml")
	// ENVKIT_BUILDKITD_DEBUG_ADDR=127.0.0.1:6060 serves buildkitd's
	// pprof and expvar there, to profile a build (go tool pprof).
	content := buildkitdConfig(filepath.Join(s.StateDir, "buildkitd"), s.BuildkitAddr, os.Getenv("ENVKIT_BUILDKITD_DEBUG_ADDR"),
		filepath.Join(s.StateDir, "otel-grpc.sock"), s.Tools.Runc, s.Registry)
	probe := func(ctx context.Context) error { return s.buildkitdProbe(ctx) }
	old, _ := os.ReadFile(cfg)
	if prev != nil && pidRuns(prev.BuildkitdPID, s.Tools.Buildkitd, cfg) && string(old) == content &&
		prev.Buildkitd == s.Tools.Buildkitd && s.buildkitdProbe(ctx) == nil {
		s.buildkitd = &daemon{name: "buildkitd", pid: prev.BuildkitdPID, log: s.BuildkitdLog}
		return nil
	}
	if prev != nil && pidRuns(prev.BuildkitdPID, cfg) {
		// Ours, but stale: another registry port, another binary, or unhealthy.
		_ = (&daemon{name: "buildkitd", pid: prev.BuildkitdPID}).stop(15 * time.Second)
	}
	sock := strings.TrimPrefix(s.BuildkitAddr, "unix://")
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("stack: %w", err)
	}
	if err := os.WriteFile(cfg, []byte(content), 0o644); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	d, err := startDaemon("buildkitd", s.BuildkitdLog, s.Persistent, s.Tools.Buildkitd, "--config", cfg)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	s.buildkitd = d
	if err := d.waitReady(ctx, opts.ReadyTimeout, probe); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	return nil
}

// buildkitdConfig is a buildkitd.toml (with debug, buildkitd's debug HTTP
// server on that address): the OCI worker with runc and host
// networking, no containerd worker, gRPC on a unix socket only, and the local
// registry reachable over plain HTTP.
func buildkitdConfig(root, addr, debug, otel, runc, registry string) string {
	var debugAddress string
	if debug != "" {
		debugAddress = fmt.Sprintf("  debugAddress = %q\n", debug)
	}
	return fmt.Sprintf(`# Generated by envkit internal/stack; rewritten on every start.
root = %q

[grpc]
  address = [%q]
%s
# The trace socket is the stack's own: by default every buildkitd listens
# on /run/buildkit/otel-grpc.sock, and two starting at once (the test
# binaries of two packages) fail with "address already in use".
[otel]
  socketPath = %q

[worker.oci]
  enabled = true
  binary = %q
  snapshotter = "auto"
  networkMode = "host"
  gc = true
  reservedSpace = "1GB"
  maxUsedSpace = "20GB"

[worker.containerd]
  enabled = false

# No devices to inject into builds; also keeps the log free of CDI warnings.
[cdi]
  disabled = true

[registry.%q]
  http = true
  insecure = true
`, root, addr, debugAddress, otel, runc, registry)
}

// buildkitdProbe succeeds when buildkitd answers on its socket and has a worker.
func (s *Stack) buildkitdProbe(ctx context.Context) error {
	sock := strings.TrimPrefix(s.BuildkitAddr, "unix://")
	if _, err := os.Stat(sock); err != nil {
		return fmt.Errorf("no socket yet: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := s.BuildctlCmd(ctx, "debug", "workers").CombinedOutput()
	if err != nil {
		return fmt.Errorf("buildctl debug workers: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if !strings.Contains(string(out), "linux/") {
		return fmt.Errorf("buildctl debug workers: no worker yet: %s", strings.TrimSpace(string(out)))
	}
	return nil
}

// --- docker buildx -----------------------------------------------------------

// setupDocker links the buildx plugin into DockerConfig and creates (or
// keeps) the remote builder on buildkitd's unix socket.
func (s *Stack) setupDocker(ctx context.Context) error {
	plugins := filepath.Join(s.DockerConfig, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	link := filepath.Join(plugins, "docker-buildx")
	if cur, err := os.Readlink(link); err != nil || cur != s.Tools.DockerBuildx {
		_ = os.Remove(link)
		if err := os.Symlink(s.Tools.DockerBuildx, link); err != nil {
			return fmt.Errorf("stack: %w", err)
		}
	}
	// A builder's endpoint is stored in buildx/instances/<name>; recreate the
	// builder when it is missing or points elsewhere.
	inst, err := os.ReadFile(filepath.Join(s.DockerConfig, "buildx", "instances", BuilderName))
	if err == nil && strings.Contains(string(inst), `"`+s.BuildkitAddr+`"`) {
		return nil
	}
	if err == nil {
		if out, err := s.DockerBuildx(ctx, "rm", "--force", BuilderName); err != nil {
			return fmt.Errorf("stack: docker buildx rm %s: %w\n%s", BuilderName, err, tailLines(out, 20))
		}
	}
	if out, err := s.DockerBuildx(ctx, "create", "--name", BuilderName, "--driver", "remote", s.BuildkitAddr); err != nil {
		return fmt.Errorf("stack: docker buildx create: %w\n%s", err, tailLines(out, 20))
	}
	return nil
}

// --- commands ----------------------------------------------------------------

// BuildctlCmd is an exec.Cmd running buildctl against this stack's buildkitd
// (buildctl --addr BuildkitAddr args...), for callers that stream its output.
func (s *Stack) BuildctlCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.Tools.Buildctl, append([]string{"--addr", s.BuildkitAddr}, args...)...)
	cmd.Env = os.Environ()
	return cmd
}

// Buildctl runs buildctl against this stack's buildkitd and returns its
// combined output; on failure the error carries the output's tail.
func (s *Stack) Buildctl(ctx context.Context, args ...string) ([]byte, error) {
	return run(s.BuildctlCmd(ctx, args...), "buildctl "+strings.Join(args, " "))
}

// DockerBuildxCmd is an exec.Cmd running `docker buildx args...` with this
// stack's DOCKER_CONFIG and BUILDX_BUILDER=envkit, so `build` uses the remote
// builder without a --builder flag.
func (s *Stack) DockerBuildxCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.Tools.Docker, append([]string{"buildx"}, args...)...)
	// Variables that would point buildx at another configuration or builder.
	cmd.Env = append(environWithout("DOCKER_CONFIG", "BUILDX_CONFIG", "BUILDX_BUILDER", "DOCKER_CONTEXT", "DOCKER_HOST"),
		"DOCKER_CONFIG="+s.DockerConfig,
		"BUILDX_BUILDER="+BuilderName,
		"DOCKER_CLI_HINTS=false",
		"BUILDX_NO_DEFAULT_LOAD=true",
	)
	return cmd
}

// DockerBuildx runs `docker buildx args...` (see DockerBuildxCmd) and returns
// its combined output; on failure the error carries the output's tail.
func (s *Stack) DockerBuildx(ctx context.Context, args ...string) ([]byte, error) {
	return run(s.DockerBuildxCmd(ctx, args...), "docker buildx "+strings.Join(args, " "))
}

// environWithout is os.Environ() less the named variables.
func environWithout(names ...string) []string {
	env := os.Environ()
	kept := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, name) {
			kept = append(kept, kv)
		}
	}
	return kept
}

func run(cmd *exec.Cmd, what string) ([]byte, error) {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w\n%s", what, err, tailLines(out, 30))
	}
	return out, nil
}

// Ref names repo (e.g. "envkit/frontend:dev") in this stack's registry.
func (s *Stack) Ref(repo string) string { return s.Registry + "/" + repo }

// --- state ---------------------------------------------------------------------

func readState(dir string) (*state, error) {
	data, err := os.ReadFile(filepath.Join(dir, "stack.json"))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("stack: %s: %w", filepath.Join(dir, "stack.json"), err)
	}
	return &st, nil
}

func (s *Stack) writeState() error {
	st := state{
		RegistryPID:  s.registry.pid,
		RegistryAddr: s.Registry,
		BuildkitdPID: s.buildkitd.pid,
		BuildkitAddr: s.BuildkitAddr,
		Buildkitd:    s.Tools.Buildkitd,
		Registry:     s.Tools.Registry,
		Runc:         s.Tools.Runc,
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.StateDir, "stack.json.tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	return os.Rename(tmp, filepath.Join(s.StateDir, "stack.json"))
}

// lockDir takes an exclusive flock on path, waiting while ctx allows, so that
// concurrent Starts on one state dir (parallel test binaries, CLI commands)
// start one stack and reuse it.
func lockDir(ctx context.Context, path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("stack: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("stack: waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

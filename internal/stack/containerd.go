package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ContainerdNamespace is the containerd namespace a private containerd's
// images and containers live in.
const ContainerdNamespace = "envkit"

// ContainerdTools are the programs a private containerd runs: Debian's
// containerd package (1.6), installed by scripts/install-deps.sh.
type ContainerdTools struct {
	Containerd string // the daemon
	Ctr        string // its CLI
	Shim       string // containerd-shim-runc-v2, which the daemon finds on its PATH
	Runc       string // the OCI runtime the shim runs
}

// FindContainerdTools locates containerd, ctr, containerd-shim-runc-v2 and
// runc (overridable with ENVKIT_CONTAINERD, ENVKIT_CTR, ENVKIT_CONTAINERD_SHIM,
// ENVKIT_RUNC), in the Debian locations, then on PATH. It is apart from
// FindTools: a stack that builds and pushes does not need containerd.
func FindContainerdTools() (ContainerdTools, error) {
	var f toolFinder
	find := f.find
	t := ContainerdTools{
		Containerd: find("ENVKIT_CONTAINERD", "containerd", "/usr/bin"),
		Ctr:        find("ENVKIT_CTR", "ctr", "/usr/bin"),
		Shim:       find("ENVKIT_CONTAINERD_SHIM", "containerd-shim-runc-v2", "/usr/bin"),
		Runc:       find("ENVKIT_RUNC", "runc", "/usr/sbin", "/usr/bin"),
	}
	if len(f.missing) > 0 {
		return t, fmt.Errorf("containerd tools not found: %s; %s", strings.Join(f.missing, ", "), InstallHint)
	}
	return t, nil
}

// Containerd is a private containerd daemon: its root, state, socket, shim
// and runc state and IO FIFOs all live under Dir, so it shares nothing with a
// system containerd (/var/lib/containerd, /run/containerd) or another
// private one, except the directory containerd 1.6 always puts its shims'
// sockets in (/run/containerd/s/, under names hashed from Dir's socket).
// The CRI plugin is disabled. It is meant for tests: pull what a build
// pushed and run it as containerd runs images.
//
//	Dir/containerd.toml   generated config
//	Dir/containerd.sock   gRPC socket (ctr --address)
//	Dir/root, Dir/state   containerd's root and state
//	Dir/runc, Dir/fifo    runc's state and the containers' IO FIFOs
//	Dir/containerd.log    its log
type Containerd struct {
	Dir, Addr, Log string
	// Snapshotter is the snapshotter images are unpacked with: overlayfs
	// where Dir's file system supports it, native otherwise.
	Snapshotter string
	// Registry is the plain-HTTP registry (host:port) Pull talks to.
	Registry string
	Tools    ContainerdTools

	d *daemon
}

// StartContainerd starts a private containerd in dir (created if needed; its
// socket path must fit a sockaddr_un) and waits until it answers. registry
// is the host:port Pull may fetch from over plain HTTP. Close stops it; it
// dies with this process too.
func StartContainerd(ctx context.Context, dir, registry string, timeout time.Duration) (*Containerd, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("containerd: must run as root (euid is %d)", os.Geteuid())
	}
	tools, err := FindContainerdTools()
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	c := &Containerd{Dir: dir, Addr: filepath.Join(dir, "containerd.sock"), Log: filepath.Join(dir, "containerd.log"),
		Registry: registry, Tools: tools}
	// The ttrpc socket is the longest path: Addr + ".ttrpc".
	if len(c.Addr)+len(".ttrpc") > 100 {
		return nil, fmt.Errorf("stack: containerd dir %s is too long for a unix socket path; use a shorter one", dir)
	}
	for _, d := range []string{"root", "state", "runc", "fifo", "opt"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o711); err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
	}
	cfg := filepath.Join(dir, "containerd.toml")
	if err := os.WriteFile(cfg, []byte(containerdConfig(dir, c.Addr)), 0o644); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	if err := os.Remove(c.Addr); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("stack: %w", err)
	}
	// containerd looks its shim up on PATH, and the shim runc.
	path := filepath.Dir(tools.Shim) + ":" + filepath.Dir(tools.Runc) + ":" + os.Getenv("PATH")
	env := append(environWithout("PATH", "CONTAINERD_ADDRESS", "CONTAINERD_NAMESPACE"), "PATH="+path)
	c.d, err = startDaemonEnv("containerd", c.Log, false, env, tools.Containerd, "--config", cfg)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	err = c.d.waitReady(ctx, timeout, func(ctx context.Context) error {
		if _, err := os.Stat(c.Addr); err != nil {
			return fmt.Errorf("no socket yet: %w", err)
		}
		_, err := c.Ctr(ctx, "--connect-timeout", "2s", "version")
		return err
	})
	if err == nil {
		c.Snapshotter, err = c.pickSnapshotter(ctx)
	}
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("stack: %w", err)
	}
	return c, nil
}

// containerdConfig is a containerd.toml (version 2) keeping everything of
// the daemon under dir, with no CRI, no TCP and no metrics endpoint.
func containerdConfig(dir, addr string) string {
	return fmt.Sprintf(`# Generated by envkit internal/stack; rewritten on every start.
version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), addr, addr+".ttrpc", filepath.Join(dir, "opt"))
}

// pickSnapshotter takes overlayfs if containerd loaded it, else native.
func (c *Containerd) pickSnapshotter(ctx context.Context) (string, error) {
	out, err := c.Ctr(ctx, "plugins", "ls")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[0] == "io.containerd.snapshotter.v1" && f[1] == "overlayfs" && f[len(f)-1] == "ok" {
			return "overlayfs", nil
		}
	}
	return "native", nil
}

// Close stops the daemon (containers Run started are gone already: it
// removes them) and removes the cgroups runc made for them.
func (c *Containerd) Close() error {
	if c == nil || c.d == nil {
		return nil
	}
	err := c.d.stop(10 * time.Second)
	c.d = nil
	for _, h := range cgroupHierarchies() {
		_ = os.Remove(filepath.Join(h, c.cgroupParent()))
		_ = os.Remove(filepath.Join(h, filepath.Dir(c.cgroupParent()))) // if no other containerd's are left
	}
	return err
}

// CtrCmd is an exec.Cmd running ctr against this containerd, in
// ContainerdNamespace.
func (c *Containerd) CtrCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Tools.Ctr, append([]string{"--address", c.Addr, "--namespace", ContainerdNamespace}, args...)...)
	cmd.Env = environWithout("CONTAINERD_ADDRESS", "CONTAINERD_NAMESPACE", "CONTAINERD_SNAPSHOTTER")
	return cmd
}

// Ctr runs ctr with args and returns its combined output; on failure the
// error carries the output's tail.
func (c *Containerd) Ctr(ctx context.Context, args ...string) ([]byte, error) {
	return run(c.CtrCmd(ctx, args...), "ctr "+strings.Join(args, " "))
}

// Pull fetches ref (HOST:PORT/REPO[:TAG][@DIGEST]) from a plain-HTTP
// registry for this machine's platform and unpacks it:
// ctr images pull --plain-http.
func (c *Containerd) Pull(ctx context.Context, ref string) error {
	_, err := c.Ctr(ctx, "images", "pull", "--plain-http", "--snapshotter", c.Snapshotter, ref)
	return err
}

// Run runs cmd (or the image's own entrypoint and command if none) in a new
// container id of the pulled image ref, waits for it and removes it
// (ctr run --rm), and returns what it wrote to stdout. A container that exits
// non-zero is an error carrying its exit status and stderr.
func (c *Containerd) Run(ctx context.Context, ref, id string, cmd ...string) ([]byte, error) {
	args := []string{"run", "--rm", "--snapshotter", c.Snapshotter,
		"--runc-binary", c.Tools.Runc, "--runc-root", filepath.Join(c.Dir, "runc"),
		"--fifo-dir", filepath.Join(c.Dir, "fifo"), "--cgroup", c.cgroupParent() + "/" + id,
		ref, id}
	x := c.CtrCmd(ctx, append(args, cmd...)...)
	var stdout, stderr bytes.Buffer
	x.Stdout, x.Stderr = &stdout, &stderr
	if err := x.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("ctr run %s %s %s: %w\n%s", ref, id, strings.Join(cmd, " "), err, tailLines(stderr.Bytes(), 30))
	}
	return stdout.Bytes(), nil
}

// cgroupParent is the cgroup path under which Run's containers live: one per
// private containerd, so two of them never share a container's cgroup.
func (c *Containerd) cgroupParent() string {
	return "/envkit-ctr/" + filepath.Base(filepath.Dir(c.Dir)) + "-" + filepath.Base(c.Dir)
}

// cgroupHierarchies are the mounted cgroup hierarchies (v1: one per
// controller; v2: the unified one).
func cgroupHierarchies() []string {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil
	}
	var hs []string
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && (f[2] == "cgroup" || f[2] == "cgroup2") {
			hs = append(hs, f[1])
		}
	}
	return hs
}

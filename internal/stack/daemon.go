package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// daemon is one background process of a stack: the registry or buildkitd.
type daemon struct {
	name string
	pid  int
	log  string        // its log file (stdout and stderr)
	cmd  *exec.Cmd     // nil when adopted from a state file
	done chan struct{} // closed when a process we started has exited
	err  error         // its exit status, valid after done is closed
}

// startDaemon starts argv[0] with its output appended to logPath. A detached
// daemon gets its own session and outlives this process; an attached one is
// sent SIGTERM by the kernel if this process dies first.
func startDaemon(name, logPath string, detached bool, argv ...string) (*daemon, error) {
	return startDaemonEnv(name, logPath, detached, os.Environ(), argv...)
}

// startDaemonEnv is startDaemon with the environment env.
func startDaemonEnv(name, logPath string, detached bool, env []string, argv ...string) (*daemon, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "\n=== %s: %s\n", time.Now().UTC().Format(time.RFC3339), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = env
	if detached {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{name: name, pid: cmd.Process.Pid, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	return d, nil
}

// exited reports whether a daemon we started has exited, with its status.
func (d *daemon) exited() (bool, error) {
	if d.done == nil {
		return !pidAlive(d.pid), nil
	}
	select {
	case <-d.done:
		return true, d.err
	default:
		return false, nil
	}
}

// stop sends SIGTERM and waits up to grace for the process to exit, then
// sends SIGKILL.
func (d *daemon) stop(grace time.Duration) error {
	if d == nil || d.pid <= 0 {
		return nil
	}
	if err := syscall.Kill(d.pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("stop %s (pid %d): %w", d.name, d.pid, err)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if gone, _ := d.exited(); gone {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(d.pid, syscall.SIGKILL)
	if d.done != nil {
		<-d.done
	}
	return nil
}

// failure builds an error for a daemon that did not come up, with the tail of
// its log so that the cause is visible where the error is reported.
func (d *daemon) failure(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if gone, err := d.exited(); gone {
		msg += fmt.Sprintf(" (process exited: %v)", err)
	}
	return fmt.Errorf("%s: %s; log %s:\n%s", d.name, msg, d.log, logTail(d.log, 20))
}

// waitReady polls probe every interval until it succeeds, the daemon exits,
// ctx ends, or timeout passes.
func (d *daemon) waitReady(ctx context.Context, timeout time.Duration, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	interval := 10 * time.Millisecond
	var last error
	for {
		if last = probe(ctx); last == nil {
			return nil
		}
		if gone, _ := d.exited(); gone {
			return d.failure("exited before it was ready")
		}
		select {
		case <-ctx.Done():
			return d.failure("not ready after %v: %v", timeout, last)
		case <-time.After(interval):
		}
		if interval < 200*time.Millisecond {
			interval *= 2
		}
	}
}

// pidAlive reports whether a process with this pid exists (and is not a zombie).
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no procfs: trust kill(0)
	}
	// Field 3, after the parenthesised command name, is the state.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

// pidRuns reports whether pid is alive and its command line contains every
// one of want, which guards against a recycled pid.
func pidRuns(pid int, want ...string) bool {
	if !pidAlive(pid) {
		return false
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	cmdline := string(bytes.ReplaceAll(raw, []byte{0}, []byte{' '}))
	for _, w := range want {
		if !strings.Contains(cmdline, w) {
			return false
		}
	}
	return true
}

// logTail returns the last n lines of a log file, indented.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "    (no log: " + err.Error() + ")"
	}
	return tailLines(data, n)
}

func tailLines(data []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

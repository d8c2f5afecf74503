package stack

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// InstallHint is appended to errors about a missing tool.
const InstallHint = "run scripts/install-deps.sh (as root) to install the envkit stack tools"

// Tools holds the absolute paths of the programs a stack runs.
type Tools struct {
	Buildkitd    string // buildkitd, built by scripts/install-deps.sh at the go.mod version
	Buildctl     string // buildctl, same version
	DockerBuildx string // the docker-buildx CLI plugin
	Docker       string // the docker CLI (a client only; no docker engine is used)
	Runc         string // the OCI runtime buildkitd's OCI worker runs
	Registry     string // Debian's docker-registry (CNCF distribution)
	Busybox      string // a statically linked busybox, the rootfs of the test base images
}

// CacheDir is where scripts/install-deps.sh caches binaries and where
// persistent stacks keep their state by default: $ENVKIT_CACHE, or
// $HOME/.cache/envkit.
func CacheDir() string {
	if d := os.Getenv("ENVKIT_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		home = "/tmp" // as scripts/install-deps.sh does
	}
	return filepath.Join(home, ".cache", "envkit")
}

// FindTools locates every tool. Each can be overridden by an environment
// variable (ENVKIT_BUILDKITD, ENVKIT_BUILDCTL, ENVKIT_DOCKER_BUILDX,
// ENVKIT_DOCKER, ENVKIT_RUNC, ENVKIT_REGISTRY, ENVKIT_BUSYBOX); otherwise the
// install-deps cache ($ENVKIT_CACHE/bin/current) is searched first, then the
// Debian locations, then PATH. The error lists everything that is missing.
func FindTools() (Tools, error) {
	cur := filepath.Join(CacheDir(), "bin", "current")
	var f toolFinder
	find := f.find
	t := Tools{
		Buildkitd:    find("ENVKIT_BUILDKITD", "buildkitd", cur),
		Buildctl:     find("ENVKIT_BUILDCTL", "buildctl", cur),
		DockerBuildx: find("ENVKIT_DOCKER_BUILDX", "docker-buildx", cur, "/usr/libexec/docker/cli-plugins", "/usr/local/lib/docker/cli-plugins"),
		Docker:       find("ENVKIT_DOCKER", "docker", "/usr/local/bin", "/usr/bin"),
		Runc:         find("ENVKIT_RUNC", "runc", "/usr/sbin", "/usr/bin"),
		Registry:     find("ENVKIT_REGISTRY", "docker-registry", "/usr/bin"),
		Busybox:      find("ENVKIT_BUSYBOX", "busybox", "/usr/bin", "/bin"),
	}
	if len(f.missing) > 0 {
		return t, fmt.Errorf("stack tools not found: %s; %s", strings.Join(f.missing, ", "), InstallHint)
	}
	// Resolve the install-deps symlinks to their versioned files, so that a
	// persistent stack notices a tool upgrade (its recorded paths change).
	for _, p := range []*string{&t.Buildkitd, &t.Buildctl, &t.DockerBuildx} {
		if real, err := filepath.EvalSymlinks(*p); err == nil {
			*p = real
		}
	}
	if err := checkStaticELF(t.Busybox); err != nil {
		return t, fmt.Errorf("busybox at %s: %w (the base image needs busybox-static; %s)", t.Busybox, err, InstallHint)
	}
	return t, nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// checkStaticELF reports an error unless path is a statically linked Linux
// ELF executable, the only kind that runs in a FROM-scratch image.
func checkStaticELF(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("ELF type %v is not an executable", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked (has an ELF interpreter); build it statically, e.g. CGO_ENABLED=0")
		}
	}
	return nil
}

// elfArch maps the ELF machine of a static executable to its OCI architecture.
func elfArch(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	case elf.EM_386:
		return "386", nil
	case elf.EM_PPC64:
		return "ppc64le", nil
	case elf.EM_S390:
		return "s390x", nil
	case elf.EM_RISCV:
		return "riscv64", nil
	}
	return "", fmt.Errorf("unsupported ELF machine %v", f.Machine)
}

// toolFinder locates executables and remembers what it could not find.
type toolFinder struct{ missing []string }

// find returns the executable name: $env when set (which must be one),
// else the first of dirs that holds it, else the one on PATH; "" (and
// name remembered as missing) when there is none.
func (f *toolFinder) find(env, name string, dirs ...string) string {
	if p := os.Getenv(env); p != "" {
		if isExecutable(p) {
			return p
		}
		f.missing = append(f.missing, fmt.Sprintf("%s (%s=%s is not an executable file)", name, env, p))
		return ""
	}
	for _, d := range dirs {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	f.missing = append(f.missing, name)
	return ""
}

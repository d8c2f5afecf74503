package stack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// FrontendRepo is the repository of the frontend images a stack holds.
const FrontendRepo = "envkit/frontend"

// FrontendCaps are the gateway capabilities envkit's frontend implements,
// as the project's Dockerfile declares them.
var FrontendCaps = []string{"moby.buildkit.frontend.inputs", "moby.buildkit.frontend.subrequests", "moby.buildkit.frontend.contexts"}

// FrontendImage makes the executable exe (a binary that serves as envkit's
// gateway frontend and link helper: cmd/envkit-frontend, or the envkit CLI
// itself) available as a frontend image in the stack's registry and returns
// its reference, REGISTRY/envkit/frontend:bin-<digest>, where digest is over
// the image's files: a second call with the same binary finds the image and
// pushes nothing. A dynamically linked exe (the CLI built with cgo, as `go
// build` does by default) gets its ELF interpreter and shared libraries from
// this machine at the paths its loader resolves them to: the helper runs on
// the build platform, which is this machine's for the local stack.
func (s *Stack) FrontendImage(ctx context.Context, exe string) (string, error) {
	files, err := frontendFiles(exe)
	if err != nil {
		return "", fmt.Errorf("stack: frontend image of %s: %w", exe, err)
	}
	arch, err := elfArch(exe)
	if err != nil {
		return "", fmt.Errorf("stack: frontend image of %s: %w", exe, err)
	}
	tag, err := filesTag(files)
	if err != nil {
		return "", fmt.Errorf("stack: frontend image of %s: %w", exe, err)
	}
	repoTag := FrontendRepo + ":" + tag
	ref := s.Ref(repoTag)
	if ok, err := s.hasManifest(ctx, repoTag); err != nil || ok {
		return ref, err
	}
	dir, err := os.MkdirTemp(filepath.Join(s.StateDir, "contexts"), "frontend-")
	if err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	defer os.RemoveAll(dir)
	for dst, src := range files {
		if err := copyFile(src, filepath.Join(dir, "rootfs", dst), 0o755); err != nil {
			return "", fmt.Errorf("stack: %w", err)
		}
	}
	dockerfile := "FROM scratch\nCOPY rootfs/ /\n" +
		"LABEL moby.buildkit.frontend.network.none=\"true\"\n" +
		"LABEL moby.buildkit.frontend.caps=" + fmt.Sprintf("%q", strings.Join(FrontendCaps, ",")) + "\n" +
		"ENTRYPOINT [\"" + FrontendPath + "\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	if _, err := s.BuildDockerfile(ctx, dir, []string{"linux/" + arch}, ref); err != nil {
		return "", err
	}
	return ref, nil
}

// TagFrontendLatest points REGISTRY/envkit/frontend:latest at ref (a
// FrontendImage reference), the image that "# syntax=" lines of the
// examples name.
func (s *Stack) TagFrontendLatest(ctx context.Context, ref string) (string, error) {
	latest := s.Ref(FrontendRepo + ":latest")
	tag := strings.TrimPrefix(ref, s.Ref(FrontendRepo)+":")
	if err := s.retag(ctx, FrontendRepo, tag, "latest"); err != nil {
		return "", err
	}
	return latest, nil
}

// frontendFiles maps each file of the image (its absolute path in the
// image) to the file on this machine that holds its content: exe at
// FrontendPath, and for a dynamically linked exe its interpreter and
// libraries, as the interpreter's --list resolves them.
func frontendFiles(exe string) (map[string]string, error) {
	f, err := elf.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	files := map[string]string{FrontendPath: exe}
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return nil, fmt.Errorf("ELF interpreter: %w", err)
			}
			interp = string(bytes.TrimRight(b, "\x00"))
		}
	}
	if interp == "" {
		return files, nil
	}
	files[interp] = interp
	out, err := exec.Command(interp, "--list", exe).Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", interp, err)
	}
	libs, err := parseLoaderList(out)
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", interp, err)
	}
	for _, l := range libs {
		files[l] = l
	}
	for dst, src := range files {
		real, err := filepath.EvalSymlinks(src)
		if err != nil {
			return nil, err
		}
		files[dst] = real
	}
	return files, nil
}

// parseLoaderList reads the absolute paths of the libraries in ld.so
// --list (ldd) output: "name => /path (0x...)" and "/path (0x...)"; the
// vDSO has no file.
func parseLoaderList(out []byte) ([]string, error) {
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if _, rhs, ok := strings.Cut(line, "=>"); ok {
			line = strings.TrimSpace(rhs)
		}
		p, _, _ := strings.Cut(line, " (")
		if strings.Contains(p, "not found") {
			return nil, fmt.Errorf("a library is missing: %s", sc.Text())
		}
		if strings.HasPrefix(p, "/") {
			libs = append(libs, p)
		}
	}
	return libs, sc.Err()
}

// filesTag is "bin-" and the hex sha256 of the image's file list (each
// path with the sha256 of its content).
func filesTag(files map[string]string) (string, error) {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	list := sha256.New()
	for _, p := range paths {
		f, err := os.Open(files[p])
		if err != nil {
			return "", err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(list, "%s %x\n", p, h.Sum(nil))
	}
	return "bin-" + hex.EncodeToString(list.Sum(nil)), nil
}

// retag points repo:to at the manifest repo:from names (GET, then PUT of
// the same bytes under the new tag).
func (s *Stack) retag(ctx context.Context, repo, from, to string) error {
	base := "http://" + s.Registry + "/v2/" + repo + "/manifests/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+from, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("stack: registry %s: %w", s.Registry, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("stack: registry %s: %w", s.Registry, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stack: registry %s: GET %s:%s: %s", s.Registry, repo, from, resp.Status)
	}
	put, err := http.NewRequestWithContext(ctx, http.MethodPut, base+to, bytes.NewReader(body))
	if err != nil {
		return err
	}
	put.Header.Set("Content-Type", resp.Header.Get("Content-Type"))
	presp, err := http.DefaultClient.Do(put)
	if err != nil {
		return fmt.Errorf("stack: registry %s: %w", s.Registry, err)
	}
	msg, _ := io.ReadAll(io.LimitReader(presp.Body, 4096))
	presp.Body.Close()
	if presp.StatusCode != http.StatusCreated {
		return fmt.Errorf("stack: registry %s: PUT %s:%s: %s: %s", s.Registry, repo, to, presp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// Test base images, built locally (no Docker Hub) and pushed to the stack's
// registry. Bump the tag when their content changes: PushBaseImages keeps an
// image that is already in the registry.
const (
	// BaseRepo holds a linux/amd64 image of busybox-static with /bin/sh and
	// the other applets as symlinks, so Dockerfile RUN works under runc.
	BaseRepo = "envkit-test/base:1"
	// MultiBaseRepo holds an index for linux/amd64 (the BaseRepo rootfs) and
	// linux/arm64 (files only: no RUN can work there without emulation).
	// Both carry /etc/envkit-test-arch naming their architecture.
	MultiBaseRepo = "envkit-test/base-multiarch:1"
)

// SystemBaseRepo holds linux/amd64 images of BaseRepo with files of this
// machine added (PushSystemBase), tagged by those files.
const SystemBaseRepo = "envkit-test/base-system"

// MultiPlatforms are the platforms of MultiBaseRepo.
var MultiPlatforms = []string{"linux/amd64", "linux/arm64"}

// BaseImages are the full references of the pushed base images.
type BaseImages struct {
	Base  string // Registry/BaseRepo
	Multi string // Registry/MultiBaseRepo
}

// PushBaseImages builds the test base images with buildkitd (dockerfile.v0,
// FROM scratch + COPY of a rootfs prepared under StateDir/contexts) and pushes
// them, unless the registry has them already.
func (s *Stack) PushBaseImages(ctx context.Context) (BaseImages, error) {
	imgs := BaseImages{Base: s.Ref(BaseRepo), Multi: s.Ref(MultiBaseRepo)}
	haveBase, err := s.hasManifest(ctx, BaseRepo)
	if err != nil {
		return imgs, err
	}
	haveMulti, err := s.hasManifest(ctx, MultiBaseRepo)
	if err != nil {
		return imgs, err
	}
	if haveBase && haveMulti {
		return imgs, nil
	}
	dir := filepath.Join(s.StateDir, "contexts", "base")
	if err := writeBaseContext(dir, s.Tools.Busybox); err != nil {
		return imgs, fmt.Errorf("stack: base image context: %w", err)
	}
	// The two builds share the context and run concurrently in buildkitd.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	build := func(i int, platforms []string, ref string) {
		defer wg.Done()
		_, errs[i] = s.BuildDockerfile(ctx, dir, platforms, ref)
	}
	if !haveBase {
		wg.Add(1)
		go build(0, []string{"linux/amd64"}, imgs.Base)
	}
	if !haveMulti {
		wg.Add(1)
		go build(1, MultiPlatforms, imgs.Multi)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return imgs, err
	}
	return imgs, nil
}

// PushSystemBase pushes BaseRepo (which PushBaseImages pushed) with files
// added, each an absolute path in the image mapped to the file on this
// machine that holds its content: e.g. the ELF loader and C library that a
// dynamically linked program needs, which busybox-static's base lacks. The
// tag is a digest of the files' paths and contents, so the same files are
// built and pushed once. It returns the image's full reference.
func (s *Stack) PushSystemBase(ctx context.Context, files map[string]string) (string, error) {
	tag, err := filesTag(files)
	if err != nil {
		return "", fmt.Errorf("stack: system base: %w", err)
	}
	repoTag := SystemBaseRepo + ":" + strings.TrimPrefix(tag, "bin-")
	ref := s.Ref(repoTag)
	if ok, err := s.hasManifest(ctx, repoTag); err != nil || ok {
		return ref, err
	}
	if err := os.MkdirAll(filepath.Join(s.StateDir, "contexts"), 0o755); err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	dir, err := os.MkdirTemp(filepath.Join(s.StateDir, "contexts"), "system-")
	if err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	defer os.RemoveAll(dir)
	for dst, src := range files {
		if !filepath.IsAbs(dst) {
			return "", fmt.Errorf("stack: system base: %q is not an absolute path", dst)
		}
		if err := copyFile(src, filepath.Join(dir, "rootfs", dst), 0o755); err != nil {
			return "", fmt.Errorf("stack: system base: %w", err)
		}
	}
	dockerfile := "FROM " + s.Ref(BaseRepo) + "\nCOPY rootfs/ /\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	if _, err := s.BuildDockerfile(ctx, dir, []string{"linux/amd64"}, ref); err != nil {
		return "", err
	}
	return ref, nil
}

// baseDockerfile picks the rootfs of the target architecture.
const baseDockerfile = `FROM scratch
ARG TARGETARCH
COPY rootfs-${TARGETARCH}/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["/bin/sh"]
`

// writeBaseContext lays out dir/Dockerfile, dir/rootfs-amd64 (busybox and
// its applet symlinks) and dir/rootfs-arm64 (configuration files only).
func writeBaseContext(dir, busybox string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", busybox, err)
	}
	applets := strings.Fields(string(out))
	if len(applets) == 0 {
		return fmt.Errorf("%s --list printed no applets", busybox)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		root := filepath.Join(dir, "rootfs-"+arch)
		files := map[string]string{
			"etc/passwd":           "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
			"etc/group":            "root:x:0:\nnogroup:x:65534:\n",
			"etc/os-release":       "ID=envkit-test\nNAME=\"envkit test base\"\nVERSION_ID=1\n",
			"etc/envkit-test-arch": arch + "\n",
		}
		for name, content := range files {
			p := filepath.Join(root, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return err
			}
		}
		for _, d := range []string{"root", "tmp", "usr/bin", "usr/local/bin", "var/tmp"} {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				return err
			}
		}
		for _, d := range []string{"tmp", "var/tmp"} {
			if err := os.Chmod(filepath.Join(root, d), 0o1777); err != nil {
				return err
			}
		}
		if arch != "amd64" {
			continue
		}
		if err := copyFile(busybox, filepath.Join(root, "bin", "busybox"), 0o755); err != nil {
			return err
		}
		for _, a := range applets {
			if a == "busybox" {
				continue
			}
			if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(baseDockerfile), 0o644)
}

// FrontendPath is where PushFrontendImage puts the frontend binary.
const FrontendPath = "/bin/envkit-frontend"

// PushFrontendImage packages a statically linked executable as a BuildKit
// gateway frontend image (FROM scratch, the binary at FrontendPath as
// ENTRYPOINT) for the binary's architecture, pushes it as ref (a full
// reference; see Ref) and returns the pushed manifest's digest. Use it with
// `buildctl build --frontend gateway.v0 --opt source=REF` or a
// `# syntax=REF` line. The frontend runs without network
// (moby.buildkit.frontend.network.none); caps are the gateway capabilities it
// implements (e.g. "moby.buildkit.frontend.inputs",
// "moby.buildkit.frontend.subrequests"), declared in the
// moby.buildkit.frontend.caps label that buildkitd checks requests against.
func (s *Stack) PushFrontendImage(ctx context.Context, binaryPath, ref string, caps ...string) (digest.Digest, error) {
	if err := checkStaticELF(binaryPath); err != nil {
		return "", fmt.Errorf("stack: frontend binary %s: %w", binaryPath, err)
	}
	arch, err := elfArch(binaryPath)
	if err != nil {
		return "", fmt.Errorf("stack: frontend binary %s: %w", binaryPath, err)
	}
	dir, err := os.MkdirTemp(filepath.Join(s.StateDir, "contexts"), "frontend-")
	if err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := copyFile(binaryPath, filepath.Join(dir, "envkit-frontend"), 0o755); err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	dockerfile := `FROM scratch
COPY envkit-frontend ` + FrontendPath + `
LABEL moby.buildkit.frontend.network.none="true"
`
	if len(caps) > 0 {
		dockerfile += "LABEL moby.buildkit.frontend.caps=" + strconv.Quote(strings.Join(caps, ",")) + "\n"
	}
	dockerfile += `ENTRYPOINT ["` + FrontendPath + `"]
`
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	return s.BuildDockerfile(ctx, dir, []string{"linux/" + arch}, ref)
}

// BuildDockerfile builds contextDir/Dockerfile with buildkitd's built-in
// dockerfile.v0 frontend for the given platforms (none: buildkitd's own),
// pushes the result to ref over plain HTTP, and returns the pushed digest (a
// manifest, or an index for several platforms).
func (s *Stack) BuildDockerfile(ctx context.Context, contextDir string, platforms []string, ref string) (digest.Digest, error) {
	md, err := os.CreateTemp("", "envkit-buildctl-md-*.json")
	if err != nil {
		return "", err
	}
	md.Close()
	defer os.Remove(md.Name())
	args := []string{"build", "--progress=plain",
		"--frontend=dockerfile.v0",
		"--local", "context=" + contextDir,
		"--local", "dockerfile=" + contextDir,
		"--output", "type=image,name=" + ref + ",push=true,registry.insecure=true",
		"--metadata-file", md.Name(),
	}
	if len(platforms) > 0 {
		args = append(args, "--opt", "platform="+strings.Join(platforms, ","))
	}
	if _, err := s.Buildctl(ctx, args...); err != nil {
		return "", fmt.Errorf("stack: build %s: %w", ref, err)
	}
	return metadataDigest(md.Name())
}

// metadataDigest reads containerimage.digest from a --metadata-file.
func metadataDigest(path string) (digest.Digest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var md struct {
		Digest digest.Digest `json:"containerimage.digest"`
	}
	if err := json.Unmarshal(data, &md); err != nil {
		return "", fmt.Errorf("stack: metadata file %s: %w", path, err)
	}
	if err := md.Digest.Validate(); err != nil {
		return "", fmt.Errorf("stack: metadata file %s: containerimage.digest: %w", path, err)
	}
	return md.Digest, nil
}

// manifestAccept is the Accept header of manifest requests: every image
// manifest and index format.
var manifestAccept = strings.Join([]string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

// hasManifest reports whether repo:tag ("name:tag") is in the registry.
func (s *Stack) hasManifest(ctx context.Context, repoTag string) (bool, error) {
	name, tag, ok := strings.Cut(repoTag, ":")
	if !ok {
		return false, fmt.Errorf("stack: %q has no tag", repoTag)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+s.Registry+"/v2/"+name+"/manifests/"+tag, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, fmt.Errorf("stack: registry %s: %w", s.Registry, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // drained for reuse; the status decides
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("stack: registry %s: HEAD %s: %s", s.Registry, repoTag, resp.Status)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

package harness_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/envkit/envkit/integration/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// writeContext makes a build context directory with the given Dockerfile.
func writeContext(t *testing.T, dockerfile string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBaseImage(t *testing.T) {
	e := harness.Get(t)
	ctx := ctxFor(t)
	t.Logf("stack startup: %v", e.Startup)
	m, err := e.Reg.Manifest(ctx, e.Base.Base)
	if err != nil {
		t.Fatal(err)
	}
	if m.IsIndex() {
		t.Fatalf("%s is an index (%s), want a single linux/amd64 manifest", e.Base.Base, m.MediaType)
	}
	img, err := e.Reg.Image(ctx, e.Base.Base, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if img.Config.OS != "linux" || img.Config.Architecture != "amd64" {
		t.Errorf("config platform %s/%s", img.Config.OS, img.Config.Architecture)
	}
	// /bin/sh is a symlink to busybox: ReadFile follows it to the ELF binary.
	sh, err := e.Reg.ReadImageFile(ctx, img, "/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(sh), "\x7fELF") {
		t.Errorf("/bin/sh is not an ELF file (starts %q)", sh[:min(len(sh), 8)])
	}
	if _, err := e.Reg.ReadImageFile(ctx, img, "/no/such/file"); !errors.Is(err, harness.ErrNotFound) {
		t.Errorf("missing file: err = %v, want ErrNotFound", err)
	}
}

// TestBuildRunBuildctl builds FROM the base image with a RUN step through
// buildctl and checks the file the RUN step wrote in the pushed image.
func TestBuildRunBuildctl(t *testing.T) {
	e := harness.Get(t)
	ctx := ctxFor(t)
	dir := writeContext(t, "FROM "+e.Base.Base+"\nRUN echo hi > /x && rm /etc/os-release\n")
	ref := e.Ref("smoke/buildctl:1")
	dgst, err := e.BuildDockerfile(ctx, dir, nil, ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := e.Reg.Image(ctx, ref, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if img.Digest != dgst {
		t.Errorf("registry has %s, build reported %s", img.Digest, dgst)
	}
	got, err := e.Reg.ReadImageFile(ctx, img, "/x")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hi\n" {
		t.Errorf("/x = %q, want %q", got, "hi\n")
	}
	// The RUN layer's whiteout hides the base layer's file.
	if _, err := e.Reg.ReadImageFile(ctx, img, "/etc/os-release"); !errors.Is(err, harness.ErrNotFound) {
		t.Errorf("deleted /etc/os-release: err = %v, want ErrNotFound", err)
	}
	if len(img.Manifest.Layers) != 2 {
		t.Errorf("%d layers, want 2 (base + RUN)", len(img.Manifest.Layers))
	}
}

// TestBuildRunDockerBuildx does the same through `docker buildx build` with
// the remote builder on the stack's buildkitd.
func TestBuildRunDockerBuildx(t *testing.T) {
	e := harness.Get(t)
	ctx := ctxFor(t)
	dir := writeContext(t, "FROM "+e.Base.Base+"\nRUN echo hi from buildx > /x\n")
	ref := e.Ref("smoke/buildx:1")
	if out, err := e.DockerBuildx(ctx, "build", "--progress=plain", "--output", "type=image,name="+ref+",push=true", dir); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(string(out), "pushing manifest for "+ref) {
		t.Errorf("docker buildx output does not mention pushing %s:\n%s", ref, out)
	}
	got, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", "/x")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hi from buildx\n" {
		t.Errorf("/x = %q", got)
	}
	out, err := e.DockerBuildx(ctx, "inspect", "envkit")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "remote") || !strings.Contains(string(out), e.BuildkitAddr) {
		t.Errorf("builder envkit is not the remote driver on %s:\n%s", e.BuildkitAddr, out)
	}
}

// TestMultiPlatformBase checks the multi-platform base index and builds an
// image-only multi-platform image on top of it.
func TestMultiPlatformBase(t *testing.T) {
	e := harness.Get(t)
	ctx := ctxFor(t)
	m, err := e.Reg.Manifest(ctx, e.Base.Multi)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := m.Index()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range idx.Manifests {
		if d.MediaType != ocispec.MediaTypeImageManifest {
			t.Errorf("index entry %s has media type %s", d.Digest, d.MediaType)
		}
		platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	if strings.Join(platforms, ",") != "linux/amd64,linux/arm64" {
		t.Fatalf("index platforms %v, want linux/amd64,linux/arm64", platforms)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		got, err := e.Reg.ReadFile(ctx, e.Base.Multi, "linux/"+arch, "/etc/envkit-test-arch")
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != arch+"\n" {
			t.Errorf("linux/%s: /etc/envkit-test-arch = %q", arch, got)
		}
	}

	dir := writeContext(t, "FROM "+e.Base.Multi+"\nARG TARGETARCH\nCOPY hello.txt /hello-$TARGETARCH.txt\n")
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := e.Ref("smoke/multi:1")
	if _, err := e.BuildDockerfile(ctx, dir, []string{"linux/amd64", "linux/arm64"}, ref); err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := e.Reg.Image(ctx, ref, "linux/"+arch)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := e.Reg.ReadImageFile(ctx, img, "/hello-"+arch+".txt"); err != nil || string(got) != "hello\n" {
			t.Errorf("linux/%s: /hello-%s.txt = %q, %v", arch, arch, got, err)
		}
		if got, err := e.Reg.ReadImageFile(ctx, img, "/etc/envkit-test-arch"); err != nil || string(got) != arch+"\n" {
			t.Errorf("linux/%s: base file = %q, %v", arch, got, err)
		}
	}
}

// TestFrontendImage packages a small gateway frontend (testdata/minifrontend)
// with PushFrontendImage and builds with it through gateway.v0.
func TestFrontendImage(t *testing.T) {
	e := harness.Get(t)
	ctx := ctxFor(t)
	bin := filepath.Join(t.TempDir(), "minifrontend")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./testdata/minifrontend")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build minifrontend: %v\n%s", err, out)
	}
	fref := e.Ref("smoke/frontend:1")
	dgst, err := e.PushFrontendImage(ctx, bin, fref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := e.Reg.Image(ctx, fref, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if img.Digest != dgst {
		t.Errorf("registry has %s, push reported %s", img.Digest, dgst)
	}
	if ep := strings.Join(img.Config.Config.Entrypoint, " "); ep != "/bin/envkit-frontend" {
		t.Errorf("entrypoint %q", ep)
	}

	out := e.Ref("smoke/from-frontend:1")
	if _, err := e.Buildctl(ctx, "build", "--progress=plain",
		"--frontend=gateway.v0", "--opt", "source="+fref, "--opt", "build-arg:WHO=envkit",
		"--output", "type=image,name="+out+",push=true"); err != nil {
		t.Fatal(err)
	}
	got, err := e.Reg.ReadFile(ctx, out, "", "/frontend-says")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello from envkit\n" {
		t.Errorf("/frontend-says = %q", got)
	}

	// A dynamically linked binary cannot run FROM scratch: refused up front.
	// (Debian's coreutils are dynamically linked.)
	if _, err := e.PushFrontendImage(ctx, "/bin/ls", e.Ref("smoke/bad:1")); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("dynamic binary: err = %v, want a dynamically linked error", err)
	}
}

// TestLayerFormats reads files back from images pushed with docker media
// types and with zstd and uncompressed layers.
func TestLayerFormats(t *testing.T) {
	e := harness.Get(t)
	ctx := ctxFor(t)
	dir := writeContext(t, "FROM "+e.Base.Base+"\nRUN echo formats > /f\n")
	for _, tc := range []struct {
		name, output, manifestType, layerType string
	}{
		{"docker-gzip", "oci-mediatypes=false", harness.MediaTypeDockerManifest, harness.MediaTypeDockerLayerGzip},
		{"oci-zstd", "compression=zstd,force-compression=true", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageLayerZstd},
		{"oci-uncompressed", "compression=uncompressed,force-compression=true", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageLayer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := e.Ref("smoke/formats:" + tc.name)
			if _, err := e.Buildctl(ctx, "build", "--progress=plain", "--frontend=dockerfile.v0",
				"--local", "context="+dir, "--local", "dockerfile="+dir,
				"--output", "type=image,name="+ref+",push=true,"+tc.output); err != nil {
				t.Fatal(err)
			}
			m, err := e.Reg.Manifest(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != tc.manifestType {
				t.Errorf("manifest media type %s, want %s", m.MediaType, tc.manifestType)
			}
			img, err := e.Reg.Image(ctx, ref, "linux/amd64")
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range img.Manifest.Layers {
				if l.MediaType != tc.layerType {
					t.Errorf("layer %d media type %s, want %s", i, l.MediaType, tc.layerType)
				}
			}
			for file, want := range map[string]string{"/f": "formats\n", "/etc/envkit-test-arch": "amd64\n"} {
				if got, err := e.Reg.ReadImageFile(ctx, img, file); err != nil || string(got) != want {
					t.Errorf("%s = %q, %v; want %q", file, got, err, want)
				}
			}
		})
	}
}

// TestMergedFilesystem checks whiteouts of directories, opaque directories,
// symlinked directories and hard links in a pushed image.
func TestMergedFilesystem(t *testing.T) {
	e := harness.Get(t)
	ctx := ctxFor(t)
	dir := writeContext(t, "FROM "+e.Base.Base+`
RUN mkdir -p /d /gone/sub && echo old > /d/a && echo x > /gone/sub/x
RUN rm -rf /d /gone && mkdir /d && echo new > /d/only
RUN mkdir -p /data/real && echo v > /data/real/f && ln -s real /data/link && ln -s /data/link/f /abs
RUN echo h > /h1 && ln /h1 /h2 && rm -rf /root
`)
	ref := e.Ref("smoke/merged:1")
	if _, err := e.BuildDockerfile(ctx, dir, nil, ref); err != nil {
		t.Fatal(err)
	}
	img, err := e.Reg.Image(ctx, ref, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	files, err := e.Reg.Files(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{"/d/only": true, "/d/a": false, "/d": true, "/gone": false, "/gone/sub/x": false, "/root": false, "/bin/sh": true, "/h2": true} {
		if _, ok := files[p]; ok != want {
			t.Errorf("%s in merged filesystem: %v, want %v", p, ok, want)
		}
	}
	for p, want := range map[string]string{"/d/only": "new\n", "/data/link/f": "v\n", "/abs": "v\n", "/h2": "h\n"} {
		if got, err := e.Reg.ReadImageFile(ctx, img, p); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", p, got, err, want)
		}
	}
	if _, err := e.Reg.ReadImageFile(ctx, img, "/d/a"); !errors.Is(err, harness.ErrNotFound) {
		t.Errorf("/d/a under a recreated /d: err = %v, want ErrNotFound", err)
	}
	if _, err := e.Reg.ReadImageFile(ctx, img, "/data/real"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory read: err = %v", err)
	}
}

// A system base carries files of this machine: a dynamically linked host
// program with its loader and libraries (as ldd lists them) runs in it,
// and the same files give the same image.
func TestSystemBase(t *testing.T) {
	e := harness.Get(t)
	ctx := ctxFor(t)
	prog, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ldd", prog).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", prog, err)
	}
	files := map[string]string{"/usr/local/bin/host-true": prog}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			files[f[2]] = f[2]
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			files[f[0]] = f[0] // the loader
		}
	}
	if len(files) < 3 {
		t.Fatalf("ldd %s listed no loader or libc:\n%s", prog, out)
	}
	ref := e.SystemBase(t, files)
	if again := e.SystemBase(t, files); again != ref {
		t.Errorf("the same files made %s, then %s", ref, again)
	}
	dir := writeContext(t, "FROM "+ref+"\nRUN host-true --version > /version\n")
	if _, err := e.BuildDockerfile(ctx, dir, nil, e.Ref("harness/system-run:1")); err != nil {
		t.Fatal(err)
	}
	got, err := e.Reg.ReadFile(ctx, e.Ref("harness/system-run:1"), "linux/amd64", "/version")
	if err != nil || !strings.Contains(string(got), "true") {
		t.Errorf("host-true --version in the system base printed %q (%v)", got, err)
	}
}

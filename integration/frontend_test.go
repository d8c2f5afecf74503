// Package integration tests envkit against the real thing: a buildkitd with
// runc, a registry and docker buildx, all on 127.0.0.1 (see
// integration/harness). The frontend runs as a gateway image built from the
// project's own Dockerfile.
package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envkit/envkit/hash"
	"github.com/envkit/envkit/integration/harness"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/spec"
)

func TestMain(m *testing.M) { harness.Main(m) }

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var (
	frontendOnce sync.Once
	frontendRef  string
	frontendErr  error
)

// frontend builds cmd/envkit-frontend statically and packages it with the
// project's Dockerfile (target prebuilt) through buildkitd, pushed to the
// test registry. It returns the image reference for "# syntax=".
func frontend(t testing.TB, e *harness.Env) string {
	t.Helper()
	frontendOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		root, err := filepath.Abs("..")
		if err != nil {
			frontendErr = err
			return
		}
		bin, err := os.MkdirTemp("", "envkit-frontend-bin-")
		if err != nil {
			frontendErr = err
			return
		}
		defer os.RemoveAll(bin)
		build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(bin, "envkit-frontend"), "./cmd/envkit-frontend")
		build.Dir = root
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if out, err := build.CombinedOutput(); err != nil {
			frontendErr = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		ref := e.Ref("envkit/frontend:test")
		_, err = e.Buildctl(ctx, "build", "--frontend", "dockerfile.v0",
			"--local", "context="+root, "--local", "dockerfile="+root, "--local", "bin="+bin,
			"--opt", "target=prebuilt", "--opt", "context:bin=local:bin",
			"--output", "type=image,name="+ref+",push=true,registry.insecure=true")
		frontendRef, frontendErr = ref, err
	})
	if frontendErr != nil {
		t.Fatalf("frontend image: %v", frontendErr)
	}
	return frontendRef
}

// project is a directory with an environment file and its context.
type project struct {
	dir  string
	file string // environment file name inside dir
}

func newProject(t testing.TB, file, yaml string, files map[string]string) project {
	t.Helper()
	dir := t.TempDir()
	files[file] = yaml
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return project{dir: dir, file: file}
}

// expectedHash is what `envkit hash` computes on disk for the project.
func (p project) expectedHash(t *testing.T) string {
	t.Helper()
	path := filepath.Join(p.dir, p.file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env, err := spec.Load(path, data, os.DirFS(p.dir))
	if err != nil {
		t.Fatal(err)
	}
	var ctx = os.DirFS(p.dir)
	if env.Build != nil {
		ctx = os.DirFS(filepath.Join(p.dir, env.Build.Path))
	}
	d, err := hash.Compute(env, ctx)
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// client is one way of running a build: buildctl or docker buildx.
type client struct {
	name  string
	build func(t testing.TB, e *harness.Env, p project, ref string, platforms []string, args ...string) ([]byte, error)
}

var clients = []client{
	{"buildctl", func(t testing.TB, e *harness.Env, p project, ref string, platforms []string, args ...string) ([]byte, error) {
		a := []string{"build", "--frontend", "gateway.v0", "--opt", "source=" + frontend(t, e),
			"--local", "context=" + p.dir, "--local", "dockerfile=" + p.dir, "--opt", "filename=" + p.file,
			"--output", "type=image,name=" + ref + ",push=true,registry.insecure=true"}
		if len(platforms) > 0 {
			a = append(a, "--opt", "platform="+strings.Join(platforms, ","))
		}
		for _, x := range args {
			a = append(a, "--opt", x)
		}
		return e.Buildctl(ctxFor(t), a...)
	}},
	{"buildx", func(t testing.TB, e *harness.Env, p project, ref string, platforms []string, args ...string) ([]byte, error) {
		a := []string{"build", "--progress", "plain", "-f", filepath.Join(p.dir, p.file),
			"--output", "type=image,name=" + ref + ",push=true,registry.insecure=true"}
		if len(platforms) > 0 {
			a = append(a, "--platform", strings.Join(platforms, ","))
		}
		for _, x := range args {
			a = append(a, "--"+strings.SplitN(x, ":", 2)[0], strings.SplitN(x, ":", 2)[1])
		}
		return e.DockerBuildx(ctxFor(t), append(a, p.dir)...)
	}},
}

// mustBuild builds p with c, pushes it as ref and returns its linux/amd64
// image from the registry.
func mustBuild(t testing.TB, e *harness.Env, c client, p project, ref string, args ...string) *harness.Image {
	t.Helper()
	if out, err := c.build(t, e, p, ref, nil, args...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	img, err := e.Reg.Image(ctxFor(t), ref, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func syntax(t testing.TB, e *harness.Env) string {
	return "# syntax=" + frontend(t, e) + "\n"
}

func eachClient(t *testing.T, f func(t *testing.T, c client)) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { f(t, c) })
	}
}

func TestImageOnly(t *testing.T) {
	e := harness.Get(t)
	eachClient(t, func(t *testing.T, c client) {
		p := newProject(t, "environment.yml", syntax(t, e)+`
name: image-only
version: "7"
description: just the base
image: `+e.Base.Base+`
environment_variables:
  MODEL_DIR: /models
  PATH: /opt/bin:/usr/bin:/bin
inference_config:
  liveness_route: {port: 5001, path: /live}
  readiness_route: {port: 5001, path: /ready}
  scoring_route: {port: 5001, path: /score}
`, map[string]string{})
		ref := e.Ref("it/image-only:" + c.name)
		img := mustBuild(t, e, c, p, ref)
		ctx := ctxFor(t)
		base, err := e.Reg.Image(ctx, e.Base.Base, "linux/amd64")
		if err != nil {
			t.Fatal(err)
		}
		// No new layers: the base is used as is.
		if len(img.Manifest.Layers) != len(base.Manifest.Layers) || img.Manifest.Layers[0].Digest != base.Manifest.Layers[0].Digest {
			t.Errorf("layers %v, base layers %v", img.Manifest.Layers, base.Manifest.Layers)
		}
		l := img.Config.Config.Labels
		want := map[string]string{
			envllb.LabelHash:                        p.expectedHash(t),
			envllb.LabelName:                        "image-only",
			envllb.LabelVersion:                     "7",
			envllb.LabelKind:                        "user-managed",
			"org.opencontainers.image.title":        "image-only",
			"org.opencontainers.image.version":      "7",
			"org.opencontainers.image.description":  "just the base",
			"org.opencontainers.image.base.name":    e.Base.Base,
			"org.opencontainers.image.base.digest":  base.Digest.String(),
			envllb.LabelInference + "scoring_route": "5001/score",
		}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("label %s = %q, want %q", k, l[k], v)
			}
		}
		env := strings.Join(img.Config.Config.Env, "\n")
		if !strings.Contains(env, "MODEL_DIR=/models") || !strings.Contains(env, "PATH=/opt/bin:/usr/bin:/bin") || strings.Count(env, "PATH=") != 1 {
			t.Errorf("env:\n%s", env)
		}
		if _, ok := img.Config.Config.ExposedPorts["5001/tcp"]; !ok {
			t.Errorf("exposed ports %v", img.Config.Config.ExposedPorts)
		}
	})
}

func TestDockerSteps(t *testing.T) {
	e := harness.Get(t)
	eachClient(t, func(t *testing.T, c client) {
		p := newProject(t, "env.yml", syntax(t, e)+`
name: steps
image: `+e.Base.Base+`
docker_steps: |
  ENV STEP_VAR=from-steps
  COPY app/ /app/
  RUN echo "built by $STEP_VAR" > /app/built.txt && cat /app/hello.txt >> /app/built.txt
environment_variables:
  BAKED: "yes"
`, map[string]string{"app/hello.txt": "hello\n", "app/secret.log": "ignored\n", ".dockerignore": "**/*.log\n"})
		ref := e.Ref("it/steps:" + c.name)
		if out, err := c.build(t, e, p, ref, nil); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		ctx := ctxFor(t)
		got, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", "/app/built.txt")
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "built by from-steps\nhello\n" {
			t.Errorf("/app/built.txt = %q", got)
		}
		if _, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", "/app/secret.log"); err == nil {
			t.Error(".dockerignore'd file was copied")
		}
		img, err := e.Reg.Image(ctx, ref, "linux/amd64")
		if err != nil {
			t.Fatal(err)
		}
		env := strings.Join(img.Config.Config.Env, "\n")
		if !strings.Contains(env, "STEP_VAR=from-steps") || !strings.Contains(env, "BAKED=yes") {
			t.Errorf("env:\n%s", env)
		}
		if h := img.Config.Config.Labels[envllb.LabelHash]; h != p.expectedHash(t) {
			t.Errorf("hash label %s, want %s", h, p.expectedHash(t))
		}
	})
}

func TestBuildContext(t *testing.T) {
	e := harness.Get(t)
	eachClient(t, func(t *testing.T, c client) {
		p := newProject(t, "environment.yml", syntax(t, e)+`
name: ctx-env
build:
  path: docker
  dockerfile_path: Containerfile
`, map[string]string{
			"docker/Containerfile": "FROM " + e.Base.Base + " AS base\nFROM base\nCOPY run.sh /usr/local/bin/run.sh\nRUN chmod +x /usr/local/bin/run.sh && /usr/local/bin/run.sh > /out.txt\n",
			"docker/run.sh":        "#!/bin/sh\necho from-context\n",
			"docker/.dockerignore": "*.tmp\n",
			"docker/big.tmp":       "not sent\n",
			"outside.txt":          "not in build.path\n",
		})
		ref := e.Ref("it/ctx:" + c.name)
		if out, err := c.build(t, e, p, ref, nil); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		ctx := ctxFor(t)
		got, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", "/out.txt")
		if err != nil || string(got) != "from-context\n" {
			t.Errorf("/out.txt = %q, %v", got, err)
		}
		img, err := e.Reg.Image(ctx, ref, "linux/amd64")
		if err != nil {
			t.Fatal(err)
		}
		l := img.Config.Config.Labels
		if l[envllb.LabelHash] != p.expectedHash(t) {
			t.Errorf("hash label %s, on disk %s", l[envllb.LabelHash], p.expectedHash(t))
		}
		if l["org.opencontainers.image.base.name"] != e.Base.Base || l[envllb.LabelKind] != "user-managed" {
			t.Errorf("labels %v", l)
		}
	})
}

func TestMultiPlatformImageOnly(t *testing.T) {
	e := harness.Get(t)
	eachClient(t, func(t *testing.T, c client) {
		p := newProject(t, "environment.yml", syntax(t, e)+"name: multi\nimage: "+e.Base.Multi+"\nenvironment_variables: {ARCH_NEUTRAL: '1'}\n", map[string]string{})
		ref := e.Ref("it/multi:" + c.name)
		if out, err := c.build(t, e, p, ref, []string{"linux/amd64", "linux/arm64"}); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		ctx := ctxFor(t)
		m, err := e.Reg.Manifest(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if !m.IsIndex() {
			t.Fatalf("not an index: %s", m.MediaType)
		}
		for _, plat := range []string{"linux/amd64", "linux/arm64"} {
			img, err := e.Reg.Image(ctx, ref, plat)
			if err != nil {
				t.Fatalf("%s: %v", plat, err)
			}
			if img.Config.OS+"/"+img.Config.Architecture != plat {
				t.Errorf("%s: config says %s/%s", plat, img.Config.OS, img.Config.Architecture)
			}
			base, err := e.Reg.Image(ctx, e.Base.Multi, plat)
			if err != nil {
				t.Fatal(err)
			}
			if img.Manifest.Layers[0].Digest != base.Manifest.Layers[0].Digest {
				t.Errorf("%s: not the %s base layer", plat, plat)
			}
			if img.Config.Config.Labels[envllb.LabelHash] != p.expectedHash(t) || !strings.Contains(strings.Join(img.Config.Config.Env, " "), "ARCH_NEUTRAL=1") {
				t.Errorf("%s: labels %v env %v", plat, img.Config.Config.Labels, img.Config.Config.Env)
			}
		}
	})
}

func TestSourceDateEpoch(t *testing.T) {
	e := harness.Get(t)
	eachClient(t, func(t *testing.T, c client) {
		p := newProject(t, "environment.yml", syntax(t, e)+"name: epoch\nimage: "+e.Base.Base+"\ndocker_steps: |\n  RUN echo x > /x\n", map[string]string{})
		ref := e.Ref("it/epoch:" + c.name)
		if out, err := c.build(t, e, p, ref, nil, "build-arg:SOURCE_DATE_EPOCH=1700000000"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		img, err := e.Reg.Image(ctxFor(t), ref, "linux/amd64")
		if err != nil {
			t.Fatal(err)
		}
		if img.Config.Created == nil || img.Config.Created.Unix() != 1700000000 {
			t.Errorf("created %v", img.Config.Created)
		}
		for _, h := range img.Config.History {
			if h.Created != nil && h.Created.Unix() > 1700000000 && strings.Contains(h.CreatedBy, "echo x") {
				t.Errorf("history %q created %v", h.CreatedBy, h.Created)
			}
		}
	})
}

// Invalid files fail with the YAML shown and the offending line marked.
func TestInvalidEnvironment(t *testing.T) {
	e := harness.Get(t)
	eachClient(t, func(t *testing.T, c client) {
		p := newProject(t, "environment.yml", syntax(t, e)+"name: bad\nimage: "+e.Base.Base+"\ndescripton: typo\n", map[string]string{})
		out, err := c.build(t, e, p, e.Ref("it/bad:"+c.name), nil)
		if err == nil {
			t.Fatalf("build succeeded\n%s", out)
		}
		s := string(out)
		if !strings.Contains(s, "descripton: unknown key") || !strings.Contains(s, "did you mean description?") {
			t.Errorf("error text:\n%s", s)
		}
		if c.name == "buildx" && !strings.Contains(s, ">>> descripton: typo") {
			t.Errorf("buildx did not mark the line:\n%s", s)
		}
	})
}

// A failing RUN in docker_steps is shown at its line of the YAML file.
func TestFailingStepIsSourceMapped(t *testing.T) {
	e := harness.Get(t)
	p := newProject(t, "environment.yml", syntax(t, e)+"name: fails\nimage: "+e.Base.Base+"\ndocker_steps: |\n  RUN echo ok\n  RUN exit 3\n", map[string]string{})
	out, err := clients[1].build(t, e, p, e.Ref("it/fails:x"), nil)
	if err == nil {
		t.Fatalf("build succeeded\n%s", out)
	}
	s := string(out)
	if !strings.Contains(s, "environment.yml:6") || !strings.Contains(s, ">>>   RUN exit 3") {
		t.Errorf("the failing step is not marked in the YAML:\n%s", s)
	}
}

// CI builds export BuildKit's cache to a registry and import it on another
// machine: after the local cache is pruned, the imported cache serves the
// Docker steps without running them again.
func TestCacheExportImport(t *testing.T) {
	e := harness.Get(t)
	p := newProject(t, "environment.yml", syntax(t, e)+"name: cached\nimage: "+e.Base.Base+"\ndocker_steps: |\n  RUN date +%s%N > /stamp\n", map[string]string{})
	cacheRef := e.Ref("it/cache:buildcache")
	build := func(extra ...string) string {
		args := []string{"build", "--progress", "plain", "--frontend", "gateway.v0", "--opt", "source=" + frontend(t, e),
			"--local", "context=" + p.dir, "--local", "dockerfile=" + p.dir,
			"--output", "type=image,name=" + e.Ref("it/cached:1") + ",push=true,registry.insecure=true"}
		out, err := e.Buildctl(ctxFor(t), append(args, extra...)...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return string(out)
	}
	build("--export-cache", "type=registry,ref="+cacheRef+",mode=max,registry.insecure=true")
	first, err := e.Reg.ReadFile(ctxFor(t), e.Ref("it/cached:1"), "linux/amd64", "/stamp")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := e.Buildctl(ctxFor(t), "prune", "--all"); err != nil {
		t.Fatalf("prune: %v\n%s", err, out)
	}
	out := build("--import-cache", "type=registry,ref="+cacheRef+",registry.insecure=true")
	if !strings.Contains(out, "RUN date") || !regexp.MustCompile(`(?s)RUN date[^\n]*\n#\d+ CACHED`).MatchString(out) {
		t.Errorf("the RUN step was not served from the imported cache:\n%s", out)
	}
	second, err := e.Reg.ReadFile(ctxFor(t), e.Ref("it/cached:1"), "linux/amd64", "/stamp")
	if err != nil || string(second) != string(first) {
		t.Errorf("stamp changed: %q -> %q (%v)", first, second, err)
	}
}

// Docker steps that run nothing (ENV, COPY, WORKDIR) build for every
// platform without emulation.
func TestMultiPlatformStepsWithoutRun(t *testing.T) {
	e := harness.Get(t)
	p := newProject(t, "environment.yml", syntax(t, e)+"name: multi-steps\nimage: "+e.Base.Multi+"\ndocker_steps: |\n  ENV MODE=multi\n  COPY model.txt /models/model.txt\n  WORKDIR /models\n",
		map[string]string{"model.txt": "weights\n"})
	ref := e.Ref("it/multi-steps:1")
	if out, err := clients[0].build(t, e, p, ref, []string{"linux/amd64", "linux/arm64"}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ctx := ctxFor(t)
	for _, plat := range []string{"linux/amd64", "linux/arm64"} {
		got, err := e.Reg.ReadFile(ctx, ref, plat, "/models/model.txt")
		if err != nil || string(got) != "weights\n" {
			t.Errorf("%s: model.txt %q %v", plat, got, err)
		}
		img, err := e.Reg.Image(ctx, ref, plat)
		if err != nil {
			t.Fatal(err)
		}
		if img.Config.Architecture != strings.TrimPrefix(plat, "linux/") || img.Config.Config.WorkingDir != "/models" ||
			!strings.Contains(strings.Join(img.Config.Config.Env, " "), "MODE=multi") {
			t.Errorf("%s: %+v", plat, img.Config)
		}
	}
}

package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/stack"
	envllb "github.com/envkit/envkit/llb"
)

// privateStack is an envkit CLI environment with its own local stack (state
// directory and registry port), stopped when t ends.
type privateStack struct {
	bin, state string
	port       int
}

func newPrivateStack(t *testing.T) privateStack {
	t.Helper()
	harness.SkipShort(t)
	state, err := os.MkdirTemp("", "envkit-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := stack.Stop(ctx, state); err != nil {
			t.Errorf("stop: %v", err)
		}
		if !t.Failed() {
			os.RemoveAll(state)
		}
	})
	return privateStack{bin: envkitBinary(t), state: state, port: freePort(t)}
}

func (p privateStack) env() []string {
	return append(os.Environ(), "ENVKIT_STACK_DIR="+p.state, "ENVKIT_REGISTRY_PORT="+strconv.Itoa(p.port),
		"BUILDKIT_HOST=", "ENVKIT_FRONTEND_IMAGE=", "ENVKIT_HELPER_IMAGE=")
}

// run runs the CLI and returns its stdout and stderr.
func (p privateStack) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Env = p.env()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// On the embedded stack a conda environment builds with no flag: envkit
// build pushes its own binary as the frontend image and links with it. And
// the README's docker buildx path works as written after
// eval "$(envkit stack env)": the environment file's "# syntax=" names
// <registry>/envkit/frontend:latest, which envkit stack env pushed.
func TestCLISelfSufficientConda(t *testing.T) {
	p := newPrivateStack(t)
	ctx := ctxFor(t)
	exports, stderr, err := p.run(t, "stack", "env")
	if err != nil {
		t.Fatalf("envkit stack env: %v\n%s", err, stderr)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(exports), "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 {
			t.Fatalf("not an export: %q", line)
		}
		if k == "PATH" {
			continue // 'DIR':"$PATH", for the shell
		}
		vars[k] = strings.Trim(v, "'")
	}
	registry := "127.0.0.1:" + strconv.Itoa(p.port)
	if vars["ENVKIT_REGISTRY"] != registry || vars["BUILDKIT_HOST"] != "unix://"+filepath.Join(p.state, "buildkitd.sock") ||
		vars["DOCKER_CONFIG"] != filepath.Join(p.state, "docker") || vars["BUILDX_BUILDER"] != stack.BuilderName {
		t.Errorf("exports:\n%s", exports)
	}
	// The exports work in a shell: buildctl is found and talks to the
	// stack's buildkitd.
	sh := exec.CommandContext(ctx, "bash", "-c", `eval "$("$0" stack env 2>/dev/null)" && buildctl debug workers`, p.bin)
	sh.Env = p.env()
	if out, err := sh.CombinedOutput(); err != nil || !strings.Contains(string(out), "linux/amd64") {
		t.Errorf("eval \"$(envkit stack env)\" && buildctl debug workers: %v\n%s", err, out)
	}
	s, err := stack.Start(ctx, stack.Options{StateDir: p.state, Persistent: true, RegistryPort: p.port})
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.PushBaseImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch := condaChannel(t, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"))
	proj := newProject(t, "env.yml", "name: self-conda\nimage: "+base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: [tool]\n", map[string]string{})
	out, stderr, err := p.run(t, "build", "--progress", "plain", filepath.Join(proj.dir, proj.file))
	if err != nil {
		t.Fatalf("envkit build without a frontend image flag: %v\n%s", err, stderr)
	}
	ref := strings.TrimSpace(out)
	if !strings.HasPrefix(ref, registry+"/envkit/images:envkit_") {
		t.Errorf("ref %q", ref)
	}
	reg := &harness.Registry{}
	if got, err := reg.ReadFile(ctx, ref, "linux/amd64", envllb.DefaultPrefix+"/lib/libfoo.txt"); err != nil || string(got) != "libfoo for x86_64\n" {
		t.Errorf("libfoo.txt %q %v", got, err)
	}

	// The README's path: docker buildx with the exports, the frontend
	// named by the file's first line.
	proj = newProject(t, "environment.yml", "# syntax="+registry+"/envkit/frontend:latest\nname: readme\nimage: "+base.Base+
		"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: [libfoo]\n", map[string]string{})
	buildx := exec.CommandContext(ctx, "docker", "buildx", "build", "-f", filepath.Join(proj.dir, proj.file),
		"-t", registry+"/readme/my-env:1", "--push", proj.dir)
	buildx.Env = os.Environ()
	for k, v := range vars {
		buildx.Env = append(buildx.Env, k+"="+v)
	}
	if out, err := buildx.CombinedOutput(); err != nil {
		t.Fatalf("docker buildx build: %v\n%s", err, out)
	}
	if got, err := reg.ReadFile(ctx, registry+"/readme/my-env:1", "linux/amd64", envllb.DefaultPrefix+"/lib/libfoo.txt"); err != nil || string(got) != "libfoo for x86_64\n" {
		t.Errorf("buildx: libfoo.txt %q %v", got, err)
	}
}

// loggedChannel serves a conda channel from dir and records the paths it
// is asked for.
type loggedChannel struct {
	URL  string
	mu   sync.Mutex
	reqs []string
}

func newLoggedChannel(t *testing.T, dir string) *loggedChannel {
	c := &loggedChannel{}
	fsrv := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.reqs = append(c.reqs, r.URL.Path)
		c.mu.Unlock()
		fsrv.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// take returns the requests so far and forgets them.
func (c *loggedChannel) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reqs
	c.reqs = nil
	return r
}

// cliBuild runs envkit build --json on the harness stack and decodes its
// result.
type buildJSON struct {
	Hash   string   `json:"hash"`
	Image  string   `json:"image"`
	Digest string   `json:"digest"`
	Reused bool     `json:"reused"`
	Tags   []string `json:"tags"`
}

func cliBuild(t *testing.T, e *harness.Env, bin, file, ref string, args ...string) (buildJSON, string) {
	t.Helper()
	a := append([]string{"build", "--json", "--progress", "plain", "--addr", e.BuildkitAddr, "--frontend-image", frontend(t, e), "-t", ref, file}, args...)
	cmd := exec.Command(bin, a...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("envkit %s: %v\n%s", strings.Join(a, " "), err, stderr.String())
	}
	var r buildJSON
	if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil {
		t.Fatalf("--json output %q: %v", stdout.String(), err)
	}
	return r, stderr.String()
}

// The same definition is built once: a second envkit build finds the image
// by its hash, checks that the base still resolves to the recorded digest,
// and reuses it without asking the channel for anything; a moved base tag
// builds again.
func TestCLIBuildOncePerHash(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	ctx := ctxFor(t)
	baseRef := e.Ref("it/once-base:1")
	pushBase := func(patch string) { t.Helper(); pushPatchedBase(t, e, baseRef, patch) }
	pushBase("1")
	chDir := t.TempDir()
	if err := condatest.WriteChannel(chDir, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64")); err != nil {
		t.Fatal(err)
	}
	ch := newLoggedChannel(t, chDir)
	p := newProject(t, "env.yml", "name: once\nimage: "+baseRef+"\nconda_file:\n  channels: ["+ch.URL+"]\n  dependencies: [tool]\n", map[string]string{})
	file := filepath.Join(p.dir, p.file)
	hashOut, err := exec.Command(bin, "hash", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(string(hashOut))

	first, _ := cliBuild(t, e, bin, file, e.Ref("it/once:a"))
	if first.Reused || first.Hash != h || first.Image != e.Ref("it/once:a")+"@"+first.Digest ||
		!slices.Equal(first.Tags, []string{e.Ref("it/once:a"), e.Ref("it/once:" + h)}) {
		t.Errorf("first build: %+v (hash %s)", first, h)
	}
	if reqs := ch.take(); !slices.ContainsFunc(reqs, func(r string) bool { return strings.Contains(r, "repodata") }) {
		t.Errorf("the first build asked the channel for no repodata: %q", reqs)
	}
	m, err := e.Reg.Manifest(ctx, e.Ref("it/once:"+h))
	if err != nil || m.Digest.String() != first.Digest {
		t.Errorf("hash tag: %v %v, want %s", m.Digest, err, first.Digest)
	}
	// The first build's lock is stored beside the image.
	lm, err := e.Reg.Manifest(ctx, e.Ref("it/once:"+h+".lock"))
	if err != nil || !strings.Contains(string(lm.Raw), `"artifactType":"application/vnd.envkit.conda-lock.v1"`) {
		t.Errorf("stored lock: %v\n%s", err, lm.Raw)
	}
	// The channel moves on: tool 3.0 is the newest from now on.
	if err := condatest.WriteChannel(chDir, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"), tool("3.0", "linux-64")); err != nil {
		t.Fatal(err)
	}
	toolLine := func(ref string) string {
		t.Helper()
		b, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", envllb.DefaultPrefix+"/bin/tool")
		if err != nil {
			t.Fatal(err)
		}
		return strings.SplitN(string(b), "\n", 3)[1]
	}

	second, log := cliBuild(t, e, bin, file, e.Ref("it/once:b"))
	if !second.Reused || second.Digest != first.Digest || second.Image != e.Ref("it/once:b")+"@"+first.Digest {
		t.Errorf("second build: %+v, first %+v", second, first)
	}
	if !strings.Contains(log, "reusing "+e.Ref("it/once:"+h)+"@"+first.Digest+" built ") || strings.Contains(log, "conda:") {
		t.Errorf("second build's log:\n%s", log)
	}
	if reqs := ch.take(); len(reqs) != 0 {
		t.Errorf("a reused image asked the channel for %q", reqs)
	}
	if m, err := e.Reg.Manifest(ctx, e.Ref("it/once:b")); err != nil || m.Digest.String() != first.Digest {
		t.Errorf("-t of a reused image: %v %v", m.Digest, err)
	}

	// A patched base (the tag moved) builds again. (Its stored lock deleted
	// first, the lock comes from the image's metadata layer.)
	lm, err = e.Reg.Manifest(ctx, e.Ref("it/once:"+h+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	deleteManifest(t, e, "it/once", lm.Digest.String())
	pushBase("2")
	third, log := cliBuild(t, e, bin, file, e.Ref("it/once:c"))
	if third.Reused || third.Digest == first.Digest || !strings.Contains(log, "building: base "+baseRef+" moved from ") {
		t.Errorf("after a base patch: %+v\n%s", third, log)
	}
	if got, err := e.Reg.ReadFile(ctx, e.Ref("it/once:"+h), "linux/amd64", "/etc/patch-level"); err != nil || string(got) != "2\n" {
		t.Errorf("the hash tag is not on the patched build: %q %v", got, err)
	}
	// ... with the packages of the first resolution, not the channel's
	// newer tool, and without asking for repodata.
	if got := toolLine(e.Ref("it/once:c")); !strings.Contains(got, "tool 2.0") || !strings.Contains(log, "installing the packages "+h+" resolved to first") {
		t.Errorf("after a base patch: %q\n%s", got, log)
	}
	if reqs := ch.take(); slices.ContainsFunc(reqs, func(r string) bool { return strings.Contains(r, "repodata") }) {
		t.Errorf("a rebuild with the stored lock asked for repodata: %q", reqs)
	}

	// With the image deleted, the stored lock still holds.
	deleteManifest(t, e, "it/once", third.Digest)
	fourth, _ := cliBuild(t, e, bin, file, e.Ref("it/once:d"))
	if fourth.Reused || !strings.Contains(toolLine(e.Ref("it/once:d")), "tool 2.0") {
		t.Errorf("after the image was deleted: %+v, %q", fourth, toolLine(e.Ref("it/once:d")))
	}
	if reqs := ch.take(); slices.ContainsFunc(reqs, func(r string) bool { return strings.Contains(r, "repodata") }) {
		t.Errorf("a rebuild of a deleted image asked for repodata: %q", reqs)
	}

	// --relock resolves anew: tool 3.0, and the stored lock follows.
	fifth, log5 := cliBuild(t, e, bin, file, e.Ref("it/once:e"), "--relock")
	if fifth.Reused || !strings.Contains(toolLine(e.Ref("it/once:e")), "tool 3.0") {
		t.Errorf("--relock: %+v, %q", fifth, toolLine(e.Ref("it/once:e")))
	}
	if reqs := ch.take(); !slices.ContainsFunc(reqs, func(r string) bool { return strings.Contains(r, "repodata") }) {
		t.Errorf("--relock asked for no repodata: %q", reqs)
	}
	deleteManifest(t, e, "it/once", fifth.Digest)
	sixth, log6 := cliBuild(t, e, bin, file, e.Ref("it/once:f"))
	if !strings.Contains(toolLine(e.Ref("it/once:f")), "tool 3.0") {
		t.Errorf("after --relock, the stored lock has %q (%+v)\n%s\n%s", toolLine(e.Ref("it/once:f")), sixth, log5, log6)
	}
}

// deleteManifest deletes repo@digest from the harness registry (and so
// every tag on it).
func deleteManifest(t *testing.T, e *harness.Env, repo, digest string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxFor(t), http.MethodDelete, "http://"+e.Registry+"/v2/"+repo+"/manifests/"+digest, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE %s@%s: %s", repo, digest, resp.Status)
	}
}

// A multi-platform image is reused for any of its platforms, and its stored
// lock holds every platform's packages; a platform it lacks builds.
func TestCLIBuildOnceMultiPlatform(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	chDir := t.TempDir()
	if err := condatest.WriteChannel(chDir, libfoo("linux-64", "x86_64"), libfoo("linux-aarch64", "aarch64"), tool("2.0", "linux-64"), tool("2.0", "linux-aarch64")); err != nil {
		t.Fatal(err)
	}
	ch := newLoggedChannel(t, chDir)
	p := newProject(t, "env.yml", "name: once-multi\nimage: "+e.Base.Multi+"\nconda_file:\n  channels: ["+ch.URL+"]\n  dependencies: [tool]\n", map[string]string{})
	file := filepath.Join(p.dir, p.file)
	amd, _ := cliBuild(t, e, bin, file, e.Ref("it/once-multi:amd64"), "--platform", "linux/amd64")
	if amd.Reused {
		t.Fatalf("first build reused: %+v", amd)
	}
	both, log := cliBuild(t, e, bin, file, e.Ref("it/once-multi:both"), "--platform", "linux/amd64,linux/arm64")
	if both.Reused || !strings.Contains(log, "has no image for linux/arm64") {
		t.Errorf("a new platform: %+v\n%s", both, log)
	}
	ch.take()
	for _, plat := range []string{"linux/arm64", "linux/amd64"} {
		r, log := cliBuild(t, e, bin, file, e.Ref("it/once-multi:again"), "--platform", plat)
		if !r.Reused || r.Digest != both.Digest {
			t.Errorf("%s: %+v, want the multi-platform image %s reused\n%s", plat, r, both.Digest, log)
		}
	}
	if reqs := ch.take(); len(reqs) != 0 {
		t.Errorf("reused images asked the channel for %q", reqs)
	}
	// A reused image whose lock is not stored (built before it was, or
	// deleted) has it stored again, from its images.
	lm, err := e.Reg.Manifest(ctxFor(t), e.Ref("it/once-multi:"+both.Hash+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	deleteManifest(t, e, "it/once-multi", lm.Digest.String())
	if r, _ := cliBuild(t, e, bin, file, e.Ref("it/once-multi:again")); !r.Reused {
		t.Errorf("not reused: %+v", r)
	}
	lm, err = e.Reg.Manifest(ctxFor(t), e.Ref("it/once-multi:"+both.Hash+".lock"))
	if err != nil {
		t.Fatalf("the lock is not stored again: %v", err)
	}
	m, err := lm.Image()
	if err != nil || len(m.Layers) != 1 {
		t.Fatalf("lock manifest %s: %v", lm.Raw, err)
	}
	data, err := e.Reg.Blob(ctxFor(t), e.Ref("it/once-multi:x"), m.Layers[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lock.Read("conda-lock.yml", data)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l.Platforms, []string{"linux-64", "linux-aarch64"}) {
		t.Errorf("stored lock platforms %v", l.Platforms)
	}
}

// envkit build exports BuildKit's cache to a registry and imports it: after
// the build cache is pruned, a rebuild (--relock, so that it builds) takes
// every package's link step from the imported cache.
func TestCLIBuildCacheExportImport(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	chDir := t.TempDir()
	if err := condatest.WriteChannel(chDir, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64")); err != nil {
		t.Fatal(err)
	}
	ch := newLoggedChannel(t, chDir)
	p := newProject(t, "env.yml", "name: cached\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch.URL+"]\n  dependencies: [tool]\n", map[string]string{})
	file := filepath.Join(p.dir, p.file)
	cache := "type=registry,ref=" + e.Ref("it/cache:buildcache")
	first, log1 := cliBuild(t, e, bin, file, e.Ref("it/cached:1"), "--cache-to", cache+",mode=max")
	if first.Reused || !strings.Contains(log1, "exporting cache") {
		t.Fatalf("first build: %+v\n%s", first, log1)
	}
	if _, err := e.Reg.Manifest(ctxFor(t), e.Ref("it/cache:buildcache")); err != nil {
		t.Fatalf("no cache in the registry: %v", err)
	}
	if out, err := e.Buildctl(ctxFor(t), "prune", "--all"); err != nil {
		t.Fatalf("prune: %v\n%s", err, out)
	}
	second, log2 := cliBuild(t, e, bin, file, e.Ref("it/cached:2"), "--relock", "--cache-from", cache)
	if second.Reused {
		t.Fatalf("--relock reused the image: %+v", second)
	}
	for _, step := range []string{"conda: link libfoo-1.0", "conda: link tool-2.0"} {
		if !cachedStep(log2, step) {
			t.Errorf("after the prune, %q was not taken from the imported cache:\n%s", step, log2)
		}
	}
}

// cachedStep reports whether the plain progress log shows the step whose
// name contains name as CACHED.
func cachedStep(log, name string) bool {
	ids := map[string]bool{}
	for _, l := range strings.Split(log, "\n") {
		if id, rest, ok := strings.Cut(l, " "); ok && strings.HasPrefix(id, "#") && strings.Contains(rest, name) {
			ids[id] = true
		}
	}
	for _, l := range strings.Split(log, "\n") {
		if id, rest, ok := strings.Cut(l, " "); ok && ids[id] && strings.TrimSpace(rest) == "CACHED" {
			return true
		}
	}
	return false
}

// envkit build pushes with the docker config's credentials (as buildctl and
// docker buildx do): a registry that requires a login takes the image when
// DOCKER_CONFIG has its auth, and refuses the push without it.
func TestCLIBuildPushCredentials(t *testing.T) {
	reg := startWSRegistry(t, true)
	p := newPrivateStack(t)
	build := func(auth bool, tag string) (string, error) {
		t.Helper()
		dir := t.TempDir()
		if auth {
			cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.addr, base64.StdEncoding.EncodeToString([]byte(wsUser+":"+wsPassword)))
			if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(p.bin, "build", "--progress", "plain", "-t", tag)
		cmd.Env = append(p.env(), "DOCKER_CONFIG="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := build(false, reg.addr+"/secure/quickstart:1"); err == nil {
		t.Errorf("pushed without credentials:\n%s", out)
	}
	out, err := build(true, reg.addr+"/secure/quickstart:2")
	if err != nil {
		t.Fatalf("build with credentials: %v\n%s", err, out)
	}
	req, _ := http.NewRequest(http.MethodHead, "http://"+reg.addr+"/v2/secure/quickstart/manifests/2", nil)
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	req.SetBasicAuth(wsUser, wsPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the pushed tag answers %s", resp.Status)
	}
}

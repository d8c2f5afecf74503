package integration

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/stack"
	"github.com/envkit/envkit/workspace"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// wsRegistry is a docker-registry (CNCF distribution, the stack's) of
// the test's own on 127.0.0.1, which the test may stop and start again on
// the same port and storage; with a user, it requires basic auth.
type wsRegistry struct {
	t    testing.TB
	bin  string
	cfg  string
	addr string
	cmd  *exec.Cmd
	log  string
	// storage is the registry's filesystem storage root.
	storage string
}

// wsUser and wsPasswordHash are the registry's user when it requires
// auth: bcrypt("envkit-secret"), as htpasswd writes it.
const (
	wsUser         = "envkit"
	wsPassword     = "envkit-secret"
	wsPasswordHash = "$2a$05$VFIMv4ta9laNtDVlnaQsP.XAcrbqe9EceMizKpqLJkvdFwxsiGj6W"
)

func startWSRegistry(t testing.TB, auth bool) *wsRegistry {
	t.Helper()
	harness.SkipShort(t)
	tools, err := stack.FindTools()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := &wsRegistry{t: t, bin: tools.Registry, cfg: filepath.Join(dir, "registry.yml"), addr: "127.0.0.1:" + strconv.Itoa(wsFreePort(t)), log: filepath.Join(dir, "registry.log")}
	authCfg := ""
	if auth {
		pw := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(pw, []byte(wsUser+":"+wsPasswordHash+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		authCfg = fmt.Sprintf("auth:\n  htpasswd:\n    realm: envkit-test\n    path: %q\n", pw)
	}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %q\n  delete:\n    enabled: true\nhttp:\n  addr: %q\n%s",
		filepath.Join(dir, "storage"), r.addr, authCfg)
	r.storage = filepath.Join(dir, "storage")
	if err := os.WriteFile(r.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *wsRegistry) start() {
	r.t.Helper()
	log, err := os.OpenFile(r.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	defer log.Close()
	r.cmd = exec.Command(r.bin, "serve", r.cfg)
	r.cmd.Stdout, r.cmd.Stderr = log, log
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + r.addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(r.log)
			r.t.Fatalf("registry on %s did not come up: %v\n%s", r.addr, err, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *wsRegistry) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// wsCLI runs the envkit binary with a workspace and a docker config of the test's own.
type wsCLI struct {
	t      *testing.T
	bin    string
	ws     string
	docker string // DOCKER_CONFIG
}

func newWSCLI(t *testing.T, ws string) *wsCLI {
	return &wsCLI{t: t, bin: envkitBinary(t), ws: ws, docker: t.TempDir()}
}

// run runs envkit args and returns stdout, stderr and the exit code.
func (c *wsCLI) run(args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), workspace.EnvVar+"="+c.ws, "DOCKER_CONFIG="+c.docker)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// ok runs envkit args, which must succeed, and returns stdout.
func (c *wsCLI) ok(args ...string) string {
	c.t.Helper()
	out, errs, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("envkit %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

// fails runs envkit args, which must exit 1 with msg on stderr.
func (c *wsCLI) fails(msg string, args ...string) {
	c.t.Helper()
	out, errs, code := c.run(args...)
	if code != 1 || !strings.Contains(errs, msg) {
		c.t.Errorf("envkit %s: exit %d, stderr %q, stdout %q; want exit 1 and %q", strings.Join(args, " "), code, errs, out, msg)
	}
}

func (c *wsCLI) record(args ...string) workspace.Record {
	c.t.Helper()
	var r workspace.Record
	if err := json.Unmarshal([]byte(c.ok(append(args, "--json")...)), &r); err != nil {
		c.t.Fatalf("envkit %s --json: %v", strings.Join(args, " "), err)
	}
	return r
}

func (c *wsCLI) records(args ...string) []workspace.Record {
	c.t.Helper()
	var rs []workspace.Record
	if err := json.Unmarshal([]byte(c.ok(append(args, "--json")...)), &rs); err != nil {
		c.t.Fatalf("envkit %s --json: %v", strings.Join(args, " "), err)
	}
	return rs
}

func wsRefs(rs []workspace.Record) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Name+":"+r.Version)
	}
	return strings.Join(s, " ")
}

// wsWriteEnv writes an environment file with a conda file beside it.
func wsWriteEnv(t *testing.T, dir, body, conda string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if conda != "" {
		if err := os.WriteFile(filepath.Join(dir, "conda.yml"), []byte(conda), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := filepath.Join(dir, "environment.yml")
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

const wsConda = "channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - numpy\n"

// create, show, list, archive, restore, @latest, azureml: references and
// hashes round-trip through a real registry; versions are immutable and
// the reserved prefixes refused.
func TestWorkspaceRoundTrip(t *testing.T) {
	reg := startWSRegistry(t, false)
	c := newWSCLI(t, reg.addr+"/team/envkit")
	dir := t.TempDir()
	a := wsWriteEnv(t, filepath.Join(dir, "a"), "name: my-env\ndescription: first\ntags: {team: vision}\nimage: busybox:stable\nconda_file: conda.yml\n", wsConda)
	b := wsWriteEnv(t, filepath.Join(dir, "b"), "name: my-env\nimage: busybox:stable\ndocker_steps: RUN echo b\n", "")
	hashA := strings.TrimSpace(c.ok("hash", a))
	hashB := strings.TrimSpace(c.ok("hash", b))

	// An omitted version is the next integer: 1, then 2; the record is what the file says.
	if out := c.ok("env", "create", "--file", a); out != "my-env:1\n" {
		t.Fatalf("first create printed %q, want my-env:1", out)
	}
	r1 := c.record("env", "show", "my-env:1")
	if r1.Hash != hashA || r1.Kind != "system-managed" || r1.Description != "first" || r1.Tags["team"] != "vision" || r1.Archived || r1.Created.IsZero() {
		t.Errorf("my-env:1 = %+v (hash of the file %s)", r1, hashA)
	}
	if r := c.record("env", "create", "--file", b); r.Version != "2" || r.Hash != hashB || r.Kind != "user-managed" {
		t.Errorf("second create = %+v, want version 2 with hash %s", r, hashB)
	}

	// Immutable: the same version with another definition is refused and
	// changes nothing; the same definition again succeeds and takes the
	// new description, keeping the creation time.
	c.fails("version 1 of my-env exists with another definition; create a new version", "env", "create", "--file", b, "--version", "1")
	if r := c.record("env", "show", "my-env:1"); r.Hash != hashA {
		t.Errorf("a refused create changed my-env:1: %+v", r)
	}
	a2 := wsWriteEnv(t, filepath.Join(dir, "a2"), "name: my-env\ndescription: second\nimage: busybox:stable\nconda_file: conda.yml\n", wsConda)
	if r := c.record("env", "create", "--file", a2, "--version", "1"); r.Description != "second" || !r.Created.Equal(r1.Created) || r.Hash != hashA {
		t.Errorf("the same definition again = %+v, want description second and created %v", r, r1.Created)
	}

	// Other names and explicit versions; the next integer is after the highest.
	c.ok("env", "create", "--file", b, "--version", "10")
	c.ok("env", "create", "--file", b, "--version", "1.5-beta")
	if out := c.ok("env", "create", "--file", a); out != "my-env:11\n" {
		t.Errorf("create after 10 printed %q, want my-env:11", out)
	}
	c.ok("env", "create", "--file", a, "--name", "other", "--version", "2024:01")

	// @latest is the version created last, with or without azureml:.
	for _, ref := range []string{"my-env@latest", "azureml:my-env@latest"} {
		if r := c.record("env", "show", ref); r.Version != "11" {
			t.Errorf("%s = %s, want 11", ref, r.Version)
		}
	}
	if r := c.record("env", "show", "azureml:other:2024:01"); r.Name != "other" || r.Version != "2024:01" || r.Hash != hashA {
		t.Errorf("azureml:other:2024:01 = %+v", r)
	}
	if got := wsRefs(c.records("env", "list")); got != "my-env:1 my-env:2 my-env:10 my-env:1.5-beta my-env:11 other:2024:01" {
		t.Errorf("list = %s", got)
	}

	// Archive hides a version from list and @latest; NAME:VERSION still finds it.
	c.ok("env", "archive", "my-env@latest")
	if r := c.record("env", "show", "my-env@latest"); r.Version != "1.5-beta" {
		t.Errorf("@latest after archiving 11 = %s, want 1.5-beta", r.Version)
	}
	if r := c.record("env", "show", "my-env:11"); !r.Archived || r.Hash != hashA {
		t.Errorf("archived my-env:11 = %+v", r)
	}
	if got := wsRefs(c.records("env", "list")); strings.Contains(got, "my-env:11") {
		t.Errorf("list shows an archived version: %s", got)
	}
	all := c.records("env", "list", "--include-archived")
	if got := wsRefs(all); !strings.Contains(got, "my-env:11") {
		t.Errorf("list --include-archived = %s", got)
	}
	text := c.ok("env", "list", "--include-archived")
	if !strings.Contains(text, "NAME") || !strings.Contains(text, hashA) {
		t.Errorf("list as text:\n%s", text)
	}
	c.ok("env", "restore", "azureml:my-env:11")
	if r := c.record("env", "show", "my-env@latest"); r.Version != "11" || r.Archived {
		t.Errorf("@latest after restore = %+v", r)
	}

	// A hash names every version with it.
	if got := wsRefs(c.records("env", "show", hashA)); got != "my-env:1 my-env:11 other:2024:01" {
		t.Errorf("show %s = %s", hashA, got)
	}

	// Refusals and unknowns: exit 1 with a clear message.
	c.fails("reserved for curated environments", "env", "create", "--file", a, "--name", "AzureML-mine")
	c.fails("reserved for curated environments", "env", "create", "--file", a, "--name", "microsoft-thing")
	c.fails("my-env:99 is not registered in workspace "+reg.addr+"/team/envkit", "env", "show", "my-env:99")
	c.fails("no environment named nope", "env", "show", "nope@latest")
	c.fails("no environment registered in workspace", "env", "show", "envkit_00000000000000000000000000000000")
	c.fails("is a curated environment and cannot be changed", "env", "archive", "AzureML-minimal-ubuntu22.04-py311-cpu:1")
	if _, errs, code := c.run("env", "show", "my-env"); code != 2 || !strings.Contains(errs, "want NAME:VERSION") {
		t.Errorf("a malformed reference: exit %d, %s", code, errs)
	}

	// Every version is an OCI artifact in NAMESPACE/environments, its files as titled layers.
	ws, err := workspace.Open(c.ws)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	def, err := ws.Lookup(ctx, workspace.Ref{Name: "my-env", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	conda, _ := os.ReadFile(filepath.Join(dir, "a2", "conda.yml"))
	if len(def.Files) != 2 || def.EnvFile != "environment.yml" || def.Files[1].Path != "conda.yml" || string(def.Files[1].Data) != string(conda) {
		t.Errorf("stored definition of my-env:1: %+v", def.Files)
	}
	m := wsRegistryManifest(t, reg.addr, "team/envkit/environments", wsTags(t, reg.addr, "team/envkit/environments")[0])
	if m.ArtifactType != workspace.ArtifactType || m.Config.MediaType != workspace.ConfigMediaType || len(m.Layers) == 0 ||
		m.Layers[0].Annotations["org.opencontainers.image.title"] == "" {
		t.Errorf("stored manifest: %+v", m)
	}
}

func wsTags(t *testing.T, addr, repo string) []string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v2/" + repo + "/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct{ Tags []string }
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	return l.Tags
}

type wsManifest struct {
	MediaType    string `json:"mediaType"`
	ArtifactType string `json:"artifactType"`
	Config       struct {
		MediaType string `json:"mediaType"`
	} `json:"config"`
	Layers []struct {
		MediaType   string            `json:"mediaType"`
		Annotations map[string]string `json:"annotations"`
	} `json:"layers"`
}

func wsRegistryManifest(t *testing.T, addr, repo, tag string) wsManifest {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m wsManifest
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// The curated catalog needs no registry: list, show by name, clone; the
// clone registers as a user environment with the curated one's hash.
func TestWorkspaceCurated(t *testing.T) {
	reg := startWSRegistry(t, false)
	c := newWSCLI(t, reg.addr+"/envkit")
	cur := c.records("env", "list", "--curated")
	if len(cur) < 3 {
		t.Fatalf("%d curated environments", len(cur))
	}
	names := wsRefs(cur)
	for _, want := range []string{"AzureML-minimal-", "AzureML-sklearn-", "AzureML-pytorch-"} {
		if !strings.Contains(names, want) {
			t.Errorf("curated list %s has no %s*", names, want)
		}
	}
	sk := "AzureML-sklearn-1.5-ubuntu22.04-py311-cpu"
	r := c.record("env", "show", "azureml:"+sk+"@latest")
	if r.Kind != "curated" || r.Version != "1" || !workspace.IsHash(r.Hash) {
		t.Errorf("show %s = %+v", sk, r)
	}
	if !strings.Contains(c.ok("env", "show", sk+":1"), "kind:        curated") {
		t.Error("show as text has no kind")
	}
	c.fails("no curated environment is named AzureML-nope", "env", "show", "AzureML-nope@latest")
	c.fails("reserved for curated environments", "env", "clone", sk, "AzureML-copy")

	dir := filepath.Join(t.TempDir(), "my-sklearn")
	file := strings.TrimSpace(c.ok("env", "clone", sk, "my-sklearn", "--dir", dir))
	if h := strings.TrimSpace(c.ok("hash", file)); h != r.Hash {
		t.Errorf("the clone hashes to %s, the curated environment to %s", h, r.Hash)
	}
	c.ok("validate", file)
	created := c.record("env", "create", "--file", file)
	if created.Name != "my-sklearn" || created.Version != "1" || created.Kind != "system-managed" {
		t.Errorf("the clone registered as %+v", created)
	}
	if got := wsRefs(c.records("env", "show", r.Hash)); got != sk+":1 my-sklearn:1" {
		t.Errorf("show %s = %s", r.Hash, got)
	}
	c.fails("not empty", "env", "clone", sk, "again", "--dir", dir)
}

// A registry that stops between two operations: create and list fail with
// a clear message, and once it is back the workspace holds exactly what it
// held before (the failed create left no version behind).
func TestWorkspaceRegistryStopped(t *testing.T) {
	reg := startWSRegistry(t, false)
	c := newWSCLI(t, reg.addr+"/envkit")
	f := wsWriteEnv(t, t.TempDir(), "name: svc\nimage: busybox:stable\n", "")
	c.ok("env", "create", "--file", f)
	before := wsTags(t, reg.addr, "envkit/environments")

	reg.stop()
	for _, args := range [][]string{
		{"env", "create", "--file", f},
		{"env", "create", "--file", f, "--version", "7"},
		{"env", "list"},
		{"env", "show", "svc@latest"},
		{"env", "archive", "svc:1"},
	} {
		c.fails("cannot reach the registry "+reg.addr, args...)
	}

	reg.start()
	if after := wsTags(t, reg.addr, "envkit/environments"); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("tags before the failed creates %v, after %v", before, after)
	}
	if got := wsRefs(c.records("env", "list", "--include-archived")); got != "svc:1" {
		t.Errorf("list after the registry is back = %s", got)
	}
	if r := c.record("env", "show", "svc:1"); r.Archived {
		t.Error("the failed archive archived svc:1")
	}
	if out := c.ok("env", "create", "--file", f); out != "svc:2\n" {
		t.Errorf("create after the registry is back printed %q, want svc:2", out)
	}
}

// Credentials come from the docker config; a registry that refuses them
// gives a clear error that says how to log in.
func TestWorkspaceAuth(t *testing.T) {
	reg := startWSRegistry(t, true)
	c := newWSCLI(t, reg.addr+"/envkit")
	f := wsWriteEnv(t, t.TempDir(), "name: secure\nimage: busybox:stable\n", "")
	login := func(user, password string) {
		cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.addr, base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
		if err := os.WriteFile(filepath.Join(c.docker, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c.fails("the registry refused the credentials", "env", "list")
	c.fails("docker login "+reg.addr, "env", "create", "--file", f)
	login(wsUser, "wrong")
	c.fails("the registry refused the credentials", "env", "create", "--file", f)
	login(wsUser, wsPassword)
	if out := c.ok("env", "create", "--file", f); out != "secure:1\n" {
		t.Errorf("create with credentials printed %q", out)
	}
	if got := wsRefs(c.records("env", "list")); got != "secure:1" {
		t.Errorf("list = %s", got)
	}
}

// The build record of a hash (for envkit build's reuse): written, read
// back with its lock, replaced; none for another hash.
func TestWorkspaceBuildRecord(t *testing.T) {
	reg := startWSRegistry(t, false)
	ws, err := workspace.Open(reg.addr + "/envkit")
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	h := "envkit_0123456789abcdef0123456789abcdef"
	if _, err := ws.LookupBuild(ctx, h); !errors.Is(err, workspace.ErrNotFound) {
		t.Fatalf("lookup before any build: %v", err)
	}
	img := ws.ImageRef(h)
	if img != reg.addr+"/envkit/images:"+h {
		t.Errorf("ImageRef = %s", img)
	}
	b := workspace.Build{Hash: h, Image: reg.addr + "/envkit/images@sha256:" + strings.Repeat("a", 64), Digest: "sha256:" + strings.Repeat("a", 64),
		BaseImage: "docker.io/library/busybox:stable", BaseDigest: "sha256:" + strings.Repeat("b", 64), Lock: []byte("version: 1\npackage: []\n")}
	if err := ws.RecordBuild(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := ws.LookupBuild(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if got.Image != b.Image || got.BaseDigest != b.BaseDigest || string(got.Lock) != string(b.Lock) || got.Created.IsZero() {
		t.Errorf("read back %+v", got)
	}
	b.BaseDigest, b.Lock = "sha256:"+strings.Repeat("c", 64), nil
	if err := ws.RecordBuild(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, err := ws.LookupBuild(ctx, h); err != nil || got.BaseDigest != b.BaseDigest || got.Lock != nil {
		t.Errorf("after a rebuild: %+v %v", got, err)
	}
	if _, err := ws.LookupBuild(ctx, "envkit_ffffffffffffffffffffffffffffffff"); !errors.Is(err, workspace.ErrNotFound) {
		t.Errorf("another hash: %v", err)
	}
	reg.stop()
	if err := ws.RecordBuild(ctx, b); !errors.Is(err, workspace.ErrUnreachable) {
		t.Errorf("record with the registry stopped: %v", err)
	}
	// A Workspace whose first contact failed works once the registry is back.
	ws2, err := workspace.Open(reg.addr + "/envkit")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws2.LookupBuild(ctx, h); !errors.Is(err, workspace.ErrUnreachable) {
		t.Errorf("lookup with the registry stopped: %v", err)
	}
	reg.start()
	for _, w := range []*workspace.Workspace{ws, ws2} {
		if got, err := w.LookupBuild(ctx, h); err != nil || got.BaseDigest != b.BaseDigest {
			t.Errorf("lookup after the registry is back: %+v %v", got, err)
		}
	}
}

// A build-context environment registers with its context (.dockerignore
// applied); Lookup gives files that hash as the original and write out
// as a directory envkit builds from.
func TestWorkspaceBuildContext(t *testing.T) {
	reg := startWSRegistry(t, false)
	c := newWSCLI(t, reg.addr+"/envkit")
	dir := t.TempDir()
	f := wsWriteEnv(t, dir, "name: ctx\nbuild:\n  path: docker\n", "")
	for p, data := range map[string]string{"docker/Dockerfile": "FROM busybox\nCOPY . /app\n", "docker/app/main.py": "print(1)\n", "docker/.dockerignore": "*.log\n", "docker/debug.log": "x\n"} {
		wsWriteFile(t, filepath.Join(dir, p), data)
	}
	want := strings.TrimSpace(c.ok("hash", f))
	r := c.record("env", "create", "--file", f)
	if r.Hash != want || r.Kind != "user-managed" {
		t.Fatalf("registered %+v, envkit hash says %s", r, want)
	}
	ws, err := workspace.Open(c.ws)
	if err != nil {
		t.Fatal(err)
	}
	def, err := ws.Lookup(ctxFor(t), workspace.Ref{Name: "ctx", Latest: true})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	file, err := def.WriteFiles(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(c.ok("hash", file)); got != want {
		t.Errorf("the looked-up files hash to %s, want %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(out, "docker", "debug.log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an ignored file was stored: %v", err)
	}
	// Another context under the same version is another definition.
	wsWriteFile(t, filepath.Join(dir, "docker/app/main.py"), "print(2)\n")
	c.fails("version 1 of ctx exists with another definition", "env", "create", "--file", f, "--version", "1")
}

func wsWriteFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wsFreePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// BenchmarkWorkspaceList lists a workspace of 100 versions (of 10 names):
// one tag listing and 100 manifests, 8 at a time; no blob is read.
func BenchmarkWorkspaceList(b *testing.B) {
	reg := startWSRegistry(b, false)
	ws, err := workspace.Open(reg.addr + "/envkit")
	if err != nil {
		b.Fatal(err)
	}
	ctx := ctxFor(b)
	dir := b.TempDir()
	for i := range 10 {
		f := filepath.Join(dir, strconv.Itoa(i)+".yml")
		if err := os.WriteFile(f, []byte(fmt.Sprintf("name: env-%d\nimage: busybox:stable\n", i)), 0o644); err != nil {
			b.Fatal(err)
		}
		for range 10 {
			if _, err := ws.Create(ctx, f, workspace.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		rs, err := ws.List(ctx, workspace.ListOptions{})
		if err != nil || len(rs) != 100 {
			b.Fatalf("%d versions, %v", len(rs), err)
		}
	}
}

// stopBeforeManifest stops the registry when a manifest is about to be
// written: the blobs of a create are in, its tag is not.
type stopBeforeManifest struct {
	reg     *wsRegistry
	stopped bool
}

func (s *stopBeforeManifest) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/manifests/") && !s.stopped {
		s.stopped = true
		s.reg.stop()
	}
	return http.DefaultTransport.RoundTrip(req)
}

// The registry stops in the middle of a create, after its blobs and before
// its manifest: the create fails as unreachable, and once the registry is
// back the version does not exist and the next create takes its number.
func TestWorkspaceStoppedMidCreate(t *testing.T) {
	reg := startWSRegistry(t, false)
	ctx := ctxFor(t)
	f := wsWriteEnv(t, t.TempDir(), "name: mid\nimage: busybox:stable\nconda_file: conda.yml\n", wsConda)
	ok, err := workspace.Open(reg.addr + "/envkit")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ok.Create(ctx, f, workspace.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	blobs := &harness.Registry{Storage: reg.storage}
	before, err := blobs.BlobBytes()
	if err != nil {
		t.Fatal(err)
	}
	rt := &stopBeforeManifest{reg: reg}
	ws, err := workspace.Open(reg.addr+"/envkit", workspace.WithRemoteOptions(remote.WithTransport(rt)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ws.Create(ctx, f, workspace.CreateOptions{Version: "2"})
	if !rt.stopped || !errors.Is(err, workspace.ErrUnreachable) {
		t.Fatalf("create with the registry stopped before its manifest: stopped %v, %v", rt.stopped, err)
	}
	after, err := blobs.BlobBytes()
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := after.Since(before); n == 0 {
		t.Error("no blob was written before the registry stopped: the create did not stop mid-way")
	}
	reg.start()
	if got := strings.Join(wsTags(t, reg.addr, "envkit/environments"), " "); strings.Count(got, "mid.") != 1 || !strings.Contains(got, "mid.1-") {
		t.Errorf("tags after the interrupted create: %s", got)
	}
	if _, err := ok.Resolve(ctx, workspace.Ref{Name: "mid", Version: "2"}); !errors.Is(err, workspace.ErrNotFound) {
		t.Errorf("mid:2 after the interrupted create: %v", err)
	}
	if r, err := ok.Create(ctx, f, workspace.CreateOptions{}); err != nil || r.Version != "2" || r.Existed {
		t.Errorf("the next create: %+v %v", r, err)
	}
}

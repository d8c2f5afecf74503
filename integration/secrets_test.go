package integration

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/pypitest"
	envllb "github.com/envkit/envkit/llb"
)

// privateChannel serves a channel of pkgs on 127.0.0.1, at /chan, that
// answers 401 to any request without "Authorization: Bearer <token>" or
// basic authentication with the token as password (repodata, packages,
// HEAD and GET alike). It returns the channel's URL, the token and the
// number of requests refused so far.
//
// Each package gets a file of its own channel's (a random nonce): BuildKit
// shares a package fetched by checksum between builds, so the same bytes
// fetched by another test without credentials would be reused and no fetch
// of this channel would be refused.
func privateChannel(t testing.TB, pkgs ...condatest.Package) (url, token string, refused *atomic.Int64) {
	t.Helper()
	dir := t.TempDir()
	nonce := make([]byte, 8)
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	for i := range pkgs {
		pkgs[i].Files = append(slices.Clone(pkgs[i].Files), condatest.File{Path: "share/private-channel/" + pkgs[i].Name, Content: hex.EncodeToString(nonce) + "\n"})
	}
	if err := condatest.WriteChannel(filepath.Join(dir, "chan"), pkgs...); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	token = "s3kr1t" + hex.EncodeToString(b)
	refused = &atomic.Int64{}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, password, basic := r.BasicAuth()
		if r.Header.Get("Authorization") != "Bearer "+token && (!basic || password != token) {
			refused.Add(1)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/chan", token, refused
}

// assertNoBlobHas fails when a blob of the registry (layers decompressed,
// configs, manifests, attestations) contains secret.
func assertNoBlobHas(t *testing.T, e *harness.Env, secret string) {
	t.Helper()
	blobs, err := e.Reg.BlobBytes()
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) == 0 {
		t.Fatal("no blobs in the registry")
	}
	for d := range blobs {
		p := filepath.Join(e.Reg.Storage, "docker", "registry", "v2", "blobs", string(d.Algorithm()), d.Encoded()[:2], d.Encoded(), "data")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			if plain, err := io.ReadAll(zr); err == nil {
				data = plain
			}
		}
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("blob %s holds the credential", d)
		}
	}
}

// A channel that wants credentials: the build passes them as the secret
// envkit-auth-127.0.0.1 (docker buildx and buildctl alike) and every fetch
// (the probe's HEADs, repodata, packages) sends them; without it the build
// fails naming the secret to pass; the token is in no blob of the pushed
// images, not in their lock and not in the build output.
func TestSecretsPrivateChannel(t *testing.T) {
	e := harness.Get(t)
	ch, token, refused := privateChannel(t, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"))
	p := newProject(t, "environment.yml", syntax(t, e)+"name: private\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: [tool]\n", map[string]string{})
	t.Setenv("CONDA_AUTH", "Bearer "+token)
	secret := "id=" + envllb.SecretID("127.0.0.1") + ",env=CONDA_AUTH"
	ctx := ctxFor(t)

	buildx := func(ref string, extra ...string) ([]byte, error) {
		args := append([]string{"build", "--progress", "plain", "-f", filepath.Join(p.dir, p.file),
			"--output", "type=image,name=" + ref + ",push=true,registry.insecure=true"}, extra...)
		return e.DockerBuildx(ctx, append(args, p.dir)...)
	}
	buildctl := func(ref string, extra ...string) ([]byte, error) {
		args := append([]string{"build", "--progress", "plain", "--frontend", "gateway.v0", "--opt", "source=" + frontend(t, e),
			"--local", "context=" + p.dir, "--local", "dockerfile=" + p.dir, "--opt", "filename=" + p.file,
			"--output", "type=image,name=" + ref + ",push=true,registry.insecure=true"}, extra...)
		return e.Buildctl(ctx, args...)
	}

	// Without the secret: the channel's 401 names the secret to pass.
	var out []byte
	var err error
	for _, build := range []func(string, ...string) ([]byte, error){buildctl, buildx} {
		out, err = build(e.Ref("it/private:none"))
		if err == nil || !strings.Contains(string(out), "127.0.0.1 wants credentials (401 Unauthorized)") || !strings.Contains(string(out), "--secret id=envkit-auth-127.0.0.1,env=VAR") {
			t.Errorf("without the secret: %v\n%s", err, out)
		}
	}
	if refused.Load() == 0 {
		t.Error("the channel refused nothing: it was never asked")
	}
	// A wrong secret: the refusal says the secret's credentials were refused.
	t.Setenv("WRONG_AUTH", "Bearer not-the-token")
	out, err = buildctl(e.Ref("it/private:wrong"), "--secret", "id="+envllb.SecretID("127.0.0.1")+",env=WRONG_AUTH")
	if err == nil || !strings.Contains(string(out), "127.0.0.1 refused the credentials of the secret envkit-auth-127.0.0.1 (401 Unauthorized)") || strings.Contains(string(out), "not-the-token") {
		t.Errorf("with a wrong secret: %v\n%s", err, out)
	}

	for _, b := range []struct {
		name  string
		build func(string, ...string) ([]byte, error)
		extra []string // what else must not hold the token: provenance, a cache export
	}{
		{"buildx", buildx, []string{"--provenance=mode=max"}},
		{"buildctl", buildctl, []string{"--export-cache", "type=registry,ref=" + e.Ref("it/private:cache") + ",mode=max,registry.insecure=true"}},
	} {
		ref := e.Ref("it/private:" + b.name)
		before := refused.Load()
		out, err := b.build(ref, append([]string{"--secret", secret}, b.extra...)...)
		if err != nil {
			t.Fatalf("%s with the secret: %v\n%s", b.name, err, out)
		}
		if bytes.Contains(out, []byte(token)) {
			t.Errorf("%s: the build output shows the token", b.name)
		}
		if n := refused.Load() - before; n != 0 {
			t.Errorf("%s: %d requests went without the credentials", b.name, n)
		}
		got, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", envllb.DefaultPrefix+"/lib/libfoo.txt")
		if err != nil || string(got) != "libfoo for x86_64\n" {
			t.Errorf("%s: libfoo.txt %q %v", b.name, got, err)
		}
		lockYAML, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", envllb.DefaultPrefix+"/"+envllb.LockPath)
		if err != nil || !strings.Contains(string(lockYAML), ch+"/linux-64/tool-2.0-0.conda") || strings.Contains(string(lockYAML), token) {
			t.Errorf("%s: lock in the image (%v):\n%s", b.name, err, lockYAML)
		}
		if err := os.WriteFile(filepath.Join(p.dir, "conda-lock.yml"), lockYAML, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// From a lock no repodata is fetched: the packages' own fetches are
	// refused, and name the secret (BuildKit reports a refused fetch by
	// checksum as a digest mismatch).
	out, err = buildctl(e.Ref("it/private:locked"), "--opt", "lockfile=conda-lock.yml")
	if err == nil || !strings.Contains(string(out), "if 127.0.0.1 wants credentials") || !strings.Contains(string(out), "--secret id=envkit-auth-127.0.0.1") {
		t.Errorf("from the lock, without the secret: %v\n%s", err, out)
	}

	// The token in the conda file's channel URL (conda's /t/<token>) is not
	// sent through BuildKit: without the secret the refusal says so, and
	// the snippet of the conda file it shows masks the token; with it, the
	// build's provenance (which records the files' text) and SBOM hold no
	// token.
	tokenURL := strings.Replace(ch, "/chan", "/t/"+token+"/chan", 1)
	p = newProject(t, "environment.yml", syntax(t, e)+"name: private-url\nimage: "+e.Base.Base+"\nconda_file: conda.yml\n",
		map[string]string{"conda.yml": "channels: [\"" + tokenURL + "\"]\ndependencies: [tool]\n"})
	out, err = buildctl(e.Ref("it/private-url:none"))
	if err == nil || !strings.Contains(string(out), "not sent through BuildKit") || !strings.Contains(string(out), "/t/"+strings.Repeat("*", len(token))+"/chan") || bytes.Contains(out, []byte(token)) {
		t.Errorf("token URL without the secret: %v\n%s", err, out)
	}
	// The same, written inline in the environment file.
	inline := newProject(t, "environment.yml", syntax(t, e)+"name: private-inline\nimage: "+e.Base.Base+"\nconda_file:\n  channels: [\""+tokenURL+"\"]\n  dependencies: [tool]\n", map[string]string{})
	p, inline = inline, p
	out, err = buildctl(e.Ref("it/private-inline:none"))
	if err == nil || !strings.Contains(string(out), "/t/"+strings.Repeat("*", len(token))+"/chan") || bytes.Contains(out, []byte(token)) {
		t.Errorf("inline token URL without the secret: %v\n%s", err, out)
	}
	p = inline
	out, err = buildx(e.Ref("it/private-url:1"), "--secret", secret, "--provenance=mode=max", "--sbom=true")
	if err != nil || bytes.Contains(out, []byte(token)) {
		t.Errorf("token URL with the secret: %v\n%s", err, out)
	}
	assertNoBlobHas(t, e, token)
}

// envkit lock takes the credentials of a channel's host from --secret, the
// docker config, ~/.netrc or the channel's URL (conda's /t/<token>, sent
// as a bearer token), and without any says which host wants them; the
// lock never holds the token. envkit build gives them to BuildKit as the
// session secret envkit-auth-127.0.0.1.
func TestSecretsCLI(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	ch, token, _ := privateChannel(t, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"))
	host := strings.TrimPrefix(strings.TrimSuffix(ch, "/chan"), "http://") // 127.0.0.1:PORT
	condaFile := func(channel string) string {
		dir := t.TempDir()
		f := filepath.Join(dir, "conda.yml")
		if err := os.WriteFile(f, []byte("channels: ["+channel+"]\ndependencies: [tool]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	plain := condaFile(ch)
	// Each run has a home of its own: no docker config, netrc or cache but
	// the case's.
	lock := func(setup func(home string) []string, file string, args ...string) (string, error) {
		home := t.TempDir()
		env := append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+filepath.Join(home, ".docker"), "ENVKIT_CACHE="+filepath.Join(home, "cache"), "NETRC=")
		if setup != nil {
			env = append(env, setup(home)...)
		}
		cmd := exec.Command(bin, append([]string{"lock", "-f", file, "--platform", "linux-64"}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	write := func(p, content string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := lock(nil, plain)
	if err == nil || !strings.Contains(out, "127.0.0.1 wants credentials (401 Unauthorized)") || !strings.Contains(out, "--secret id=envkit-auth-127.0.0.1,env=VAR") {
		t.Errorf("without credentials: %v\n%s", err, out)
	}
	// A token URL whose token is refused: the error says so, and the line
	// of the file it shows masks the token.
	out, err = lock(nil, condaFile("http://"+host+"/t/wr0ngt0ken/chan"))
	if err == nil || !strings.Contains(out, "127.0.0.1 refused the credentials from the channel's URL (401 Unauthorized)") || !strings.Contains(out, "/t/**********/chan") || strings.Contains(out, "wr0ngt0ken") {
		t.Errorf("a refused token URL: %v\n%s", err, out)
	}
	cases := map[string]struct {
		setup func(home string) []string
		file  string
		args  []string
	}{
		"secret": {func(string) []string { return []string{"CONDA_AUTH=Bearer " + token} }, plain, []string{"--secret", "id=envkit-auth-127.0.0.1,env=CONDA_AUTH"}},
		"netrc": {func(home string) []string {
			write(filepath.Join(home, ".netrc"), "machine 127.0.0.1\n  login envkit\n  password "+token+"\n")
			return nil
		}, plain, nil},
		"docker config": {func(home string) []string {
			auth := base64.StdEncoding.EncodeToString([]byte("envkit:" + token))
			write(filepath.Join(home, ".docker", "config.json"), `{"auths": {"`+host+`": {"auth": "`+auth+`"}}}`)
			return nil
		}, plain, nil},
		"token URL": {nil, condaFile("http://" + host + "/t/" + token + "/chan"), nil},
	}
	var locked string // a lock of the token URL's channel
	for name, c := range cases {
		cmdOut, err := lock(c.setup, c.file, c.args...)
		out := cmdOut
		if err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
			continue
		}
		if name == "token URL" {
			locked = out
		}
		if strings.Contains(out, token) {
			t.Errorf("%s: the lock or the output holds the token:\n%s", name, out)
		}
		if !strings.Contains(out, ch+"/linux-64/tool-2.0-0.conda") {
			t.Errorf("%s: lock without tool from %s:\n%s", name, ch, out)
		}
	}

	// A lock written with the token in its URLs (conda-lock without
	// --strip-auth) is read without it: reused as fresh, and the lock
	// printed has no token.
	withTokens := strings.ReplaceAll(locked, ch+"/", "http://"+host+"/t/"+token+"/chan/")
	if !strings.Contains(withTokens, "/t/"+token+"/chan/linux-64/tool-2.0-0.conda") {
		t.Fatalf("no URL to put the token in:\n%s", locked)
	}
	lockFile := filepath.Join(t.TempDir(), "conda-lock.yml")
	write(lockFile, withTokens)
	out, err = lock(nil, cases["token URL"].file, "--lockfile", lockFile)
	if err != nil || strings.Contains(out, token) || !strings.Contains(out, ch+"/linux-64/tool-2.0-0.conda") {
		t.Errorf("from a lock with tokens: %v\n%s", err, out)
	}
	out, err = lock(nil, cases["token URL"].file, "--lockfile", lockFile, "--check")
	if err != nil {
		t.Errorf("a lock with tokens is stale for its own request: %v\n%s", err, out)
	}

	// envkit build: the token URL's credential reaches BuildKit as a
	// session secret; nothing it pushes or prints holds the token.
	p := newProject(t, "env.yml", "name: cli-private\nimage: "+e.Base.Base+"\nconda_file:\n  channels: [\"http://"+host+"/t/"+token+"/chan\"]\n  dependencies: [tool]\n", map[string]string{})
	ref := e.Ref("it/cli-private:1")
	build := exec.Command(bin, "build", "--addr", e.BuildkitAddr, "-t", ref, "--progress", "plain", "--helper-image", frontend(t, e), filepath.Join(p.dir, p.file))
	build.Env = append(os.Environ(), "ENVKIT_CACHE="+t.TempDir())
	bout, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("envkit build: %v\n%s", err, bout)
	}
	if strings.Contains(string(bout), token) {
		t.Errorf("envkit build's output shows the token")
	}
	got, err := e.Reg.ReadFile(ctxFor(t), ref, "linux/amd64", envllb.DefaultPrefix+"/lib/libfoo.txt")
	if err != nil || string(got) != "libfoo for x86_64\n" {
		t.Errorf("libfoo.txt %q %v", got, err)
	}
	assertNoBlobHas(t, e, token)
}

// privateIndex serves a PyPI simple index of projects on 127.0.0.1 that
// answers 401 as privateChannel does, and returns its URL and token.
func privateIndex(t testing.TB, projects ...pypitest.Project) (url, token string) {
	t.Helper()
	dir := t.TempDir()
	if err := pypitest.WriteIndex(dir, projects...); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	token = "s3kr1t" + hex.EncodeToString(b)
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, password, basic := r.BasicAuth()
		if r.Header.Get("Authorization") != "Bearer "+token && (!basic || password != token) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/", token
}

// A pip index that wants credentials: the frontend reads its pages with
// the secret envkit-auth-127.0.0.1 and names it without; envkit lock sends
// the index URL's own user information, or --secret; no output holds the
// token.
func TestSecretsPrivateIndex(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t,
		condatest.Package{Name: "python", Version: "3.12.0", Build: "h0_0"},
		condatest.Package{Name: "numpy", Version: "1.26.4", Build: "py312_0", Depends: []string{"python >=3.12,<3.13.0a0"}})
	idx, token := privateIndex(t,
		pypitest.Project{Name: "Flask", Files: []pypitest.File{{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "Flask", Version: "3.0.0", RequiresDist: []string{"itsdangerous>=2"}}}}}},
		pypitest.Project{Name: "itsdangerous", Files: []pypitest.File{{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "itsdangerous", Version: "2.1.2"}}}}},
	)
	conda := func(index string) string {
		return "channels: [" + ch + "]\ndependencies:\n  - python=3.12\n  - numpy\n  - pip:\n    - --index-url " + index + "\n    - flask\n"
	}
	p := newProject(t, "environment.yml", syntax(t, e)+"name: pip-private\nimage: "+e.Base.Base+"\nconda_file: conda.yml\n", map[string]string{"conda.yml": conda(idx)})
	t.Setenv("PIP_AUTH", "Bearer "+token)
	build := func(ref string, extra ...string) ([]byte, error) {
		return e.Buildctl(ctxFor(t), append([]string{"build", "--progress", "plain", "--frontend", "gateway.v0", "--opt", "source=" + frontend(t, e),
			"--local", "context=" + p.dir, "--local", "dockerfile=" + p.dir, "--opt", "filename=" + p.file,
			"--output", "type=image,name=" + ref + ",push=true,registry.insecure=true"}, extra...)...)
	}
	out, err := build(e.Ref("it/pip-private:none"))
	if err == nil || !strings.Contains(string(out), "127.0.0.1 wants credentials (401 Unauthorized)") || !strings.Contains(string(out), "--secret id=envkit-auth-127.0.0.1,env=VAR") {
		t.Errorf("without the secret: %v\n%s", err, out)
	}
	// Resolved and installed: the wheels are fetched with the secret too.
	ref := e.Ref("it/pip-private:1")
	out, err = build(ref, "--secret", "id=envkit-auth-127.0.0.1,env=PIP_AUTH")
	if err != nil || bytes.Contains(out, []byte(token)) {
		t.Errorf("with the secret: %v\n%s", err, out)
	}
	site := envllb.DefaultPrefix + "/lib/python3.12/site-packages/"
	for _, f := range []string{"flask-3.0.0.dist-info/REQUESTED", "itsdangerous-2.1.2.dist-info/INSTALLER"} {
		if _, err := e.Reg.ReadFile(ctxFor(t), ref, "linux/amd64", site+f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	bin := envkitBinary(t)
	withUser := strings.Replace(idx, "http://", "http://envkit:"+token+"@", 1)
	for name, c := range map[string]struct {
		index string
		args  []string
	}{
		"index URL": {withUser, nil},
		"secret":    {idx, []string{"--secret", "id=envkit-auth-127.0.0.1,env=PIP_AUTH"}},
	} {
		dir := t.TempDir()
		f := filepath.Join(dir, "conda.yml")
		if err := os.WriteFile(f, []byte(conda(c.index)), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, append([]string{"lock", "-f", f, "--platform", "linux-64"}, c.args...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir, "ENVKIT_CACHE="+filepath.Join(dir, "cache"), "NETRC=")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "itsdangerous") || bytes.Contains(out, []byte(token)) {
			t.Errorf("envkit lock, %s: %v\n%s", name, err, out)
		}
	}
}

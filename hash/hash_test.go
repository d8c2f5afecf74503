package hash

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/envkit/envkit/internal/rootfs"
	"github.com/envkit/envkit/spec"
	"github.com/opencontainers/go-digest"
)

const base = `name: env
version: 1
description: base case
tags: {team: a}
image: ubuntu:22.04
conda_file:
  channels: [conda-forge, defaults]
  dependencies:
    - python=3.10
    - numpy
    - pip:
      - requests==2.31
environment_variables:
  A: "1"
  B: "2"
`

func mustHash(t *testing.T, y string, ctx fstest.MapFS) digest.Digest {
	t.Helper()
	env, err := spec.Load("env.yml", []byte(y), ctx)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, y)
	}
	var bc fs.FS
	if env.Build != nil {
		sub, err := fs.Sub(ctx, env.Build.Path)
		if err != nil {
			t.Fatal(err)
		}
		bc = sub
	}
	d, err := Compute(env, bc)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRules(t *testing.T) {
	h0 := mustHash(t, base, nil)
	same := map[string]string{
		"name":               strings.Replace(base, "name: env", "name: other", 1),
		"version":            strings.Replace(base, "version: 1", "version: 7", 1),
		"description":        strings.Replace(base, "base case", "something else", 1),
		"tags":               strings.Replace(base, "{team: a}", "{team: b, x: y}", 1),
		"comments":           "# a comment\n" + strings.Replace(base, "    - numpy\n", "    - numpy   # why\n", 1),
		"whitespace":         strings.Replace(base, "[conda-forge, defaults]", "[ conda-forge ,   defaults ]", 1),
		"key order":          "image: ubuntu:22.04\n" + strings.Replace(base, "image: ubuntu:22.04\n", "", 1),
		"env var key order":  strings.Replace(base, "  A: \"1\"\n  B: \"2\"\n", "  B: \"2\"\n  A: \"1\"\n", 1),
		"image normalised":   strings.Replace(base, "ubuntu:22.04", "docker.io/library/ubuntu:22.04", 1),
		"spec inner spacing": strings.Replace(base, "python=3.10", "python=3.10 ", 1),
		"add inference":      base + "inference_config:\n  scoring_route: {port: 1, path: /s}\n  liveness_route: {port: 2, path: /l}\n  readiness_route: {port: 3, path: /r}\n",
	}
	for name, y := range same {
		if h := mustHash(t, y, nil); h != h0 {
			t.Errorf("%s changed the hash", name)
		}
	}
	differ := map[string]string{
		"reorder dependencies": strings.Replace(base, "    - python=3.10\n    - numpy\n", "    - numpy\n    - python=3.10\n", 1),
		"reorder channels":     strings.Replace(base, "[conda-forge, defaults]", "[defaults, conda-forge]", 1),
		"add package":          strings.Replace(base, "    - numpy\n", "    - numpy\n    - scipy\n", 1),
		"change pin":           strings.Replace(base, "python=3.10", "python=3.11", 1),
		"pip pin":              strings.Replace(base, "requests==2.31", "requests==2.32", 1),
		"pip index":            strings.Replace(base, "      - requests==2.31\n", "      - --extra-index-url https://pkgs.example/simple\n      - requests==2.31\n", 1),
		"pip index host":       strings.Replace(base, "      - requests==2.31\n", "      - --extra-index-url https://other.example/simple\n      - requests==2.31\n", 1),
		"pip pre":              strings.Replace(base, "      - requests==2.31\n", "      - --pre\n      - requests==2.31\n", 1),
		"image tag":            strings.Replace(base, "ubuntu:22.04", "ubuntu:24.04", 1),
		"env var value":        strings.Replace(base, "A: \"1\"", "A: \"3\"", 1),
		"env var added":        base + "  C: c\n",
		"docker steps":         base + "docker_steps: |\n  RUN echo hi\n",
	}
	seen := map[digest.Digest]string{h0: "base"}
	for name, y := range differ {
		h := mustHash(t, y, nil)
		if prev, dup := seen[h]; dup {
			t.Errorf("%s gives the same hash as %s", name, prev)
		}
		seen[h] = name
	}
}

func TestInlineAndFileCondaAgree(t *testing.T) {
	conda := "name: whatever\nchannels: [conda-forge, defaults]\ndependencies:\n  - python=3.10\n  - numpy\n  - pip:\n    - requests==2.31\n"
	y := strings.Replace(base, base[strings.Index(base, "conda_file:"):strings.Index(base, "environment_variables:")], "conda_file: conda.yml\n", 1)
	h := mustHash(t, y, fstest.MapFS{"conda.yml": {Data: []byte(conda)}})
	if h != mustHash(t, base, nil) {
		t.Error("a conda file and the same environment inline hash differently")
	}
}

func TestDockerStepsFormatting(t *testing.T) {
	a := mustHash(t, "image: busybox\ndocker_steps: |\n  RUN a\n  ENV X=1\n", nil)
	b := mustHash(t, "image: busybox\ndocker_steps:\n  - RUN a   \n  - ENV X=1\n", nil)
	if a != b {
		t.Error("a block and a list of the same steps hash differently")
	}
}

func TestBuildContext(t *testing.T) {
	y := "name: ctx\nbuild:\n  path: ctx\n"
	ctx := func(mod func(fstest.MapFS)) fstest.MapFS {
		m := fstest.MapFS{
			"ctx/Dockerfile":       {Data: []byte("FROM busybox\nCOPY . /app\n")},
			"ctx/app.py":           {Data: []byte("print(1)\n"), Mode: 0o644},
			"ctx/.dockerignore":    {Data: []byte("*.log\nbuild/\n")},
			"ctx/debug.log":        {Data: []byte("noise")},
			"ctx/build/out.o":      {Data: []byte("obj")},
			"ctx/lib/util.py":      {Data: []byte("x = 1\n")},
			"outside/unrelated.py": {Data: []byte("not in the context")},
		}
		if mod != nil {
			mod(m)
		}
		return m
	}
	h0 := mustHash(t, y, ctx(nil))
	for name, mod := range map[string]func(fstest.MapFS){
		"ignored file changes": func(m fstest.MapFS) { m["ctx/debug.log"] = &fstest.MapFile{Data: []byte("other")} },
		"ignored dir grows":    func(m fstest.MapFS) { m["ctx/build/more.o"] = &fstest.MapFile{Data: []byte("x")} },
		"file outside context": func(m fstest.MapFS) { m["outside/unrelated.py"] = &fstest.MapFile{Data: []byte("changed")} },
	} {
		if h := mustHash(t, y, ctx(mod)); h != h0 {
			t.Errorf("%s changed the hash", name)
		}
	}
	for name, mod := range map[string]func(fstest.MapFS){
		"content":      func(m fstest.MapFS) { m["ctx/app.py"] = &fstest.MapFile{Data: []byte("print(2)\n"), Mode: 0o644} },
		"mode":         func(m fstest.MapFS) { m["ctx/app.py"] = &fstest.MapFile{Data: []byte("print(1)\n"), Mode: 0o755} },
		"new file":     func(m fstest.MapFS) { m["ctx/lib/new.py"] = &fstest.MapFile{Data: []byte("")} },
		"rename":       func(m fstest.MapFS) { m["ctx/lib/util2.py"] = m["ctx/lib/util.py"]; delete(m, "ctx/lib/util.py") },
		"dockerfile":   func(m fstest.MapFS) { m["ctx/Dockerfile"] = &fstest.MapFile{Data: []byte("FROM busybox\n")} },
		"ignore rules": func(m fstest.MapFS) { m["ctx/.dockerignore"] = &fstest.MapFile{Data: []byte("*.log\n")} },
	} {
		if h := mustHash(t, y, ctx(mod)); h == h0 {
			t.Errorf("%s did not change the hash", name)
		}
	}
	if h := mustHash(t, y+"  dockerfile_path: Dockerfile\n", ctx(nil)); h != h0 {
		t.Error("the default dockerfile_path written out changed the hash")
	}
}

func TestShortForm(t *testing.T) {
	h := mustHash(t, base, nil)
	s := Short(h)
	if !regexp.MustCompile(`^envkit_[0-9a-f]{32}$`).MatchString(s) || !strings.HasPrefix(h.Encoded(), s[len("envkit_"):]) {
		t.Errorf("short form %q of %s", s, h)
	}
}

// The canonical encoding is part of envkit's contract: stored images are
// found again by this hash. If this test fails, the encoding changed: bump
// encodingVersion instead of changing what an existing version means.
func TestEncodingIsStable(t *testing.T) {
	env, err := spec.Load("env.yml", []byte("image: busybox\nconda_file:\n  channels: [conda-forge]\n  dependencies: [python=3.10]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Canonical(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"image":"docker.io/library/busybox:latest","conda":{"channels":["conda-forge"],"dependencies":["python=3.10"]}}`
	if string(c) != want {
		t.Errorf("canonical encoding\n got %s\nwant %s", c, want)
	}
}

// A build context read through rootfs: a symlink inside it that leads out
// is hashed as the link it is, never followed (the secret it points to can
// change without changing the hash), and a .dockerignore that leads out is
// refused.
func TestContextSymlinksOut(t *testing.T) {
	top := t.TempDir()
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(top, "secret", "s.txt"), "SECRET")
	write(filepath.Join(top, "env", "ctx", "Dockerfile"), "FROM busybox\n")
	if err := os.Symlink("../../secret", filepath.Join(top, "env", "ctx", "out")); err != nil {
		t.Fatal(err)
	}
	env, err := spec.Parse("env.yml", []byte("name: e\nbuild:\n  path: ctx\n"))
	if err != nil {
		t.Fatal(err)
	}
	canon := func() string {
		root, err := rootfs.Open(filepath.Join(top, "env"))
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		ctx, err := root.Sub("ctx")
		if err != nil {
			t.Fatal(err)
		}
		c, err := Canonical(env, ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(c)
	}
	first := canon()
	if !strings.Contains(first, `{"p":"out","m":134218239,"l":"../../secret"}`) || strings.Contains(first, "s.txt") {
		t.Errorf("canonical: %s", first)
	}
	write(filepath.Join(top, "secret", "s.txt"), "CHANGED")
	if canon() != first {
		t.Error("the hash follows a symlink out of the context")
	}
	if err := os.Symlink("../../secret/s.txt", filepath.Join(top, "env", "ctx", ".dockerignore")); err != nil {
		t.Fatal(err)
	}
	root, err := rootfs.Open(filepath.Join(top, "env", "ctx"))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := Canonical(env, root); err == nil || !strings.Contains(err.Error(), ".dockerignore") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf(".dockerignore out: %v", err)
	}
}

// TestPipCredentials: credentials in a pip line's URLs are not hashed (a
// rotated token is the same environment) and never in the canonical form.
func TestPipCredentials(t *testing.T) {
	with := func(line string) string {
		return strings.Replace(base, "      - requests==2.31\n", "      - "+line+"\n      - requests==2.31\n", 1)
	}
	for line, without := range map[string]string{
		"--extra-index-url https://user:s3cret@pkgs.example/simple":     "--extra-index-url https://pkgs.example/simple",
		"--extra-index-url=https://token@pkgs.example/simple":           "--extra-index-url=https://pkgs.example/simple",
		"-i https://other:t0ken@pkgs.example/simple":                    "-i https://pkgs.example/simple",
		"pkg @ https://u:s3cret@files.example/pkg-1.0-py3-none-any.whl": "pkg @ https://files.example/pkg-1.0-py3-none-any.whl",
	} {
		y := with(line)
		if h := mustHash(t, y, nil); h != mustHash(t, with(without), nil) {
			t.Errorf("%q hashes differently from the line without credentials", line)
		}
		env, err := spec.Load("env.yml", []byte(y), nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Canonical(env, nil)
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`s3cret|t0ken|token@`).Match(c) {
			t.Errorf("canonical form carries credentials: %s", c)
		}
	}
}

// The hashes of environments without files named by pip lines are those
// of encoding version 1: these values were computed before pip_files
// existed.
func TestHashWithoutPipFilesUnchanged(t *testing.T) {
	for y, want := range map[string]string{
		base: "75754e69ee5636cec22740b8df998d83384e867dc20ff3919bf7293ee4ad938e",
		"image: busybox\nconda_file:\n  dependencies:\n    - python=3.12\n    - pip:\n      - --index-url https://pkgs.example/simple\n      - flask==3.0\n": "c059a19c9642d1cfe331380796be9b7fe1433b47d0c97ec1d9ecacba33fa63d6",
	} {
		if h := mustHash(t, y, nil); h.Encoded() != want {
			t.Errorf("%s\nhash %s, want %s", y, h.Encoded(), want)
		}
	}
}

// The files pip lines name are in the hash: a -r file's requirements and
// options (not its comments, blank lines, spacing or credentials), a
// wheel's content; the canonical form shows them at encoding version 2.
func TestPipFiles(t *testing.T) {
	env := "image: busybox\nconda_file: conda.yml\n"
	conda := "channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n    - -r requirements.txt\n    - wheels/tool-1.0-py3-none-any.whl\n"
	files := func(req, wheel string) fstest.MapFS {
		return fstest.MapFS{
			"conda.yml":                        {Data: []byte(conda)},
			"requirements.txt":                 {Data: []byte(req)},
			"wheels/tool-1.0-py3-none-any.whl": {Data: []byte(wheel)},
		}
	}
	const req = "# web\nflask==3.0  # pinned\n--extra-index-url https://u:s3cret@pkgs.example/simple\n\n-c c.txt\n"
	h0 := mustHash(t, env, withC(files(req, "wheel one"), "werkzeug<4\n"))
	for name, fsys := range map[string]fstest.MapFS{
		"comments and spacing": withC(files("flask==3.0\n\n  --extra-index-url   https://pkgs.example/simple # index\n-c c.txt\r\n", "wheel one"), "werkzeug<4 # why\n"),
		"credentials":          withC(files(strings.Replace(req, "u:s3cret@", "other:t0ken@", 1), "wheel one"), "werkzeug<4\n"),
	} {
		if h := mustHash(t, env, fsys); h != h0 {
			t.Errorf("%s changed the hash", name)
		}
	}
	seen := map[digest.Digest]string{h0: "base"}
	for name, fsys := range map[string]fstest.MapFS{
		"requirement":     withC(files(strings.Replace(req, "flask==3.0", "flask==3.1", 1), "wheel one"), "werkzeug<4\n"),
		"index":           withC(files(strings.Replace(req, "pkgs.example", "other.example", 1), "wheel one"), "werkzeug<4\n"),
		"constraint file": withC(files(req, "wheel one"), "werkzeug<3\n"),
		"wheel":           withC(files(req, "wheel two"), "werkzeug<4\n"),
	} {
		h := mustHash(t, env, fsys)
		if prev, dup := seen[h]; dup {
			t.Errorf("%s gives the same hash as %s", name, prev)
		}
		seen[h] = name
	}
	e, err := spec.Load("env.yml", []byte(env), withC(files(req, "wheel one"), "werkzeug<4\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Canonical(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":2,"image":"docker.io/library/busybox:latest","conda":{"channels":["conda-forge"],"dependencies":["python=3.12"],` +
		`"pip":["-r requirements.txt","wheels/tool-1.0-py3-none-any.whl"],"pip_files":[` +
		`{"p":"requirements.txt","lines":["flask==3.0","--extra-index-url https://pkgs.example/simple","-c c.txt"]},` +
		`{"p":"c.txt","lines":["werkzeug\u003c4"]},` +
		`{"p":"wheels/tool-1.0-py3-none-any.whl","h":"` + sha256Hex("wheel one") + `"}]}}`
	if string(c) != want {
		t.Errorf("canonical\n got %s\nwant %s", c, want)
	}
	// Parsed without its directory, the environment cannot be hashed:
	// the hash would not cover the files.
	p, err := spec.Parse("env.yml", []byte("image: busybox\nconda_file:\n  dependencies:\n    - pip:\n      - -r r.txt\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compute(p, nil); err == nil || !strings.Contains(err.Error(), "env.yml:5:12: dependencies.pip: -r r.txt: the environment was not loaded with its directory") {
		t.Errorf("parsed: %v", err)
	}
}

func withC(m fstest.MapFS, c string) fstest.MapFS {
	m["c.txt"] = &fstest.MapFile{Data: []byte(c)}
	return m
}

func sha256Hex(s string) string {
	return digest.FromString(s).Encoded()
}

func TestChannelCredentialsLeaveTheHash(t *testing.T) {
	plain := strings.Replace(base, "[conda-forge, defaults]", "[\"https://conda.example.com/private\", defaults]", 1)
	for _, ch := range []string{"https://conda.example.com/t/tk-s3kr1t/private", "https://alice:s3kr1t@conda.example.com/private"} {
		y := strings.Replace(base, "[conda-forge, defaults]", "[\""+ch+"\", defaults]", 1)
		if mustHash(t, y, nil) != mustHash(t, plain, nil) {
			t.Errorf("%s: the credential changed the hash", ch)
		}
		env, err := spec.Load("env.yml", []byte(y), nil)
		if err != nil {
			t.Fatal(err)
		}
		canon, err := Canonical(env, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(canon), "s3kr1t") || !strings.Contains(string(canon), "https://conda.example.com/private") {
			t.Errorf("%s: canonical form %s", ch, canon)
		}
	}
}

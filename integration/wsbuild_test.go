package integration

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	envllb "github.com/envkit/envkit/llb"
)

// wsBuild runs envkit build --json --workspace ws on the harness stack.
func wsBuild(t *testing.T, e *harness.Env, bin, ws string, args ...string) (buildJSON, string) {
	t.Helper()
	a := append([]string{"build", "--json", "--progress", "plain", "--addr", e.BuildkitAddr, "--frontend-image", frontend(t, e), "--workspace", ws}, args...)
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

func hasRepodata(reqs []string) bool {
	return slices.ContainsFunc(reqs, func(r string) bool { return strings.Contains(r, "repodata") })
}

// In a workspace, images live in one repository tagged by hash: the same
// definition under another name builds nothing and asks the channel for
// nothing; the build record beside the image holds its digest, base and
// lock; -t adds a tag; a registered version builds by its reference.
func TestWorkspaceBuildOncePerHash(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	ctx := ctxFor(t)
	ws := e.Registry + "/it-wsbuild"
	chDir := t.TempDir()
	if err := condatest.WriteChannel(chDir, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64")); err != nil {
		t.Fatal(err)
	}
	ch := newLoggedChannel(t, chDir)
	body := "image: " + e.Base.Base + "\nconda_file:\n  channels: [" + ch.URL + "]\n  dependencies: [tool]\n"
	a := newProject(t, "env.yml", "name: ws-a\n"+body, map[string]string{})
	b := newProject(t, "env.yml", "name: ws-b\nversion: \"7\"\n"+body, map[string]string{})

	first, _ := wsBuild(t, e, bin, ws, filepath.Join(a.dir, a.file))
	imageRef := ws + "/images:" + first.Hash
	if first.Reused || first.Image != imageRef+"@"+first.Digest || !slices.Equal(first.Tags, []string{imageRef}) {
		t.Errorf("first build: %+v", first)
	}
	if reqs := ch.take(); !hasRepodata(reqs) {
		t.Errorf("the first build asked for no repodata: %q", reqs)
	}
	// Its build record: image, digest, base and lock.
	rm, err := e.Reg.Manifest(ctx, imageRef+".build")
	if err != nil || !strings.Contains(string(rm.Raw), `"artifactType":"application/vnd.envkit.build.v1"`) {
		t.Fatalf("build record: %v\n%s", err, rm.Raw)
	}
	rec, err := rm.Image()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := e.Reg.Blob(ctx, imageRef, rec.Config.Digest)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Hash, Image, Digest, Base_image, Base_digest string }
	if err := json.Unmarshal(cfg, &got); err != nil {
		t.Fatal(err)
	}
	if got.Hash != first.Hash || got.Image != ws+"/images@"+first.Digest || got.Digest != first.Digest ||
		got.Base_image != e.Base.Base || !strings.HasPrefix(got.Base_digest, "sha256:") || len(rec.Layers) != 1 {
		t.Errorf("build record %s, layers %v", cfg, rec.Layers)
	}

	// The same definition under another name (and version), with -t.
	tagged := e.Ref("it/wsbuild-b:7")
	second, log := wsBuild(t, e, bin, ws, "-t", tagged, filepath.Join(b.dir, b.file))
	if !second.Reused || second.Digest != first.Digest || second.Hash != first.Hash || second.Image != tagged+"@"+first.Digest {
		t.Errorf("another name: %+v, first %+v\n%s", second, first, log)
	}
	if reqs := ch.take(); len(reqs) != 0 {
		t.Errorf("the same definition under another name asked the channel for %q", reqs)
	}
	if m, err := e.Reg.Manifest(ctx, tagged); err != nil || m.Digest.String() != first.Digest {
		t.Errorf("-t: %v %v", m.Digest, err)
	}

	// With the image deleted, the record's lock holds: no repodata.
	deleteManifest(t, e, "it-wsbuild/images", first.Digest)
	third, log := wsBuild(t, e, bin, ws, filepath.Join(b.dir, b.file))
	if third.Reused || !strings.Contains(log, "installing the packages "+first.Hash+" resolved to first") {
		t.Errorf("after the image was deleted: %+v\n%s", third, log)
	}
	if reqs := ch.take(); hasRepodata(reqs) {
		t.Errorf("a rebuild with the recorded lock asked for repodata: %q", reqs)
	}
	if b, err := e.Reg.ReadFile(ctx, imageRef, "linux/amd64", envllb.DefaultPrefix+"/bin/tool"); err != nil || !strings.Contains(string(b), "tool 2.0") {
		t.Errorf("rebuilt tool: %q %v", b, err)
	}

	// A registered version builds by its reference: reused.
	cli := newWSCLI(t, ws)
	cli.ok("env", "create", "--file", filepath.Join(a.dir, a.file))
	for _, ref := range []string{"ws-a:1", "azureml:ws-a@latest"} {
		r, log := wsBuild(t, e, bin, ws, ref)
		if !r.Reused || r.Digest != third.Digest || r.Hash != first.Hash {
			t.Errorf("build %s: %+v\n%s", ref, r, log)
		}
	}
	if reqs := ch.take(); len(reqs) != 0 {
		t.Errorf("builds by reference asked the channel for %q", reqs)
	}
}

// A file without a name builds into the workspace and is found again by its
// hash (its build record), but is not listed.
func TestWorkspaceAnonymousBuild(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	ws := e.Registry + "/it-wsanon"
	p := newProject(t, "env.yml", "build:\n  path: .\n",
		map[string]string{"Dockerfile": "FROM " + e.Base.Base + "\nRUN echo anon > /etc/anon\n"})
	r, _ := wsBuild(t, e, bin, ws, filepath.Join(p.dir, p.file))
	if r.Reused || r.Image != ws+"/images:"+r.Hash+"@"+r.Digest {
		t.Fatalf("anonymous build: %+v", r)
	}
	cli := newWSCLI(t, ws)
	var shown struct {
		Hash, Image, Digest string
		Anonymous           bool
	}
	if err := json.Unmarshal([]byte(cli.ok("env", "show", r.Hash, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Hash != r.Hash || !shown.Anonymous || shown.Digest != r.Digest || shown.Image != ws+"/images@"+r.Digest {
		t.Errorf("env show %s: %+v, built %+v", r.Hash, shown, r)
	}
	if list := cli.records("env", "list", "--include-archived"); len(list) != 0 {
		t.Errorf("env list shows the anonymous environment: %v", wsRefs(list))
	}
	// Again: reused, the record unchanged.
	if again, _ := wsBuild(t, e, bin, ws, filepath.Join(p.dir, p.file)); !again.Reused || again.Digest != r.Digest {
		t.Errorf("again: %+v", again)
	}
}

// envkit patch rebuilds onto the base tag's newest digest with the stored
// lock (the channel's newer package is not taken, no repodata fetched) and
// reports the layers: every package layer kept, the base's changed.
func TestWorkspacePatch(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	ctx := ctxFor(t)
	ws := e.Registry + "/it-wspatch"
	baseRef := e.Ref("it/wspatch-base:1")
	pushBase := func(level string) { t.Helper(); pushPatchedBase(t, e, baseRef, level) }
	pushBase("1")
	chDir := t.TempDir()
	if err := condatest.WriteChannel(chDir, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64")); err != nil {
		t.Fatal(err)
	}
	ch := newLoggedChannel(t, chDir)
	p := newProject(t, "env.yml", "name: ws-patch\nimage: "+baseRef+"\nconda_file:\n  channels: ["+ch.URL+"]\n  dependencies: [tool]\n", map[string]string{})
	file := filepath.Join(p.dir, p.file)
	first, _ := wsBuild(t, e, bin, ws, file)
	layersOf := func(digest string) []string {
		t.Helper()
		m, err := e.Reg.Manifest(ctx, ws+"/images@"+digest)
		if err != nil {
			t.Fatal(err)
		}
		im, err := m.Image()
		if err != nil {
			t.Fatal(err)
		}
		var ds []string
		for _, l := range im.Layers {
			ds = append(ds, l.Digest.String())
		}
		return ds
	}
	old := layersOf(first.Digest)
	if err := condatest.WriteChannel(chDir, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"), tool("3.0", "linux-64")); err != nil {
		t.Fatal(err)
	}
	ch.take()

	// The base has not moved: nothing to patch.
	var r struct {
		buildJSON
		Base   *struct{ Image, From, To string }
		Layers []struct {
			Platform       string
			Kept           int
			Removed, Added []string
		}
	}
	run := func() string {
		t.Helper()
		cmd := exec.Command(bin, "patch", "--json", "--progress", "plain", "--addr", e.BuildkitAddr, "--frontend-image", frontend(t, e), "--workspace", ws, file)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("envkit patch: %v\n%s", err, stderr.String())
		}
		r.Base, r.Layers = nil, nil
		if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil {
			t.Fatalf("%q: %v", stdout.String(), err)
		}
		return stderr.String()
	}
	if log := run(); !r.Reused || r.Digest != first.Digest || r.Layers != nil || !strings.Contains(log, "nothing to patch: base "+baseRef+" still at") {
		t.Errorf("patch of a current base: %+v\n%s", r, log)
	}

	pushBase("2")
	log := run()
	if r.Reused || r.Digest == first.Digest || r.Base == nil || r.Base.Image != baseRef || r.Base.From == r.Base.To || len(r.Layers) != 1 {
		t.Fatalf("patch: %+v %+v\n%s", r, r.Base, log)
	}
	if reqs := ch.take(); hasRepodata(reqs) {
		t.Errorf("patch asked for repodata: %q", reqs)
	}
	if b, err := e.Reg.ReadFile(ctx, ws+"/images:"+r.Hash, "linux/amd64", envllb.DefaultPrefix+"/bin/tool"); err != nil || !strings.Contains(string(b), "tool 2.0") {
		t.Errorf("patched tool: %q %v", b, err)
	}
	if b, err := e.Reg.ReadFile(ctx, ws+"/images:"+r.Hash, "linux/amd64", "/etc/patch-level"); err != nil || string(b) != "2\n" {
		t.Errorf("patch level: %q %v", b, err)
	}
	first1 := r.Layers[0]
	old = checkReport(t, old, layersOf(r.Digest), first1)
	// The first build solved, the patch installs from the stored lock: the
	// frontend links the records as the lock gives them either way, so every
	// package layer and the metadata's are kept, only the base's replaced.
	if len(first1.Removed) != 1 || len(first1.Added) != 1 || first1.Kept < 3 {
		t.Errorf("the first patch changed more than the base's layer: %+v", first1)
	}

	// Patched again: the same.
	pushBase("3")
	log = run()
	if r.Reused || r.Base == nil || len(r.Layers) != 1 {
		t.Fatalf("second patch: %+v\n%s", r, log)
	}
	c := r.Layers[0]
	checkReport(t, old, layersOf(r.Digest), c)
	if len(c.Removed) != 1 || len(c.Added) != 1 || c.Kept != len(old)-1 || c.Kept < 3 {
		t.Errorf("patch changed more than the base's layer: %+v (old image %d layers)", c, len(old))
	}
	if !strings.Contains(log, "layers kept, 1 replaced, 1 new") {
		t.Errorf("patch log:\n%s", log)
	}
}

// checkReport compares a patch's report with the layers of the old and new
// images in the registry, and returns the new ones.
func checkReport(t *testing.T, old, nl []string, c struct {
	Platform       string
	Kept           int
	Removed, Added []string
}) []string {
	t.Helper()
	var kept, removed, added []string
	for _, d := range nl {
		if slices.Contains(old, d) {
			kept = append(kept, d)
		} else {
			added = append(added, d)
		}
	}
	for _, d := range old {
		if !slices.Contains(nl, d) {
			removed = append(removed, d)
		}
	}
	if c.Platform != "linux/amd64" || c.Kept != len(kept) || !slices.Equal(c.Removed, removed) || !slices.Equal(c.Added, added) {
		t.Errorf("reported %+v; registry: kept %d, removed %v, added %v", c, len(kept), removed, added)
	}
	return nl
}

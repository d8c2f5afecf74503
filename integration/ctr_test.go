package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	envllb "github.com/envkit/envkit/llb"
)

// genEnv is an environment of generated conda packages (condatest.Generate)
// on a channel served from 127.0.0.1, with a project whose conda file
// requests the generated specs. It is what the large-environment tests and
// benchmarks build:
//
//	g := newGenEnv(t, e, condatest.GenOptions{N: 600}, e.Base.Base)
//	r := g.build(t, e, e.Ref("it/big:1"))        // through the frontend, pushed
//	r.Image.Manifest.Layers, r.PushedBytes, r.Took // layers, bytes the registry stored, wall time
//	g.runTools(t, e, r.Ref, 2)                   // two of its tools, under containerd
//	g.bump(t, map[string]int{name: 1})           // a new version of one package
type genEnv struct {
	opts condatest.GenOptions
	G    *condatest.Generated
	// dir is the channel's directory, url where it is served.
	dir, url string
	p        project
	// output are extra attributes of build's image exporter
	// ("compression=zstd"), none by default.
	output string
}

// newGenEnv generates the packages of opts, writes and serves their
// channel, and writes a project for an environment on image (a full
// reference) that requests the generated specs.
func newGenEnv(tb testing.TB, e *harness.Env, opts condatest.GenOptions, image string) *genEnv {
	tb.Helper()
	g := &genEnv{opts: opts, dir: tb.TempDir()}
	g.write(tb)
	srv := httptest.NewServer(http.FileServer(http.Dir(g.dir)))
	tb.Cleanup(srv.Close)
	g.url = srv.URL
	conda := "channels: [" + g.url + "]\ndependencies:\n"
	for _, s := range g.G.Specs {
		conda += "  - " + s + "\n"
	}
	g.p = newProject(tb, "environment.yml", syntax(tb, e)+"name: generated\nimage: "+image+"\nconda_file: conda.yml\n",
		map[string]string{"conda.yml": conda})
	return g
}

func (g *genEnv) write(tb testing.TB) {
	tb.Helper()
	began := time.Now()
	gen, err := condatest.Generate(g.opts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := condatest.WriteChannel(g.dir, gen.Packages...); err != nil {
		tb.Fatal(err)
	}
	g.G = gen
	tb.Logf("channel of %d packages (%d MiB of payload) written in %v", len(gen.Packages), gen.TotalSize()>>20, time.Since(began).Round(time.Millisecond))
}

// bump rewrites the channel with the named packages' versions raised (see
// condatest.GenOptions.Bump); only their files are built again.
func (g *genEnv) bump(tb testing.TB, bump map[string]int) {
	tb.Helper()
	g.opts.Bump = bump
	g.write(tb)
}

// genBuild is one build of a genEnv.
type genBuild struct {
	Ref   string
	Image *harness.Image // linux/amd64
	// PushedBlobs and PushedBytes are what the registry stored during the
	// build (harness.Blobs.Since): new layers, config and manifest.
	PushedBlobs int
	PushedBytes int64
	Took        time.Duration // the build and push, wall time
	// Export is the part of Took that BuildKit reported for exporting
	// (compressing) and pushing the image's layers: the rest is the solve,
	// the fetches and the links.
	Export time.Duration
	Output []byte // buildctl's progress
}

// exportStatus matches the progress lines (--progress plain) of the layer
// export and push statuses of the image exporter once done:
// "#12 exporting layers 3.2s done", "#12 pushing layers 1.0s done".
var exportStatus = regexp.MustCompile(`(?m)^#\d+ (?:exporting|pushing) layers ([0-9.]+)s done$`)

// exportTime sums the durations of out's layer export and push statuses.
func exportTime(out []byte) time.Duration {
	var d time.Duration
	for _, m := range exportStatus.FindAllSubmatch(out, -1) {
		s, err := strconv.ParseFloat(string(m[1]), 64)
		if err == nil {
			d += time.Duration(s * float64(time.Second))
		}
	}
	return d
}

// build builds the environment through the frontend with buildctl (args
// are extra --opt values, e.g. "build-arg:ENVKIT_MAX_LAYERS=60"), pushes
// it as ref and measures what the registry stored. It allows 30 minutes,
// for environments of a thousand packages built cold.
func (g *genEnv) build(tb testing.TB, e *harness.Env, ref string, args ...string) genBuild {
	tb.Helper()
	r, _ := g.buildctl(tb, e, ref, "plain", args...)
	r.Export = exportTime(r.Output)
	return r
}

// buildctl is build with buildctl's progress in the given mode, returning
// when the build began; with g.output noExport it pushes nothing and leaves
// the image empty.
func (g *genEnv) buildctl(tb testing.TB, e *harness.Env, ref, progress string, args ...string) (genBuild, time.Time) {
	tb.Helper()
	src := frontend(tb, e) // pushed before the window opens
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	before, err := e.Reg.BlobBytes()
	if err != nil {
		tb.Fatal(err)
	}
	a := []string{"build", "--progress", progress, "--frontend", "gateway.v0", "--opt", "source=" + src,
		"--local", "context=" + g.p.dir, "--local", "dockerfile=" + g.p.dir, "--opt", "filename=" + g.p.file}
	if g.output != noExport {
		out := "type=image,name=" + ref + ",push=true,registry.insecure=true"
		if g.output != "" {
			out += "," + g.output
		}
		a = append(a, "--output", out)
	}
	for _, x := range args {
		a = append(a, "--opt", x)
	}
	began := time.Now()
	out, err := e.Buildctl(ctx, a...)
	took := time.Since(began)
	if err != nil {
		tb.Fatalf("%v\n%s", err, out)
	}
	after, err := e.Reg.BlobBytes()
	if err != nil {
		tb.Fatal(err)
	}
	img := &harness.Image{}
	if g.output != noExport {
		if img, err = e.Reg.Image(ctx, ref, "linux/amd64"); err != nil {
			tb.Fatal(err)
		}
	}
	r := genBuild{Ref: ref, Image: img, Took: took, Output: out}
	r.PushedBlobs, r.PushedBytes = after.Since(before)
	return r, began
}

// runTools runs n of the environment's tools (all if n <= 0) in the image
// ref under containerd and checks what each prints.
func (g *genEnv) runTools(t testing.TB, e *harness.Env, ref string, n int) {
	t.Helper()
	tools := g.G.Tools
	if n > 0 && n < len(tools) {
		tools = tools[:n]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, tool := range tools {
		out, err := e.CtrRun(ctx, t, ref, tool)
		if err != nil {
			t.Errorf("%s under containerd: %v", tool, err)
		} else if want := g.G.ToolOutput(tool, envllb.DefaultPrefix); out != want {
			t.Errorf("%s under containerd printed\n%s\nwant\n%s", tool, out, want)
		}
	}
}

// An environment of 60 generated packages builds through the frontend (one
// layer per package today), the registry stores each layer once, and the
// image runs under containerd: its tools find the prefix substituted in
// their script and in their binary file.
func TestGeneratedEnvironmentUnderContainerd(t *testing.T) {
	e := harness.Get(t)
	g := newGenEnv(t, e, condatest.GenOptions{N: 60, Seed: "ctr"}, e.Base.Base)
	r := g.build(t, e, e.Ref("it/generated:1"))
	t.Logf("60 packages: built and pushed in %v, %d blobs, %d bytes stored", r.Took.Round(time.Millisecond), r.PushedBlobs, r.PushedBytes)
	ctx := ctxFor(t)
	base, err := e.Reg.Image(ctx, e.Base.Base, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	layers := r.Image.Manifest.Layers
	if want := len(base.Manifest.Layers) + 60 + 1; len(layers) != want {
		t.Errorf("%d layers, want %d (base, one per package, metadata)", len(layers), want)
	}
	// What the registry stored: every layer above the base (no two
	// packages share content), the config and the manifest, at their
	// descriptors' sizes; the payload is incompressible, so at least its size.
	m, err := e.Reg.Manifest(ctx, r.Ref)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(len(m.Raw)) + r.Image.Manifest.Config.Size
	for _, l := range layers[len(base.Manifest.Layers):] {
		want += l.Size
	}
	if r.PushedBlobs != 60+1+2 || r.PushedBytes != want {
		t.Errorf("the push stored %d blobs, %d bytes; want %d blobs, %d bytes", r.PushedBlobs, r.PushedBytes, 60+1+2, want)
	}
	if r.PushedBytes < g.G.TotalSize() {
		t.Errorf("the push stored %d bytes, less than the %d bytes of incompressible payload", r.PushedBytes, g.G.TotalSize())
	}
	if len(g.G.Tools) == 0 {
		t.Fatal("no tools generated")
	}
	g.runTools(t, e, r.Ref, 0)
	// The environment is complete: conda-meta has a record per package.
	files, err := e.Reg.Files(ctx, r.Image)
	if err != nil {
		t.Fatal(err)
	}
	for name, stem := range g.G.Installed {
		if files[envllb.DefaultPrefix+"/conda-meta/"+stem+".json"] == nil {
			t.Errorf("%s: no conda-meta/%s.json", name, stem)
		}
	}
}

package llb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/link"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/helper"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

// graph is a marshalled LLB definition, its ops by digest: what BuildKit
// would receive.
type graph struct {
	def   *bkllb.Definition
	ops   map[digest.Digest]*pb.Op
	names map[digest.Digest]string
}

func marshal(t *testing.T, st bkllb.State) *graph {
	t.Helper()
	def, err := st.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g := &graph{def: def, ops: map[digest.Digest]*pb.Op{}, names: map[digest.Digest]string{}}
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.Unmarshal(dt); err != nil {
			t.Fatal(err)
		}
		d := digest.FromBytes(dt)
		g.ops[d] = &op
		g.names[d] = def.Metadata[d].Description["llb.customname"]
	}
	return g
}

// named returns the one op called name.
func (g *graph) named(t *testing.T, name string) *pb.Op {
	t.Helper()
	var found *pb.Op
	for d, n := range g.names {
		if n == name {
			if found != nil {
				t.Fatalf("two ops named %q", name)
			}
			found = g.ops[d]
		}
	}
	if found == nil {
		t.Fatalf("no op named %q", name)
	}
	return found
}

// mount returns an exec's mount at dest and the op it mounts (nil for
// scratch).
func (g *graph) mount(t *testing.T, op *pb.Op, dest string) (*pb.Mount, *pb.Op) {
	t.Helper()
	for _, m := range op.GetExec().GetMounts() {
		if m.Dest == dest {
			if m.Input < 0 {
				return m, nil
			}
			return m, g.ops[digest.Digest(op.Inputs[m.Input].Digest)]
		}
	}
	t.Fatalf("no mount at %s", dest)
	return nil, nil
}

// execs returns every exec op's argv.
func (g *graph) execs() [][]string {
	var all [][]string
	for _, op := range g.ops {
		if e := op.GetExec(); e != nil {
			all = append(all, e.Meta.Args)
		}
	}
	return all
}

// rec returns a repodata record as a channel serves it.
func rec(t testing.TB, name, version, build, subdir, noarch string, depends ...string) *record.RepoDataRecord {
	t.Helper()
	fn := name + "-" + version + "-" + build + ".conda"
	sum := sha256.Sum256([]byte(fn))
	m := map[string]any{"name": name, "version": version, "build": build, "depends": depends, "subdir": subdir,
		"fn": fn, "url": "https://conda.example/c/" + subdir + "/" + fn, "channel": "https://conda.example/c", "sha256": hex.EncodeToString(sum[:])}
	if noarch != "" {
		m["noarch"] = noarch
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var r record.RepoDataRecord
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func testConda(recs ...*record.RepoDataRecord) *Conda {
	return &Conda{Records: recs, Prefix: DefaultPrefix, Subdir: "linux-64", Specs: []string{"tool", "pyhello"},
		Variables: map[string]string{"MODEL_CACHE": "/cache"}, Lock: []byte("version: 1\n"),
		Helper: bkllb.Image("registry.example/envkit/frontend:1"), HelperPath: helper.Path}
}

func testRecords(t testing.TB) []*record.RepoDataRecord {
	return []*record.RepoDataRecord{
		rec(t, "python", "3.10.12", "h0_0", "linux-64", ""),
		rec(t, "libfoo", "1.0", "h0_0", "linux-64", ""),
		rec(t, "tool", "2.0", "0", "linux-64", "", "libfoo >=1"),
		rec(t, "pyhello", "0.1", "py_0", "noarch", "python", "python >=3.8"),
	}
}

// readPayload writes a Mkfile's data where the helper would find it and
// reads it with the helper's own reader.
func readPayload[T any](t *testing.T, data []byte, read func(string) (T, error)) T {
	t.Helper()
	file := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(file, data, 0o444); err != nil {
		t.Fatal(err)
	}
	v, err := read(file)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mkfile returns the data of the file a mounted file op makes at p
// (relative to the mount).
func mkfile(t *testing.T, op *pb.Op, p string) []byte {
	t.Helper()
	for _, a := range op.GetFile().GetActions() {
		if mk := a.GetMkfile(); mk != nil && path.Clean(mk.Path) == path.Clean("/"+p) {
			return mk.Data
		}
	}
	t.Fatalf("no file %s in the input mount", p)
	return nil
}

// Each package is an HTTP source by its sha256, linked in an exec without
// network whose argv the helper parses back into what the caller meant,
// naming paths in the exec's mounts: the archive, and the package's own
// record in a read-only input file.
func TestCondaLayers(t *testing.T) {
	recs := testRecords(t)
	c := testConda(recs...)
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(recs)+1 {
		t.Fatalf("%d layers for %d packages", len(layers), len(recs))
	}
	g := marshal(t, bkllb.Merge(layers))
	py := &link.Python{Version: "3.10", SitePackages: "lib/python3.10/site-packages"}
	for _, r := range recs {
		exec := g.named(t, "conda: link "+r.Dist())
		e := exec.GetExec()
		if e.Network != pb.NetMode_NONE {
			t.Errorf("%s: network %v", r.Dist(), e.Network)
		}
		args := e.Meta.Args
		if args[0] != helper.Path {
			t.Errorf("%s: runs %q", r.Dist(), args[0])
		}
		got, err := helper.ParseLink(args[1:])
		if err != nil {
			t.Fatalf("%s: the helper cannot parse %q: %v", r.Dist(), args, err)
		}
		want := &helper.Link{Prefix: DefaultPrefix, Platform: "linux-64", Packages: []helper.LinkPackage{{
			Input: helper.InputDir + "/" + helper.LinkInputFile, Archive: helper.PackageDir + "/" + r.FileName, Dest: helper.OutputDir}}}
		if r.Name == "pyhello" {
			want.Python = py
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: parsed %+v, want %+v", r.Dist(), got, want)
		}
		p := got.Packages[0]

		// The archive: an HTTP source by the record's sha256, mounted read-only.
		m, src := g.mount(t, exec, path.Dir(p.Archive))
		s := src.GetSource()
		if !m.Readonly || s == nil || s.Identifier != r.URL || s.Attrs[pb.AttrHTTPChecksum] != "sha256:"+r.SHA256 || s.Attrs[pb.AttrHTTPFilename] != path.Base(p.Archive) {
			t.Errorf("%s: package mount %v from %v", r.Dist(), m, src)
		}
		// The input: this package's record, read-only.
		m, in := g.mount(t, exec, path.Dir(p.Input))
		if !m.Readonly || in.GetFile() == nil {
			t.Fatalf("%s: input mount %v from %v", r.Dist(), m, in)
		}
		li := readPayload(t, mkfile(t, in, path.Base(p.Input)), helper.ReadLinkInput)
		if li.Record.Dist() != r.Dist() || li.Record.SHA256 != r.SHA256 || li.Record.URL != r.URL || !reflect.DeepEqual(li.Record.Depends, r.Depends) {
			t.Errorf("%s: input record %+v", r.Dist(), li.Record)
		}
		// The layer: a writable scratch mount, where the helper also
		// extracts; no tmpfs.
		if m, from := g.mount(t, exec, p.Dest); m.Readonly || from != nil || m.Output < 0 {
			t.Errorf("%s: output mount %v", r.Dist(), m)
		}
		for _, m := range exec.GetExec().Mounts {
			if m.MountType == pb.MountType_TMPFS {
				t.Errorf("%s: a tmpfs mount at %s", r.Dist(), m.Dest)
			}
		}
	}

	exec := g.named(t, "conda: environment metadata")
	if exec.GetExec().Network != pb.NetMode_NONE {
		t.Errorf("metadata: network %v", exec.GetExec().Network)
	}
	meta, err := helper.ParseMeta(exec.GetExec().Meta.Args[1:])
	if err != nil {
		t.Fatal(err)
	}
	m, in := g.mount(t, exec, helper.InputDir)
	if !m.Readonly || path.Dir(meta.Input) != helper.InputDir || path.Dir(meta.Lock) != helper.InputDir || meta.Dest != helper.OutputDir || meta.Prefix != DefaultPrefix {
		t.Errorf("metadata: %+v, input mount %v", meta, m)
	}
	mi := readPayload(t, mkfile(t, in, path.Base(meta.Input)), helper.ReadMetaInput)
	if len(mi.History.Linked) != len(recs) || mi.History.Linked[2].Dist() != "tool-2.0-0" || !reflect.DeepEqual(mi.History.Specs, c.Specs) || mi.Variables["MODEL_CACHE"] != "/cache" {
		t.Errorf("metadata payload %+v", mi)
	}
	if got := mkfile(t, in, path.Base(meta.Lock)); string(got) != string(c.Lock) {
		t.Errorf("lock %q", got)
	}
}

// The command lines do not grow with the environment: for 2,000 packages
// with long records every exec's argv stays small.
func TestCondaArgvBounded(t *testing.T) {
	var recs []*record.RepoDataRecord
	long := make([]string, 40)
	for i := range long {
		long[i] = fmt.Sprintf("dependency-with-a-long-name-%03d >=1.0.0,<2.0.0a0", i)
	}
	for i := range 2000 {
		recs = append(recs, rec(t, fmt.Sprintf("pkg%04d", i), "1.0", "h0_0", "linux-64", "", long...))
	}
	layers, err := testConda(recs...).Layers()
	if err != nil {
		t.Fatal(err)
	}
	g := marshal(t, bkllb.Merge(layers))
	execs := g.execs()
	if len(execs) != len(recs)+1 {
		t.Fatalf("%d execs", len(execs))
	}
	const bound = 512
	longest := 0
	for _, args := range execs {
		n := len(strings.Join(args, " "))
		if n > bound {
			t.Errorf("argv of %d bytes, over %d: %q", n, bound, args)
		}
		longest = max(longest, n)
	}
	// What used to be on the command line is far over Linux's 128 KiB
	// limit for one argument.
	in, err := (&helper.MetaInput{History: link.History{Linked: recs}}).Encode()
	if err != nil || len(in) < 128<<10 {
		t.Errorf("metadata payload %d bytes, %v", len(in), err)
	}
	size := 0
	for _, dt := range g.def.Def {
		size += len(dt)
	}
	t.Logf("longest argv %d bytes; the metadata payload, in a file, %d bytes; the LLB definition %d bytes", longest, len(in), size)
	// The definition travels in one gRPC message, which BuildKit bounds at
	// 16 MiB: 2,000 packages must leave room (the history keeps only what
	// its lines need; the records themselves are in each package's input
	// and in the lock).
	if size > 10<<20 {
		t.Errorf("the LLB definition of %d packages is %d bytes, want under 10 MiB (BuildKit's message limit is 16 MiB)", len(recs), size)
	}
}

// layerIDs returns a digest per layer: the layer's whole LLB graph.
func layerIDs(t *testing.T, c *Conda) []digest.Digest {
	t.Helper()
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]digest.Digest, len(layers))
	for i, l := range layers {
		def := marshal(t, l).def
		ids[i] = digest.FromBytes(def.Def[len(def.Def)-1]) // the terminal op names the output by digest
	}
	return ids
}

// A changed package changes its own layer and the metadata's; the others
// keep their ops, and so their cache. noarch: python packages follow the
// Python version (major.minor) alone.
func TestCondaLayersCache(t *testing.T) {
	base := layerIDs(t, testConda(testRecords(t)...))
	meta := len(base) - 1
	for _, c := range []struct {
		name    string
		i       int
		r       *record.RepoDataRecord
		changed []int
	}{
		{"new tool", 2, rec(t, "tool", "2.1", "0", "linux-64", "", "libfoo >=1"), []int{2, meta}},
		{"rebuilt libfoo", 1, rec(t, "libfoo", "1.0", "h0_1", "linux-64", ""), []int{1, meta}},
		{"python patch release", 0, rec(t, "python", "3.10.13", "h0_0", "linux-64", ""), []int{0, meta}},
		{"python minor release", 0, rec(t, "python", "3.11.4", "h0_0", "linux-64", ""), []int{0, 3, meta}},
	} {
		recs := testRecords(t)
		recs[c.i] = c.r
		ids := layerIDs(t, testConda(recs...))
		var changed []int
		for i := range ids {
			if ids[i] != base[i] {
				changed = append(changed, i)
			}
		}
		if !reflect.DeepEqual(changed, c.changed) {
			t.Errorf("%s: layers %v changed, want %v", c.name, changed, c.changed)
		}
	}
	if again := layerIDs(t, testConda(testRecords(t)...)); !reflect.DeepEqual(again, base) {
		t.Errorf("the same environment gives other layers: %v vs %v", again, base)
	}
}

func TestCondaLayersErrors(t *testing.T) {
	noSHA := rec(t, "libfoo", "1.0", "h0_0", "linux-64", "")
	noSHA.SHA256 = ""
	for _, c := range []struct {
		recs []*record.RepoDataRecord
		want string
	}{
		{[]*record.RepoDataRecord{noSHA}, "libfoo-1.0-h0_0.conda: no sha256"},
		{[]*record.RepoDataRecord{rec(t, "pyhello", "0.1", "py_0", "noarch", "python")}, "pyhello-0.1-py_0 is a noarch: python package, but the environment has no python"},
	} {
		if _, err := testConda(c.recs...).Layers(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want %q", err, c.want)
		}
	}
}

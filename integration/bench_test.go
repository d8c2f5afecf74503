package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/link"
	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	envllb "github.com/envkit/envkit/llb"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// BenchmarkCondaBuild measures what the per-package layers buy, on the real
// stack, for an environment of 40 packages:
//
//	go test -run '^$' -bench CondaBuild -benchtime 3x ./integration
//
// cold: an empty BuildKit cache; unchanged: the same build again;
// one-package: one package's version changed; patched-base: the base image's
// tag moved. Compare the sub-benchmarks' ns/op within one run.
func BenchmarkCondaBuild(b *testing.B) {
	e := harness.Get(b)
	const n = 40
	chDir := b.TempDir()
	pkgs := func(changed int) []condatest.Package {
		var out []condatest.Package
		var deps []string
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("pkg%02d", i)
			v := "1.0"
			if i == 0 && changed > 0 {
				v = "1." + strconv.Itoa(changed)
			}
			files := make([]condatest.File, 20)
			for j := range files {
				files[j] = condatest.File{Path: fmt.Sprintf("lib/%s/f%02d.txt", name, j), Content: strings.Repeat(name+" ", 2000)}
			}
			out = append(out, condatest.Package{Name: name, Version: v, Build: "0", Files: files})
			deps = append(deps, name)
		}
		out = append(out, condatest.Package{Name: "meta", Version: "1.0", Build: "0", Depends: deps})
		return out
	}
	write := func(changed int) {
		if err := condatest.WriteChannel(chDir, pkgs(changed)...); err != nil {
			b.Fatal(err)
		}
	}
	write(0)
	srv := httptest.NewServer(http.FileServer(http.Dir(chDir)))
	b.Cleanup(srv.Close)
	baseRef := e.Ref("bench/base:1")
	pushBase := func(level int) { pushPatchedBase(b, e, baseRef, strconv.Itoa(level)) }
	pushBase(0)
	p := newProject(b, "environment.yml", syntax(b, e)+"name: bench\nimage: "+baseRef+"\nconda_file:\n  channels: ["+srv.URL+"]\n  dependencies: [meta]\n", map[string]string{})
	build := func() {
		if out, err := clients[0].build(b, e, p, e.Ref("bench/env:1"), nil); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
	version, level := 0, 0
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if out, err := e.Buildctl(ctxFor(b), "prune", "--all"); err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			b.StartTimer()
			build()
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		build()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			build()
		}
	})
	b.Run("one-package", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			version++
			write(version)
			b.StartTimer()
			build()
		}
	})
	b.Run("patched-base", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			level++
			pushBase(level)
			b.StartTimer()
			build()
		}
	})
}

// BenchmarkCondaBuildLarge measures environments of real size on the real
// stack: generated packages (condatest.Generate, Big: 3: three of 50–200
// MiB, one in 25 of 1–10 MiB, the rest under 1 MiB, incompressible) built
// through the frontend and pushed. scripts/bench-build.sh runs it once and
// prints a table:
//
//	go test -run '^$' -bench CondaBuildLarge -benchtime 1x -timeout 3h ./integration
//
// For each size (ENVKIT_BENCH_SIZES, default "600,1000"):
//   - floor: the same packages resolved from the same channel over HTTP,
//     fetched and linked by envkit's own linker (conda/package Extract,
//     conda/link Link, as internal/helper/run does) one after another in
//     this process, into a temporary directory: no BuildKit, no layers;
//   - cold: the BuildKit cache pruned (the frontend image pulled again);
//   - unchanged: the same build again;
//   - small / large: a new version of the median-sized / the largest package;
//   - patched-base: the base image's tag moved to a new image;
//   - cold-zstd: cold again, the layers compressed with zstd instead of
//     gzip (the image exporter's compression=zstd), to show what of a cold
//     build is gzip on incompressible payload;
//   - cold-gzip1: cold again with gzip at level 1, envkit build's default;
//   - real-gzip, real-gzip1, real-zstd: cold builds of the same
//     environment with compressible payloads (GenOptions.Compressible: as
//     shared libraries compress) with BuildKit's default gzip, gzip level 1
//     and zstd: what each costs and saves on real packages (skipped with
//     ENVKIT_BENCH_COMPRESSIBLE=0).
//
// Besides ns/op each reports pushed-B/op (what the registry stored: layers,
// config, manifest; harness.Blobs.Since) and ideal-B/op (the payload the
// change brings: every package cold, the changed package's own bytes,
// nothing for unchanged and patched-base) and export-s/op (the part of the
// wall time BuildKit reported for compressing and pushing layers, which the
// floor does not do) and cpu-s/op (the CPU time of the stack's processes:
// buildkitd, its execs, the registry); the floor reports what it fetched as
// fetched-B/op and its own CPU time as cpu-s/op.
func BenchmarkCondaBuildLarge(b *testing.B) {
	e := harness.Get(b)
	for _, n := range benchSizes(b) {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) { benchLarge(b, e, n) })
	}
}

// benchSizes are the environment sizes ENVKIT_BENCH_SIZES lists.
func benchSizes(b *testing.B) []int {
	s := os.Getenv("ENVKIT_BENCH_SIZES")
	if s == "" {
		s = "600,1000"
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 12 {
			b.Fatalf("ENVKIT_BENCH_SIZES=%q: %q is not a size of at least 12 packages", s, f)
		}
		out = append(out, n)
	}
	return out
}

func benchLarge(b *testing.B, e *harness.Env, n int) {
	baseRef := e.Ref(fmt.Sprintf("bench/large-base-%d:1", n))
	level := 0
	pushBase := func(b *testing.B) { pushPatchedBase(b, e, baseRef, strconv.Itoa(level)) }
	pushBase(b)
	g := newGenEnv(b, e, condatest.GenOptions{N: n, Big: 3, Seed: "bench-" + strconv.Itoa(n)}, baseRef)
	bySize := g.G.BySize()
	large, small := bySize[0], bySize[len(bySize)/2]
	b.Logf("%d packages, %d MiB of payload; large: %s (%d bytes), small: %s (%d bytes)",
		n, g.G.TotalSize()>>20, large, g.G.Sizes[large], small, g.G.Sizes[small])
	bumps := map[string]int{}
	bump := func(b *testing.B, name string) {
		bumps[name]++
		g.bump(b, maps.Clone(bumps))
	}
	builds := 0
	// repo is where builds push: a cold build pushes to a repository of
	// its own, which has none of its blobs yet.
	repo := fmt.Sprintf("bench/large-%d", n)
	// run runs b.N builds, each after prepare (untimed), and reports the
	// bytes pushed and the ideal per build.
	run := func(g *genEnv, name string, prepare func(b *testing.B), ideal func() int64) {
		b.Run(name, func(b *testing.B) {
			var pushed, want int64
			var export, cpu time.Duration
			b.StopTimer()
			for i := 0; i < b.N; i++ {
				prepare(b)
				builds++
				cpu0 := stackCPU()
				b.StartTimer()
				r, phases := buildTimed(b, e, g, e.Ref(fmt.Sprintf("%s:%d", repo, builds)))
				b.StopTimer()
				cpu += stackCPU() - cpu0
				pushed += r.PushedBytes
				want += ideal()
				export += r.Export
				b.Logf("%s: %d layers, built and pushed in %v (layers exported and pushed in %v), %d blobs, %d bytes stored (ideal %d)",
					name, len(r.Image.Manifest.Layers), r.Took.Round(time.Millisecond), r.Export.Round(time.Millisecond), r.PushedBlobs, r.PushedBytes, ideal())
				b.Logf("%s: phases: %s", name, phases)
			}
			b.ReportMetric(float64(pushed)/float64(b.N), "pushed-B/op")
			b.ReportMetric(float64(want)/float64(b.N), "ideal-B/op")
			b.ReportMetric(export.Seconds()/float64(b.N), "export-s/op")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
	}
	none := func(*testing.B) {}
	b.Run("floor", func(b *testing.B) {
		b.StopTimer()
		settle(b, os.TempDir(), "the channel's files were written")
		b.StartTimer()
		var fetched int64
		cpu0 := selfCPU()
		for i := 0; i < b.N; i++ {
			fetched += linkFloor(b, g)
		}
		b.ReportMetric((selfCPU()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		b.ReportMetric(float64(fetched)/float64(b.N), "fetched-B/op")
		b.ReportMetric(float64(g.G.TotalSize()), "ideal-B/op")
	})
	prune := func(b *testing.B) {
		if out, err := e.Buildctl(ctxFor(b), "prune", "--all"); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		repo = fmt.Sprintf("bench/large-%d-cold-%d", n, builds+1)
		settle(b, e.StateDir, "the prune")
	}
	b.Run("fetches", func(b *testing.B) {
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			prune(b)
			cpu0 := stackCPU()
			b.StartTimer()
			fetchOnly(b, e, g)
			b.StopTimer()
			cpu += stackCPU() - cpu0
		}
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	})
	run(g, "cold", prune, g.G.TotalSize)
	run(g, "unchanged", none, func() int64 { return 0 })
	run(g, "small", func(b *testing.B) { bump(b, small) }, func() int64 { return g.G.Sizes[small] })
	run(g, "large", func(b *testing.B) { bump(b, large) }, func() int64 { return g.G.Sizes[large] })
	run(g, "patched-base", func(b *testing.B) { level++; pushBase(b) }, func() int64 { return 0 })
	g.output = "compression=zstd"
	run(g, "cold-zstd", prune, g.G.TotalSize)
	g.output = "compression=gzip,compression-level=1" // envkit build's default
	run(g, "cold-gzip1", prune, g.G.TotalSize)
	g.output = noExport
	run(g, "cold-build", prune, func() int64 { return 0 })
	g.output = ""
	// The same environment with payloads that compress as shared libraries
	// do: what each compression costs and saves on real packages.
	if os.Getenv("ENVKIT_BENCH_COMPRESSIBLE") == "0" {
		return
	}
	c := newGenEnv(b, e, condatest.GenOptions{N: n, Big: 3, Seed: "bench-" + strconv.Itoa(n), Compressible: true}, baseRef)
	for _, x := range []struct{ name, output string }{
		{"real-gzip", ""},
		{"real-gzip1", "compression=gzip,compression-level=1"},
		{"real-zstd", "compression=zstd"},
	} {
		c.output = x.output
		run(c, x.name, prune, c.G.TotalSize)
	}
}

// settle waits, after a prune (or any deletion of many files, as the
// previous benchmark run's), until the files removed no longer slow the
// creation of new ones, when dir is on an ext4 file system without a
// journal (this project's test VMs). There, ext4 will not reuse an inode
// freed less than a minute ago, or 6 minutes while its inode table block
// is dirty (recently_deleted, RECENTCY_MIN + RECENTCY_DIRTY), and checks
// each free one it meets for every file it creates. Right after a mass
// deletion this made the floor 3× slower (8.5 s against 2.7 s) and a cold
// build slower by seconds; which of the two it hit more depended on what
// had been deleted where, so wall ratios from one run to the next ranged
// from 1.5× to 4.9×. settle waits settleTime (ENVKIT_BENCH_SETTLE=DURATION
// sets another wait, =0 none) before the floor and after each prune; a cold
// build on a fresh machine, or on ext4 with a journal, pays neither.
func settle(b *testing.B, dir, after string) {
	if os.Getenv("ENVKIT_BENCH_SETTLE") == "0" || !ext4NoJournal(dir) {
		return
	}
	syscall.Sync()
	d := settleTime
	if s, err := time.ParseDuration(os.Getenv("ENVKIT_BENCH_SETTLE")); err == nil && s > 0 {
		d = s
	}
	b.Logf("settle: waiting %v after %s (ext4 without a journal reuses no inode freed within the last 1-6 minutes)", d, after)
	time.Sleep(d)
}

const settleTime = 370 * time.Second

// ext4NoJournal tells whether dir is on an ext4 file system without a
// journal: its device's /sys/fs/ext4/<dev>/journal_task says <none>.
func ext4NoJournal(dir string) bool {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return false
	}
	dev := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if len(f) < 3 || f[2] != dev || sep < 0 || len(f) < sep+3 || f[sep+1] != "ext4" {
			continue
		}
		task, err := os.ReadFile(filepath.Join("/sys/fs/ext4", filepath.Base(f[sep+2]), "journal_task"))
		return err == nil && strings.TrimSpace(string(task)) == "<none>"
	}
	return false
}

// selfCPU is the CPU time (user and system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stackCPU is the CPU time (user and system) the processes this test
// binary started (the stack: buildkitd, the registry) and their descendants
// have used, from /proc: each live descendant's own time and that of its
// children it has waited for (runc and the helper execs under buildkitd).
func stackCPU() time.Duration {
	dirs, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	ticks := map[int]int64{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17)
		i := strings.LastIndexByte(string(data), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 15 {
			continue
		}
		parent[pid], _ = strconv.Atoi(f[1])
		for _, k := range f[11:15] {
			t, _ := strconv.ParseInt(k, 10, 64)
			ticks[pid] += t
		}
	}
	self := os.Getpid()
	var sum int64
	for pid, t := range ticks {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == self {
				sum += t
				break
			}
		}
	}
	return time.Duration(sum) * time.Second / 100 // USER_HZ
}

// phaseOf names the phase of a vertex by its name.
func phaseOf(name string) string {
	switch {
	case strings.HasPrefix(name, "conda: fetch "):
		return "fetch"
	case strings.HasPrefix(name, "conda: record"):
		return "inputs"
	case strings.HasPrefix(name, "conda: link "):
		return "link"
	case strings.HasPrefix(name, "conda: environment metadata"):
		return "meta"
	case strings.Contains(name, "probe"):
		return "probe"
	case strings.HasPrefix(name, "exporting") || strings.HasPrefix(name, "pushing"):
		return "export"
	case strings.HasPrefix(name, "conda: merge"):
		return "merge"
	case strings.HasPrefix(name, "[internal]") || strings.HasPrefix(name, "resolve"):
		return "frontend"
	}
	if i := strings.IndexByte(name, ' '); i > 0 {
		return name[:i]
	}
	return name
}

// timeline reads a build's rawjson progress (one client.SolveStatus a
// line) and returns the part of the wall time BuildKit reported for
// exporting and pushing layers, and the build's phases (phaseOf) in the
// order they began: "fetch 600× 1.2–30.4s busy 29.0s, link ...", times
// from began, busy the union of the phase's vertex spans (its wall time,
// whatever its vertices overlap).
func timeline(out []byte, began time.Time) (time.Duration, string) {
	type span struct{ start, end time.Time }
	spans := map[string]map[string]span{} // phase -> vertex or status -> span
	names := map[digest.Digest]string{}
	add := func(ph, id string, st, co *time.Time) {
		if st == nil || co == nil {
			return
		}
		if spans[ph] == nil {
			spans[ph] = map[string]span{}
		}
		spans[ph][id] = span{*st, *co}
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var st bkclient.SolveStatus
		if json.Unmarshal(sc.Bytes(), &st) != nil {
			continue
		}
		for _, v := range st.Vertexes {
			if v.Name != "" {
				names[v.Digest] = v.Name
			}
			if !v.Cached {
				add(phaseOf(names[v.Digest]), string(v.Digest), v.Started, v.Completed)
			}
		}
		for _, s := range st.Statuses {
			if s.ID == "exporting layers" || s.ID == "pushing layers" {
				add(s.ID, string(s.Vertex), s.Started, s.Completed)
			}
		}
	}
	type phase struct {
		name       string
		n          int
		start, end time.Time
		busy       time.Duration
	}
	var phs []phase
	var export time.Duration
	for name, m := range spans {
		ss := slices.Collect(maps.Values(m))
		slices.SortFunc(ss, func(a, b span) int { return a.start.Compare(b.start) })
		ph := phase{name: name, n: len(ss), start: ss[0].start}
		cur := ss[0]
		for _, x := range ss[1:] {
			if x.start.After(cur.end) {
				ph.busy += cur.end.Sub(cur.start)
				cur = x
			} else if x.end.After(cur.end) {
				cur.end = x.end
			}
		}
		ph.busy += cur.end.Sub(cur.start)
		for _, x := range ss {
			if x.end.After(ph.end) {
				ph.end = x.end
			}
		}
		if name == "exporting layers" || name == "pushing layers" {
			export += ph.busy
		}
		phs = append(phs, ph)
	}
	slices.SortFunc(phs, func(a, b phase) int { return a.start.Compare(b.start) })
	var parts []string
	for _, ph := range phs {
		parts = append(parts, fmt.Sprintf("%s %d× %.1f–%.1fs busy %.1fs", ph.name, ph.n,
			ph.start.Sub(began).Seconds(), ph.end.Sub(began).Seconds(), ph.busy.Seconds()))
	}
	return export, strings.Join(parts, ", ")
}

// buildTimed is genEnv.build with BuildKit's progress as rawjson, which
// has each vertex's start and end: the same build, measured the same way,
// with the export time and the phases read from the progress (timeline).
// ENVKIT_BENCH_MAX_LAYERS sets the build's layer limit (ENVKIT_MAX_LAYERS);
// ENVKIT_BENCH_RAW_DIR keeps each build's rawjson progress there, named
// after its reference.
func buildTimed(tb testing.TB, e *harness.Env, g *genEnv, ref string) (genBuild, string) {
	tb.Helper()
	var args []string
	if m := os.Getenv("ENVKIT_BENCH_MAX_LAYERS"); m != "" {
		args = append(args, "build-arg:ENVKIT_MAX_LAYERS="+m)
	}
	r, began := g.buildctl(tb, e, ref, "rawjson", args...)
	if d := os.Getenv("ENVKIT_BENCH_RAW_DIR"); d != "" {
		_ = os.WriteFile(filepath.Join(d, strings.NewReplacer("/", "_", ":", "_").Replace(ref)+".json"), r.Output, 0o644)
	}
	var phases string
	r.Export, phases = timeline(r.Output, began)
	return r, phases
}

// noExport as a genEnv's output builds with no exporter: the image is
// built (the frontend evaluates it) and left in BuildKit's cache, neither
// compressed nor pushed.
const noExport = "none"

// linkFloor resolves g's specs from its channel, fetches each package over
// HTTP (checking its sha256 as it streams to disk), extracts it and links it
// into one prefix in a temporary directory, one package after another in
// link order, as internal/helper/run links a package in its exec. It
// returns the bytes fetched.
func linkFloor(b *testing.B, g *genEnv) int64 {
	b.StopTimer()
	root, err := os.MkdirTemp("", "envkit-floor-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(root)
	ctx := ctxFor(b)
	dest := filepath.Join(root, "env", envllb.DefaultPrefix)
	b.StartTimer()
	recs := g.resolve(b)
	if len(recs) != len(g.G.Names) {
		b.Fatalf("the floor resolved %d packages, want %d", len(recs), len(g.G.Names))
	}
	var fetched int64
	for i, r := range recs {
		archive := filepath.Join(root, "fetch", r.FileName)
		n, err := fetchVerified(ctx, r.URL, r.SHA256, archive)
		if err != nil {
			b.Fatalf("%s: %v", r.FileName, err)
		}
		fetched += n
		f, err := os.Open(archive)
		if err != nil {
			b.Fatal(err)
		}
		pkgDir := filepath.Join(root, "pkg-"+strconv.Itoa(i))
		md, err := condapkg.Extract(ctx, f, n, r.FileName, pkgDir)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := link.Link(ctx, pkgDir, envllb.DefaultPrefix, link.Options{Dest: dest, Record: r, Metadata: md, Platform: "linux-64", Hardlink: true}); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(pkgDir); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	for _, stem := range g.G.Installed {
		if _, err := os.Stat(filepath.Join(dest, "conda-meta", stem+".json")); err != nil {
			b.Fatalf("the floor did not link %s: %v", stem, err)
		}
	}
	return fetched
}

// fetchOnly resolves g's packages, as the floor does, and has buildkitd
// fetch them, each by its sha256 in an llb.HTTP source of its own as a cold
// build does, and nothing else: no exec, no merge, no export. Each source is
// solved on its own, all at once (as one solve of a cold build starts
// them all): one solve of a merge of them all would also time a merge of
// 600 inputs, which a cold build does not have. It is the part of a cold
// build that a frontend keeping one content-addressed source per package
// cannot avoid (a snapshot and its metadata per package), beside the
// floor's own fetches.
func fetchOnly(b *testing.B, e *harness.Env, g *genEnv) {
	ctx := ctxFor(b)
	recs := g.resolve(b)
	defs := make([]*llb.Definition, len(recs))
	for i, r := range recs {
		st := llb.HTTP(r.URL, llb.Checksum(digest.NewDigestFromEncoded(digest.SHA256, r.SHA256)), llb.Filename(r.FileName))
		var err error
		if defs[i], err = st.Marshal(ctx); err != nil {
			b.Fatal(err)
		}
	}
	c, err := bkclient.New(ctx, e.BuildkitAddr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	_, err = c.Build(ctx, bkclient.SolveOpt{}, "", func(ctx context.Context, gc gateway.Client) (*gateway.Result, error) {
		eg, ctx := errgroup.WithContext(ctx)
		for _, def := range defs {
			eg.Go(func() error {
				_, err := gc.Solve(ctx, gateway.SolveRequest{Definition: def.ToPB(), Evaluate: true})
				return err
			})
		}
		return gateway.NewResult(), eg.Wait()
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
}

// resolve resolves g's specs from its channel for linux-64, as the floor
// and the fetches do before they fetch: the packages in link order.
func (g *genEnv) resolve(b *testing.B) []*record.RepoDataRecord {
	l, err := resolve.Resolve(ctxFor(b), resolve.Request{Specs: g.G.Specs, Channels: []string{g.url}, Platforms: []string{"linux-64"}})
	if err != nil {
		b.Fatal(err)
	}
	recs, err := l.Records("linux-64")
	if err != nil {
		b.Fatal(err)
	}
	return recs
}

// fetchVerified downloads url to file, checking its sha256 on the way as
// BuildKit's HTTP source does, and returns its size.
func fetchVerified(ctx context.Context, url, sha256, file string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(file)
	if err != nil {
		return 0, err
	}
	h := condapkg.NewHashingReader(resp.Body)
	n, err := io.Copy(f, h)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return n, h.Verify(sha256)
}

// pushPatchedBase pushes ref as the test base image with /etc/patch-level
// holding level: a new level is a patched base under the same tag.
func pushPatchedBase(tb testing.TB, e *harness.Env, ref, level string) {
	tb.Helper()
	d := newProject(tb, "Dockerfile", "FROM "+e.Base.Base+"\nRUN echo "+level+" > /etc/patch-level\n", map[string]string{})
	if _, err := e.BuildDockerfile(ctxFor(tb), d.dir, nil, ref); err != nil {
		tb.Fatal(err)
	}
}

package condatest

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// GenOptions describes a generated environment (see Generate).
type GenOptions struct {
	// N is the number of distinct packages a solve of the environment
	// installs (at least 4).
	N int
	// Big is how many of them weigh 50–200 MiB (incompressible data): the
	// CUDA and framework libraries of real ML environments. 0 keeps every
	// package under 10 MiB.
	Big int
	// Seed varies names' sizes, dependencies and contents; the same
	// options always give the same packages, byte for byte.
	Seed string
	// Subdir is the packages' platform; "" is linux-64.
	Subdir string
	// Compressible makes the payloads compress about as real packages'
	// shared libraries do (gzip level 6 about 2.5×, zstd 2.8×) rather than
	// not at all, for measuring layer compression.
	Compressible bool
	// Bump raises the patch version of the named packages by this much: a
	// new build of the package with new contents, which its dependents'
	// constraints still accept (for "one package changed" builds).
	Bump map[string]int
}

// Generated is an environment of generated packages: a channel's worth of
// packages (WriteChannel them) and the specs that install all of them.
type Generated struct {
	// Packages are what the channel holds: one current version of each of
	// the N names, plus an older version of some small ones (so that the
	// solver has choices to make).
	Packages []Package
	// Specs are the top of the dependency graph: the packages nothing
	// depends on. Requesting them installs all N names.
	Specs []string
	// Names are the N names, Installed their installed versions' stems.
	Names     []string
	Installed map[string]string
	// Sizes are the payload bytes of each name's installed version (what
	// its layer holds, before compression).
	Sizes map[string]int64
	// Tools are commands in bin/ of a few packages. Each prints
	// ToolOutput(name, prefix): its name and version, the prefix
	// substituted in its script (text mode), and the prefix substituted in
	// a NUL-terminated string of a binary file (binary mode).
	Tools []string

	versions map[string]string
}

// Generated sizes. Most packages are small: log-uniform between 2 KiB and
// 1 MiB; one in 25 is medium, 1–10 MiB; Big ones are 50–200 MiB. Payloads
// are pseudo-random (so a layer is as large as its files, as with real
// binaries), split into files of at most 4 MiB, each package with a small
// text file beside them.
const (
	smallMin, smallMax   = 2 << 10, 1 << 20
	mediumMin, mediumMax = 1 << 20, 10 << 20
	bigMin, bigMax       = 50 << 20, 200 << 20
	mediumEvery          = 25
	maxFileSize          = 4 << 20
)

// Generate makes an environment of opts.N packages in a shallow dependency
// graph: 45% are libraries with no dependencies, 30% depend on libraries,
// 21% on both, and the top 4% (at least 3; the Specs) on all three levels,
// with 3 to 25 version-constrained dependencies each and a few constrains,
// as conda-forge records have. Every package below the top has a dependent.
// A few of the top packages (3 + N/200) are Tools.
func Generate(opts GenOptions) (*Generated, error) {
	n := opts.N
	if n < 4 {
		return nil, fmt.Errorf("condatest: Generate: N = %d, want at least 4", n)
	}
	if opts.Big < 0 || opts.Big > n/4 {
		return nil, fmt.Errorf("condatest: Generate: Big = %d, want 0..N/4 (%d)", opts.Big, n/4)
	}
	subdir := opts.Subdir
	if subdir == "" {
		subdir = "linux-64"
	}
	r := &genRand{seed: opts.Seed}
	// Levels: [0, l1) libraries, [l1, l2), [l2, top), [top, n) the top.
	top := n - max(3, n*4/100)
	l1, l2 := n*45/100, n*75/100
	l1, l2 = min(max(l1, 1), top), min(max(l2, l1), top)
	level := func(i int) int {
		switch {
		case i < l1:
			return 0
		case i < l2:
			return 1
		case i < top:
			return 2
		}
		return 3
	}
	prefixes := []string{"genlib", "genmod", "genpkg", "genapp"}
	names := make([]string, n)
	minor := make([]int, n)
	for i := range n {
		names[i] = fmt.Sprintf("%s-%04d", prefixes[level(i)], i)
		minor[i] = 1 + r.intn("minor", names[i], 30)
	}
	for name := range opts.Bump {
		if !slices.Contains(names, name) {
			return nil, fmt.Errorf("condatest: Generate: Bump names %q, which is not one of the %d packages", name, n)
		}
	}
	// Dependencies: each package below the top level picks from the levels
	// under it; then every package nobody picked gets a dependent above it.
	deps := make([][]int, n)
	for i := l1; i < n; i++ {
		lo, hi := 3, 15
		if level(i) == 3 {
			lo, hi = 10, 25
		}
		below := min(l1, i)
		if level(i) >= 2 {
			below = min(l2, i)
		}
		if level(i) == 3 {
			below = top
		}
		k := min(below, lo+r.intn("ndeps", names[i], hi-lo+1))
		picked := map[int]bool{}
		for j := 0; len(picked) < k; j++ {
			picked[r.intn(fmt.Sprint("dep", j), names[i], below)] = true
		}
		for d := range picked {
			deps[i] = append(deps[i], d)
		}
	}
	hasDependent := make([]bool, n)
	for _, ds := range deps {
		for _, d := range ds {
			hasDependent[d] = true
		}
	}
	for i := range top {
		if !hasDependent[i] {
			// A dependent from the levels above i's own.
			above := l1
			if level(i) >= 1 {
				above = l2
			}
			if level(i) == 2 {
				above = top
			}
			above = max(above, i+1)
			j := above + r.intn("orphan", names[i], n-above)
			deps[j] = append(deps[j], i)
		}
	}
	// Sizes: Big packages among the libraries, every mediumEvery-th
	// package medium, the rest small.
	size := make([]int64, n)
	big := map[int]bool{}
	for b := 0; b < opts.Big; b++ {
		big[(b*l1)/opts.Big+r.intn("bigpos", fmt.Sprint(b), max(1, l1/opts.Big))] = true
	}
	for i := range n {
		switch {
		case big[i]:
			size[i] = bigMin + int64(r.intn("size", names[i], bigMax-bigMin+1))
		case r.intn("class", names[i], mediumEvery) == 0:
			size[i] = r.logUniform("size", names[i], mediumMin, mediumMax)
		default:
			size[i] = r.logUniform("size", names[i], smallMin, smallMax)
		}
	}
	nTools := min(3+n/200, n-top)
	g := &Generated{Installed: map[string]string{}, Sizes: map[string]int64{}, versions: map[string]string{}}
	version := func(i int) string { return fmt.Sprintf("1.%d.%d", minor[i], opts.Bump[names[i]]) }
	for i := range n {
		name := names[i]
		slices.Sort(deps[i])
		p := Package{Name: name, Version: version(i), Subdir: subdir,
			Build: fmt.Sprintf("h%s_0", r.hex("build", name+"="+version(i), 8))}
		for _, d := range deps[i] {
			p.Depends = append(p.Depends, depSpec(r, name, names[d], minor[d]))
		}
		if c := r.intn("nconstrains", name, 4); c > 0 {
			// Constrains on packages of the environment that they allow,
			// and on one it does not install.
			for j := range c - 1 {
				d := r.intn(fmt.Sprint("constrains", j), name, n)
				p.Constrains = append(p.Constrains, fmt.Sprintf("%s >=1.0", names[d]))
			}
			p.Constrains = append(p.Constrains, fmt.Sprintf("gen-absent-%04d <0a0", i))
		}
		p.Files = payload(name, size[i], opts.Compressible)
		if i >= n-nTools {
			p.Files = append(p.Files, toolFiles(name, version(i))...)
			g.Tools = append(g.Tools, name)
		}
		g.Packages = append(g.Packages, p)
		g.Names = append(g.Names, name)
		g.Installed[name] = p.Stem()
		g.versions[name] = p.Version
		g.Sizes[name] = totalSize(p.Files)
		if level(i) == 3 {
			g.Specs = append(g.Specs, name)
		}
		// An older version of one in ten small packages.
		if size[i] < smallMax && minor[i] > 1 && r.intn("older", name, 10) == 0 {
			old := p
			old.Version = fmt.Sprintf("1.%d.0", minor[i]-1)
			old.Build = fmt.Sprintf("h%s_0", r.hex("build", name+"="+old.Version, 8))
			old.Files = payload(name, size[i], opts.Compressible) // the same paths; other bytes (its stem seeds them)
			g.Packages = append(g.Packages, old)
		}
	}
	return g, nil
}

// depSpec is how a package depends on another: mostly a range within the
// major version, as conda-forge's run_exports pin, sometimes a minor-version
// glob or the bare name.
func depSpec(r *genRand, from, to string, minor int) string {
	switch r.intn("depform", from+"->"+to, 10) {
	case 0:
		return to
	case 1:
		return fmt.Sprintf("%s 1.%d.*", to, minor)
	}
	return fmt.Sprintf("%s >=1.%d,<2.0a0", to, minor)
}

// payload is a package's files: size bytes of pseudo-random data in files
// of at most maxFileSize (compressible ones if compressible), and a small
// text file.
func payload(name string, size int64, compressible bool) []File {
	files := []File{{Path: "share/" + name + "/README", Content: strings.Repeat(name+" is a generated test package.\n", 8)}}
	for j := 0; size > 0; j++ {
		part := min(size, maxFileSize)
		files = append(files, File{Path: fmt.Sprintf("lib/%s/data-%03d.bin", name, j), Random: part, Compressible: compressible})
		size -= part
	}
	return files
}

// toolFiles are a tool's command and a binary file with a prefix in a
// NUL-terminated string, which the command prints.
func toolFiles(name, version string) []File {
	bin := "\x7fELF\x02\x01\x01" + strings.Repeat("\x00", 57) + Placeholder + "/lib/" + name + "\x00" +
		strings.Repeat("\x00", 64) + strings.Repeat("\xff\xfe", 512)
	return []File{
		{Path: "bin/" + name, Mode: 0o755, Prefix: true, Content: "#!/bin/sh\n" +
			"echo \"" + name + " " + version + "\"\n" +
			"echo \"text prefix: " + Placeholder + "\"\n" +
			"echo \"binary prefix: $(strings -n 8 \"" + Placeholder + "/lib/" + name + "/prefix.bin\" | grep '^/')\"\n"},
		{Path: "lib/" + name + "/prefix.bin", Content: bin, Prefix: true, Binary: true},
	}
}

// ToolOutput is what Tools[i] prints in an environment at prefix.
func (g *Generated) ToolOutput(name, prefix string) string {
	return name + " " + g.versions[name] + "\ntext prefix: " + prefix + "\nbinary prefix: " + prefix + "/lib/" + name + "\n"
}

// BySize returns the names, largest payload first (ties by name): BySize()[0]
// is the package a "large package changed" benchmark bumps,
// BySize()[len/2] a typical small one.
func (g *Generated) BySize() []string {
	names := slices.Clone(g.Names)
	slices.SortFunc(names, func(a, b string) int {
		if g.Sizes[a] != g.Sizes[b] {
			return cmp.Compare(g.Sizes[b], g.Sizes[a])
		}
		return strings.Compare(a, b)
	})
	return names
}

// TotalSize is the payload bytes of the installed packages.
func (g *Generated) TotalSize() int64 {
	var t int64
	for _, s := range g.Sizes {
		t += s
	}
	return t
}

func totalSize(files []File) int64 {
	var t int64
	for _, f := range files {
		if f.Random > 0 {
			t += f.Random
		} else {
			t += int64(len(f.Content))
		}
	}
	return t
}

// genRand draws deterministic numbers from (seed, what, key): the same
// options give the same environment whatever the order of the draws.
type genRand struct{ seed string }

func (r *genRand) sum(what, key string) [32]byte {
	return sha256.Sum256([]byte(r.seed + "\x00" + what + "\x00" + key))
}

func (r *genRand) intn(what, key string, n int) int {
	s := r.sum(what, key)
	return int(binary.BigEndian.Uint64(s[:8]) % uint64(n))
}

func (r *genRand) logUniform(what, key string, lo, hi int64) int64 {
	s := r.sum(what, key)
	u := float64(binary.BigEndian.Uint64(s[:8])>>11) / (1 << 53)
	return int64(math.Exp(math.Log(float64(lo)) + u*(math.Log(float64(hi))-math.Log(float64(lo)))))
}

func (r *genRand) hex(what, key string, n int) string {
	s := r.sum(what, key)
	return hex.EncodeToString(s[:])[:n]
}

// compressibleReader reads pseudo-random data that compresses about as a
// shared library does: blocks of 64 bytes, one in three fresh random bytes,
// the others one of 128 blocks drawn once (8 KiB, within any compressor's
// window). On libLLVM and on this data: gzip -1 2.3× and 1.9×, gzip -6 2.5×
// and 2.5×, zstd -3 2.7× and 2.8×.
type compressibleReader struct {
	src  io.Reader
	pool [128 * 64]byte
	buf  []byte
	blk  [64]byte
}

func newCompressibleReader(src io.Reader) *compressibleReader {
	r := &compressibleReader{src: src}
	io.ReadFull(src, r.pool[:]) //nolint:errcheck // a ChaCha8 never fails
	return r
}

func (r *compressibleReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.buf) == 0 {
			var sel [2]byte
			if _, err := io.ReadFull(r.src, sel[:]); err != nil {
				return n, err
			}
			if sel[0] < 85 {
				if _, err := io.ReadFull(r.src, r.blk[:]); err != nil {
					return n, err
				}
			} else {
				i := int(sel[1]&127) * 64
				copy(r.blk[:], r.pool[i:i+64])
			}
			r.buf = r.blk[:]
		}
		c := copy(p[n:], r.buf)
		r.buf = r.buf[c:]
		n += c
	}
	return n, nil
}

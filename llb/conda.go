package llb

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/envkit/envkit/conda/link"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/helper"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/opencontainers/go-digest"
)

// DefaultPrefix is where envkit puts a conda environment in the image: the
// directory Azure ML's images keep their environments in. It is the same
// for every environment, so that a package's layer does not depend on the
// environment's name or hash and is shared by every image that has it.
const DefaultPrefix = "/azureml-envs/envkit"

// Conda is a solved conda environment to materialize on one platform.
type Conda struct {
	// Records are the packages, dependencies first.
	Records []*record.RepoDataRecord
	// Prefix is the environment's path in the image.
	Prefix string
	// Subdir is the target conda platform (e.g. linux-aarch64).
	Subdir string
	// Specs are the requested specs, recorded in conda-meta/history.
	Specs []string
	// Variables are the conda file's variables, for conda-meta/state.
	Variables map[string]string
	// Lock is the environment's conda-lock file, kept in the image at
	// LockPath: what the environment resolved to, which a later build of
	// the same environment can take as its lock file.
	Lock []byte
	// Helper is an image holding the link helper at HelperPath (normally
	// helper.Path), for the build platform: linking only writes files, so
	// no emulation is needed for other targets.
	Helper     bkllb.State
	HelperPath string
	// Locations, if set, gives the source locations of the lines that
	// need packages (llb.SourceMap.Location of the conda file's specs that
	// brought them in): those of a package go on its fetch, those of the
	// packages an exec links (one, or a group) on the exec, so that a
	// client marks the lines when the step fails. They are not part of the
	// ops: caching is unchanged.
	Locations func(recs ...*record.RepoDataRecord) []bkllb.ConstraintsOpt
	// Wheels are the environment's pip packages, installed after the
	// conda packages (over them, as pip would), in this order; they need
	// a python among Records.
	Wheels []*Wheel
	// PipIndexes are the pip lines' index URLs (the first the index
	// URL, then the extra ones), without credentials; an sdist's build
	// takes its build dependencies from them. None means pip's default.
	PipIndexes []string
	// WheelLocations, if set, gives the source locations of the pip lines
	// that need wheels, as Locations does for conda packages.
	WheelLocations func(ws ...*Wheel) []bkllb.ConstraintsOpt
	// PackageLayers bounds the layers the packages and wheels take: when
	// there are more, they share layers (package budget). 0 means one
	// layer per package. Convert sets it to what the image's layer limit
	// leaves after the base image and the Docker steps.
	PackageLayers int
	// Large is the archive size from which a package keeps a layer of its
	// own when packages share layers; 0 means budget.DefaultLarge.
	Large int64
	// CompileBytecode compiles the environment's site-packages with its
	// own python, in a layer of its own on top: the target platform must
	// be the build platform, where that python runs.
	CompileBytecode bool
	// Auth are the hosts whose credentials (secret SecretID) the build
	// has: a package's or wheel's fetch from one of them sends them.
	Auth Auth
	// NoContentHash mounts the helper's inputs whose cache keys already
	// name their content (a package fetched by its sha256, a file the LLB
	// writes) without BuildKit's content-based cache (keyed), which needs
	// the daemon's CapExecMountContentCache. Otherwise BuildKit hashes
	// every read-only mount's files again before an exec may run, and
	// records each hash with a synced write to its metadata store: at 600
	// packages that held every link exec until the last fetch was hashed,
	// for nothing, since a fetch's key is its sha256 already.
	NoContentHash bool
}

// keyed are the options of a read-only mount of an input whose cache key
// names its content (NoContentHash).
func (c *Conda) keyed() []bkllb.MountOption {
	if c.NoContentHash {
		return []bkllb.MountOption{bkllb.Readonly, bkllb.ContentCache(bkllb.MountContentCacheOff)}
	}
	return []bkllb.MountOption{bkllb.Readonly}
}

// Groups returns the conda packages of each layer, in link order: one
// package per layer when they fit PackageLayers (with the wheels),
// otherwise runs of packages cut by package names and around large
// packages (package budget), so that a new version of a package changes
// its own group alone. WheelGroups gives the wheels'.
func (c *Conda) Groups() ([][]*record.RepoDataRecord, error) {
	gs, _, err := c.layerPlan()
	return gs, err
}

// Layers returns a layer per group of packages (Groups), a layer per
// group of wheels (WheelGroups), then the environment's metadata layer. Each package is its archive fetched by its
// sha256 (a content-addressed source BuildKit caches and shares), linked by
// the helper into the group's scratch mount; one exec links a group's
// packages in order, each over the ones before as merging a layer per
// package would. A package's record is a file made for it alone, so a
// layer depends on its own packages alone (and, for noarch: python
// packages, on the Python version): changing one package rebuilds its
// group's layer (and the metadata's), and a new base image rebuilds none.
//
// An environment with sdists to build needs LayersOn: they are built on
// the image below the environment.
func (c *Conda) Layers() ([]bkllb.State, error) {
	if c.hasSdists() {
		return nil, fmt.Errorf("internal error: the environment's sdists are built on the image below it (LayersOn)")
	}
	return c.LayersOn(bkllb.Scratch())
}

// LayersOn returns Layers for an environment merged over base: an sdist
// is built into a wheel on base merged with the conda packages' layers
// and those of the wheels that need no building (sdistLayer).
func (c *Conda) LayersOn(base bkllb.State) ([]bkllb.State, error) {
	var python *link.Python
	for _, r := range c.Records {
		if r.Name == "python" {
			py, err := link.PythonFromRecord(&r.PackageRecord)
			if err != nil {
				return nil, err
			}
			python = py
		}
	}
	if len(c.Wheels) > 0 && python == nil {
		return nil, fmt.Errorf("%s is a pip package, but the environment has no python to install it for", c.Wheels[0].Dist())
	}
	groups, wheels, err := c.layerPlan()
	if err != nil {
		return nil, err
	}
	layers := make([]bkllb.State, 0, len(groups)+len(wheels)+1)
	for _, b := range batches(groups, c.PackageLayers > 0 && len(groups) > batchMinLayers) {
		if len(b) == 1 && len(b[0]) == 1 {
			l, err := c.packageLayer(b[0][0], python)
			if err != nil {
				return nil, err
			}
			layers = append(layers, l)
			continue
		}
		ls, err := c.batchLayers(b, python)
		if err != nil {
			return nil, err
		}
		layers = append(layers, ls...)
	}
	below := len(layers)
	var sdists []int // the layers of wheels built from sdists, to fill in
	batch := c.PackageLayers > 0 && len(groups)+len(wheels) > batchMinLayers
	for i := 0; i < len(wheels); {
		if len(wheels[i]) == 1 && wheels[i][0].Sdist {
			sdists = append(sdists, len(layers))
			layers = append(layers, bkllb.State{})
			i++
			continue
		}
		j := i + 1
		for j < len(wheels) && !(len(wheels[j]) == 1 && wheels[j][0].Sdist) {
			j++
		}
		for _, b := range wheelBatches(wheels[i:j:j], batch) {
			ls, err := c.wheelLayers(b, python)
			if err != nil {
				return nil, err
			}
			layers = append(layers, ls...)
		}
		i = j
	}
	if len(sdists) > 0 {
		env := []bkllb.State{base}
		env = append(env, layers[:below]...)
		for i := below; i < len(layers); i++ {
			if !slices.Contains(sdists, i) {
				env = append(env, layers[i])
			}
		}
		st := bkllb.Merge(env, bkllb.WithCustomName("pip: the environment to build sdists in"))
		for _, i := range sdists {
			l, err := c.sdistLayer(st, wheels[i-below][0], python)
			if err != nil {
				return nil, err
			}
			layers[i] = l
		}
	}
	meta, err := c.metaLayer()
	if err != nil {
		return nil, err
	}
	return append(layers, meta), nil
}

// fetch returns a package's archive, by its sha256, and its record as the
// helper reads it (helper.LinkInput).
func (c *Conda) fetch(r *record.RepoDataRecord) (bkllb.State, []byte, error) {
	if r.SHA256 == "" {
		return bkllb.State{}, nil, fmt.Errorf("%s: no sha256 to fetch it by", r.FileName)
	}
	in, err := (&helper.LinkInput{Record: r}).Encode()
	if err != nil {
		return bkllb.State{}, nil, fmt.Errorf("%s: %w", r.FileName, err)
	}
	opts := []bkllb.HTTPOption{
		bkllb.Checksum(digest.NewDigestFromEncoded(digest.SHA256, r.SHA256)),
		bkllb.Filename(r.FileName),
		bkllb.WithCustomName("conda: fetch " + r.FileName),
		c.Auth.For(r.URL),
	}
	if c.Locations != nil {
		for _, l := range c.Locations(r) {
			opts = append(opts, l)
		}
	}
	pkg := bkllb.HTTP(r.URL, opts...)
	return pkg, in, nil
}

// packageLayer fetches and links one package (helper.Link).
func (c *Conda) packageLayer(r *record.RepoDataRecord, python *link.Python) (bkllb.State, error) {
	pkg, in, err := c.fetch(r)
	if err != nil {
		return bkllb.State{}, err
	}
	input := bkllb.Scratch().File(bkllb.Mkfile("/"+helper.LinkInputFile, 0o644, in), bkllb.WithCustomName("conda: record of "+r.Dist()))
	l := helper.Link{Prefix: c.Prefix, Platform: c.Subdir, Packages: []helper.LinkPackage{{
		Input:   path.Join(helper.InputDir, helper.LinkInputFile),
		Archive: path.Join(helper.PackageDir, r.FileName),
		Dest:    helper.OutputDir,
	}}}
	if r.Noarch == record.NoarchPython {
		if python == nil {
			return bkllb.State{}, fmt.Errorf("%s is a noarch: python package, but the environment has no python", r.Dist())
		}
		l.Python = python
	}
	run := c.Helper.Run(append([]bkllb.RunOption{
		bkllb.Args(append([]string{c.HelperPath}, l.Args()...)),
		bkllb.AddMount(helper.InputDir, input, c.keyed()...),
		bkllb.AddMount(helper.PackageDir, pkg, c.keyed()...),
		bkllb.Network(bkllb.NetModeNone),
		bkllb.WithCustomName("conda: link " + r.Dist()),
	}, c.runLocations(r)...)...)
	return run.AddMount(helper.OutputDir, bkllb.Scratch()), nil
}

// Batches of layers linked by one exec: consecutive groups whose archives
// weigh at most batchBytes together, at most batchGroups of them. An exec
// costs its container's start, its mounts and its snapshot (about a tenth
// of a second of CPU here, more than linking a small package); a batch
// shares that between its layers. Its price is paid on a rebuild: a new
// version of one package relinks the layers of its whole batch (they come
// out the same, so their blobs are not pushed again), which the bounds keep
// small; a package larger than batchBytes is linked by an exec of its own.
// A batch links at most batchPackages packages, so that its argv (a
// --package argument each) stays a few KiB. Batches are made under a layer
// budget (PackageLayers, which Convert always sets) for environments of
// more than batchMinLayers layers; smaller ones keep an exec per layer, the
// finest rebuilds and failures that name one layer's packages, where the
// execs cost little.
const (
	batchBytes     = 32 << 20
	batchGroups    = 8
	batchPackages  = 64
	batchMinLayers = 16
)

// batches cuts groups into runs of consecutive groups (batchBytes,
// batchGroups), keeping their order; with batch false, each group is a run
// of its own.
func batches(groups [][]*record.RepoDataRecord, batch bool) [][][]*record.RepoDataRecord {
	return cutBatches(groups, func(r *record.RepoDataRecord) int64 { return r.Size }, batch)
}

// cutBatches cuts groups into runs of consecutive groups, each within
// batchGroups groups, batchBytes (by size) and batchPackages items; with
// batch false, each group is a run of its own.
func cutBatches[T any](groups [][]T, size func(T) int64, batch bool) [][][]T {
	bytes := func(g []T) int64 {
		var n int64
		for _, x := range g {
			n += size(x)
		}
		return n
	}
	var out [][][]T
	for i := 0; i < len(groups); {
		j, n, items := i+1, bytes(groups[i]), len(groups[i])
		for batch && j < len(groups) && j-i < batchGroups && n+bytes(groups[j]) <= batchBytes && items+len(groups[j]) <= batchPackages {
			n += bytes(groups[j])
			items += len(groups[j])
			j++
		}
		out = append(out, groups[i:j:j])
		i = j
	}
	return out
}

// batchLayers fetches the packages of one or more groups and links them in
// one exec, in order, each package's archive in a mount of its own
// (PackageDir/<i>), their records in one input mount (InputDir/<i>.json):
// a layer per group, the exec's output mount for a single group, otherwise
// an output mount of its own for each (OutputDir/<k>).
func (c *Conda) batchLayers(groups [][]*record.RepoDataRecord, python *link.Python) ([]bkllb.State, error) {
	l := helper.Link{Prefix: c.Prefix, Platform: c.Subdir}
	var files *bkllb.FileAction
	var mounts []bkllb.RunOption
	var all []*record.RepoDataRecord
	dest := func(k int) string {
		if len(groups) == 1 {
			return helper.OutputDir
		}
		return path.Join(helper.OutputDir, strconv.Itoa(k))
	}
	for k, g := range groups {
		for _, r := range g {
			i := len(all)
			all = append(all, r)
			pkg, in, err := c.fetch(r)
			if err != nil {
				return nil, err
			}
			name := "/" + strconv.Itoa(i) + ".json"
			if files == nil {
				files = bkllb.Mkfile(name, 0o644, in)
			} else {
				files = files.Mkfile(name, 0o644, in)
			}
			dir := path.Join(helper.PackageDir, strconv.Itoa(i))
			mounts = append(mounts, bkllb.AddMount(dir, pkg, c.keyed()...))
			l.Packages = append(l.Packages, helper.LinkPackage{Input: path.Join(helper.InputDir, name), Archive: path.Join(dir, r.FileName), Dest: dest(k)})
			if r.Noarch == record.NoarchPython {
				if python == nil {
					return nil, fmt.Errorf("%s is a noarch: python package, but the environment has no python", r.Dist())
				}
				l.Python = python
			}
		}
	}
	what := groupName(all)
	if len(groups) > 1 {
		what += fmt.Sprintf(" in %d layers", len(groups))
	}
	input := bkllb.Scratch().File(files, bkllb.WithCustomName("conda: records of "+what))
	run := c.Helper.Run(append([]bkllb.RunOption{
		bkllb.Args(append([]string{c.HelperPath}, l.Args()...)),
		bkllb.AddMount(helper.InputDir, input, c.keyed()...),
		bkllb.Network(bkllb.NetModeNone),
		bkllb.WithCustomName("conda: link " + what),
	}, append(mounts, c.runLocations(all...)...)...)...)
	out := make([]bkllb.State, len(groups))
	for k := range groups {
		out[k] = run.AddMount(dest(k), bkllb.Scratch())
	}
	return out, nil
}

// groupName names a group of packages in progress output and history:
// how many, the first and the last.
func groupName(recs []*record.RepoDataRecord) string {
	if len(recs) == 1 {
		return recs[0].Dist()
	}
	return fmt.Sprintf("%d packages, %s to %s", len(recs), recs[0].Dist(), recs[len(recs)-1].Dist())
}

// historyRecords keeps of each record what its history line needs
// (channel, subdir, name, version, build): the metadata input is part of
// the LLB definition, which BuildKit bounds (16 MiB), and the lock beside
// it already holds the full records.
func historyRecords(recs []*record.RepoDataRecord) []*record.RepoDataRecord {
	out := make([]*record.RepoDataRecord, len(recs))
	for i, r := range recs {
		out[i] = &record.RepoDataRecord{
			PackageRecord: record.PackageRecord{Name: r.Name, Version: r.Version, Build: r.Build, Subdir: r.Subdir},
			Channel:       r.Channel,
		}
	}
	return out
}

// metaLayer writes conda-meta/history (what makes the prefix a conda
// environment for conda, mamba and pixi), conda-meta/state (the conda
// file's variables, exported on activation) and the lock (helper.Meta): a
// small layer of its own.
func (c *Conda) metaLayer() (bkllb.State, error) {
	in, err := (&helper.MetaInput{
		History:   link.History{Command: "envkit build", Tool: "envkit", ToolVersion: "1", Linked: historyRecords(c.Records), Specs: c.Specs},
		Variables: c.Variables,
	}).Encode()
	if err != nil {
		return bkllb.State{}, err
	}
	files := bkllb.Mkfile("/"+helper.MetaInputFile, 0o644, in)
	m := helper.Meta{Prefix: c.Prefix, Dest: helper.OutputDir, Input: path.Join(helper.InputDir, helper.MetaInputFile)}
	if len(c.Lock) > 0 {
		files = files.Mkfile("/"+helper.LockFile, 0o644, c.Lock)
		m.Lock = path.Join(helper.InputDir, helper.LockFile)
	}
	input := bkllb.Scratch().File(files, bkllb.WithCustomName("conda: environment metadata input"))
	run := c.Helper.Run(
		bkllb.Args(append([]string{c.HelperPath}, m.Args()...)),
		bkllb.AddMount(helper.InputDir, input, c.keyed()...),
		bkllb.Network(bkllb.NetModeNone),
		bkllb.WithCustomName("conda: environment metadata"),
	)
	return run.AddMount(helper.OutputDir, bkllb.Scratch()), nil
}

// LockPath is where an environment keeps its lock, relative to its prefix.
const LockPath = helper.LockPath

// condaEnv returns the image environment variables of a conda environment
// at prefix: activated as Azure ML's images do (CONDA_PREFIX, PATH first).
func condaEnv(prefix string, env []string) []string {
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	env = setEnv(env, "CONDA_PREFIX", prefix)
	env = setEnv(env, "CONDA_DEFAULT_ENV", prefix)
	return setEnv(env, "PATH", prefix+"/bin:"+path)
}

// runLocations are the source locations of the packages an exec links
// (Conda.Locations).
func (c *Conda) runLocations(recs ...*record.RepoDataRecord) []bkllb.RunOption {
	if c.Locations == nil {
		return nil
	}
	var out []bkllb.RunOption
	for _, l := range c.Locations(recs...) {
		out = append(out, l)
	}
	return out
}

package llb

import (
	"fmt"
	"path"
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
}

// Layers returns one layer per package: the archive fetched by its sha256
// (a content-addressed source BuildKit caches and shares), linked by the
// helper into a scratch mount, then the environment's metadata layer. A
// package's exec reads its record from a file made for it alone, so a
// layer depends on its package alone (and, for noarch: python packages, on
// the Python version): changing one package rebuilds one layer (and the
// metadata's), and a new base image rebuilds none.
func (c *Conda) Layers() ([]bkllb.State, error) {
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
	layers := make([]bkllb.State, 0, len(c.Records)+1)
	for _, r := range c.Records {
		l, err := c.packageLayer(r, python)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	meta, err := c.metaLayer()
	if err != nil {
		return nil, err
	}
	return append(layers, meta), nil
}

// packageLayer fetches and links one package (helper.Link).
func (c *Conda) packageLayer(r *record.RepoDataRecord, python *link.Python) (bkllb.State, error) {
	if r.SHA256 == "" {
		return bkllb.State{}, fmt.Errorf("%s: no sha256 to fetch it by", r.FileName)
	}
	in, err := (&helper.LinkInput{Record: r}).Encode()
	if err != nil {
		return bkllb.State{}, fmt.Errorf("%s: %w", r.FileName, err)
	}
	pkg := bkllb.HTTP(r.URL,
		bkllb.Checksum(digest.NewDigestFromEncoded(digest.SHA256, r.SHA256)),
		bkllb.Filename(r.FileName),
		bkllb.WithCustomName("conda: fetch "+r.FileName))
	input := bkllb.Scratch().File(bkllb.Mkfile("/"+helper.LinkInputFile, 0o644, in), bkllb.WithCustomName("conda: record of "+r.Dist()))
	l := helper.Link{Prefix: c.Prefix, Platform: c.Subdir, Scratch: helper.ScratchDir, Packages: []helper.LinkPackage{{
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
	run := c.Helper.Run(
		bkllb.Args(append([]string{c.HelperPath}, l.Args()...)),
		bkllb.AddMount(helper.InputDir, input, bkllb.Readonly),
		bkllb.AddMount(helper.PackageDir, pkg, bkllb.Readonly),
		bkllb.AddMount(helper.ScratchDir, bkllb.Scratch(), bkllb.Tmpfs()),
		bkllb.Network(bkllb.NetModeNone),
		bkllb.WithCustomName("conda: link "+r.Dist()),
	)
	return run.AddMount(helper.OutputDir, bkllb.Scratch()), nil
}

// metaLayer writes conda-meta/history (what makes the prefix a conda
// environment for conda, mamba and pixi), conda-meta/state (the conda
// file's variables, exported on activation) and the lock (helper.Meta): a
// small layer of its own.
func (c *Conda) metaLayer() (bkllb.State, error) {
	in, err := (&helper.MetaInput{
		History:   link.History{Command: "envkit build", Tool: "envkit", ToolVersion: "1", Linked: c.Records, Specs: c.Specs},
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
		bkllb.AddMount(helper.InputDir, input, bkllb.Readonly),
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

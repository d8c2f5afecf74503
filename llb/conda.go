package llb

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/envkit/envkit/conda/link"
	"github.com/envkit/envkit/conda/record"
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
	// Lock is the environment's conda-lock file, kept in the image as
	// conda-meta/conda-lock.yml: what the environment resolved to, which a
	// later build of the same environment can take as its lock file.
	Lock []byte
	// Helper is an image holding the link helper at HelperPath, for the
	// build platform: linking only writes files, so no emulation is
	// needed for other targets.
	Helper     bkllb.State
	HelperPath string
}

// Layers returns one layer per package: the archive fetched by its sha256
// (a content-addressed source BuildKit caches and shares), linked by the
// helper into a scratch mount. A layer depends on its package alone (and,
// for noarch: python packages, on the Python version), so changing one
// package rebuilds one layer, and a new base image rebuilds none.
func (c *Conda) Layers() ([]bkllb.State, error) {
	var python string
	for _, r := range c.Records {
		if r.Name == "python" {
			py, err := link.PythonFromRecord(&r.PackageRecord)
			if err != nil {
				return nil, err
			}
			python = py.Version + ":" + py.SitePackages
		}
	}
	layers := make([]bkllb.State, 0, len(c.Records))
	for _, r := range c.Records {
		if r.SHA256 == "" {
			return nil, fmt.Errorf("%s: no sha256 to fetch it by", r.FileName)
		}
		rec, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		pkg := bkllb.HTTP(r.URL,
			bkllb.Checksum(digest.NewDigestFromEncoded(digest.SHA256, r.SHA256)),
			bkllb.Filename(r.FileName),
			bkllb.WithCustomName("conda: fetch "+r.FileName))
		args := []string{c.HelperPath, "link",
			"--archive", "/pkg/" + r.FileName, "--sha256", r.SHA256, "--record", string(rec),
			"--prefix", c.Prefix, "--dest", "/out", "--platform", c.Subdir, "--scratch", "/tmp"}
		if r.Noarch == record.NoarchPython {
			if python == "" {
				return nil, fmt.Errorf("%s is a noarch: python package, but the environment has no python", r.Dist())
			}
			args = append(args, "--python", python)
		}
		run := c.Helper.Run(
			bkllb.Args(args),
			bkllb.AddMount("/pkg", pkg, bkllb.Readonly),
			bkllb.AddMount("/tmp", bkllb.Scratch(), bkllb.Tmpfs()),
			bkllb.Network(bkllb.NetModeNone),
			bkllb.WithCustomName("conda: link "+r.Dist()),
		)
		layers = append(layers, run.AddMount("/out", bkllb.Scratch()))
	}
	meta, err := c.metaLayer()
	if err != nil {
		return nil, err
	}
	return append(layers, meta), nil
}

// metaLayer writes conda-meta/history (what makes the prefix a conda
// environment for conda, mamba and pixi) and conda-meta/state (the conda
// file's variables, exported on activation): a small layer of its own.
func (c *Conda) metaLayer() (bkllb.State, error) {
	h, err := json.Marshal(link.History{Command: "envkit build", Tool: "envkit", ToolVersion: "1", Linked: c.Records, Specs: c.Specs})
	if err != nil {
		return bkllb.State{}, err
	}
	args := []string{c.HelperPath, "meta", "--prefix", c.Prefix, "--dest", "/out", "--history", string(h)}
	if len(c.Variables) > 0 {
		v, err := json.Marshal(c.Variables)
		if err != nil {
			return bkllb.State{}, err
		}
		args = append(args, "--state", string(v))
	}
	opts := []bkllb.RunOption{bkllb.Network(bkllb.NetModeNone), bkllb.WithCustomName("conda: environment metadata")}
	if len(c.Lock) > 0 {
		in := bkllb.Scratch().File(bkllb.Mkfile("/conda-lock.yml", 0o644, c.Lock), bkllb.WithCustomName("conda: lock"))
		opts = append(opts, bkllb.AddMount("/in", in, bkllb.Readonly))
		args = append(args, "--lock", "/in/conda-lock.yml")
	}
	run := c.Helper.Run(append([]bkllb.RunOption{bkllb.Args(args)}, opts...)...)
	return run.AddMount("/out", bkllb.Scratch()), nil
}

// LockPath is where an environment keeps its lock, relative to its prefix.
const LockPath = "conda-meta/conda-lock.yml"

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

package llb

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/envkit/envkit/conda/link"
	"github.com/envkit/envkit/internal/helper"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/wheel"
	bkllb "github.com/moby/buildkit/client/llb"
)

// Where the sdist build exec finds its sdist and writes its wheel.
const (
	sdistDir      = "/sdist"
	sdistOutDir   = "/out"
	sdistBuildDir = "/tmp"
	// sdistScriptDir holds sdistScript, as sdistScriptFile.
	sdistScriptDir  = "/envkit"
	sdistScriptFile = "build_sdist.py"
	// sdistEpoch is SOURCE_DATE_EPOCH for the builds: 1980-01-01, the
	// earliest time a zip file (a wheel) holds.
	sdistEpoch = "315532800"
)

// sdistScript builds the sdist argv[1] (or a project directory, from a
// copy of it) into a wheel with the environment's
// own pip (pip wheel --no-deps, PEP 517 build isolation: the build
// dependencies come from the indexes of argv[4:]), into argv[2]/dist, and
// writes argv[2]/wheel.json: the wheel exec's input (argv[3], a
// helper.WheelInput whose one wheel is completed with the built wheel's
// file name, path under the install exec's mount and sha256). pip's own
// output goes to the step's log.
const sdistScript = `import hashlib, json, os, subprocess, sys
sdist, out, tmpl, mount = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
if os.path.isdir(sdist):
    # A project directory, mounted read-only: built from a copy, where
    # its backend may write (build/, *.egg-info).
    import shutil
    src = os.path.join(os.environ["TMPDIR"], "src", os.path.basename(sdist))
    shutil.copytree(sdist, src, symlinks=True)
    sdist = src
dist = os.path.join(out, "dist")
cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--disable-pip-version-check", "--no-input", "-w", dist] + sys.argv[5:] + [sdist]
print("envkit: " + " ".join(cmd), file=sys.stderr, flush=True)
rc = subprocess.run(cmd).returncode
if rc != 0:
    sys.exit("envkit: building a wheel from %s failed: pip wheel exited with %d (its output is above)" % (os.path.basename(sdist), rc))
whls = sorted(f for f in os.listdir(dist) if f.endswith(".whl"))
if len(whls) != 1:
    sys.exit("envkit: building %s gave %d wheels (%s), want one" % (os.path.basename(sdist), len(whls), ", ".join(whls)))
h = hashlib.sha256()
with open(os.path.join(dist, whls[0]), "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""):
        h.update(b)
w = tmpl["wheels"][0]
w["filename"], w["archive"], w["sha256"] = whls[0], os.path.join(mount, "dist", whls[0]), h.hexdigest()
with open(os.path.join(out, "wheel.json"), "w") as f:
    json.dump(tmpl, f, sort_keys=True)
print("envkit: built %s (sha256 %s)" % (whls[0], w["sha256"]), file=sys.stderr)
`

// hasSdists reports whether any of the environment's pip packages is an
// sdist to build.
func (c *Conda) hasSdists() bool {
	return slices.ContainsFunc(c.Wheels, func(w *Wheel) bool { return w.Sdist })
}

// sdistIndexArgs are pip's index options for an sdist's build
// dependencies: PipIndexes, the first as --index-url. An index that
// needs credentials is refused: pip takes them in the URL only (argv, the
// LLB and the build's cache key would show them) and no Authorization
// header, which is what a host's envkit secret holds.
func (c *Conda) sdistIndexArgs(w *Wheel) ([]string, error) {
	var args []string
	for i, ix := range c.PipIndexes {
		u, err := url.Parse(ix)
		if err != nil || u == nil {
			// Not its text, which may hold credentials.
			return nil, fmt.Errorf("building %s: index URL %d of the pip lines does not parse", w.Filename, i+1)
		}
		if u.User != nil || c.Auth.Has(ix) {
			u.User = nil
			return nil, fmt.Errorf("building %s (%s) needs its build dependencies from the index %s, which takes credentials: envkit does not give pip's build credentials (pip reads them from its index URL only, which the build's steps would show); publish a wheel of %s, or serve its build dependencies from an index without credentials",
				w.Filename, w.URL, u.Redacted(), w.Name)
		}
		opt := "--extra-index-url"
		if i == 0 {
			opt = "--index-url"
		}
		args = append(args, opt, ix)
	}
	return args, nil
}

// hasPip reports whether the environment below the sdist builds (its
// conda packages and the wheels that need no building) holds pip.
func (c *Conda) hasPip() bool {
	for _, r := range c.Records {
		if r.Name == "pip" {
			return true
		}
	}
	for _, w := range c.Wheels {
		if !w.Sdist && name.Equal(w.Name, "pip") {
			return true
		}
	}
	return false
}

// sdistLayer builds sdist w into a wheel and installs it into a layer of
// its own. The build is an exec on env (the image below the environment,
// its conda packages and the wheels that need no building: what its
// python needs to run) with the sdist, fetched by its sha256, mounted
// read-only: the environment's python runs pip wheel (sdistScript) with
// network for the build dependencies, SOURCE_DATE_EPOCH set, into an
// output mount. That exec's cache key is its inputs' (the sdist's sha256,
// the environment, the index options, the install input), so a rebuild
// reuses the built wheel. It runs the target's python: the target must
// be the build platform (the frontend checks). The wheel exec then
// installs the built wheel as it installs a fetched one, reading the
// input the build wrote.
func (c *Conda) sdistLayer(env bkllb.State, w *Wheel, python *link.Python) (bkllb.State, error) {
	if !c.hasPip() {
		return bkllb.State{}, fmt.Errorf("building %s needs pip in the conda environment: add pip to its dependencies", w.Filename)
	}
	idx, err := c.sdistIndexArgs(w)
	if err != nil {
		return bkllb.State{}, err
	}
	sdist, err := c.fetchWheel(w)
	if err != nil {
		return bkllb.State{}, err
	}
	mount := path.Join(helper.WheelDir, "0")
	du, what := w.DirectURL, w.Filename
	if w.Project {
		// As pip writes it for a local directory: the directory it was
		// built from, here where the build read it.
		du = &wheel.DirectURL{URL: "file://" + path.Join(sdistDir, w.Filename), Dir: &wheel.DirInfo{}}
		what = "the project directory " + strings.TrimPrefix(w.URL, "file:")
	}
	in := helper.WheelInput{Prefix: c.Prefix, Platform: c.Subdir, Python: wheelPython(python),
		Wheels: []helper.WheelFile{{Requested: w.Requested, DirectURL: du}}}
	tmpl, err := json.Marshal(in)
	if err != nil {
		return bkllb.State{}, err
	}
	script := bkllb.Scratch().File(bkllb.Mkfile("/"+sdistScriptFile, 0o644, []byte(sdistScript)), bkllb.WithCustomName("pip: the sdist build script"))
	args := append([]string{path.Join(c.Prefix, python.Executable()), "-s", path.Join(sdistScriptDir, sdistScriptFile),
		path.Join(sdistDir, w.Filename), sdistOutDir, string(tmpl), mount}, idx...)
	opts := []bkllb.RunOption{
		bkllb.Args(args),
		bkllb.AddEnv("SOURCE_DATE_EPOCH", sdistEpoch),
		bkllb.AddEnv("PYTHONHASHSEED", "0"),
		bkllb.AddEnv("PYTHONPATH", ""),
		bkllb.AddEnv("PIP_CONFIG_FILE", "/dev/null"),
		bkllb.AddEnv("HOME", sdistBuildDir),
		bkllb.AddEnv("TMPDIR", sdistBuildDir),
		bkllb.Dir(sdistBuildDir),
		bkllb.User("0:0"), // the environment's files are root's, whatever USER the base sets
		bkllb.AddMount(sdistDir, sdist, bkllb.Readonly),
		bkllb.AddMount(sdistScriptDir, script, bkllb.Readonly),
		bkllb.AddMount(sdistBuildDir, bkllb.Scratch(), bkllb.Tmpfs()),
		bkllb.WithCustomName("pip: build a wheel from " + what),
	}
	if c.WheelLocations != nil {
		for _, l := range c.WheelLocations(w) {
			opts = append(opts, l)
		}
	}
	built := env.Run(opts...).AddMount(sdistOutDir, bkllb.Scratch())
	h := helper.Wheel{Input: path.Join(mount, helper.WheelInputFile), Dest: helper.OutputDir}
	iopts := []bkllb.RunOption{
		bkllb.Args(append([]string{c.HelperPath}, h.Args()...)),
		bkllb.AddMount(mount, built, bkllb.Readonly),
		bkllb.Network(bkllb.NetModeNone),
		bkllb.WithCustomName("pip: install the wheel built from " + what),
	}
	if c.WheelLocations != nil {
		for _, l := range c.WheelLocations(w) {
			iopts = append(iopts, l)
		}
	}
	return c.Helper.Run(iopts...).AddMount(helper.OutputDir, bkllb.Scratch()), nil
}

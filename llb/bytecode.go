package llb

import (
	"fmt"
	"path"

	"github.com/envkit/envkit/conda/link"
	bkllb "github.com/moby/buildkit/client/llb"
)

// compileScript compiles the directories of its arguments with the
// environment's python as pip does, into unchecked-hash .pyc files (which
// do not depend on the sources' times), and leaves nothing that depends on
// the clock: the .pyc files and __pycache__ directories it creates get the
// epoch, the directories it adds them to keep their times. Files that do
// not compile (Python 2 sources in a package's test data) are reported and
// left out, as pip leaves them.
const compileScript = `import compileall, os, py_compile, sys, time
dirs = sys.argv[1:]
start = time.time_ns()
before = {}
for d in dirs:
    for root, _, _ in os.walk(d):
        st = os.stat(root)
        before[root] = (st.st_atime_ns, st.st_mtime_ns)
for d in dirs:
    if not compileall.compile_dir(d, quiet=1, workers=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
        print("envkit: some files of %s do not compile; they are left without bytecode" % d, file=sys.stderr)
for d in dirs:
    for root, _, files in os.walk(d):
        if os.path.basename(root) != "__pycache__":
            continue
        for f in files:
            p = os.path.join(root, f)
            if os.stat(p).st_mtime_ns >= start - 2_000_000_000:
                os.utime(p, ns=(0, 0))
        if root not in before:
            os.utime(root, ns=(0, 0))
for root, t in before.items():
    os.utime(root, ns=t)
`

// bytecodeLayer compiles the environment's site-packages with its own
// python, run in the image built so far (st): a layer of its own holding
// what the compilation added (the diff). It runs the target's python, so
// the target must be the build platform (the frontend checks). PYTHONHASHSEED
// is fixed, so that the marshalled constants (frozensets) come out in one
// order.
func (c *Conda) bytecodeLayer(st bkllb.State) (bkllb.State, error) {
	var py *link.Python
	for _, r := range c.Records {
		if r.Name == "python" {
			p, err := link.PythonFromRecord(&r.PackageRecord)
			if err != nil {
				return bkllb.State{}, err
			}
			py = p
		}
	}
	if py == nil {
		return bkllb.State{}, fmt.Errorf("compiling bytecode needs the environment's python, and the conda environment has none")
	}
	site := path.Join(c.Prefix, py.SitePackages)
	run := st.Run(
		bkllb.Args([]string{path.Join(c.Prefix, py.Executable()), "-s", "-c", compileScript, site}),
		bkllb.AddEnv("PYTHONHASHSEED", "0"),
		bkllb.AddEnv("PYTHONPATH", ""),
		bkllb.AddEnv("PYTHONDONTWRITEBYTECODE", ""),
		bkllb.Dir("/"),
		bkllb.User("0:0"), // the environment's files are root's, whatever USER the base sets
		bkllb.Network(bkllb.NetModeNone),
		bkllb.WithCustomName("python: compile bytecode in "+site),
	)
	return bkllb.Diff(st, run.Root(), bkllb.WithCustomName("python: bytecode layer")), nil
}

package llb

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

// With CompileBytecode the environment's python compiles its
// site-packages in an exec on the image built so far, without network,
// with a fixed hash seed; what it adds (the diff) is merged on top as a
// layer of its own, with its history entry, within the layer limit.
func TestConvertBytecode(t *testing.T) {
	y := "name: conda\nimage: " + baseRef + "\nconda_file:\n  channels: [https://conda.example/c]\n  dependencies: [python, {pip: [attrs]}]\n"
	c := testConda(testRecords(t)...)
	c.Wheels = testWheels()
	c.CompileBytecode = true
	res, g := convert(t, y, c)
	var compile *pb.Op
	for _, op := range g.kind("exec") {
		if args := op.GetExec().GetMeta().GetArgs(); len(args) > 0 && args[0] == DefaultPrefix+"/bin/python3.10" {
			if compile != nil {
				t.Fatal("two compile execs")
			}
			compile = op
		}
	}
	if compile == nil {
		t.Fatal("no exec runs the environment's python")
	}
	e := compile.GetExec()
	if args := e.Meta.Args; !slices.Equal(args[1:3], []string{"-s", "-c"}) || !strings.Contains(args[3], "PycInvalidationMode.UNCHECKED_HASH") ||
		!slices.Equal(args[4:], []string{DefaultPrefix + "/lib/python3.10/site-packages"}) {
		t.Errorf("compile argv %q", args)
	}
	if e.Network != pb.NetMode_NONE || !slices.Contains(e.Meta.Env, "PYTHONHASHSEED=0") {
		t.Errorf("compile exec: network %v, env %q", e.Network, e.Meta.Env)
	}
	// It runs on the merge of the environment's layers, and the image is
	// that merge with the diff on top.
	root := g.ops[digest.Digest(compile.Inputs[0].Digest)]
	envMerge := g.named(t, "conda: merge 4 packages and 3 wheels")
	if root != envMerge {
		t.Errorf("the compile exec runs on %v, not on the environment's merge", root)
	}
	top := g.named(t, "python: merge the bytecode layer")
	diff := g.ops[digest.Digest(top.Inputs[1].Digest)].GetDiff()
	if len(top.Inputs) != 2 || g.ops[digest.Digest(top.Inputs[0].Digest)] != envMerge || diff == nil {
		t.Fatalf("the image is not the environment with the bytecode diff on top: %v", top)
	}
	last := res.Image.History[len(res.Image.History)-1]
	if last.CreatedBy != "envkit: python bytecode (compileall, unchecked-hash)" || last.EmptyLayer {
		t.Errorf("last history entry %+v", last)
	}

	// Its layer counts against the limit.
	if _, err := convertWithin(t, y, c, 1+4+3+1+1); err != nil {
		t.Errorf("a limit the image fits: %v", err)
	}
	var le *LayerLimitError
	if _, err := convertWithin(t, y, c, 3+1); !errors.As(err, &le) || !le.Bytecode {
		t.Errorf("a limit that leaves one layer: %v", err)
	}
	// Without a python there is nothing to compile with.
	c = testConda(testRecords(t)[1:3]...)
	c.CompileBytecode = true
	if _, err := convertWithin(t, y, c, 0); err == nil || !strings.Contains(err.Error(), "compiling bytecode needs the environment's python") {
		t.Errorf("no python: %v", err)
	}
}

package frontend

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/envkit/envkit/spec"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
)

// A lock's relative file: URL is a pip line's wheel, taken from the
// dockerfile local (that one file) and copied to /<file name>; the lock's
// sha256 must be the wheel's; other URLs are left to llb.HTTP.
func TestLocalWheel(t *testing.T) {
	wheel := []byte("PK wheel")
	env, err := spec.Load("sub/environment.yml", []byte("image: busybox\nconda_file: conda.yml\n"), fstest.MapFS{
		"conda.yml":                      {Data: []byte("dependencies:\n  - python\n  - pip:\n    - ./dist/tool-1.0-py3-none-any.whl\n")},
		"dist/tool-1.0-py3-none-any.whl": {Data: wheel},
	})
	if err != nil {
		t.Fatal(err)
	}
	sha := env.PipFiles[0].SHA256
	b := &builder{c: &optsOnly{bo: client.BuildOpts{SessionID: "s"}}, opts: &options{Filename: "sub/environment.yml", DockerfileLocal: "dockerfile"}}
	if _, ok, err := b.localWheel(env, "https://files.example/tool-1.0-py3-none-any.whl", sha); ok || err != nil {
		t.Errorf("an https URL taken as local: %v %v", ok, err)
	}
	if _, ok, err := b.localWheel(env, "file:dist/tool-1.0-py3-none-any.whl", strings.Repeat("0", 64)); !ok || err == nil || !strings.Contains(err.Error(), "lock the environment again") {
		t.Errorf("another sha256: %v %v", ok, err)
	}
	if _, ok, err := b.localWheel(env, "file:dist/other-1.0-py3-none-any.whl", sha); !ok || err == nil || !strings.Contains(err.Error(), "no pip line") {
		t.Errorf("a wheel no pip line names: %v %v", ok, err)
	}
	st, ok, err := b.localWheel(env, "file:dist/tool-1.0-py3-none-any.whl", sha)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	local, cp := localCopy(t, st)
	if local == nil || local.Identifier != "local://dockerfile" || !strings.Contains(local.Attrs[pb.AttrFollowPaths], `"sub/dist/tool-1.0-py3-none-any.whl"`) {
		t.Errorf("source %+v", local)
	}
	if cp == nil || cp.Src != "/sub/dist/tool-1.0-py3-none-any.whl" || cp.Dest != "/tool-1.0-py3-none-any.whl" {
		t.Errorf("copy %+v", cp)
	}
}

// localCopy returns the local source and the copy from it of a state that
// takes a file or directory from the dockerfile local.
func localCopy(t *testing.T, st llb.State) (local *pb.SourceOp, cp *pb.FileActionCopy) {
	t.Helper()
	def, err := st.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		if s := op.GetSource(); s != nil {
			local = s
		}
		if f := op.GetFile(); f != nil {
			cp = f.Actions[0].GetCopy()
		}
	}
	return local, cp
}

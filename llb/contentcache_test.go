package llb

import (
	"context"
	"strings"
	"testing"

	"github.com/envkit/envkit/hash"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/apicaps"
	apicapspb "github.com/moby/buildkit/util/apicaps/pb"
	"github.com/opencontainers/go-digest"
)

// A daemon that takes CapExecMountContentCache gets the helper's inputs
// whose keys name their content (the fetches by sha256, the files the LLB
// writes) mounted with no content-based cache, so that BuildKit does not
// hash each package again before its exec; a local wheel, whose key does
// not name its content, keeps it, and so does everything on a daemon
// without the capability.
func TestConvertContentCache(t *testing.T) {
	y := "name: conda\nimage: " + baseRef + "\nconda_file:\n  channels: [https://conda.example/c]\n  dependencies: [python, pip: [attrs]]\n"
	all := pb.Caps.CapSet(pb.Caps.All())
	var some []*apicapspb.APICap
	for _, c := range pb.Caps.All() {
		if apicaps.CapID(c.ID) != pb.CapExecMountContentCache {
			some = append(some, c)
		}
	}
	without := pb.Caps.CapSet(some)
	for _, tc := range []struct {
		name string
		caps *apicaps.CapSet
		off  bool
	}{{"capable daemon", &all, true}, {"daemon without the capability", &without, false}, {"no capabilities known", nil, false}} {
		t.Run(tc.name, func(t *testing.T) {
			env := load(t, y)
			df, _ := Dockerfile(env)
			h, err := hash.Compute(env, nil)
			if err != nil {
				t.Fatal(err)
			}
			conda := testConda(testRecords(t)...)
			local := bkllb.Local("context", bkllb.FollowPaths([]string{"dist/local-1.0-py3-none-any.whl"}))
			wheels := testWheels()
			wheels[1].Source = &local
			conda.Wheels = wheels
			res, err := Convert(context.Background(), Input{Env: env, Hash: h, Dockerfile: df}, amd64, conda, Options{MetaResolver: baseRegistry{}, LLBCaps: tc.caps})
			if err != nil {
				t.Fatal(err)
			}
			g := marshal(t, res.State)
			var packages, files, locals int
			for _, op := range g.kind("exec") {
				for _, m := range op.GetExec().Mounts {
					if m.Input < 0 || m.Dest == "/" {
						continue
					}
					in := g.ops[digest.Digest(op.Inputs[m.Input].Digest)]
					src := in.GetSource()
					switch {
					case src != nil && strings.HasPrefix(src.Identifier, "local://"):
						locals++
						if m.ContentCache != pb.MountContentCache_DEFAULT {
							t.Errorf("%s: the local wheel mounted with content cache %v", m.Dest, m.ContentCache)
						}
						continue
					case src != nil && strings.HasPrefix(src.Identifier, "https://"):
						packages++
					case in.GetFile() != nil:
						files++
					default:
						continue
					}
					want := pb.MountContentCache_DEFAULT
					if tc.off {
						want = pb.MountContentCache_OFF
					}
					if m.ContentCache != want || !m.Readonly {
						t.Errorf("%s of %s: content cache %v (read-only %v), want %v", m.Dest, op.GetExec().Meta.Args[1], m.ContentCache, m.Readonly, want)
					}
				}
			}
			if n := len(testRecords(t)) + len(wheels) - 1; packages != n || locals != 1 || files == 0 {
				t.Errorf("%d fetched packages (want %d), %d local wheels, %d input files mounted", packages, n, locals, files)
			}
		})
	}
}

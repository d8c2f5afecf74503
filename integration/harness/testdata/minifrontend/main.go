// Command minifrontend is a tiny BuildKit gateway frontend used to test
// stack.PushFrontendImage: its result is a scratch filesystem with one file,
// /frontend-says, holding "hello from <build-arg:WHO>".
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"
)

func main() {
	if err := grpcclient.RunFromEnvironment(appcontext.Context(), build); err != nil {
		fmt.Fprintln(os.Stderr, "minifrontend:", err)
		os.Exit(1)
	}
}

func build(ctx context.Context, c client.Client) (*client.Result, error) {
	who := c.BuildOpts().Opts["build-arg:WHO"]
	st := llb.Scratch().File(llb.Mkfile("/frontend-says", 0o644, []byte("hello from "+who+"\n")))
	def, err := st.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	return c.Solve(ctx, client.SolveRequest{Definition: def.ToPB()})
}

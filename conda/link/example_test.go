package link_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/envkit/envkit/conda/link"
	condapkg "github.com/envkit/envkit/conda/package"
)

// A build links each package into its own layer directory, predicting
// conflicts first, and writes conda-meta/history in a layer of its own.
func Example() {
	shared := os.Getenv("ENVKIT_SHARED")
	if shared == "" {
		shared = "../../../shared"
	}
	archives := []string{
		filepath.Join(shared, "testdata/conda/packages/clobber/clobber-1-0.1.0-h4616a5c_0.tar.bz2"),
		filepath.Join(shared, "testdata/conda/packages/clobber/clobber-2-0.1.0-h4616a5c_0.tar.bz2"),
	}
	const prefix = "/opt/conda/envs/app" // where the environment is in the image
	work, err := os.MkdirTemp("", "layers")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	epoch := time.Unix(1700000000, 0) // SOURCE_DATE_EPOCH

	// Predict conflicts from the archives' metadata alone.
	var plans []*link.PrefixRecord
	for _, a := range archives {
		md, err := condapkg.ReadFile(a)
		if err != nil {
			log.Fatal(err)
		}
		plan, err := link.Plan("", prefix, link.Options{Metadata: md})
		if err != nil {
			log.Fatal(err)
		}
		plans = append(plans, plan)
	}
	for _, c := range link.Clobbers(plans) {
		fmt.Printf("warning: %s is written by %v; %s wins\n", c.Path, c.Packages, c.Winner)
	}

	// One layer per package: extract, then link into the layer's staging
	// directory for the prefix.
	for i, a := range archives {
		pkgDir := filepath.Join(work, fmt.Sprint("pkg", i))
		md, err := condapkg.ExtractFile(context.Background(), a, pkgDir)
		if err != nil {
			log.Fatal(err)
		}
		layer := filepath.Join(work, "layers", fmt.Sprint(i), prefix)
		res, err := link.Link(context.Background(), pkgDir, prefix, link.Options{Dest: layer, Metadata: md, ModTime: epoch})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("layer", i, "conda-meta/"+res.Record.MetaFileName(), res.Record.Files)
	}
	// The environment's history, in its own layer.
	historyLayer := filepath.Join(work, "layers", "history", prefix)
	if err := link.WriteHistory(historyLayer, link.History{Time: epoch, Command: "envkit build", Specs: []string{"clobber-2"}}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// warning: another-clobber.txt is written by [clobber-1-0.1.0-h4616a5c_0 clobber-2-0.1.0-h4616a5c_0]; clobber-2-0.1.0-h4616a5c_0 wins
	// warning: clobber.txt is written by [clobber-1-0.1.0-h4616a5c_0 clobber-2-0.1.0-h4616a5c_0]; clobber-2-0.1.0-h4616a5c_0 wins
	// layer 0 conda-meta/clobber-1-0.1.0-h4616a5c_0.json [another-clobber.txt clobber.txt]
	// layer 1 conda-meta/clobber-2-0.1.0-h4616a5c_0.json [another-clobber.txt clobber.txt]
}

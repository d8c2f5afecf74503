package wheel_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/envkit/envkit/pypi/wheel"
)

// A build installs each wheel into its own layer directory, with the
// environment's path in the image baked into its scripts.
func Example() {
	shared := os.Getenv("ENVKIT_SHARED")
	if shared == "" {
		shared = "../../../shared"
	}
	const prefix = "/azureml-envs/envkit" // where the environment is in the image
	layer, err := os.MkdirTemp("", "layer")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(layer)

	res, err := wheel.Install(context.Background(), filepath.Join(shared, "testdata/pypi/wheels/wheel-0.38.4-py3-none-any.whl"), wheel.Options{
		Prefix:    prefix,
		Dest:      layer,
		Python:    wheel.Python{Version: "3.12"}, // lib/python3.12/site-packages, bin/python3.12
		Requested: true,
		ModTime:   time.Unix(1700000000, 0), // SOURCE_DATE_EPOCH
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Name, res.Version, len(res.Files), "files")
	fmt.Println(res.DistInfo)
	for _, s := range res.Scripts {
		fmt.Println(s.Kind, s.Path)
	}
	script, err := os.ReadFile(filepath.Join(layer, prefix, "bin/wheel"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s", script[:len("#!"+prefix+"/bin/python3.12\n")])
	// Output:
	// wheel 0.38.4 26 files
	// lib/python3.12/site-packages/wheel-0.38.4.dist-info
	// console bin/wheel
	// #!/azureml-envs/envkit/bin/python3.12
}

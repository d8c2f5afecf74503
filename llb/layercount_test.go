package llb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// layeredRegistry answers image config resolution with base images of a
// given number of layers and history entries: "layered/<layers>x<history>"
// has <layers> diff_ids and <history> history entries, every other one
// (from the second) empty.
type layeredRegistry struct{}

func (layeredRegistry) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	var layers, history int
	if _, err := fmt.Sscanf(ref[strings.Index(ref, "layered/")+len("layered/"):], "%dx%d", &layers, &history); err != nil {
		return "", "", nil, fmt.Errorf("%s: not found", ref)
	}
	img := dockerspec.DockerOCIImage{}
	img.OS, img.Architecture = "linux", "amd64"
	img.RootFS.Type = "layers"
	for i := range layers {
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, digest.FromString(fmt.Sprint(i)))
	}
	for i := range history {
		img.History = append(img.History, ocispecs.History{CreatedBy: fmt.Sprint(i), EmptyLayer: i%2 == 1})
	}
	cfg, err := json.Marshal(img)
	return ref, digest.FromBytes(cfg), cfg, err
}

// dockerLayersOf converts a Dockerfile as Convert does and counts its layers.
func dockerLayersOf(t *testing.T, df string) int {
	t.Helper()
	res, err := dockerfile2llb.Dockerfile2LLB(context.Background(), []byte(df), dockerfile2llb.ConvertOpt{
		TargetPlatform: &ocispecs.Platform{OS: "linux", Architecture: "amd64"},
		MetaResolver:   layeredRegistry{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dockerLayers(res.Image, res.BaseImage)
}

// The Docker part's layers are the base image's (its diff_ids, whatever
// its history says) and one per step that makes a layer.
func TestDockerLayers(t *testing.T) {
	for _, c := range []struct {
		df   string
		want int
	}{
		{"FROM layered/7x7\n", 7},               // 4 history layers, 7 diff_ids
		{"FROM layered/3x10\n", 5},              // a history of more layers than diff_ids: the more
		{"FROM layered/0x0\n", 0},               // no layers: scratch
		{"FROM scratch\nRUN a\n", 1},            //
		{"FROM layered/7x0\nENV A=1\n", 7},      // no history at all
		{"FROM layered/7x0\nRUN a\nRUN b\n", 9}, //
		{"FROM layered/7x7\nENV A=1\nLABEL b=c\nRUN a\nWORKDIR /x\nUSER 1\nCOPY --from=layered/1x1 /a /b\nADD --chmod=644 https://example.com/a /a\n", 7 + 4},
		// The final stage counts, on top of the stages it is built on.
		{"FROM layered/2x2 AS build\nRUN make\nFROM build AS test\nRUN a\nFROM layered/7x7\nRUN b\n", 7 + 1},
		{"FROM layered/2x2 AS base\nRUN a\nFROM base\nRUN b\nRUN c\n", 2 + 3},
	} {
		if got := dockerLayersOf(t, c.df); got != c.want {
			t.Errorf("%q: %d layers, want %d", c.df, got, c.want)
		}
	}
}

func TestPackageLayers(t *testing.T) {
	if n, err := packageLayers(100, 12, 1, false, "ubuntu"); n != 87 || err != nil {
		t.Errorf("100 - 12 - metadata = %d, %v", n, err)
	}
	if n, err := packageLayers(100, 98, 1, false, "ubuntu"); n != 1 || err != nil {
		t.Errorf("100 - 98 - metadata = %d, %v", n, err)
	}
	_, err := packageLayers(100, 99, 1, false, "registry.example/deep:1")
	var le *LayerLimitError
	if !errors.As(err, &le) || le.Need() != 101 {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"registry.example/deep:1", "99 layers", "limit of 100", "at least 101"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	// Conda packages and wheels need two layers.
	_, err = packageLayers(100, 98, 2, false, "ubuntu")
	if !errors.As(err, &le) || le.Need() != 101 || !strings.Contains(err.Error(), "fewer than the 2 its conda packages and wheels need") {
		t.Errorf("wheels: %v", err)
	}
	// A bytecode layer takes one more.
	if n, err := packageLayers(100, 12, 1, true, "ubuntu"); n != 86 || err != nil {
		t.Errorf("100 - 12 - metadata - bytecode = %d, %v", n, err)
	}
	_, err = packageLayers(100, 98, 1, true, "ubuntu")
	if !errors.As(err, &le) || le.Need() != 101 || !strings.Contains(err.Error(), "metadata layer and its bytecode layer") {
		t.Errorf("bytecode: %v", err)
	}
}

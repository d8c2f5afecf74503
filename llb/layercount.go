package llb

import (
	"fmt"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultMaxLayers is the most layers an envkit image has unless the build
// says otherwise: under Docker's overlay2 limit of 125 (moby's
// maxLayerDepth) and containerd's of about 127, with room for a few layers
// built on top of the image.
const DefaultMaxLayers = 100

// fixedLayers are the layers envkit adds to a conda environment besides its
// packages: the metadata layer (conda-meta history, state, lock).
const fixedLayers = 1

// dockerLayers counts the layers of the Docker part of an image: the base
// image's (its config's rootfs diff_ids, or its history's layers when they
// are more) and those the Docker steps add (what the Dockerfile conversion
// recorded as making a layer: RUN, COPY, ADD, WORKDIR creating a directory).
// img is the conversion's image, base its base image's config (nil for
// scratch and named contexts). The count is an upper bound: BuildKit's exporter drops a step's
// layer when the step changed nothing, never adds one.
func dockerLayers(img, base *dockerspec.DockerOCIImage) int {
	n := layersInHistory(img.History)
	if base == nil {
		// A named context's image: the conversion keeps its rootfs.
		return max(n, len(img.RootFS.DiffIDs))
	}
	b := layersInHistory(base.History)
	return n + max(len(base.RootFS.DiffIDs), b) - b
}

func layersInHistory(h []ocispecs.History) int {
	n := 0
	for _, e := range h {
		if !e.EmptyLayer {
			n++
		}
	}
	return n
}

// packageLayers is how many layers a conda environment's packages may take
// in an image of at most maxLayers whose Docker part (on base) has docker
// layers; they need at least least layers (1, or 2 with wheels after conda
// packages, which no layer holds together).
// A bytecode layer (bytecode) takes one more.
func packageLayers(maxLayers, docker, least int, bytecode bool, base string) (int, error) {
	least = max(least, 1)
	n := maxLayers - docker - fixedLayers
	if bytecode {
		n--
	}
	if n < least {
		return 0, &LayerLimitError{Base: base, Layers: docker, Max: maxLayers, Least: least, Bytecode: bytecode}
	}
	return n, nil
}

// LayerLimitError is a base image (with its Docker steps) that leaves too
// few layers for a conda environment's packages under the image's layer
// limit.
type LayerLimitError struct {
	// Base names the base image ("" when unknown).
	Base string
	// Layers counts the base image's layers and the Docker steps'.
	Layers int
	// Max is the image's layer limit.
	Max int
	// Least is the fewest layers the packages need: 1, or 2 for conda
	// packages and wheels (0 means 1).
	Least int
	// Bytecode is true when the image has a bytecode layer too.
	Bytecode bool
}

// Need is the smallest limit the image fits in.
func (e *LayerLimitError) Need() int {
	n := e.Layers + fixedLayers + max(e.Least, 1)
	if e.Bytecode {
		n++
	}
	return n
}

func (e *LayerLimitError) Error() string {
	base := "the base image"
	if e.Base != "" {
		base += " " + e.Base
	}
	fixed := "the conda environment's metadata layer"
	if e.Bytecode {
		fixed += " and its bytecode layer"
	}
	what := "none for its packages"
	if e.Least > 1 {
		what = fmt.Sprintf("fewer than the %d its conda packages and wheels need", e.Least)
	}
	return fmt.Sprintf("%s and its Docker steps have %d layers: with %s that leaves %s under the image's limit of %d layers (the image needs a limit of at least %d)",
		base, e.Layers, fixed, what, e.Max, e.Need())
}

package lock

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/envkit/envkit/internal/diag"
	"gopkg.in/yaml.v3"
)

// Read reads a lock file in any supported format, told apart by content:
// a file with an @EXPLICIT line is explicit (CEP 23); a YAML document with
// "environments" is a pixi.lock, of which the "default" environment is
// taken; one with "lockVersion" is a mambajs lock; anything else is read
// as conda-lock v1.
func Read(file string, data []byte) (*Lock, error) {
	if isExplicit(data) {
		return ReadExplicit(file, data)
	}
	root, err := parseYAML(file, data)
	if err != nil {
		return nil, err
	}
	switch {
	case hasKey(root, "environments"):
		envs, err := readPixi(file, root)
		if err != nil {
			return nil, err
		}
		if l := envs["default"]; l != nil {
			return l, nil
		}
		names := slices.Sorted(maps.Keys(envs))
		return nil, diag.List{{File: file, Field: "environments", Msg: "no default environment",
			Hint: fmt.Sprintf("read it with ReadPixi to choose one of %s", strings.Join(names, ", "))}}
	case hasKey(root, "lockVersion"):
		return readMambaJS(file, root)
	}
	return readCondaLock(file, root)
}

// isExplicit reports whether data has a line that is just @EXPLICIT.
func isExplicit(data []byte) bool {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if string(bytes.TrimSpace(line)) == explicitMarker {
			return true
		}
	}
	return false
}

func hasKey(n *yaml.Node, key string) bool {
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

package workspace

import (
	"fmt"
	"regexp"
	"strings"
)

// Ref names registered or curated environments: NAME:VERSION, NAME@latest,
// either with the azureml: prefix Azure ML's CLI writes, or a hash
// (envkit_<32 hex>), which names every registered version with that hash.
type Ref struct {
	Name    string
	Version string // "" with Latest or Hash
	Latest  bool   // NAME@latest: the newest version that is not archived
	Hash    string // envkit_<32 hex>; Name and Version are then ""
}

var hashRE = regexp.MustCompile(`^envkit_[0-9a-f]{32}$`)

// nameRE is Azure ML's rule for environment names (as spec's).
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// IsHash reports whether s is an environment hash in its printed form.
func IsHash(s string) bool { return hashRE.MatchString(s) }

// ParseRef parses a reference as the CLI takes it. A version may contain
// ':' (Azure ML's do): NAME is everything before the first ':'.
func ParseRef(s string) (Ref, error) {
	in := s
	if IsHash(s) {
		return Ref{Hash: s}, nil
	}
	if strings.HasPrefix(s, "envkit_") && !strings.ContainsAny(s, ":@") {
		return Ref{}, fmt.Errorf("%q: a hash is envkit_ and 32 lowercase hex digits (as envkit hash prints it)", in)
	}
	s = strings.TrimPrefix(s, "azureml:")
	if name, label, ok := strings.Cut(s, "@"); ok && !strings.Contains(name, ":") {
		if label != "latest" {
			return Ref{}, fmt.Errorf("%q: unknown label @%s (the only label is @latest)", in, label)
		}
		if err := checkName(name); err != nil {
			return Ref{}, fmt.Errorf("%q: %w", in, err)
		}
		return Ref{Name: name, Latest: true}, nil
	}
	name, version, ok := strings.Cut(s, ":")
	if !ok {
		return Ref{}, fmt.Errorf("%q: want NAME:VERSION, NAME@latest, azureml:NAME:VERSION, azureml:NAME@latest or a hash envkit_<32 hex>", in)
	}
	if err := checkName(name); err != nil {
		return Ref{}, fmt.Errorf("%q: %w", in, err)
	}
	if err := checkVersion(version); err != nil {
		return Ref{}, fmt.Errorf("%q: %w", in, err)
	}
	return Ref{Name: name, Version: version}, nil
}

// String is the reference in the form ParseRef reads (without azureml:).
func (r Ref) String() string {
	switch {
	case r.Hash != "":
		return r.Hash
	case r.Latest:
		return r.Name + "@latest"
	}
	return r.Name + ":" + r.Version
}

// maxNameLength is the longest environment name Azure ML accepts (as spec).
const maxNameLength = 255

func checkName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("empty name")
	case len(name) > maxNameLength:
		return fmt.Errorf("name is %d characters long, more than %d", len(name), maxNameLength)
	case !nameRE.MatchString(name):
		return fmt.Errorf("name %q: a name has letters, digits, '-', '_' and '.', and starts with a letter or digit (as Azure ML's)", name)
	}
	return nil
}

func checkVersion(v string) error {
	switch {
	case strings.TrimSpace(v) == "":
		return fmt.Errorf("empty version")
	case v == "latest":
		return fmt.Errorf(`"latest" is not a version; write NAME@latest`)
	case strings.ContainsAny(v, "@/ \t\n"):
		return fmt.Errorf("version %q contains one of '@', '/' or white space", v)
	case len(v) > 128:
		return fmt.Errorf("version is %d characters long, more than 128", len(v))
	}
	return nil
}

// reservedPrefixes start the names of curated environments only (as spec).
var reservedPrefixes = []string{"AzureML-", "Microsoft"}

// IsReserved reports whether name starts with a prefix reserved for curated
// environments (case-insensitively, as Azure ML).
func IsReserved(name string) bool {
	for _, p := range reservedPrefixes {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			return true
		}
	}
	return false
}

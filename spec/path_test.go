package spec

import "testing"

// TestIsLocal covers what the three former copies handled: the frontend's
// escapes (context names, conda_file, lockfile), loadCondaFile's check
// (backslashes) and validate's build.path and build.dockerfile_path.
func TestIsLocal(t *testing.T) {
	for p, want := range map[string]bool{
		"":                  true,
		".":                 true,
		"conda.yml":         true,
		"./conda.yml":       true,
		"envs/conda.yml":    true,
		"a/../conda.yml":    true,
		"docker/Dockerfile": true,
		"a/b/../../c":       true,
		"..":                false,
		"../conda.yml":      false,
		"a/../../conda.yml": false,
		"/etc/passwd":       false,
		"/":                 false,
		`..\conda.yml`:      false,
		`a\..\..\conda.yml`: false,
		`\abs\conda.yml`:    false,
		`envs\conda.yml`:    true,
		"..conda.yml":       true, // a name starting with dots, not a parent
		"a/..b":             true,
	} {
		if got := IsLocal(p); got != want {
			t.Errorf("IsLocal(%q) = %v, want %v", p, got, want)
		}
	}
}

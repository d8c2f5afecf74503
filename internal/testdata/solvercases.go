package testdata

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// SolverCase is one case of conda/solver-cases.json: conda's shared solver
// tests, with the expected solution as name-version-build strings.
type SolverCase struct {
	Source   string   `json:"source"`
	Channel  string   `json:"channel"`
	Platform string   `json:"platform"`
	Specs    []string `json:"specs"`
	Expected []string `json:"expected"`
}

// ReadSolverCases reads a solver-cases.json file.
func ReadSolverCases(path string) ([]SolverCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cases []SolverCase
	if err := json.Unmarshal(data, &cases); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cases, nil
}

// SolverCases reads the shared solver cases, failing t if it cannot.
func SolverCases(t testing.TB) []SolverCase {
	t.Helper()
	cases, err := ReadSolverCases(Path(t, "conda", "solver-cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

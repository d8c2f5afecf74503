// Command benchpip serves scripts/bench-pip.sh: "benchpip write DIR" writes
// a generated index (pypitest.Generate) into DIR and its root requirements
// into DIR/requirements.txt; "benchpip packse DIR SCENARIO.toml..." writes
// the index of each satisfiable packse scenario into DIR/<name>, with its
// root requirements and options (--only-binary, --no-binary lines, as pip
// reads them) in requirements.txt; "benchpip resolve DIR" resolves a
// requirements.txt with envkit's resolver for CPython 3.12 on x86_64 Linux
// and prints the packages as name==version lines, sorted, as pip's report
// gives them.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/resolve"
	"github.com/envkit/envkit/pypi/tags"
	"github.com/envkit/envkit/pypi/version"
)

func main() {
	projects := flag.Int("projects", 200, "projects")
	versions := flag.Int("versions", 20, "versions per project")
	roots := flag.Int("roots", 10, "root requirements")
	seed := flag.Uint64("seed", 1, "seed")
	python := flag.String("python", "3.12.1", "target CPython")
	flag.Parse()
	if flag.NArg() < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchpip [flags] write|resolve DIR | packse DIR SCENARIO.toml...")
		os.Exit(2)
	}
	dir := flag.Arg(1)
	var err error
	switch flag.Arg(0) {
	case "write":
		g := pypitest.Generate(pypitest.GenOptions{Projects: *projects, Versions: *versions, Roots: *roots, Seed: *seed})
		if err = pypitest.WriteIndex(dir, g.Projects...); err == nil {
			err = os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(strings.Join(g.Requires, "\n")+"\n"), 0o644)
		}
	case "resolve":
		err = resolveDir(dir, *python)
	case "packse":
		err = writePackse(dir, flag.Args()[2:])
	default:
		err = fmt.Errorf("unknown command %q", flag.Arg(0))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchpip:", err)
		os.Exit(1)
	}
}

func writePackse(dir string, paths []string) error {
	for _, p := range paths {
		s, err := pypitest.ReadPackse(p)
		if err != nil {
			return err
		}
		if !s.Satisfiable || s.Universal || len(s.NoBinary) > 0 || needsBuild(s) {
			// pip's answer to an unsatisfiable one is an error, universal
			// ones are uv's, and pip builds an sdist even for --dry-run
			// (with a build backend the bench's python may not have).
			continue
		}
		d := filepath.Join(dir, s.Name)
		if err := s.WriteIndex(d); err != nil {
			return err
		}
		lines := append([]string(nil), s.Requires...)
		for _, n := range s.NoBuild {
			lines = append(lines, "--only-binary "+n)
		}
		for _, n := range s.NoBinary {
			lines = append(lines, "--no-binary "+n)
		}
		if err := os.WriteFile(filepath.Join(d, "requirements.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// needsBuild reports whether some version of the scenario has no
// py3-none-any wheel.
func needsBuild(s *pypitest.Scenario) bool {
	for _, p := range s.Projects {
		hasWheel := map[string]bool{}
		all := map[string]bool{}
		for _, f := range p.Files {
			var v string
			if f.Wheel != nil {
				v = f.Wheel.Version
				if f.Wheel.Tag == "" || f.Wheel.Tag == "py3-none-any" {
					hasWheel[v] = true
				}
			} else {
				v = f.Sdist.Version
			}
			all[v] = true
		}
		for v := range all {
			if !hasWheel[v] {
				return true
			}
		}
	}
	return false
}

func resolveDir(dir, python string) error {
	py, err := version.Parse(python)
	if err != nil {
		return err
	}
	rel := py.Release()
	if len(rel) < 2 {
		return fmt.Errorf("python %s: want major.minor.micro", python)
	}
	env, compat, err := resolve.Target(tags.Target{Python: [2]int{int(rel[0]), int(rel[1])}, OS: tags.Linux, Arch: "x86_64", Glibc: [2]int{2, 28}}, py)
	if err != nil {
		return err
	}
	req := resolve.Request{Python: py, Env: env, Tags: compat, Index: &index.Client{Indexes: []string{dir}}}
	f, err := os.Open(filepath.Join(dir, "requirements.txt"))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if opt, n, ok := strings.Cut(s, " "); ok && (opt == "--only-binary" || opt == "--no-binary") {
			sel := &req.OnlyBinary
			if opt == "--no-binary" {
				sel = &req.NoBinary
			}
			if sel.Names == nil {
				sel.Names = map[string]bool{}
			}
			sel.Names[name.Normalize(n)] = true
			continue
		}
		if s != "" {
			r, err := requirement.Parse(s)
			if err != nil {
				return fmt.Errorf("requirements.txt:%d: %w", line, err)
			}
			req.Requirements = append(req.Requirements, resolve.Requirement{Requirement: r, Origin: fmt.Sprintf("requirements.txt:%d", line)})
		}
	}
	res, err := resolve.Resolve(context.Background(), req)
	if err != nil {
		return err
	}
	for _, p := range res.Packages {
		fmt.Printf("%s==%s\n", name.Normalize(p.Name), p.Version)
	}
	return nil
}

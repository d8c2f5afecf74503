package spec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/diag"
)

// FuzzParse checks that an environment file never panics the parser, that
// every refusal is a positioned diag.List naming the file (at a line the
// file has) with a bounded message, and that what parses is consistent:
// the Docker steps keep one file line per text line, at lines the file has.
// The seed corpus (the examples, every shape of the format, and the hostile
// inputs of issue 8) runs in every go test.
func FuzzParse(f *testing.F) {
	examples, _ := filepath.Glob(filepath.Join("..", "examples", "*", "*.yml"))
	for _, p := range examples {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"name: e\nversion: 1\nimage: busybox\ndocker_steps: |\n  RUN echo a \\\n    b\n  ENV A=1\n",
		"name: e\nimage: busybox\ndocker_steps:\n  - RUN a\n  - |\n    RUN b\n    RUN c\n",
		"name: e\nbuild: {path: ctx, dockerfile_path: Dockerfile}\ninference_config:\n  liveness_route: {port: 5001, path: /l}\n  readiness_route: {port: 5001, path: /r}\n  scoring_route: {port: 5001, path: /s}\n",
		"channels: [conda-forge]\ndependencies:\n  - python=3.10\n  - pip:\n    - requests\n",
		`{"name": "e", "python": {"condaDependencies": {"dependencies": ["python"]}}, "docker": {"baseDockerfile": "FROM ubuntu\nRUN x\n"}}`,
		`{"name": "e", "docker": {"baseImage": "u", "baseImageRegistry": {"address": "r.io"}}}`,
		"name: a\nimage: x\nname: b\n", "a: 1\n---\nb: 2\n", "name: !!binary ZQ==\n", "version: true\nimage: x\n",
		"name: \"\\u0007\"\nimage: x\n", "a: &a [*a]\n", "a: &a {b: *a}\nimage: x\n", "image: x\nconda_file: {dependencies: [\"numpy>=\"]}\n",
		"image: x\ndocker_steps: FROM y\n", "[", "", "- a\n", "? [a]\n: b\n", "image: x\n<<: {name: a}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Lines as YAML breaks them: \n, \r\n, a lone \r.
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 1
		env, err := Parse("env.yml", data)
		if err != nil {
			var l diag.List
			if !errors.As(err, &l) || len(l) == 0 {
				t.Fatalf("not a diag.List: %T %v", err, err)
			}
			for _, e := range l {
				if e.File != "env.yml" || e.Line < 0 || e.Line > lines || e.Column < 0 {
					t.Fatalf("bad position %q:%d:%d in %v", e.File, e.Line, e.Column, e)
				}
			}
			if n := strings.Count(err.Error(), "\n"); n > diag.MaxShown {
				t.Fatalf("%d lines of errors", n+1)
			}
			return
		}
		if env == nil {
			t.Fatal("nil environment without an error")
		}
		if ds := env.DockerSteps; ds != nil {
			if n := strings.Count(ds.Text, "\n"); n != len(ds.Lines) {
				t.Fatalf("%d step lines, %d positions", n, len(ds.Lines))
			}
			for _, l := range ds.Lines {
				if l < 1 || l > lines {
					t.Fatalf("step at line %d of %d", l, lines)
				}
			}
		}
		if again, err := Parse("env.yml", data); err != nil || again.Kind() != env.Kind() || again.Image != env.Image {
			t.Fatalf("parsing again differs: %v", err)
		}
	})
}

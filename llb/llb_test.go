package llb

import (
	"strings"
	"testing"

	"github.com/envkit/envkit/spec"
)

func load(t *testing.T, y string) *spec.Environment {
	t.Helper()
	env, err := spec.Parse("env.yml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// The generated Dockerfile keeps every instruction on its line of the
// environment file, so BuildKit's source map of the YAML marks the right
// line for a failing step.
func TestDockerfileAligned(t *testing.T) {
	y := "name: a\nimage: busybox\ndocker_steps: |\n  RUN echo one\n  RUN echo two \\\n    three\n  ENV X=1\n"
	env := load(t, y)
	df, aligned := Dockerfile(env)
	if !aligned {
		t.Fatal("not aligned")
	}
	dl := strings.Split(string(df), "\n")
	yl := strings.Split(y, "\n")
	want := map[int]string{2: "FROM busybox", 4: "RUN echo one", 5: "RUN echo two \\", 6: "three", 7: "ENV X=1"}
	for line, text := range want {
		if strings.TrimSpace(dl[line-1]) != text {
			t.Errorf("Dockerfile line %d = %q, want %q", line, dl[line-1], text)
		}
		if line != 2 && !strings.Contains(yl[line-1], strings.TrimSpace(dl[line-1])) {
			t.Errorf("YAML line %d %q does not hold %q", line, yl[line-1], dl[line-1])
		}
	}
}

func TestDockerfileListAndFallback(t *testing.T) {
	env := load(t, "name: a\nimage: busybox\ndocker_steps:\n  - RUN a\n  - RUN b\n")
	df, aligned := Dockerfile(env)
	if !aligned || strings.Split(string(df), "\n")[4] != "RUN b" {
		t.Errorf("list form: aligned=%v\n%s", aligned, df)
	}
	// Steps written before image: cannot be aligned: a plain Dockerfile.
	env = load(t, "name: a\ndocker_steps: |\n  RUN a\nimage: busybox\n")
	df, aligned = Dockerfile(env)
	if aligned || string(df) != "FROM busybox\nRUN a\n" {
		t.Errorf("fallback: aligned=%v %q", aligned, df)
	}
	// Image only.
	env = load(t, "name: a\nimage: busybox:1.36\n")
	df, _ = Dockerfile(env)
	if strings.TrimSpace(string(df)) != "FROM busybox:1.36" {
		t.Errorf("image only: %q", df)
	}
}

func TestFinalStageBase(t *testing.T) {
	for df, want := range map[string]string{
		"FROM alpine AS a\nFROM ubuntu:22.04\n":                       "ubuntu:22.04",
		"FROM python:3.10 AS base\nFROM base AS final\n":              "python:3.10",
		"ARG B=x\nFROM $B\n":                                          "",
		"FROM scratch\n":                                              "",
		"FROM golang AS build\nFROM busybox\nCOPY --from=build / /\n": "busybox",
	} {
		if got := finalStageBase([]byte(df)); got != want {
			t.Errorf("%q: got %q want %q", df, got, want)
		}
	}
}

package spec

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/distribution/reference"
	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/internal/diag"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// maxNameLength is the longest environment name Azure ML accepts.
const maxNameLength = 255

// nameRE is Azure ML's rule for environment names.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// clipName cuts a value quoted in a message to 100 bytes.
func clipName(s string) string {
	if len(s) <= 100 {
		return s
	}
	n := 100
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// validate checks the rules that span fields. It runs after parsing.
func (env *Environment) validate() diag.List {
	var errs diag.List
	if env.Format == FormatAzureMLV1 && env.DockerSteps != nil && env.Image == "" {
		errs = append(errs, env.splitBaseDockerfile()...)
	}
	if env.Format == FormatAzureML {
		switch {
		case env.Image != "" && env.Build != nil:
			errs = append(errs, env.errAt("build", "image and build are both given",
				"an environment is made from either a base image (image:) or a Docker build context (build:), not both"))
		case env.Image == "" && env.Build == nil:
			e := env.errAt("image", "neither image nor build is given",
				"add image: <base image reference> or build: {path: <Docker build context>}")
			e.Field = "image"
			errs = append(errs, e)
		}
		if env.Build != nil && (env.CondaFile != "" || env.Conda != nil) {
			errs = append(errs, env.errAt("conda_file", "conda_file cannot be used with build",
				"a build-context environment is used as is: install the conda packages in its Dockerfile, or use image: with conda_file:"))
		}
		if env.Build != nil && env.DockerSteps != nil {
			errs = append(errs, env.errAt("docker_steps", "docker_steps cannot be used with build",
				"add the instructions to the Dockerfile of the build context"))
		}
	}
	// An environment without a name is anonymous: it is kept by its hash.
	if _, named := env.pos["name"]; named || env.Name != "" {
		errs = append(errs, env.validateName()...)
	}
	if _, ok := env.pos["version"]; ok && env.Format == FormatAzureML {
		switch strings.TrimSpace(env.Version) {
		case "":
			errs = append(errs, env.errAt("version", "empty version", "give a version such as 1, or remove the key"))
		case "latest":
			errs = append(errs, env.errAt("version", `"latest" is not a version`, "@latest is a label that always names the newest version; give a version such as 1"))
		}
	}
	if !strings.EqualFold(env.OSType, "linux") {
		errs = append(errs, env.errAt("os_type", fmt.Sprintf("os_type %q is not supported", env.OSType), "envkit builds Linux images: use os_type: linux"))
	} else {
		env.OSType = "linux"
	}
	if env.Image != "" {
		if _, err := reference.ParseNormalizedNamed(env.Image); err != nil {
			errs = append(errs, env.errAt("image", fmt.Sprintf("invalid image reference %q: %v", env.Image, err),
				"write it as [registry/]repository[:tag][@sha256:digest], e.g. mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"))
		}
	}
	if env.Build != nil && !env.Build.IsRemote() {
		for _, f := range []struct{ field, p string }{{"build.path", env.Build.Path}, {"build.dockerfile_path", env.Build.Dockerfile}} {
			if !IsLocal(f.p) {
				errs = append(errs, env.errAt(f.field, fmt.Sprintf("%q is outside the build context", f.p), "give a relative path inside the directory"))
			}
		}
	}
	for _, kv := range env.EnvironmentVariables {
		if !envNameRE.MatchString(kv.Key) {
			errs = append(errs, &diag.Error{File: env.File, Line: kv.Line, Column: kv.Column, Field: "environment_variables." + kv.Key,
				Msg: fmt.Sprintf("invalid environment variable name %q", kv.Key), Hint: "use letters, digits and _, not starting with a digit"})
		}
	}
	if env.DockerSteps != nil {
		errs = append(errs, env.validateDockerSteps()...)
	}
	if env.Conda != nil {
		errs = append(errs, validateSpecs(env.Conda)...)
	}
	return errs
}

// validateSpecs parses each conda dependency as a solve does (leniently, as
// conda reads environment.yml), so that a spec that cannot be solved is
// refused by validate and hash too, at its line.
func validateSpecs(ef *envfile.EnvFile) diag.List {
	var errs diag.List
	for _, it := range ef.Dependencies {
		if _, err := matchspec.ParseLenient(it.Value); err != nil {
			errs = append(errs, &diag.Error{File: ef.File, Line: it.Line, Column: it.Column, Field: "dependencies",
				Msg: err.Error(), Hint: "write a conda match spec such as numpy, numpy>=1.24 or numpy=1.24.*"})
		}
	}
	return errs
}

func (env *Environment) validateName() diag.List {
	name := env.Name
	switch {
	case strings.TrimSpace(name) == "":
		e := env.errAt("name", "empty name", "give the environment a name, e.g. name: my-env")
		return diag.List{e}
	case len(name) > maxNameLength:
		return diag.List{env.errAt("name", fmt.Sprintf("name is %d characters long, more than %d", len(name), maxNameLength), "choose a shorter name")}
	case !nameRE.MatchString(name):
		return diag.List{env.errAt("name", fmt.Sprintf("invalid name %s", strconv.QuoteToASCII(clipName(name))),
			"a name has letters, digits, '-', '_' and '.', and starts with a letter or digit")}
	case isReserved(name):
		return diag.List{env.errAt("name", fmt.Sprintf("name %q starts with a prefix reserved for curated environments (%s)", name, strings.Join(reservedPrefixes, ", ")),
			"to change a curated environment, create a copy with a new name")}
	}
	return nil
}

// ParseDockerSteps parses the Docker steps with BuildKit's own Dockerfile
// parser. Errors name the definition file's lines.
func (env *Environment) validateDockerSteps() diag.List {
	ds := env.DockerSteps
	ast, err := parser.Parse(strings.NewReader(ds.Text))
	if err != nil {
		return diag.List{env.stepErr(err, locationLine(err))}
	}
	var errs diag.List
	for _, n := range ast.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			errs = append(errs, env.stepErr(fmt.Errorf("FROM is not allowed in docker_steps"), n.StartLine,
				"docker_steps run on top of image:; for a multi-stage Dockerfile use build: with a Docker build context"))
			continue
		}
		if _, err := instructions.ParseInstruction(n); err != nil {
			errs = append(errs, env.stepErr(err, n.StartLine))
		}
	}
	return errs
}

// StepLine maps a line of DockerSteps.Text (1-based) to the definition
// file's line.
func (ds *DockerSteps) StepLine(line int) int {
	if line >= 1 && line <= len(ds.Lines) {
		return ds.Lines[line-1]
	}
	if len(ds.Lines) > 0 {
		return ds.Lines[0]
	}
	return 0
}

func (env *Environment) stepErr(err error, line int, hint ...string) *diag.Error {
	e := env.errAt("docker_steps", err.Error(), strings.Join(hint, ""))
	if l := env.DockerSteps.StepLine(line); l > 0 {
		e.Line, e.Column = l, 0
	}
	return e
}

func locationLine(err error) int {
	var le *parser.LocationError
	if ok := asLocationError(err, &le); ok && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return le.Locations[0][0].Start.Line
	}
	return 0
}

// splitBaseDockerfile turns an SDK v1 baseDockerfile (a whole one-stage
// Dockerfile) into a base image and Docker steps.
func (env *Environment) splitBaseDockerfile() diag.List {
	ds := env.DockerSteps
	ast, err := parser.Parse(strings.NewReader(ds.Text))
	if err != nil {
		return diag.List{env.stepErr(err, locationLine(err))}
	}
	var from *parser.Node
	var rest []string
	lines := strings.Split(ds.Text, "\n")
	var restLines []int
	for _, n := range ast.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			if from != nil {
				return diag.List{env.stepErr(fmt.Errorf("baseDockerfile has several stages"), n.StartLine,
					"use a v2 environment with build: for a multi-stage Dockerfile")}
			}
			from = n
			continue
		}
		for l := n.StartLine; l <= n.EndLine && l <= len(lines); l++ {
			rest = append(rest, lines[l-1])
			restLines = append(restLines, ds.StepLine(l))
		}
	}
	if from == nil || from.Next == nil {
		return diag.List{env.errAt("docker_steps", "baseDockerfile has no FROM", "start it with FROM <base image>")}
	}
	env.Image = from.Next.Value
	if len(rest) == 0 {
		env.DockerSteps = nil
		return nil
	}
	env.DockerSteps = &DockerSteps{Text: strings.Join(rest, "\n") + "\n", Lines: restLines}
	return nil
}

func asLocationError(err error, target **parser.LocationError) bool {
	return errors.As(err, target)
}

// Package spec is the environment definition: what an Azure ML environment
// file (CLI v2 YAML), a plain conda environment.yml or an SDK v1
// azureml_environment.json says, checked, with every field's position kept
// for error messages.
package spec

import (
	"strings"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/yamlx"
	"github.com/envkit/envkit/pypi/reqfile"
)

// Format is the kind of file an Environment was read from.
type Format string

const (
	FormatAzureML   Format = "azureml"    // Azure ML CLI v2 environment YAML
	FormatConda     Format = "conda"      // a plain conda environment.yml (CEP 24)
	FormatAzureMLV1 Format = "azureml-v1" // SDK v1 azureml_environment.json
)

// Kind is how an environment's image is made, as in Azure ML.
type Kind string

const (
	// Curated environments are shipped with envkit; their names start with
	// a reserved prefix.
	Curated Kind = "curated"
	// UserManaged environments are an image or a Docker build context used
	// as is: the user manages the Python packages.
	UserManaged Kind = "user-managed"
	// SystemManaged environments have a conda environment that envkit
	// materializes on a base image.
	SystemManaged Kind = "system-managed"
)

// defaultBaseImage is the base image of an environment that names none (a
// plain conda environment.yml, an SDK v1 file without docker.baseImage):
// Azure ML's default CPU training image.
const defaultBaseImage = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"

// reservedPrefixes start the names of curated environments only.
var reservedPrefixes = []string{"AzureML-", "Microsoft"}

// Environment is one environment definition.
type Environment struct {
	File   string // the definition's path as given
	Format Format

	Schema      string
	Name        string
	Version     string
	Description string
	Tags        []yamlx.KV
	Properties  []yamlx.KV

	// Image is the base image reference; empty for a build-context
	// environment.
	Image string
	// DockerSteps are Dockerfile instructions applied on top of Image.
	DockerSteps *DockerSteps
	// Build is a Docker build context; nil unless the file has build:.
	Build *Build
	// CondaFile is the conda_file path as written, relative to the
	// definition's directory; empty when the conda environment is inline
	// or absent.
	CondaFile string
	// Conda is the conda environment; nil when there is none.
	Conda *envfile.EnvFile
	// Pip is the conda environment's pip: lines as pip reads them, the
	// requirements of their -r and -c files included; nil without pip
	// lines, and when the environment was parsed without its directory
	// (Parse rather than Load).
	Pip *reqfile.File
	// PipFiles are the files of the environment's directory that the pip
	// lines name (-r and -c files, wheels), in the order read; Load reads
	// them.
	PipFiles []PipFile

	OSType               string // "linux"
	InferenceConfig      *InferenceConfig
	EnvironmentVariables []yamlx.KV

	// Warnings are problems that do not stop a build.
	Warnings diag.List

	pos map[string]diag.Error // field -> where it is written
}

// DockerSteps are Dockerfile instructions with the file lines they came from.
type DockerSteps struct {
	Text  string // the instructions, one per line as a Dockerfile
	Lines []int  // Lines[i] is the definition-file line of Text's line i+1
}

// Build is a Docker build context.
type Build struct {
	Path       string // directory of the context, relative to the definition, or a URL
	Dockerfile string // path of the Dockerfile inside Path; default "Dockerfile"
}

// IsRemote reports whether the context is a URL rather than a directory.
func (b *Build) IsRemote() bool {
	return strings.Contains(b.Path, "://")
}

// Route is one inference server route.
type Route struct {
	Port int
	Path string
}

// InferenceConfig holds the routes of an inference server image.
type InferenceConfig struct {
	Liveness  Route
	Readiness Route
	Scoring   Route
}

// Kind says how the environment's image is made.
func (env *Environment) Kind() Kind {
	if isReserved(env.Name) {
		return Curated
	}
	if env.Conda != nil {
		return SystemManaged
	}
	return UserManaged
}

// isReserved reports whether name starts with a prefix reserved for curated
// environments.
func isReserved(name string) bool {
	for _, p := range reservedPrefixes {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			return true
		}
	}
	return false
}

// Pos returns where field is written in the definition (File, Line, Column
// set), or just the file when the field is not written there.
func (env *Environment) Pos(field string) diag.Error {
	if p, ok := env.pos[field]; ok {
		return p
	}
	return diag.Error{File: env.File}
}

// errAt builds an error at the position of field.
func (env *Environment) errAt(field, msg, hint string) *diag.Error {
	p := env.Pos(field)
	p.Field, p.Msg, p.Hint = field, msg, hint
	return &p
}

func (env *Environment) setPos(field string, line, col int) {
	if env.pos == nil {
		env.pos = map[string]diag.Error{}
	}
	env.pos[field] = diag.Error{File: env.File, Line: line, Column: col}
}

// Env returns the environment variables baked into the image config, in a
// stable order: the conda file's variables, then environment_variables
// (which win on a clash).
func (env *Environment) Env() []yamlx.KV {
	var out []yamlx.KV
	idx := map[string]int{}
	add := func(kvs []yamlx.KV) {
		for _, kv := range kvs {
			if i, ok := idx[kv.Key]; ok {
				out[i] = kv
				continue
			}
			idx[kv.Key] = len(out)
			out = append(out, kv)
		}
	}
	if env.Conda != nil {
		add(env.Conda.Variables)
	}
	add(env.EnvironmentVariables)
	return out
}

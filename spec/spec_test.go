package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/testdata"
)

// Every Azure ML environment file in the shared fixtures parses; the one
// negative case fails naming the unknown field and its line.
func TestAzureMLFixturesParse(t *testing.T) {
	root := testdata.Path(t, "azureml")
	var n int
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !isEnvironmentFile(p) {
			return nil
		}
		n++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		env, perr := Parse(rel, data)
		if filepath.Base(p) == "environment_conda_bad.yml" {
			var de *diag.Error
			if !errors.As(perr, &de) {
				t.Fatalf("%s: want a positioned error, got %v", rel, perr)
			}
			if de.Field != "path" || de.Line != 8 || !strings.Contains(de.Msg, "unknown key") {
				t.Errorf("%s: got %q (field %q line %d), want unknown key path at line 8", rel, perr, de.Field, de.Line)
			}
			return nil
		}
		if strings.Contains(string(data), `name: "{{asset.name}}"`) {
			// An azureml-assets template: its placeholders are rendered
			// before Azure ML reads it, and a placeholder is not a name.
			if perr == nil || !strings.Contains(perr.Error(), `name: invalid name "{{asset.name}}"`) {
				t.Errorf("%s: template: got %v, want the invalid name refused", rel, perr)
			}
			return nil
		}
		if perr != nil {
			t.Errorf("%s: %v", rel, perr)
			return nil
		}
		if env.OSType != "linux" {
			t.Errorf("%s: os_type %q", rel, env.OSType)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Fatalf("only %d environment files found under %s", n, root)
	}
}

// isEnvironmentFile picks the environment definitions among the fixtures
// (not the conda files they refer to, nor Dockerfiles or asset metadata).
func isEnvironmentFile(p string) bool {
	switch {
	case strings.Contains(p, "conda-yamls"), strings.Contains(p, "docker-contexts"), strings.Contains(p, "/context/"):
		return false
	case filepath.Base(p) == "asset.yaml", filepath.Base(p) == "environment.yaml" && strings.Contains(p, "curated"):
		return false // azureml-assets build metadata, not an environment
	}
	ext := filepath.Ext(p)
	return ext == ".yml" || ext == ".yaml" || ext == ".json"
}

func TestFixtureDetails(t *testing.T) {
	load := func(rel ...string) *Environment {
		t.Helper()
		p := testdata.Path(t, append([]string{"azureml"}, rel...)...)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		env, err := Load(p, data, os.DirFS(filepath.Dir(p)))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return env
	}
	env := load("azureml-examples-cli", "docker-image-plus-conda.yaml")
	if env.Kind() != SystemManaged || env.Conda == nil || env.CondaFile != "conda-yamls/pydata.yml" {
		t.Fatalf("image+conda: kind %s conda %v", env.Kind(), env.Conda)
	}
	if got := env.Conda.Dependencies[0].Value; got != "python=3.8" {
		t.Errorf("first dependency %q", got)
	}
	if len(env.Conda.Pip) != 16 || env.Conda.Pip[0].Value != "numpy==1.22" {
		t.Errorf("pip: %v", env.Conda.Pip)
	}
	env = load("azureml-examples-cli", "docker-context.yml")
	if env.Kind() != UserManaged || env.Build == nil || env.Build.Dockerfile != "Dockerfile" || env.Build.Path != "docker-contexts/python-and-pip" {
		t.Fatalf("docker context: %+v", env.Build)
	}
	env = load("azure-ai-ml-tests", "environment_colon_version.yml")
	if env.Version != "18.04:2022" {
		t.Errorf("version %q", env.Version)
	}
	p := testdata.Path(t, "azureml", "azure-ai-ml-tests", "environment_docker_inference.yml")
	data, _ := os.ReadFile(p)
	env, err := Parse(p, data)
	if err != nil {
		t.Fatal(err)
	}
	if ic := env.InferenceConfig; ic == nil || ic.Scoring != (Route{5001, "/predict"}) || ic.Readiness.Port != 5003 {
		t.Errorf("inference config %+v", env.InferenceConfig)
	}
	env = load("azureml-sdkv1", "azureml_environment.json")
	if env.Format != FormatAzureMLV1 || env.Image != "mcr.microsoft.com/azureml/base:intelmpi2018.3-ubuntu16.04" || env.Name != "testenv" {
		t.Errorf("v1: %+v", env)
	}
	if kv := env.EnvironmentVariables; len(kv) != 1 || kv[0].Key != "EXAMPLE_ENV_VAR" || kv[0].Value != "EXAMPLE_VALUE" {
		t.Errorf("v1 env vars %v", kv)
	}
	env = load("azure-ai-ml-tests", "environment_conda_inline.yml")
	if env.Conda == nil || len(env.Conda.Pip) != 5 || env.Conda.Channels[0].Value != "conda-forge" {
		t.Errorf("inline conda: %+v", env.Conda)
	}
}

// A referenced conda file that the fixtures do not ship is reported at the
// conda_file line.
func TestMissingCondaFile(t *testing.T) {
	p := testdata.Path(t, "azureml", "azure-ai-ml-tests", "environment_docker_inference.yml")
	data, _ := os.ReadFile(p)
	_, err := Load("env.yml", data, os.DirFS(filepath.Dir(p)))
	de := firstErr(t, err)
	if de.Field != "conda_file" || de.Line != 5 || !strings.Contains(de.Msg, "environment_files/environment.yml") {
		t.Errorf("got %v", err)
	}
}

func firstErr(t *testing.T, err error) *diag.Error {
	t.Helper()
	var de *diag.Error
	if !errors.As(err, &de) {
		t.Fatalf("want a diag error, got %v", err)
	}
	return de
}

func TestValidationErrors(t *testing.T) {
	condaYAML := "channels: [conda-forge]\ndependencies: [python=3.10]\n"
	azureYAML := "name: x\nimage: ubuntu\n"
	dir := fstest.MapFS{
		"conda.yml":     {Data: []byte(condaYAML)},
		"sub/conda.yml": {Data: []byte(condaYAML)},
		"azure.yml":     {Data: []byte(azureYAML)},
	}
	cases := []struct {
		name, yaml string
		field      string
		line       int
		msg        string // in Msg or Hint
	}{
		{"both image and build", "name: a\nimage: ubuntu\nbuild:\n  path: ctx\n", "build", 3, "not both"},
		{"neither", "name: a\ndescription: x\n", "image", 0, "neither image nor build"},
		{"conda with build", "name: a\nbuild:\n  path: ctx\nconda_file: conda.yml\n", "conda_file", 4, "cannot be used with build"},
		{"unknown key", "name: a\nimage: ubuntu\nimgae_tag: x\n", "imgae_tag", 3, "unknown key"},
		{"unknown key suggestion", "name: a\nimage: ubuntu\ndescripton: x\n", "descripton", 3, "did you mean description?"},
		{"empty name", "name: ''\nimage: ubuntu\n", "name", 1, "empty name"},
		{"long name", "name: " + strings.Repeat("n", 256) + "\nimage: ubuntu\n", "name", 1, "more than 255"},
		{"reserved AzureML", "name: AzureML-sklearn\nimage: ubuntu\n", "name", 1, "create a copy with a new name"},
		{"reserved Microsoft", "name: MicrosoftThing\nimage: ubuntu\n", "name", 1, "reserved for curated"},
		{"conda keys in env file", "name: a\nimage: ubuntu\ndependencies: [python]\n", "dependencies", 3, "conda environment key"},
		{"conda_file is env file", "name: a\nimage: ubuntu\nconda_file: azure.yml\n", "conda_file", 3, "is an Azure ML environment file"},
		{"conda_file missing", "name: a\nimage: ubuntu\nconda_file: nope.yml\n", "conda_file", 3, "nope.yml"},
		{"conda_file escapes", "name: a\nimage: ubuntu\nconda_file: ../conda.yml\n", "conda_file", 3, "outside"},
		{"conda_file absolute", "name: a\nimage: ubuntu\nconda_file: /etc/conda.yml\n", "conda_file", 3, "outside"},
		{"windows", "name: a\nimage: ubuntu\nos_type: Windows\n", "os_type", 3, "Linux images"},
		{"inference incomplete", "name: a\nimage: ubuntu\ninference_config:\n  scoring_route: {port: 1, path: /s}\n", "inference_config.liveness_route", 4, "all three"},
		{"inference port", "name: a\nimage: ubuntu\ninference_config:\n  scoring_route: {port: x, path: /s}\n  liveness_route: {port: 2, path: /l}\n  readiness_route: {port: 3, path: /r}\n", "inference_config.scoring_route.port", 4, "invalid port"},
		{"bad image", "name: a\nimage: 'Ubuntu:22.04'\n", "image", 2, "invalid image reference"},
		{"docker_steps FROM", "name: a\nimage: ubuntu\ndocker_steps: |\n  RUN true\n  FROM busybox\n", "docker_steps", 5, "FROM is not allowed"},
		{"docker_steps bad instruction", "name: a\nimage: ubuntu\ndocker_steps:\n  - RUN true\n  - FROBNICATE x\n", "docker_steps", 5, "unknown instruction"},
		{"env var name", "name: a\nimage: ubuntu\nenvironment_variables:\n  1BAD: x\n", "environment_variables.1BAD", 4, "invalid environment variable"},
		{"build path escapes", "name: a\nbuild:\n  path: ../x\n", "build.path", 3, "outside the build context"},
		{"version latest", "name: a\nversion: latest\nimage: ubuntu\n", "version", 2, "@latest"},
		{"tags not mapping", "name: a\nimage: ubuntu\ntags: [a]\n", "tags", 3, "mapping"},
		{"yaml syntax", "name: a\nimage: [ubuntu\n", "", 0, "invalid YAML"},
		{"conda deps not list", "name: a\nimage: ubuntu\nconda_file:\n  dependencies: python\n", "conda_file.dependencies", 4, "must be a list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load("env.yml", []byte(c.yaml), dir)
			if err == nil {
				t.Fatal("no error")
			}
			var found bool
			var list diag.List
			if !errors.As(err, &list) {
				t.Fatalf("want diag.List, got %T %v", err, err)
			}
			for _, e := range list {
				if e.Field == c.field && (c.line == 0 || e.Line == c.line) && strings.Contains(e.Msg+" "+e.Hint, c.msg) {
					found = true
					if e.File != "env.yml" && !strings.HasSuffix(e.File, ".yml") {
						t.Errorf("file %q", e.File)
					}
				}
			}
			if !found {
				t.Errorf("want %s at line %d containing %q; got:\n%v", c.field, c.line, c.msg, err)
			}
		})
	}
}

func TestValidEnvironments(t *testing.T) {
	dir := fstest.MapFS{"envs/conda.yml": {Data: []byte("name: c\nchannels: [conda-forge]\ndependencies:\n  - python=3.10\n  - pip:\n    - requests\nvariables:\n  A: '1'\n")}}
	env, err := Load("env.yml", []byte(`
name: my-env
version: 3
image: ubuntu:22.04
conda_file: envs/conda.yml
docker_steps: |
  RUN apt-get update
  ENV X=1
environment_variables:
  A: "2"
  B: b
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	if env.Version != "3" || env.Kind() != SystemManaged {
		t.Errorf("version %q kind %s", env.Version, env.Kind())
	}
	if got := env.DockerSteps.Lines; len(got) != 2 || got[0] != 7 || got[1] != 8 {
		t.Errorf("docker step lines %v", got)
	}
	// environment_variables override the conda file's variables.
	e := env.Env()
	if len(e) != 2 || e[0].Key != "A" || e[0].Value != "2" || e[1].Key != "B" {
		t.Errorf("env %v", e)
	}
	// A plain conda file is an environment on the default base image.
	env, err = Load("environment.yml", []byte("name: plain\nchannels: [conda-forge]\ndependencies: [numpy]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if env.Format != FormatConda || env.Image != defaultBaseImage || env.Kind() != SystemManaged || env.Name != "plain" {
		t.Errorf("plain conda: %+v", env)
	}
	// SDK v1 with an inline conda environment and a one-stage baseDockerfile.
	env, err = Load("azureml_environment.json", []byte(`{
  "name": "v1",
  "python": {"userManagedDependencies": false, "condaDependencies": {"channels": ["conda-forge"], "dependencies": ["python=3.9"]}},
  "docker": {"baseImage": null, "baseDockerfile": "FROM ubuntu:20.04\nRUN echo hi\n"}
}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if env.Name != "v1" || env.Image != "ubuntu:20.04" || env.DockerSteps == nil || strings.TrimSpace(env.DockerSteps.Text) != "RUN echo hi" || env.Conda == nil {
		t.Errorf("v1 baseDockerfile: image %q steps %+v", env.Image, env.DockerSteps)
	}
}

// SDK v1 writes an anonymous environment as "name": null.
func TestV1NullNameIsAnonymous(t *testing.T) {
	env, err := Load("azureml_environment.json", []byte(`{"name": null, "version": null, "docker": {"baseImage": "ubuntu"}}`), nil)
	if err != nil || env.Name != "" || env.Image != "ubuntu" {
		t.Fatalf("%v %+v", err, env)
	}
}

// A conda environment.yml with keys CEP 24 does not know is still a conda
// file (they are ignored with a warning); one with Azure ML keys is not.
func TestCondaFileDetection(t *testing.T) {
	env, err := Load("environment.yml", []byte("name: c\nchannels: [conda-forge]\ndependencies: [numpy]\nsolver: libmamba\n"), nil)
	if err != nil || env.Format != FormatConda || len(env.Warnings) != 1 || env.Warnings[0].Field != "solver" {
		t.Fatalf("%v %+v", err, env)
	}
	_, err = Load("env.yml", []byte("name: c\nimage: ubuntu\nchannels: [conda-forge]\n"), nil)
	if de := firstErr(t, err); de.Field != "channels" || !strings.Contains(de.Msg, "conda environment key") {
		t.Errorf("mixed file: %v", err)
	}
}

// The examples stay valid.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*/environment.yml")
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Load(f, data, os.DirFS(filepath.Dir(f))); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// What validate must refuse as hash and build would, and what YAML lets
// through silently, is refused at its line.
func TestStrict(t *testing.T) {
	const v1 = `{"name": "e", "docker": {"baseImage": "%s", "baseImageRegistry": {"address": %s, "username": %s}}}`
	for _, c := range []struct{ src, want string }{
		{"name: a\nversion: true\nimage: busybox\n", "env.yml:2:10: version: must be a string or a number, not a boolean"},
		{"name: a\nversion: [1]\nimage: busybox\n", "env.yml:2:10: version: must be a string or a number, not a list"},
		{"name: \" AzureML-x\"\nimage: busybox\n", `env.yml:1:1: name: invalid name " AzureML-x"`},
		{"name: \"a\\tb\\u0007\"\nimage: busybox\n", `name: invalid name "a\tb\a"`},
		{"name: -a\nimage: busybox\n", `name: invalid name "-a"`},
		{"name: café\nimage: busybox\n", `name: invalid name "caf\u00e9"`},
		{"name: a\nimage: busybox\nname: b\n", "env.yml:3:1: name: duplicate key (first at line 1)"},
		{"name: a\nimage: busybox\n---\nimage: evil\n", "env.yml:4:1: a second YAML document"},
		{"name: !!binary YWJj\nimage: busybox\n", "env.yml:1:7: YAML tag !!binary is not accepted"},
		{"image: busybox\nconda_file:\n  dependencies:\n    - numpy>=\n", "env.yml:4:7: dependencies: invalid match spec \"numpy>=\""},
		{"image: busybox\nconda_file:\n  dependencies:\n    - python\n    - numpy 1.2 3 4\n", "env.yml:5:7: dependencies: invalid match spec \"numpy 1.2 3 4\": build \"3 4\""},
		{fmt.Sprintf(v1, "ubuntu:22.04", `"myregistry.azurecr.io"`, "null"), "env.yml:1:88: docker.baseImageRegistry.address: the base image is pulled from myregistry.azurecr.io by Azure ML; envkit does not read baseImageRegistry (write the registry into baseImage (myregistry.azurecr.io/ubuntu:22.04)"},
	} {
		_, err := Parse("env.yml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %q", c.src, err, c.want)
		}
	}
	// Accepted: numbers as versions, a registry already in baseImage, a
	// null registry; v1 settings that are not honoured are warned about.
	for _, c := range []struct{ src, warn string }{
		{"name: a.b-c_1\nversion: 1.5\nimage: busybox\n", ""},
		{fmt.Sprintf(v1, "myregistry.azurecr.io/ubuntu:22.04", `"myregistry.azurecr.io"`, "null"), ""},
		{fmt.Sprintf(v1, "ubuntu:22.04", "null", "null"), ""},
		{fmt.Sprintf(v1, "ubuntu:22.04", "null", `"admin"`), "docker.baseImageRegistry.username: ignored: envkit takes registry credentials from docker login"},
		{`{"name": "e", "docker": {"baseImage": "ubuntu", "arguments": ["--gpus", "all"]}}`, "docker.arguments: ignored: docker run arguments"},
	} {
		env, err := Parse("env.yml", []byte(c.src))
		if err != nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		if got := env.Warnings.Error(); (c.warn == "") != (got == "") || !strings.Contains(got, c.warn) {
			t.Errorf("%q: warnings %q, want %q", c.src, got, c.warn)
		}
	}
}

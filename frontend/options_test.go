package frontend

import (
	"maps"
	"reflect"
	"strings"
	"testing"

	envllb "github.com/envkit/envkit/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
)

func TestParseOptions(t *testing.T) {
	defaults := options{Filename: DefaultFilename, DockerfileLocal: LocalDockerfile, ContextLocal: LocalContext, MaxLayers: envllb.DefaultMaxLayers}
	with := func(f func(o *options)) options {
		o := defaults
		f(&o)
		return o
	}
	for _, tc := range []struct {
		name string
		opts map[string]string
		want options
	}{
		{"defaults", nil, defaults},
		{"unrelated options are dockerui's", map[string]string{KeyPlatform: "linux/arm64", "build-arg:SOURCE_DATE_EPOCH": "0", "label:a": "b"}, defaults},
		{"filename", map[string]string{KeyFilename: "envs/azureml_environment.json"}, with(func(o *options) { o.Filename = "envs/azureml_environment.json" })},
		{"locals", map[string]string{KeyDockerfileKey: "df", KeyContextKey: "ctx", "local-sessionid:df": "s1", "local-sessionid:ctx": "s2"},
			with(func(o *options) {
				o.DockerfileLocal, o.ContextLocal = "df", "ctx"
				o.SessionIDs = map[string]string{"df": "s1", "ctx": "s2"}
			})},
		{"lockfile", map[string]string{KeyLockfile: "conda-lock.yml"}, with(func(o *options) { o.Lockfile = "conda-lock.yml" })},
		{"lockfile as build arg", map[string]string{KeyLockfileArg: "locks/./pixi.lock"}, with(func(o *options) { o.Lockfile = "locks/pixi.lock" })},
		{"lockfile before build arg", map[string]string{KeyLockfile: "a.yml", KeyLockfileArg: "b.yml"}, with(func(o *options) { o.Lockfile = "a.yml" })},
		{"empty lockfile defers to build arg", map[string]string{KeyLockfile: "", KeyLockfileArg: "b.yml"}, with(func(o *options) { o.Lockfile = "b.yml" })},
		{"empty build arg is no lock file", map[string]string{KeyLockfileArg: ""}, defaults},
		{"max-layers", map[string]string{KeyMaxLayers: "60"}, with(func(o *options) { o.MaxLayers = 60 })},
		{"max-layers as build arg", map[string]string{KeyMaxLayersArg: "120"}, with(func(o *options) { o.MaxLayers = 120 })},
		{"max-layers before build arg", map[string]string{KeyMaxLayers: "60", KeyMaxLayersArg: "120"}, with(func(o *options) { o.MaxLayers = 60 })},
		{"empty max-layers build arg is the default", map[string]string{KeyMaxLayersArg: ""}, defaults},
		{"bytecode", map[string]string{KeyBytecodeArg: "1"}, with(func(o *options) { o.CompileBytecode = true })},
		{"bytecode off", map[string]string{KeyBytecode: "0", KeyBytecodeArg: "1"}, defaults},
		{"helper from source", map[string]string{KeySource: "127.0.0.1:5765/envkit/frontend:latest"}, with(func(o *options) { o.HelperImage = "127.0.0.1:5765/envkit/frontend:latest" })},
		{"helper image before source", map[string]string{KeySource: "reg/frontend:1", KeyHelperImage: "reg/helper:2"}, with(func(o *options) { o.HelperImage = "reg/helper:2" })},
		{"empty helper image defers to source", map[string]string{KeySource: "reg/frontend:1", KeyHelperImage: ""}, with(func(o *options) { o.HelperImage = "reg/frontend:1" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := maps.Clone(tc.opts)
			got, err := parseOptions(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got %+v\nwant %+v", *got, tc.want)
			}
			if !maps.Equal(tc.opts, before) {
				t.Errorf("options changed: %v, was %v", tc.opts, before)
			}
		})
	}
}

func TestParseOptionsBadValues(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		want string // the key, value and reason the error must name
	}{
		{map[string]string{KeyFilename: ""}, `build option filename="": empty`},
		{map[string]string{KeyFilename: "../environment.yml"}, `filename="../environment.yml": must be a path inside the dockerfile local`},
		{map[string]string{KeyDockerfileKey: ""}, `dockerfilekey="": empty`},
		{map[string]string{KeyContextKey: ""}, `contextkey="": empty`},
		{map[string]string{KeyLockfile: "../conda-lock.yml"}, `lockfile="../conda-lock.yml": must be a relative path inside the environment file's directory`},
		{map[string]string{KeyLockfileArg: "/etc/conda-lock.yml"}, `build-arg:ENVKIT_LOCKFILE="/etc/conda-lock.yml": must be a relative path`},
		{map[string]string{KeyLockfile: "locks/.."}, `lockfile="locks/..": names a directory`},
		{map[string]string{KeyHelperImage: "Not An Image"}, `envkit:helper-image="Not An Image": not an image reference`},
		{map[string]string{KeyMaxLayers: "0"}, `max-layers="0": want a number of layers, at least 1`},
		{map[string]string{KeyMaxLayersArg: "many"}, `build-arg:ENVKIT_MAX_LAYERS="many": want a number of layers`},
		{map[string]string{KeyBytecodeArg: "yes please"}, `build-arg:ENVKIT_COMPILE_BYTECODE="yes please": want 1 or 0`},
		{map[string]string{KeyHelperImage: "", KeySource: "reg/Frontend"}, `source="reg/Frontend": not an image reference`},
	} {
		_, err := parseOptions(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.opts, err, tc.want)
		}
	}
}

// Every row of the table documents its keys, its default is a valid value,
// and a key is in one row.
func TestOptionTable(t *testing.T) {
	seen := map[string]bool{}
	for _, row := range optionTable {
		if len(row.keys) == 0 || row.doc == "" || row.set == nil {
			t.Errorf("row %v lacks keys, a meaning or a parser", row.keys)
		}
		if row.def != "" {
			var o options
			if err := row.set(&o, row.def); err != nil {
				t.Errorf("%v: the default %q is refused: %v", row.keys, row.def, err)
			}
		}
		for _, k := range row.keys {
			if seen[k] {
				t.Errorf("%s in two rows", k)
			}
			seen[k] = true
		}
	}
}

// optsOnly is a gateway client of which only BuildOpts is used.
type optsOnly struct {
	client.Client
	bo client.BuildOpts
}

func (c *optsOnly) BuildOpts() client.BuildOpts { return c.bo }

// dockerui reads the filename envkit resolved, from a copy of the options.
func TestWithOptionsCopies(t *testing.T) {
	orig := map[string]string{KeySource: "reg/frontend:1"}
	c := &optsOnly{bo: client.BuildOpts{Opts: orig, SessionID: "s"}}
	o, err := parseOptions(orig)
	if err != nil {
		t.Fatal(err)
	}
	got := withOptions(c, o).BuildOpts()
	if got.Opts[KeyFilename] != DefaultFilename || got.Opts[KeySource] != "reg/frontend:1" || got.SessionID != "s" {
		t.Errorf("dockerui sees %+v", got)
	}
	if _, ok := orig[KeyFilename]; ok || len(orig) != 1 {
		t.Errorf("the client's options changed: %v", orig)
	}
}

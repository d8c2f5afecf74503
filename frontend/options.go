package frontend

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/envkit/envkit/internal/helper"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/spec"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
)

// The build options envkit reads (BuildOpts().Opts; buildctl --opt
// KEY=VALUE, docker buildx --build-arg for the build-arg: ones). The CLI
// sets them by these names. optionTable says what each means.
const (
	KeyFilename      = "filename"
	KeyDockerfileKey = "dockerfilekey"
	KeyContextKey    = "contextkey"
	// KeyLocalSessionID prefixes the session of a local: the option
	// "local-sessionid:<local>" names the session that serves <local>.
	KeyLocalSessionID = "local-sessionid:"
	KeyLockfile       = "lockfile"
	KeyLockfileArg    = "build-arg:ENVKIT_LOCKFILE"
	KeyHelperImage    = "envkit:helper-image"
	KeySource         = "source"
	KeyMaxLayers      = "max-layers"
	KeyMaxLayersArg   = "build-arg:ENVKIT_MAX_LAYERS"
	KeyBytecode       = "compile-bytecode"
	KeyBytecodeArg    = "build-arg:ENVKIT_COMPILE_BYTECODE"
	// KeyPlatform is read by BuildKit's dockerui (the target platforms),
	// not by envkit; it is here for the CLI.
	KeyPlatform = "platform"
)

// The locals envkit reads unless dockerfilekey and contextkey name others.
const (
	LocalDockerfile = dockerui.DefaultLocalNameDockerfile
	LocalContext    = dockerui.DefaultLocalNameContext
)

// DefaultFilename is read when the build names no file.
const DefaultFilename = "environment.yml"

// options are the build options envkit reads, parsed once at the start of
// Build. Everything else in BuildOpts().Opts (platform, build args, labels,
// cache imports, SOURCE_DATE_EPOCH, ...) is dockerui's, as for Dockerfiles.
type options struct {
	// Filename is the environment file's path in the dockerfile local.
	Filename string
	// DockerfileLocal and ContextLocal name the locals holding the
	// environment file (and the conda and lock files beside it) and the
	// build context.
	DockerfileLocal, ContextLocal string
	// SessionIDs maps a local's name to the session serving it, when not
	// the build's own.
	SessionIDs map[string]string
	// Lockfile is a conda lock file, relative to the environment file's
	// directory and inside it; "" for none.
	Lockfile string
	// HelperImage holds the link helper: the frontend's own image, or
	// another when the frontend runs in-process ("" when neither is given;
	// a conda environment then fails with a hint).
	HelperImage string
	// MaxLayers bounds the layers of an image with a conda environment:
	// its packages share layers when they do not fit.
	MaxLayers int
	// CompileBytecode compiles the conda environment's site-packages with
	// its own python, in a layer of its own.
	CompileBytecode bool
}

// option is one row of optionTable: keys in precedence order (the first
// one set wins), the default, what it means, and how a value is checked
// and stored.
type option struct {
	keys []string
	// def is the value when no key is set ("": the option is off, as doc
	// says).
	def string
	doc string
	// unsetIfEmpty: an empty value counts as not set (buildx passes
	// --build-arg NAME= to unset an argument).
	unsetIfEmpty bool
	set          func(o *options, v string) error
}

// optionTable is every option envkit reads. A prefix key (ending in ':')
// matches every option that starts with it; set then gets "name=value".
var optionTable = []option{
	{keys: []string{KeyFilename}, def: DefaultFilename,
		doc: "the environment file, in the dockerfile local",
		set: func(o *options, v string) error {
			if err := nonEmpty(v); err != nil {
				return err
			}
			if !path.IsAbs(v) && !spec.IsLocal(v) {
				return fmt.Errorf("must be a path inside the dockerfile local")
			}
			o.Filename = v
			return nil
		}},
	{keys: []string{KeyDockerfileKey}, def: LocalDockerfile,
		doc: "the local holding the environment file and the files beside it",
		set: func(o *options, v string) error { o.DockerfileLocal = v; return nonEmpty(v) }},
	{keys: []string{KeyContextKey}, def: LocalContext,
		doc: "the local holding the build context of build.path",
		set: func(o *options, v string) error { o.ContextLocal = v; return nonEmpty(v) }},
	{keys: []string{KeyLocalSessionID},
		doc: "local-sessionid:<local> is the session serving <local> (default: the build's own)",
		set: func(o *options, v string) error {
			name, sid, _ := strings.Cut(v, "=")
			if o.SessionIDs == nil {
				o.SessionIDs = map[string]string{}
			}
			o.SessionIDs[name] = sid
			return nil
		}},
	{keys: []string{KeyLockfile, KeyLockfileArg}, unsetIfEmpty: true,
		doc: "a conda lock file (conda-lock, @EXPLICIT, pixi.lock) beside the environment file: platforms it locks for this conda environment install as locked, others prefer its packages (default: none, every platform is solved)",
		set: func(o *options, v string) error {
			c, err := relativePath(v)
			o.Lockfile = c
			return err
		}},
	{keys: []string{KeyHelperImage, KeySource}, unsetIfEmpty: true,
		doc: "the image whose " + helper.Path + " links conda packages (default: the frontend's own image, which BuildKit names in source; none when the frontend runs in-process)",
		set: func(o *options, v string) error {
			if _, err := reference.ParseNormalizedNamed(v); err != nil {
				return fmt.Errorf("not an image reference: %w", err)
			}
			o.HelperImage = v
			return nil
		}},
	{keys: []string{KeyMaxLayers, KeyMaxLayersArg}, def: strconv.Itoa(envllb.DefaultMaxLayers), unsetIfEmpty: true,
		doc: "the most layers an image with a conda environment has (base image, Docker steps, the packages and the environment's metadata): the packages share layers when they do not fit; a base image that leaves none for them is an error",
		set: func(o *options, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("want a number of layers, at least 1")
			}
			o.MaxLayers = n
			return nil
		}},
	{keys: []string{KeyBytecode, KeyBytecodeArg}, unsetIfEmpty: true,
		doc: "1 compiles the conda environment's site-packages (its pip packages' and noarch: python packages' modules) with the environment's own python, deterministically (unchecked-hash .pyc), in a layer of its own; for a target platform the builder runs natively only (default: 0, Python compiles at first import)",
		set: func(o *options, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want 1 or 0")
			}
			o.CompileBytecode = b
			return nil
		}},
}

// parseOptions reads the options envkit uses from a build's options,
// without changing them. A bad value is an error naming its key.
func parseOptions(opts map[string]string) (*options, error) {
	o := &options{}
	for _, row := range optionTable {
		if prefix := row.keys[0]; strings.HasSuffix(prefix, ":") {
			for k, v := range opts {
				if name, ok := strings.CutPrefix(k, prefix); ok {
					if err := row.set(o, name+"="+v); err != nil {
						return nil, optionError(k, v, err)
					}
				}
			}
			continue
		}
		key, v := "", row.def
		for _, k := range row.keys {
			if x, ok := opts[k]; ok && (x != "" || !row.unsetIfEmpty) {
				key, v = k, x
				break
			}
		}
		if key == "" && v == "" {
			continue
		}
		if err := row.set(o, v); err != nil {
			return nil, optionError(cmp.Or(key, row.keys[0]+" (default)"), v, err)
		}
	}
	return o, nil
}

func optionError(key, value string, err error) error {
	return fmt.Errorf("build option %s=%q: %w", key, value, err)
}

func nonEmpty(v string) error {
	if v == "" {
		return fmt.Errorf("empty")
	}
	return nil
}

// relativePath checks a path that names a file in the environment file's
// directory or below, and returns it cleaned.
func relativePath(v string) (string, error) {
	if !spec.IsLocal(v) {
		return "", fmt.Errorf("must be a relative path inside the environment file's directory")
	}
	c := path.Clean(v)
	if c == "." {
		return "", fmt.Errorf("names a directory, not a file")
	}
	return c, nil
}

// withOptions gives dockerui a copy of the build options with the
// defaults envkit resolved (the filename, whose dockerui default is
// Dockerfile), leaving the client's own options unchanged.
func withOptions(c client.Client, o *options) client.Client {
	bo := c.BuildOpts()
	bo.Opts = maps.Clone(bo.Opts)
	if bo.Opts == nil {
		bo.Opts = map[string]string{}
	}
	bo.Opts[KeyFilename] = o.Filename
	return &optsClient{Client: c, opts: bo}
}

type optsClient struct {
	client.Client
	opts client.BuildOpts
}

func (c *optsClient) BuildOpts() client.BuildOpts { return c.opts }

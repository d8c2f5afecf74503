package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/yamlx"
	"gopkg.in/yaml.v3"
)

// topLevelKeys are the top-level keys of an Azure ML environment file, with envkit's
// extensions docker_steps and environment_variables.
var topLevelKeys = []string{
	"$schema", "name", "version", "description", "tags", "properties",
	"image", "conda_file", "build", "os_type", "inference_config",
	"docker_steps", "environment_variables",
}

// Parse reads an environment definition in any supported format. It checks
// the file's own content; Load also reads the files it refers to.
func Parse(file string, data []byte) (*Environment, error) {
	doc, err := yamlx.Parse(file, data)
	if err != nil {
		return nil, err
	}
	env, errs := parseDoc(doc)
	if env != nil {
		errs = append(errs, env.validate()...)
	}
	return env, errs.Err()
}

// Load reads an environment definition, the conda file it refers to, and
// the files its pip lines name (-r and -c files, wheels: PipFiles). dir is
// the definition's directory (conda_file paths are relative to it, and
// every file is read inside it); it may be nil when no file is referred
// to. Files are read with ReadFile
// and DefaultMaxFileSize.
func Load(file string, data []byte, dir fs.FS) (*Environment, error) {
	return Options{}.Load(file, data, dir)
}

// Options are the bounds of loading an environment.
type Options struct {
	// MaxFileSize bounds the environment file and the conda file; 0 is
	// DefaultMaxFileSize. It bounds each -r and -c file too.
	MaxFileSize int64
	// MaxWheelSize bounds a wheel a pip line names; 0 is
	// DefaultMaxWheelSize.
	MaxWheelSize int64
	// MaxProjectFiles and MaxProjectSize bound a project directory a pip
	// line names (its files, their content in all); 0 is
	// DefaultMaxProjectFiles, DefaultMaxProjectSize.
	MaxProjectFiles int
	MaxProjectSize  int64
}

// Load is Load with o's bounds.
func (o Options) Load(file string, data []byte, dir fs.FS) (*Environment, error) {
	limit := o.MaxFileSize
	if limit <= 0 {
		limit = DefaultMaxFileSize
	}
	if int64(len(data)) > limit {
		return nil, diag.List{{File: file, Msg: (&TooLargeError{Name: "the environment file", Limit: limit}).Error()}}
	}
	doc, err := yamlx.Parse(file, data)
	if err != nil {
		return nil, err
	}
	env, errs := parseDoc(doc)
	if env != nil && env.CondaFile != "" {
		errs = append(errs, env.loadCondaFile(dir, limit)...)
	}
	if env != nil && len(errs) == 0 {
		wl := o.MaxWheelSize
		if wl <= 0 {
			wl = DefaultMaxWheelSize
		}
		errs = append(errs, env.loadPip(dir, limit, wl, o)...)
	}
	if env != nil {
		errs = append(errs, env.validate()...)
	}
	return env, errs.Err()
}

func parseDoc(doc *yamlx.Doc) (*Environment, diag.List) {
	root := doc.Root
	if root == nil || yamlx.IsNull(root) {
		return nil, diag.List{{File: doc.File, Line: 1, Msg: "empty environment file", Hint: "an environment needs image: or build:, see examples/"}}
	}
	if root.Kind != yaml.MappingNode {
		return nil, diag.List{doc.At(root, "", "an environment file must be a mapping, not "+yamlx.Kind(root), "")}
	}
	env := &Environment{File: doc.File, OSType: "linux"}
	switch {
	case looksLikeV1(root):
		env.Format = FormatAzureMLV1
		return env, env.parseV1(doc, root)
	case looksLikeCondaFile(root):
		env.Format = FormatConda
		env.Image = defaultBaseImage
		ef, errs := envfile.FromNode(doc, root, "")
		env.Conda = ef
		if ef != nil {
			env.Name = ef.Name
			env.Warnings = append(env.Warnings, ef.Warnings...)
		}
		return env, errs
	}
	env.Format = FormatAzureML
	return env, env.parseV2(doc, root)
}

// looksLikeCondaFile reports whether a mapping is a conda environment.yml:
// it has dependencies or channels and no key of an Azure ML environment
// file. Other unknown keys are allowed (CEP 24: ignored with a warning).
func looksLikeCondaFile(root *yaml.Node) bool {
	conda := false
	for _, p := range yamlx.Pairs(root) {
		switch k := p.Key.Value; k {
		case "dependencies", "channels":
			conda = true
		case "name":
		default:
			if slices.Contains(topLevelKeys, k) {
				return false
			}
		}
	}
	return conda
}

func looksLikeV1(root *yaml.Node) bool {
	for _, p := range yamlx.Pairs(root) {
		switch p.Key.Value {
		case "python", "docker", "environmentVariables", "inferencingStackVersion":
			return true
		}
	}
	return false
}

func (env *Environment) parseV2(doc *yamlx.Doc, root *yaml.Node) diag.List {
	var errs diag.List
	str := func(p yamlx.Pair, dst *string, allowNumber bool) {
		if yamlx.IsNull(p.Value) {
			return
		}
		s, e := doc.String(p.Value, p.Key.Value, allowNumber)
		if e != nil {
			errs = append(errs, e)
			return
		}
		*dst = s
	}
	for _, p := range yamlx.Pairs(root) {
		key := p.Key.Value
		if slices.Contains(topLevelKeys, key) {
			env.setPos(key, p.Key.Line, p.Key.Column)
		}
		switch key {
		case "$schema":
			str(p, &env.Schema, false)
		case "name":
			str(p, &env.Name, true)
		case "version":
			str(p, &env.Version, true)
		case "description":
			str(p, &env.Description, true)
		case "image":
			str(p, &env.Image, false)
			env.setPos(key, p.Value.Line, p.Value.Column)
		case "os_type":
			str(p, &env.OSType, false)
		case "tags", "properties", "environment_variables":
			kv, e := doc.StringMap(p.Value, key)
			errs = append(errs, e...)
			switch key {
			case "tags":
				env.Tags = kv
			case "properties":
				env.Properties = kv
			default:
				env.EnvironmentVariables = kv
			}
		case "conda_file":
			errs = append(errs, env.parseCondaFileField(doc, p)...)
		case "build":
			errs = append(errs, env.parseBuild(doc, p.Value)...)
		case "inference_config":
			errs = append(errs, env.parseInference(doc, p.Value)...)
		case "docker_steps":
			errs = append(errs, env.parseDockerSteps(doc, p.Value)...)
		case "dependencies", "channels", "pip":
			errs = append(errs, doc.At(p.Key, key, "this is a conda environment key, found in an Azure ML environment file",
				"put the conda environment in its own file and refer to it with conda_file:, or give it inline under conda_file:"))
		default:
			errs = append(errs, doc.UnknownKey(p.Key, key, topLevelKeys, ""))
		}
	}
	return errs
}

func (env *Environment) parseCondaFileField(doc *yamlx.Doc, p yamlx.Pair) diag.List {
	v := p.Value
	switch {
	case yamlx.IsNull(v):
		return nil
	case v.Kind == yaml.MappingNode:
		ef, errs := envfile.FromNode(doc, v, "conda_file")
		env.Conda = ef
		if ef != nil {
			env.Warnings = append(env.Warnings, ef.Warnings...)
		}
		return errs
	}
	s, e := doc.String(v, "conda_file", false)
	if e != nil {
		e.Hint = "give a path to a conda environment.yml, relative to this file, or the environment inline as a mapping"
		return diag.List{e}
	}
	env.CondaFile = s
	env.setPos("conda_file", v.Line, v.Column)
	return nil
}

func (env *Environment) parseBuild(doc *yamlx.Doc, n *yaml.Node) diag.List {
	if yamlx.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return diag.List{doc.At(n, "build", "must be a mapping with path: (and optionally dockerfile_path:), not "+yamlx.Kind(n), "")}
	}
	var errs diag.List
	b := &Build{Dockerfile: "Dockerfile"}
	for _, p := range yamlx.Pairs(n) {
		f := "build." + p.Key.Value
		env.setPos(f, p.Value.Line, p.Value.Column)
		switch p.Key.Value {
		case "path":
			s, e := doc.String(p.Value, f, false)
			if e != nil {
				errs = append(errs, e)
			}
			b.Path = s
		case "dockerfile_path":
			s, e := doc.String(p.Value, f, false)
			if e != nil {
				errs = append(errs, e)
			} else if s != "" {
				b.Dockerfile = s
			}
		default:
			errs = append(errs, doc.UnknownKey(p.Key, f, []string{"path", "dockerfile_path"}, "build takes path and dockerfile_path"))
		}
	}
	if b.Path == "" && len(errs) == 0 {
		errs = append(errs, doc.At(n, "build.path", "missing", "give the directory of the Docker build context, relative to this file"))
	}
	env.Build = b
	return errs
}

func (env *Environment) parseInference(doc *yamlx.Doc, n *yaml.Node) diag.List {
	if yamlx.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return diag.List{doc.At(n, "inference_config", "must be a mapping of liveness_route, readiness_route and scoring_route, not "+yamlx.Kind(n), "")}
	}
	ic := &InferenceConfig{}
	routes := map[string]*Route{"liveness_route": &ic.Liveness, "readiness_route": &ic.Readiness, "scoring_route": &ic.Scoring}
	names := []string{"liveness_route", "readiness_route", "scoring_route"}
	seen := map[string]bool{}
	var errs diag.List
	for _, p := range yamlx.Pairs(n) {
		f := "inference_config." + p.Key.Value
		r, ok := routes[p.Key.Value]
		if !ok {
			errs = append(errs, doc.UnknownKey(p.Key, f, names, "routes are "+strings.Join(names, ", ")))
			continue
		}
		seen[p.Key.Value] = true
		errs = append(errs, parseRoute(doc, p.Value, f, r)...)
	}
	for _, name := range names {
		if !seen[name] {
			errs = append(errs, doc.At(n, "inference_config."+name, "missing",
				"inference_config needs all three of liveness_route, readiness_route and scoring_route, each with port and path"))
		}
	}
	env.InferenceConfig = ic
	return errs
}

func parseRoute(doc *yamlx.Doc, n *yaml.Node, field string, r *Route) diag.List {
	if n.Kind != yaml.MappingNode {
		return diag.List{doc.At(n, field, "must be a mapping with port and path, not "+yamlx.Kind(n), "")}
	}
	var errs diag.List
	var havePort, havePath bool
	for _, p := range yamlx.Pairs(n) {
		f := field + "." + p.Key.Value
		switch p.Key.Value {
		case "port":
			havePort = true
			s, _ := yamlx.Scalar(p.Value)
			port, err := strconv.Atoi(s)
			if err != nil || port < 1 || port > 65535 {
				errs = append(errs, doc.At(p.Value, f, fmt.Sprintf("invalid port %q", s), "a port is a number from 1 to 65535"))
			}
			r.Port = port
		case "path":
			havePath = true
			s, e := doc.String(p.Value, f, false)
			if e != nil {
				errs = append(errs, e)
			} else if !strings.HasPrefix(s, "/") {
				errs = append(errs, doc.At(p.Value, f, fmt.Sprintf("route path %q must start with /", s), ""))
			}
			r.Path = s
		default:
			errs = append(errs, doc.UnknownKey(p.Key, f, []string{"port", "path"}, "a route has port and path"))
		}
	}
	if !havePort {
		errs = append(errs, doc.At(n, field+".port", "missing", "a route needs a port"))
	}
	if !havePath {
		errs = append(errs, doc.At(n, field+".path", "missing", "a route needs a path"))
	}
	return errs
}

// parseDockerSteps accepts a block of Dockerfile text or a list of
// instructions, and keeps the file line of each Dockerfile line.
func (env *Environment) parseDockerSteps(doc *yamlx.Doc, n *yaml.Node) diag.List {
	if yamlx.IsNull(n) {
		return nil
	}
	ds := &DockerSteps{}
	var text strings.Builder // the steps' text, built in one pass
	add := func(s string, firstLine int, block bool) {
		s = strings.TrimRight(s, "\n")
		if block && s == "" {
			return // an empty block has no line of its own
		}
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			text.WriteString(l)
			text.WriteByte('\n')
			line := firstLine
			if block {
				// A block scalar's node is positioned at its indicator
				// (| or >); the text starts on the next line.
				line = firstLine + 1 + i
			}
			ds.Lines = append(ds.Lines, line)
		}
	}
	switch {
	case n.Kind == yaml.ScalarNode:
		add(n.Value, n.Line, n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0)
	case n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			s, err := yamlx.Scalar(c)
			if err != nil {
				return diag.List{doc.At(c, fmt.Sprintf("docker_steps[%d]", i), "must be a Dockerfile instruction string, not "+yamlx.Kind(c), "")}
			}
			add(s, c.Line, c.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0)
		}
	default:
		return diag.List{doc.At(n, "docker_steps", "must be Dockerfile instructions (a block of text or a list), not "+yamlx.Kind(n), "")}
	}
	ds.Text = text.String()
	if strings.TrimSpace(ds.Text) == "" {
		return nil // an empty block: no steps
	}
	env.DockerSteps = ds
	return nil
}

// parseV1 reads the SDK v1 azureml_environment.json form.
func (env *Environment) parseV1(doc *yamlx.Doc, root *yaml.Node) diag.List {
	var errs diag.List
	for _, p := range yamlx.Pairs(root) {
		key := p.Key.Value
		if yamlx.IsNull(p.Value) {
			continue // "name": null is how SDK v1 writes an anonymous environment
		}
		env.setPos(key, p.Key.Line, p.Key.Column)
		switch key {
		case "name", "version":
			s, e := doc.String(p.Value, key, true)
			if e != nil {
				errs = append(errs, e)
			} else if key == "name" {
				env.Name = s
			} else {
				env.Version = s
			}
		case "environmentVariables":
			kv, e := doc.StringMap(p.Value, key)
			errs = append(errs, e...)
			env.EnvironmentVariables = kv
		case "python":
			errs = append(errs, env.parseV1Python(doc, p.Value)...)
		case "docker":
			errs = append(errs, env.parseV1Docker(doc, p.Value)...)
		default:
			// spark, databricks, r, inferencingStackVersion...: settings of
			// Azure ML runs, not of the image.
			if !strings.HasPrefix(key, "_") && !yamlx.IsNull(p.Value) && !isEmptyV1Section(p.Value) {
				env.Warnings = append(env.Warnings, doc.At(p.Key, key, "ignored: not part of the image", ""))
			}
		}
	}
	if env.Image == "" && env.Build == nil && env.DockerSteps == nil {
		env.Image = defaultBaseImage
	}
	return errs
}

func isEmptyV1Section(n *yaml.Node) bool {
	for _, p := range yamlx.Pairs(n) {
		if !yamlx.IsNull(p.Value) && !(p.Value.Kind == yaml.SequenceNode && len(p.Value.Content) == 0) {
			if s, err := yamlx.Scalar(p.Value); err == nil && (s == "true" || s == "false") {
				continue
			}
			return false
		}
	}
	return true
}

func (env *Environment) parseV1Python(doc *yamlx.Doc, n *yaml.Node) diag.List {
	var errs diag.List
	userManaged := false
	for _, p := range yamlx.Pairs(n) {
		f := "python." + p.Key.Value
		switch p.Key.Value {
		case "userManagedDependencies":
			s, _ := yamlx.Scalar(p.Value)
			userManaged = s == "true"
		case "condaDependencies":
			if yamlx.IsNull(p.Value) {
				continue
			}
			ef, e := envfile.FromNode(doc, p.Value, f)
			errs = append(errs, e...)
			env.Conda = ef
			env.setPos("conda_file", p.Key.Line, p.Key.Column)
		case "condaDependenciesFile":
			if yamlx.IsNull(p.Value) {
				continue
			}
			s, e := doc.String(p.Value, f, false)
			if e != nil {
				errs = append(errs, e)
				continue
			}
			env.CondaFile = s
			env.setPos("conda_file", p.Value.Line, p.Value.Column)
		case "interpreterPath", "baseCondaEnvironment":
		default:
			env.Warnings = append(env.Warnings, doc.At(p.Key, f, "ignored", ""))
		}
	}
	if userManaged {
		env.Conda, env.CondaFile = nil, ""
	}
	return errs
}

func (env *Environment) parseV1Docker(doc *yamlx.Doc, n *yaml.Node) diag.List {
	var errs diag.List
	var registry yamlx.Pair
	for _, p := range yamlx.Pairs(n) {
		f := "docker." + p.Key.Value
		switch p.Key.Value {
		case "baseImage":
			if yamlx.IsNull(p.Value) {
				continue
			}
			s, e := doc.String(p.Value, f, false)
			if e != nil {
				errs = append(errs, e)
			}
			env.Image = s
			env.setPos("image", p.Value.Line, p.Value.Column)
		case "baseDockerfile":
			if yamlx.IsNull(p.Value) {
				continue
			}
			// A whole Dockerfile: its FROM gives the base, the rest are
			// Docker steps. Kept as steps so that envkit can layer conda
			// on top; the FROM is split off in validate.
			errs = append(errs, env.parseDockerSteps(doc, p.Value)...)
			env.setPos("docker_steps", p.Value.Line, p.Value.Column)
		case "baseImageRegistry":
			registry = p
		case "enabled", "sharedVolumes", "shmSize", "gpuSupport":
			// Settings of the container a run starts, not of the image.
		case "arguments":
			if !yamlx.IsNull(p.Value) && !(p.Value.Kind == yaml.SequenceNode && len(p.Value.Content) == 0) {
				env.Warnings = append(env.Warnings, doc.At(p.Key, f, "ignored: docker run arguments are a setting of a run, not of the image", ""))
			}
		default:
			env.Warnings = append(env.Warnings, doc.At(p.Key, f, "ignored: not part of the image", ""))
		}
	}
	if registry.Value != nil {
		errs = append(errs, env.checkV1Registry(doc, registry)...)
	}
	return errs
}

// checkV1Registry refuses an SDK v1 baseImageRegistry with an address:
// Azure ML pulls baseImage from it, and ignoring it would silently take the
// image of the same name from Docker Hub. A baseImage that already names
// the registry is accepted. Credentials never belong in the file.
func (env *Environment) checkV1Registry(doc *yamlx.Doc, p yamlx.Pair) diag.List {
	var errs diag.List
	for _, q := range yamlx.Pairs(p.Value) {
		f := "docker.baseImageRegistry." + q.Key.Value
		if yamlx.IsNull(q.Value) {
			continue
		}
		s, _ := yamlx.Scalar(q.Value)
		switch q.Key.Value {
		case "address":
			addr := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://"), "/")
			if addr == "" || strings.HasPrefix(env.Image, addr+"/") {
				continue
			}
			errs = append(errs, doc.At(q.Value, f, fmt.Sprintf("the base image is pulled from %s by Azure ML; envkit does not read baseImageRegistry", clipName(addr)),
				fmt.Sprintf("write the registry into baseImage (%s/%s) and log in to it with docker login", clipName(addr), clipName(env.Image))))
		case "username", "password":
			if s != "" {
				env.Warnings = append(env.Warnings, doc.At(q.Key, f, "ignored: envkit takes registry credentials from docker login, never from the environment file", "remove it from the file"))
			}
		}
	}
	return errs
}

// loadCondaFile reads the conda file named by conda_file from dir.
func (env *Environment) loadCondaFile(dir fs.FS, limit int64) diag.List {
	name := env.CondaFile
	clean := path.Clean(strings.ReplaceAll(name, "\\", "/"))
	if !IsLocal(name) || strings.Contains(name, "://") {
		return diag.List{env.errAt("conda_file", fmt.Sprintf("%q is outside the environment's directory", name),
			"put the conda file next to the environment file (or below it) and give a relative path")}
	}
	if dir == nil {
		return diag.List{env.errAt("conda_file", fmt.Sprintf("cannot read %q: no directory to read it from", name), "")}
	}
	data, err := ReadFile(dir, clean, limit)
	if err != nil {
		// The message names the file and why it was refused, never its
		// content.
		var tl *TooLargeError
		var nr *NotRegularError
		hint := "the path is relative to the environment file's directory"
		switch {
		case errors.As(err, &tl):
			return diag.List{env.errAt("conda_file", tl.Error(), "")}
		case errors.As(err, &nr):
			return diag.List{env.errAt("conda_file", nr.Error(), "conda_file must name a regular file")}
		case strings.Contains(err.Error(), "escapes"):
			hint = "a symlink must point inside the environment's directory"
		}
		return diag.List{env.errAt("conda_file", fmt.Sprintf("cannot read %q: %v", name, unwrapPathError(err)), hint)}
	}
	cdoc, err := yamlx.Parse(path.Join(path.Dir(env.File), clean), data)
	if err != nil {
		var list diag.List // yamlx.Parse's errors are diag.Lists
		if errors.As(err, &list) {
			return list
		}
		return diag.List{env.errAt("conda_file", err.Error(), "")}
	}
	if cdoc.Root != nil && cdoc.Root.Kind == yaml.MappingNode && !looksLikeCondaFile(cdoc.Root) {
		for _, p := range yamlx.Pairs(cdoc.Root) {
			if p.Key.Value == "image" || p.Key.Value == "build" || p.Key.Value == "conda_file" {
				return diag.List{env.errAt("conda_file", fmt.Sprintf("%q is an Azure ML environment file, not a conda environment", name),
					"conda_file must name a conda environment.yml with channels and dependencies")}
			}
		}
	}
	if cdoc.Root == nil {
		return diag.List{{File: cdoc.File, Line: 1, Msg: "empty conda environment file", Hint: "list the packages under dependencies:"}}
	}
	ef, errs := envfile.FromNode(cdoc, cdoc.Root, "")
	env.Conda = ef
	if ef != nil {
		env.Warnings = append(env.Warnings, ef.Warnings...)
	}
	return errs
}

func unwrapPathError(err error) error {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

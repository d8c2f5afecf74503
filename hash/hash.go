// Package hash computes the environment hash: a sha256 digest over a
// canonical, versioned encoding of everything that makes an environment's
// image, and nothing else. Built images are found again by it.
//
// In the hash: the base image reference (normalised, so "ubuntu" and
// "docker.io/library/ubuntu:latest" agree), the Docker steps, a build
// context's files (sorted relative paths, modes and content, honouring
// .dockerignore) and Dockerfile path, the conda channels, dependencies and
// pip requirements and options in their written order (credentials in
// URLs left out), the files the pip lines name (-r and -c files by their
// lines, without comments and credentials; wheels by their sha256: what
// spec.Load read), and the baked environment variables (sorted by name: a
// mapping's key order does not matter).
//
// Not in it: name, version, description, tags, properties, inference_config
// and the file's formatting (comments, whitespace, key order).
package hash

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/pypi/reqfile"
	"github.com/envkit/envkit/spec"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/opencontainers/go-digest"
)

// encodingVersion is the version of the canonical encoding. It changes whenever the
// encoding does, so that an old hash never matches a new meaning. An
// environment is encoded at the lowest version that has every field its
// encoding holds, so that adding a field leaves the hashes of environments
// without it as they were: version 2 added conda.pip_files, version 3 a
// project directory among them (pip_files[].tree).
const (
	encodingVersion         = 1
	encodingVersionPipFiles = 2
	encodingVersionProjects = 3
)

// shortPrefix starts the printed short form of a hash.
const shortPrefix = "envkit_"

// canonical is the encoded form. Field order is fixed by the struct; lists
// keep the order that carries meaning.
type canonical struct {
	V           int         `json:"v"`
	Image       string      `json:"image,omitempty"`
	DockerSteps string      `json:"docker_steps,omitempty"`
	Build       *buildCtx   `json:"build,omitempty"`
	Conda       *conda      `json:"conda,omitempty"`
	Env         [][2]string `json:"env,omitempty"`
}

type buildCtx struct {
	URL        string `json:"url,omitempty"`
	Dockerfile string `json:"dockerfile"`
	Files      []file `json:"files,omitempty"`
}

type file struct {
	Path   string `json:"p"`
	Mode   uint32 `json:"m"`
	SHA256 string `json:"h,omitempty"`
	Link   string `json:"l,omitempty"`
}

type conda struct {
	Channels     []string `json:"channels"`
	Dependencies []string `json:"dependencies"`
	Pip          []string `json:"pip,omitempty"`
	// PipFiles are the files the pip lines name (encoding version 2).
	PipFiles []pipFile `json:"pip_files,omitempty"`
}

// pipFile is a -r or -c file by its lines (comments and blank lines
// dropped, white space collapsed, credentials removed: as pip lines are
// hashed), a wheel by its content's sha256, or a project directory by
// the sha256 of its canonical archive (spec.ProjectArchive: its files'
// paths, modes, content and symlinks, what spec left out excluded), at its
// path relative to the environment's directory.
type pipFile struct {
	Path   string   `json:"p"`
	Lines  []string `json:"lines,omitempty"`
	SHA256 string   `json:"h,omitempty"`
	Tree   string   `json:"tree,omitempty"`
}

// Compute returns the environment hash of env. buildContext is the build
// context directory (env.Build.Path already applied); it is read only for
// environments with a local build context and may be nil otherwise.
func Compute(env *spec.Environment, buildContext fs.FS) (digest.Digest, error) {
	c, err := encode(env, buildContext)
	if err != nil {
		return "", err
	}
	return digest.FromBytes(c), nil
}

// Canonical returns the canonical encoding that Compute hashes.
func Canonical(env *spec.Environment, buildContext fs.FS) ([]byte, error) {
	return encode(env, buildContext)
}

func encode(env *spec.Environment, buildContext fs.FS) ([]byte, error) {
	c := canonical{V: encodingVersion}
	if env.Image != "" {
		c.Image = normalizeImage(env.Image)
	}
	if env.DockerSteps != nil {
		c.DockerSteps = normalizeSteps(env.DockerSteps.Text)
	}
	if b := env.Build; b != nil {
		c.Build = &buildCtx{Dockerfile: path.Clean(b.Dockerfile)}
		if b.IsRemote() {
			c.Build.URL = b.Path
		} else {
			if buildContext == nil {
				return nil, contextError(env, fmt.Sprintf("the build context %q is needed to compute the hash", b.Path))
			}
			files, err := contextFiles(buildContext, c.Build.Dockerfile)
			if err != nil {
				return nil, contextError(env, fmt.Sprintf("build context %q: %v", b.Path, err))
			}
			c.Build.Files = files
		}
	}
	if ef := env.Conda; ef != nil {
		c.Conda = &conda{
			Channels:     redact(collapse(envfile.Values(ef.Channels))),
			Dependencies: collapse(envfile.Values(ef.Dependencies)),
			Pip:          pipLines(ef.Pip),
		}
		if err := checkPipLoaded(env); err != nil {
			return nil, err
		}
		for _, f := range env.PipFiles {
			pf := pipFile{Path: f.Path}
			switch {
			case f.Project:
				pf.Tree = f.SHA256
				c.V = encodingVersionProjects
			case f.Wheel:
				pf.SHA256 = f.SHA256
			default:
				pf.Lines = reqfileLines(f.Data)
			}
			c.Conda.PipFiles = append(c.Conda.PipFiles, pf)
		}
		if len(c.Conda.PipFiles) > 0 && c.V < encodingVersionPipFiles {
			c.V = encodingVersionPipFiles
		}
	}
	for _, kv := range env.Env() {
		c.Env = append(c.Env, [2]string{kv.Key, kv.Value})
	}
	sort.Slice(c.Env, func(i, j int) bool { return c.Env[i][0] < c.Env[j][0] })
	return json.Marshal(c)
}

// contextError is an error in the build context, positioned at build.path.
func contextError(env *spec.Environment, msg string) error {
	e := env.Pos("build.path")
	e.Field, e.Msg = "build.path", msg
	return diag.List{&e}
}

// Short returns the printed form of a hash: envkit_ and 32 hex digits.
func Short(d digest.Digest) string {
	h := d.Encoded()
	if len(h) > 32 {
		h = h[:32]
	}
	return shortPrefix + h
}

// normalizeImage returns the fully qualified form of an image reference
// (docker.io/library/ubuntu:latest for "ubuntu"); an unparsable reference is
// returned as is (validation reports it).
func normalizeImage(ref string) string {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(n).String()
}

// normalizeSteps drops trailing spaces and leading/trailing blank lines, so
// that YAML formatting of the block does not change the hash.
func normalizeSteps(s string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t\r")
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

// redact drops the credentials channels carry (conda's /t/<token>, user
// information): a credential is not part of what makes the image, and the
// hash, written into the image and shown, must not reveal it.
func redact(channels []string) []string {
	for i, c := range channels {
		channels[i] = channel.Redact(c)
	}
	return channels
}

// pipLines are the pip lines as collapse gives them, without the
// credentials of any URL in them ("--extra-index-url https://user:token@host/"
// hashes as "--extra-index-url https://host/"): a rotated token is the same
// environment, and the hash, which is printed and tagged, never carries a
// secret.
func pipLines(items []envfile.Item) []string {
	out := collapse(envfile.Values(items))
	for i, l := range out {
		out[i] = reqfile.Redact(l)
	}
	return out
}

// commentRE is pip's comment: from a # at the start of a line or after
// white space to the end of the line.
var commentRE = regexp.MustCompile(`(^|[ \t]+)#.*$`)

// reqfileLines are the lines of a -r or -c file as the hash covers them:
// without comments and blank lines, white space collapsed, credentials
// removed.
func reqfileLines(data []byte) []string {
	s := strings.TrimPrefix(string(data), "\ufeff")
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		l = strings.Join(strings.Fields(commentRE.ReplaceAllString(l, "")), " ")
		if l != "" {
			out = append(out, reqfile.Redact(l))
		}
	}
	return out
}

// checkPipLoaded refuses to hash an environment whose pip lines name
// files that were not read with it (parsed, not loaded with its
// directory): its hash would not cover them.
func checkPipLoaded(env *spec.Environment) error {
	ef := env.Conda
	if env.Pip != nil || len(ef.Pip) == 0 {
		return nil
	}
	lines := make([]reqfile.Line, len(ef.Pip))
	for i, it := range ef.Pip {
		lines[i] = reqfile.Line{Text: it.Value, Line: it.Line, Column: it.Column}
	}
	pf, err := reqfile.ParseLines(ef.File, lines, reqfile.Options{
		Field: "dependencies.pip",
		Open: func(string) ([]byte, error) {
			return nil, errors.New("the environment was not loaded with its directory")
		},
		Project: func(string) (string, error) {
			return "", errors.New("the environment was not loaded with its directory")
		},
	})
	if err != nil {
		return err
	}
	for _, q := range append(pf.Requirements, pf.Constraints...) {
		if q.Path != "" {
			return diag.List{{File: q.Pos.File, Line: q.Pos.Line, Column: q.Pos.Column, Field: "dependencies.pip",
				Msg: q.Text + ": the environment was not loaded with its directory"}}
		}
	}
	return nil
}

// collapse folds runs of white space inside each item ("python = 3.8" and
// "python =  3.8" agree).
func collapse(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strings.Join(strings.Fields(x), " ")
	}
	return out
}

// WalkContext calls fn for each entry of the build context as Docker sends
// it, in lexical order: every entry not excluded by .dockerignore (or
// <Dockerfile>.dockerignore), plus the Dockerfile itself, which is always
// sent; sockets and devices, which Docker does not send, are left out.
func WalkContext(fsys fs.FS, dockerfile string, fn func(p string, info fs.FileInfo) error) error {
	patterns, err := IgnorePatterns(fsys, dockerfile)
	if err != nil {
		return err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return fmt.Errorf(".dockerignore: %w", err)
	}
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		excluded, err := pm.MatchesOrParentMatches(p)
		if err != nil {
			return err
		}
		if excluded && p != dockerfile {
			if d.IsDir() && !pm.Exclusions() {
				return fs.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if m := info.Mode(); !m.IsRegular() && !m.IsDir() && m&fs.ModeSymlink == 0 {
			return nil // sockets, devices: Docker does not send them
		}
		return fn(p, info)
	})
}

// contextFiles lists the build context as Docker sends it (WalkContext),
// each regular file with its sha256.
func contextFiles(fsys fs.FS, dockerfile string) ([]file, error) {
	var files []file
	err := WalkContext(fsys, dockerfile, func(p string, info fs.FileInfo) error {
		f := file{Path: p, Mode: uint32(info.Mode() & (fs.ModeType | fs.ModePerm))}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(fsys, p)
			if err != nil {
				return err
			}
			f.Link = target
		case info.Mode().IsRegular():
			h, err := fileSHA256(fsys, p)
			if err != nil {
				return err
			}
			f.SHA256 = h
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !hasFile(files, dockerfile) {
		return nil, fmt.Errorf("Dockerfile %q not found", dockerfile) //nolint:staticcheck // ST1005: "Dockerfile" is a name, capitalised
	}
	return files, nil
}

// IgnorePatterns reads the build context's ignore file as BuildKit does:
// <dockerfile>.dockerignore when present, else .dockerignore. An ignore
// file that is not a regular file (a FIFO, a device), larger than
// spec.DefaultMaxFileSize or unreadable is an error, not "no ignore file".
func IgnorePatterns(fsys fs.FS, dockerfile string) ([]string, error) {
	for _, name := range []string{dockerfile + ".dockerignore", ".dockerignore"} {
		data, err := spec.ReadFile(fsys, name, spec.DefaultMaxFileSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		p, err := ignorefile.ReadAll(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if _, err := patternmatcher.New(p); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return p, nil
	}
	return nil, nil
}

func hasFile(files []file, p string) bool {
	for _, f := range files {
		if f.Path == p && f.SHA256 != "" {
			return true
		}
	}
	return false
}

func fileSHA256(fsys fs.FS, p string) (string, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

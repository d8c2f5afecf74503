// Package workspace is envkit's store of registered environments: a
// workspace is a namespace of an OCI registry (REGISTRY/NAMESPACE), and each
// registered NAME:VERSION is an OCI artifact in its repository
// NAMESPACE/environments: an image manifest with artifactType
// application/vnd.envkit.environment.v1 whose config is the version's record
// (name, version, hash, kind, description, tags, creation time, archived)
// and whose layers are the definition's files (the environment file and its
// conda file), each titled with its path as ORAS does. The manifest's
// annotations repeat the record, so that list reads manifests only.
//
// A version's definition is immutable; its archived flag is not: archive
// and restore write a new manifest under the same tag. Every write uploads
// the blobs first and then PUTs the manifest under its tag, one request, so
// a write that fails leaves the tag as it was (at most unreferenced blobs).
//
// The package knows spec/ and hash/ and the registry; it builds nothing.
// Curated environments come from a catalog embedded in envkit (curated/).
package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/internal/rootfs"
	"github.com/envkit/envkit/spec"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// DefaultAddress is the workspace of the embedded local stack's registry
// (internal/stack, port 5765 unless ENVKIT_REGISTRY_PORT says otherwise).
const DefaultAddress = "127.0.0.1:5765/envkit"

// EnvVar names the workspace when --workspace is not given.
const EnvVar = "ENVKIT_WORKSPACE"

// Media types of a registered version.
const (
	ArtifactType    = "application/vnd.envkit.environment.v1"
	ConfigMediaType = "application/vnd.envkit.environment.config.v1+json"
	FileMediaType   = "application/vnd.envkit.environment.file.v1"
)

// EnvironmentsRepo is the repository, under the namespace, that holds the
// registered versions.
const EnvironmentsRepo = "environments"

// Annotations of a version's manifest and file layers.
const (
	annPrefix      = "dev.envkit.environment."
	annName        = annPrefix + "name"
	annVersion     = annPrefix + "version"
	annHash        = annPrefix + "hash"
	annKind        = annPrefix + "kind"
	annArchived    = annPrefix + "archived"
	annCreated     = annPrefix + "created"
	annDescription = annPrefix + "description"
	annTags        = annPrefix + "tags" // a JSON object
	annEnvFile     = annPrefix + "file" // the environment file's path among the layers
	annMode        = "dev.envkit.file.mode"
)

// Workspace is a registry namespace holding registered environments.
type Workspace struct {
	Registry  string // host[:port]
	Namespace string // path under the registry, e.g. envkit or team/envkit

	envs     *repo
	keychain authn.Keychain
	extra    []remote.Option
	now      func() time.Time

	mu     sync.Mutex
	puller *remote.Puller
	pusher *remote.Pusher
}

// Option configures Open.
type Option func(*Workspace)

// WithKeychain replaces the docker config's credentials (authn.DefaultKeychain).
func WithKeychain(k authn.Keychain) Option { return func(w *Workspace) { w.keychain = k } }

// WithRemoteOptions adds go-containerregistry options (a transport, ...).
func WithRemoteOptions(o ...remote.Option) Option {
	return func(w *Workspace) { w.extra = append(w.extra, o...) }
}

// Open returns the workspace at addr, REGISTRY/NAMESPACE. It does not
// contact the registry. Registries on loopback and private addresses are
// spoken to over plain HTTP, others over HTTPS (go-containerregistry's rule).
func Open(addr string, opts ...Option) (*Workspace, error) {
	reg, ns, ok := strings.Cut(strings.TrimSuffix(addr, "/"), "/")
	if !ok || reg == "" || ns == "" {
		return nil, fmt.Errorf("workspace %q: want REGISTRY/NAMESPACE, e.g. %s", addr, DefaultAddress)
	}
	w := &Workspace{Registry: reg, Namespace: ns, keychain: authn.DefaultKeychain, now: time.Now}
	for _, o := range opts {
		o(w)
	}
	r, err := name.NewRepository(reg+"/"+ns+"/"+EnvironmentsRepo, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("workspace %q: %w", addr, err)
	}
	w.envs = &repo{ws: w, name: r}
	return w, nil
}

// String is the workspace's address, REGISTRY/NAMESPACE.
func (w *Workspace) String() string { return w.Registry + "/" + w.Namespace }

// Repository is the repository holding the registered versions.
func (w *Workspace) Repository() string { return w.envs.name.String() }

// CreateOptions are create's flags: they override the file's name and version.
type CreateOptions struct {
	Name, Version string
}

// Created says what Create did.
type Created struct {
	Record
	// Existed is true when the version was already registered with the
	// same definition (its description and tags may have been updated).
	Existed bool
}

// Create registers the environment file as NAME:VERSION. The name is
// opt.Name or the file's; the version opt.Version, the file's, or the
// next integer version. It does not build.
func (w *Workspace) Create(ctx context.Context, file string, opt CreateOptions) (Created, error) {
	def, err := ReadDefinition(file)
	if err != nil {
		return Created{}, err
	}
	env, h, err := def.hash()
	if err != nil {
		return Created{}, err
	}
	if err := def.stripCredentials(env, h); err != nil {
		return Created{}, fmt.Errorf("%s: %w", file, err)
	}
	nm := opt.Name
	if nm == "" {
		nm = env.Name
	}
	if nm == "" {
		return Created{}, fmt.Errorf("%s: the environment has no name; give one with --name or name: in the file", file)
	}
	if err := checkName(nm); err != nil {
		return Created{}, fmt.Errorf("%s: %w", file, err)
	}
	if IsReserved(nm) {
		return Created{}, errorf(ErrReserved, "name %q: names starting with %s are reserved for curated environments; to change a curated environment, `envkit env clone` it under a new name",
			nm, strings.Join(reservedPrefixes, " or "))
	}
	def.Name, def.Hash, def.Kind = nm, h, env.Kind()
	def.Description = env.Description
	def.Tags = map[string]string{}
	for _, kv := range env.Tags {
		def.Tags[kv.Key] = kv.Value
	}

	version := opt.Version
	if version == "" {
		version = env.Version
	}
	if version == "" {
		existing, err := w.versions(ctx, nm)
		if err != nil {
			return Created{}, err
		}
		vs := make([]string, len(existing))
		for i, r := range existing {
			vs[i] = r.Version
		}
		version = NextVersion(vs)
	}
	if err := checkVersion(version); err != nil {
		return Created{}, fmt.Errorf("%s: %w", file, err)
	}
	def.Version = version
	def.Created = w.now().UTC()

	old, err := w.get(ctx, nm, version)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return Created{}, err
	case old.Hash != def.Hash:
		return Created{}, errorf(ErrConflict, "version %s of %s exists with another definition; create a new version (registered hash %s, this file's %s)",
			version, nm, old.Hash, def.Hash)
	default:
		// The same definition again: keep the version's creation time and
		// archived flag, take the new description and tags.
		def.Created, def.Archived = old.Created, old.Archived
		if err := w.put(ctx, def); err != nil {
			return Created{}, err
		}
		return Created{Record: def.Record, Existed: true}, nil
	}
	if err := w.put(ctx, def); err != nil {
		return Created{}, err
	}
	return Created{Record: def.Record}, nil
}

// ReadDefinition reads an environment file, the conda file it refers to
// and a local build context (as Docker sends it: .dockerignore applied).
func ReadDefinition(file string) (*Definition, error) {
	dir, err := rootfs.Open(filepath.Dir(file))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	base := filepath.Base(file)
	data, err := spec.ReadFile(dir, base, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	env, err := spec.Load(file, data, dir)
	if err != nil {
		return nil, err
	}
	def := &Definition{EnvFile: base, Files: []File{{Path: base, Mode: 0o644, Data: data}}}
	if b := env.Build; b != nil && !b.IsRemote() {
		def.ContextPath = path.Clean(strings.ReplaceAll(b.Path, `\`, "/"))
		if !spec.IsLocal(def.ContextPath) {
			return nil, fmt.Errorf("%s: build.path %q is outside the environment file's directory; a registered definition keeps its files together", file, b.Path)
		}
		ctx, err := dir.Sub(def.ContextPath)
		if err != nil {
			return nil, fmt.Errorf("%s: build context %q: %w", file, b.Path, err)
		}
		if def.Context, err = readContext(ctx, path.Clean(b.Dockerfile)); err != nil {
			return nil, fmt.Errorf("%s: build context %q: %w", file, b.Path, err)
		}
	}
	if env.CondaFile != "" {
		p := path.Clean(strings.ReplaceAll(env.CondaFile, `\`, "/"))
		if !spec.IsLocal(p) {
			return nil, fmt.Errorf("%s: conda_file %q is outside the environment file's directory; a registered definition keeps its files together", file, env.CondaFile)
		}
		if p != base {
			cd, err := spec.ReadFile(dir, p, 0)
			if err != nil {
				return nil, fmt.Errorf("%s: conda_file %q: %w", file, env.CondaFile, err)
			}
			def.Files = append(def.Files, File{Path: p, Mode: 0o644, Data: cd})
		}
	}
	if err := def.addPipFiles(env, dir); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return def, nil
}

// stripCredentials removes the credentials of the URLs in the definition's
// text files (the environment file, its conda file, the -r and -c files:
// channel.StripCredentials), so that a channel's token or an index's
// password is not stored in the workspace's registry. The hash does not
// cover credentials, so the stored files keep hash h; a later build takes
// the credentials from --secret, the docker config or netrc.
func (d *Definition) stripCredentials(env *spec.Environment, h string) error {
	text := map[string]bool{d.EnvFile: true}
	if env.CondaFile != "" {
		text[path.Clean(strings.ReplaceAll(env.CondaFile, `\`, "/"))] = true
	}
	for _, pf := range env.PipFiles {
		if !pf.Wheel && !pf.Project {
			text[pf.Path] = true
		}
	}
	changed := false
	for i, f := range d.Files {
		if !text[f.Path] {
			continue
		}
		if out := channel.StripCredentials(f.Data); len(out) != len(f.Data) {
			d.Files[i].Data, changed = out, true
		}
	}
	if !changed {
		return nil
	}
	_, h2, err := d.hash()
	if err != nil {
		return fmt.Errorf("without the credentials in its URLs: %w", err)
	}
	if h2 != h {
		return fmt.Errorf("the credentials in its URLs cannot be left out without changing the environment (hash %s, then %s): pass them with --secret, the docker config or netrc instead of in the files", h, h2)
	}
	return nil
}

// addPipFiles adds the files the conda file's pip lines name (-r and -c
// files as spec read them, wheels read again from dir and checked against
// the sha256 the hash took), so that the stored definition can be built
// and hashed from its own files.
func (d *Definition) addPipFiles(env *spec.Environment, dir fs.FS) error {
	have := map[string]bool{}
	for _, f := range d.Files {
		have[f.Path] = true
	}
	for _, pf := range env.PipFiles {
		if have[pf.Path] {
			continue
		}
		have[pf.Path] = true
		if pf.Project {
			// A project directory: its files as spec read them (what
			// the hash covers), each with its mode.
			for _, f := range pf.Files {
				if f.Mode&fs.ModeSymlink != 0 {
					return fmt.Errorf("pip project %s: %s is a symlink, which a stored definition does not keep: make it a file", pf.Path, f.Path)
				}
				d.Files = append(d.Files, File{Path: path.Join(pf.Path, f.Path), Mode: f.Mode.Perm(), Data: f.Data})
			}
			continue
		}
		data := pf.Data
		if pf.Wheel {
			var err error
			if data, err = spec.ReadFile(dir, pf.Path, spec.DefaultMaxWheelSize); err != nil {
				return fmt.Errorf("pip wheel %s: %w", pf.Path, err)
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != pf.SHA256 {
				return fmt.Errorf("pip wheel %s changed while it was read", pf.Path)
			}
		}
		d.Files = append(d.Files, File{Path: pf.Path, Mode: 0o644, Data: data})
	}
	return nil
}

// put writes a version: its file blobs and config, then its manifest.
func (w *Workspace) put(ctx context.Context, def *Definition) error {
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: ArtifactType, Annotations: annotations(def.Record)}
	m.SchemaVersion = 2
	m.Annotations[annEnvFile] = def.EnvFile
	for _, f := range def.Files {
		d, err := w.envs.putBlob(ctx, f.Data, FileMediaType)
		if err != nil {
			return err
		}
		d.Annotations = map[string]string{ocispec.AnnotationTitle: f.Path, annMode: strconv.FormatUint(uint64(f.Mode.Perm()), 8)}
		m.Layers = append(m.Layers, d)
	}
	if def.ContextPath != "" {
		t, err := contextTar(def.Context)
		if err != nil {
			return err
		}
		d, err := w.envs.putBlob(ctx, t, ContextMediaType)
		if err != nil {
			return err
		}
		d.Annotations = map[string]string{ocispec.AnnotationTitle: def.ContextPath}
		m.Layers = append(m.Layers, d)
	}
	cfg, err := json.Marshal(def.Record)
	if err != nil {
		return err
	}
	if m.Config, err = w.envs.putBlob(ctx, cfg, ConfigMediaType); err != nil {
		return err
	}
	return w.envs.putManifest(ctx, tagFor(def.Name, def.Version), &m)
}

func annotations(r Record) map[string]string {
	tags, _ := json.Marshal(r.Tags)
	return map[string]string{
		annName: r.Name, annVersion: r.Version, annHash: r.Hash, annKind: string(r.Kind),
		annArchived: strconv.FormatBool(r.Archived), annCreated: r.Created.UTC().Format(time.RFC3339Nano),
		annDescription: r.Description, annTags: string(tags),
		ocispec.AnnotationCreated: r.Created.UTC().Format(time.RFC3339Nano),
	}
}

// recordOf reads a version's record from its manifest's annotations.
func recordOf(m *ocispec.Manifest) (Record, error) {
	if m.ArtifactType != ArtifactType {
		return Record{}, fmt.Errorf("not an envkit environment (artifactType %q)", m.ArtifactType)
	}
	a := m.Annotations
	r := Record{Name: a[annName], Version: a[annVersion], Hash: a[annHash], Kind: spec.Kind(a[annKind]), Description: a[annDescription]}
	var err error
	if r.Archived, err = strconv.ParseBool(a[annArchived]); err != nil {
		return Record{}, fmt.Errorf("annotation %s: %w", annArchived, err)
	}
	if r.Created, err = time.Parse(time.RFC3339Nano, a[annCreated]); err != nil {
		return Record{}, fmt.Errorf("annotation %s: %w", annCreated, err)
	}
	if t := a[annTags]; t != "" && t != "null" {
		if err := json.Unmarshal([]byte(t), &r.Tags); err != nil {
			return Record{}, fmt.Errorf("annotation %s: %w", annTags, err)
		}
	}
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	if r.Name == "" || r.Version == "" || !IsHash(r.Hash) {
		return Record{}, fmt.Errorf("incomplete record (name %q, version %q, hash %q)", r.Name, r.Version, r.Hash)
	}
	return r, nil
}

// get reads NAME:VERSION's record; ErrNotFound when it is not registered.
func (w *Workspace) get(ctx context.Context, nm, version string) (Record, error) {
	m, err := w.envs.manifest(ctx, tagFor(nm, version))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Record{}, errorf(ErrNotFound, "%s:%s is not registered in workspace %s", nm, version, w)
		}
		return Record{}, err
	}
	r, err := recordOf(m)
	if err != nil {
		return Record{}, fmt.Errorf("%s:%s in workspace %s: %w", nm, version, w, err)
	}
	if r.Name != nm || r.Version != version {
		return Record{}, fmt.Errorf("%s:%s in workspace %s: the tag holds %s:%s", nm, version, w, r.Name, r.Version)
	}
	return r, nil
}

// definition reads NAME:VERSION with its files.
func (w *Workspace) definition(ctx context.Context, nm, version string) (*Definition, error) {
	m, err := w.envs.manifest(ctx, tagFor(nm, version))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, errorf(ErrNotFound, "%s:%s is not registered in workspace %s", nm, version, w)
		}
		return nil, err
	}
	r, err := recordOf(m)
	if err != nil {
		return nil, fmt.Errorf("%s:%s in workspace %s: %w", nm, version, w, err)
	}
	def := &Definition{Record: r, EnvFile: m.Annotations[annEnvFile]}
	for _, l := range m.Layers {
		data, err := w.envs.blob(ctx, l.Digest)
		if err != nil {
			return nil, err
		}
		if l.MediaType == ContextMediaType {
			def.ContextPath = l.Annotations[ocispec.AnnotationTitle]
			if def.Context, err = untarContext(data); err != nil {
				return nil, fmt.Errorf("%s:%s in workspace %s: %w", nm, version, w, err)
			}
			continue
		}
		mode, err := strconv.ParseUint(l.Annotations[annMode], 8, 32)
		if err != nil {
			mode = 0o644
		}
		def.Files = append(def.Files, File{Path: l.Annotations[ocispec.AnnotationTitle], Mode: fs.FileMode(mode), Data: data})
	}
	return def, nil
}

// all reads every registered version (archived ones included), sorted as
// list prints them. Manifests that are not envkit environments are skipped.
func (w *Workspace) all(ctx context.Context) ([]Record, error) {
	return w.records(ctx, "")
}

// records reads the versions whose tags start with prefix (all for ""),
// eight manifests at a time.
func (w *Workspace) records(ctx context.Context, prefix string) ([]Record, error) {
	tags, err := w.envs.tags(ctx)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var out []Record
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, t := range tags {
		if !strings.HasPrefix(t, prefix) {
			continue
		}
		g.Go(func() error {
			m, err := w.envs.manifest(gctx, t)
			if errors.Is(err, ErrNotFound) { // deleted since the listing
				return nil
			} else if err != nil {
				return err
			}
			r, err := recordOf(m)
			if err != nil || tagFor(r.Name, r.Version) != t {
				return nil // not ours
			}
			mu.Lock()
			out = append(out, r)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sortRecords(out)
	return out, nil
}

// versions are NAME's registered versions, archived ones included. Only
// the tags that start as NAME's do are read (tagPrefix).
func (w *Workspace) versions(ctx context.Context, nm string) ([]Record, error) {
	all, err := w.records(ctx, tagPrefix(nm))
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, r := range all {
		if r.Name == nm {
			out = append(out, r)
		}
	}
	return out, nil
}

// ListOptions are list's flags.
type ListOptions struct {
	IncludeArchived bool
}

// List returns the registered versions, archived ones only when asked,
// ordered by name, then creation time, then version.
func (w *Workspace) List(ctx context.Context, opt ListOptions) ([]Record, error) {
	all, err := w.all(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, r := range all {
		if opt.IncludeArchived || !r.Archived {
			out = append(out, r)
		}
	}
	return out, nil
}

// Resolve returns the versions ref names: one for NAME:VERSION and
// NAME@latest, every registered version with the hash for a hash (curated
// ones included). Curated names are looked up in the embedded catalog.
func (w *Workspace) Resolve(ctx context.Context, ref Ref) ([]Record, error) {
	if ref.Hash != "" {
		all, err := w.all(ctx)
		if err != nil {
			return nil, err
		}
		var out []Record
		for _, r := range append(Curated(), all...) {
			if r.Hash == ref.Hash {
				out = append(out, r)
			}
		}
		if len(out) == 0 {
			return nil, errorf(ErrNotFound, "no environment registered in workspace %s has the hash %s", w, ref.Hash)
		}
		return out, nil
	}
	if IsReserved(ref.Name) {
		d, err := curatedDefinition(ref)
		if err != nil {
			return nil, err
		}
		return []Record{d.Record}, nil
	}
	if !ref.Latest {
		r, err := w.get(ctx, ref.Name, ref.Version)
		if err != nil {
			return nil, err
		}
		return []Record{r}, nil
	}
	vs, err := w.versions(ctx, ref.Name)
	if err != nil {
		return nil, err
	}
	r, ok := latest(vs)
	switch {
	case len(vs) == 0:
		return nil, errorf(ErrNotFound, "no environment named %s in workspace %s", ref.Name, w)
	case !ok:
		return nil, errorf(ErrNotFound, "%s@latest: every version of %s in workspace %s is archived (restore one with envkit env restore %s:VERSION)",
			ref.Name, ref.Name, w, ref.Name)
	}
	return []Record{r}, nil
}

// Lookup returns the definition ref names, files included: what a build
// of a registered or curated environment needs. For a hash it is the
// newest non-archived version with that hash (all have the same hash, so
// the same image). The stored files are checked against the stored hash.
func (w *Workspace) Lookup(ctx context.Context, ref Ref) (*Definition, error) {
	rs, err := w.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	r := rs[len(rs)-1]
	if l, ok := latest(rs); ok {
		r = l
	}
	var def *Definition
	if r.Kind == spec.Curated {
		def, err = curatedDefinition(r.Ref())
	} else {
		def, err = w.definition(ctx, r.Name, r.Version)
	}
	if err != nil {
		return nil, err
	}
	_, h, err := def.hash()
	if err != nil {
		return nil, fmt.Errorf("%s: the stored definition: %w", def.Ref(), err)
	}
	if h != def.Hash {
		return nil, fmt.Errorf("%s: the stored files hash to %s, the record says %s", def.Ref(), h, def.Hash)
	}
	return def, nil
}

// SetArchived archives (or restores) the version ref names: @latest and a
// hash that names one version are allowed. The definition is unchanged.
func (w *Workspace) SetArchived(ctx context.Context, ref Ref, archived bool) (Record, error) {
	if ref.Name != "" && IsReserved(ref.Name) {
		return Record{}, errorf(ErrCurated, "%s is a curated environment and cannot be changed; `envkit env clone` it under a new name", ref)
	}
	if ref.Latest && !archived {
		return Record{}, fmt.Errorf("%s: restore takes NAME:VERSION (@latest never names an archived version)", ref)
	}
	rs, err := w.Resolve(ctx, ref)
	if err != nil {
		return Record{}, err
	}
	if len(rs) > 1 {
		var names []string
		for _, r := range rs {
			names = append(names, r.Ref().String())
		}
		return Record{}, fmt.Errorf("%s names %d versions (%s); give NAME:VERSION", ref, len(rs), strings.Join(names, ", "))
	}
	if rs[0].Kind == spec.Curated {
		return Record{}, errorf(ErrCurated, "%s is a curated environment and cannot be changed", rs[0].Ref())
	}
	def, err := w.definition(ctx, rs[0].Name, rs[0].Version)
	if err != nil {
		return Record{}, err
	}
	if def.Archived == archived {
		return def.Record, nil
	}
	def.Archived = archived
	def.Tags = maps.Clone(def.Tags)
	if err := w.put(ctx, def); err != nil {
		return Record{}, err
	}
	return def.Record, nil
}

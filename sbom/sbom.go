// Package sbom writes the software bill of materials of an environment
// image from what envkit resolved for it, for one platform: the base image
// by digest, every conda and pip package of the platform's lock (name,
// version, archive sha256, declared licence, download URL, package URL)
// and what depends on what. One model, two formats: SPDX 2.3 JSON (what
// BuildKit attaches as an in-toto attestation) and CycloneDX 1.5 JSON.
//
// A document is a function of its input: the same lock and base give the
// same bytes (the creation time is the one given, SOURCE_DATE_EPOCH in a
// build, else the Unix epoch; the SPDX namespace and CycloneDX serial
// number are derived from the content).
package sbom

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/pypi/name"
	"github.com/package-url/packageurl-go"
)

// Environment is what a document describes: an environment image for one
// platform.
type Environment struct {
	// Name names the environment (its name, else its hash); Version is
	// its version, if any.
	Name, Version string
	// Hash is the environment hash (envkit_<hex>), if known.
	Hash string
	// Platform is the image's OCI platform, e.g. "linux/amd64".
	Platform string
	// Base is the image the environment is built on ("" Ref: none, e.g. a
	// build context whose base is not a plain reference).
	Base Image
	// Lock holds the packages; Subdir picks the platform of it to list
	// ("" when the lock has one platform). Nil: no packages.
	Lock   *lock.Lock
	Subdir string
	// Created dates the document; the zero time is the Unix epoch.
	Created time.Time
}

// Image is a container image by reference and digest.
type Image struct {
	Ref    string // e.g. "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"
	Digest string // "sha256:..."; "" when unknown
}

// Kind is what a component is.
type Kind string

const (
	KindEnvironment Kind = "environment" // the image the document describes
	KindImage       Kind = "image"       // the base image
	KindConda       Kind = "conda"
	KindPyPI        Kind = "pypi"
)

// Component is one element of the document.
type Component struct {
	// ID identifies the component in the document: its SPDX identifier
	// (SPDXRef-...) and CycloneDX bom-ref.
	ID      string
	Kind    Kind
	Name    string
	Version string
	// PURL is the package URL (pkg:conda/..., pkg:pypi/..., pkg:oci/...).
	PURL string
	// URL is where the artifact is downloaded from, credentials removed.
	URL         string
	SHA256, MD5 string // lowercase hex; "" when unknown
	// License is the declared licence as an SPDX expression ("" when
	// unknown or not one); LicenseText is the licence as declared when it
	// is not an SPDX expression.
	License, LicenseText string
	// Supplier is the organisation that distributes it (a conda channel's
	// name), "" when unknown.
	Supplier string
	// DependsOn are the IDs of the components it depends on, sorted.
	DependsOn []string
}

// Document is an environment's bill of materials.
type Document struct {
	// Name is the document's name, e.g. "envkit my-env:1 linux/amd64".
	Name    string
	Created time.Time
	// Root is the environment image; Components are the base image, then
	// the conda and pip packages by name.
	Root       Component
	Components []Component
}

// New makes env's document.
func New(env Environment) (*Document, error) {
	created := env.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	title := env.Name
	if title == "" {
		title = env.Hash
	}
	if title == "" {
		title = "environment"
	}
	d := &Document{Created: created.UTC().Truncate(time.Second)}
	ids := map[string]bool{}
	d.Root = Component{ID: uniqueID(ids, "SPDXRef-environment-"+idPart(title)), Kind: KindEnvironment, Name: title, Version: env.Version}
	d.Name = "envkit " + title
	if env.Version != "" {
		d.Name += ":" + env.Version
	}
	if env.Platform != "" {
		d.Name += " " + env.Platform
	}
	if env.Base.Ref != "" {
		c := imageComponent(env.Base, env.Platform)
		c.ID = uniqueID(ids, "SPDXRef-image-"+idPart(c.Name))
		d.Components = append(d.Components, c)
	}
	if env.Lock == nil {
		return d, nil
	}
	subdir := env.Subdir
	if subdir == "" {
		if len(env.Lock.Platforms) != 1 {
			return nil, fmt.Errorf("sbom: the lock has platforms %s: choose one", strings.Join(env.Lock.Platforms, ", "))
		}
		subdir = env.Lock.Platforms[0]
	}
	if !slices.Contains(env.Lock.Platforms, subdir) {
		return nil, fmt.Errorf("sbom: the lock has no platform %s (it has %s)", subdir, strings.Join(env.Lock.Platforms, ", "))
	}
	var pkgs []*lock.Package
	for _, p := range env.Lock.Packages {
		if p.Platform == subdir {
			pkgs = append(pkgs, p)
		}
	}
	slices.SortStableFunc(pkgs, func(a, b *lock.Package) int {
		if c := strings.Compare(rank(a.Manager), rank(b.Manager)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Category, b.Category); c != 0 {
			return c
		}
		return strings.Compare(a.URL, b.URL)
	})
	// byName finds a dependency's component: conda names as they are,
	// pip names normalised (PEP 503).
	byName := map[string]int{}
	for _, p := range pkgs {
		c, err := packageComponent(p)
		if err != nil {
			return nil, err
		}
		key := depKey(p.Manager, p.Name)
		if _, dup := byName[key]; dup {
			continue // a package in two categories
		}
		c.ID = uniqueID(ids, "SPDXRef-"+string(c.Kind)+"-"+idPart(c.Name))
		byName[key] = len(d.Components)
		d.Components = append(d.Components, c)
	}
	for _, p := range pkgs {
		ci := byName[depKey(p.Manager, p.Name)]
		c := &d.Components[ci]
		for dep := range p.Dependencies {
			if j, ok := byName[depKey(p.Manager, dep)]; ok && j != ci {
				c.DependsOn = append(c.DependsOn, d.Components[j].ID)
			}
		}
		slices.Sort(c.DependsOn)
		c.DependsOn = slices.Compact(c.DependsOn)
	}
	return d, nil
}

func rank(m lock.Manager) string {
	if m == lock.Conda {
		return "0"
	}
	return "1" + string(m)
}

func depKey(m lock.Manager, n string) string {
	if m == lock.Pip {
		n, _, _ = strings.Cut(n, "[") // extras name no other package
		n = name.Normalize(strings.TrimSpace(n))
	}
	return string(m) + "\x00" + n
}

// uniqueID returns id, or id-2, id-3... when taken, and takes it.
func uniqueID(taken map[string]bool, id string) string {
	id = strings.TrimRight(id, "-")
	out := id
	for n := 2; taken[out]; n++ {
		out = fmt.Sprintf("%s-%d", id, n)
	}
	taken[out] = true
	return out
}

// imageComponent describes the base image: pkg:oci/<name>@<digest> with
// its repository, tag and architecture; a reference that does not parse is
// named as written, without a purl.
func imageComponent(img Image, platform string) Component {
	named, err := reference.ParseNormalizedNamed(img.Ref)
	if err != nil {
		return Component{Kind: KindImage, Name: img.Ref, Version: img.Digest}
	}
	repo := named.Name()
	dgst := img.Digest
	q := map[string]string{"repository_url": repo}
	if t, ok := named.(reference.Tagged); ok {
		q["tag"] = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok && dgst == "" {
		dgst = d.Digest().String()
	}
	if _, arch, ok := strings.Cut(platform, "/"); ok {
		arch, _, _ = strings.Cut(arch, "/")
		q["arch"] = arch
	}
	last := repo[strings.LastIndexByte(repo, '/')+1:]
	purl := packageurl.NewPackageURL(packageurl.TypeOCI, "", strings.ToLower(last), dgst, packageurl.QualifiersFromMap(q), "")
	return Component{Kind: KindImage, Name: reference.FamiliarName(named), Version: dgst, PURL: purl.ToString()}
}

// packageComponent describes a locked conda or pip package.
func packageComponent(p *lock.Package) (Component, error) {
	c := Component{Name: p.Name, Version: p.Version, URL: RedactURL(p.URL), SHA256: p.SHA256, MD5: p.MD5}
	switch p.Manager {
	case lock.Conda:
		c.Kind = KindConda
		q := map[string]string{}
		if r := p.Record; r != nil {
			q["build"] = r.Build
			if r.Subdir != "" {
				q["subdir"] = r.Subdir
			}
			if ch := channelName(r.Channel); ch != "" {
				q["channel"] = ch
				if !strings.Contains(ch, "://") {
					c.Supplier = ch
				}
			}
			if ext := extOf(r.FileName); ext != "" {
				q["type"] = strings.TrimPrefix(ext, ".")
			}
			if r.License != "" {
				if expr, ok := License(r.License); ok {
					c.License = expr
				} else {
					c.LicenseText = r.License
				}
			}
		}
		purl := packageurl.NewPackageURL(packageurl.TypeConda, "", p.Name, p.Version, packageurl.QualifiersFromMap(q), "")
		c.PURL = purl.ToString()
	case lock.Pip:
		c.Kind = KindPyPI
		purl := packageurl.NewPackageURL(packageurl.TypePyPi, "", strings.ToLower(strings.ReplaceAll(p.Name, "_", "-")), p.Version, nil, "")
		c.PURL = purl.ToString()
	default:
		return c, fmt.Errorf("sbom: package %s: unknown manager %q", p.Name, p.Manager)
	}
	return c, nil
}

// extOf returns a conda archive's extension, ".conda" or ".tar.bz2".
func extOf(fn string) string {
	stem, _ := record.CutArchiveExt(fn)
	return fn[len(stem):]
}

// channelName is a channel as conda names it ("conda-forge" under
// anaconda.org, else its URL without credentials).
func channelName(base string) string {
	if base == "" {
		return ""
	}
	base = RedactURL(base)
	ch, err := channel.Parse(base)
	if err != nil {
		return base
	}
	return ch.Name
}

// RedactURL removes credentials from u: user:password@, conda's
// /t/<token>/ path prefix, and a query string.
func RedactURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" {
		return u
	}
	pu.User = nil
	pu.RawQuery = ""
	pu.Fragment = ""
	if rest, ok := strings.CutPrefix(pu.Path, "/t/"); ok {
		if _, after, ok := strings.Cut(rest, "/"); ok {
			pu.Path = "/" + after
			pu.RawPath = ""
		}
	}
	return pu.String()
}

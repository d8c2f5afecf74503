package lock

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	condaplatform "github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/tags"
	pypiversion "github.com/envkit/envkit/pypi/version"
)

// ValidPipFile checks that a pip package's URL is an http(s) or file URL
// without "..", query or fragment and, when it names a wheel or an sdist
// (name-version.tar.gz), that the file is of the package's own name and
// version (names compared normalised, versions as PEP 440 versions): a
// lock cannot steer a pip download to another project's file. Any other
// file name (a direct URL such as a GitHub archive, v2.0.tar.gz) is left to
// the check of the URL against the request (conda/resolve's CheckLock). An
// empty version matches any.
func ValidPipFile(project, version, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err == nil && u.Scheme == "file" && u.Opaque != "" {
		// file:wheels/x.whl, a wheel relative to the environment's
		// directory (a pip line that names a local wheel).
		u.Path, u.Opaque = u.Opaque, ""
	}
	switch {
	case err != nil:
		return fmt.Errorf("URL %q: %w", rawURL, err)
	case u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "file":
		return fmt.Errorf("URL %s: want an https, http or file URL", redactURL(u))
	case strings.Contains(u.Path, "..") || strings.ContainsRune(u.Path, '\\'):
		return fmt.Errorf("URL %s has \"..\" or a backslash", redactURL(u))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("URL %s has a query or fragment", redactURL(u))
	}
	fn := u.Path[strings.LastIndexByte(u.Path, '/')+1:]
	fileName, fileVersion, err := splitPipFilename(fn)
	if err != nil {
		if strings.HasSuffix(fn, ".whl") {
			return err
		}
		return nil
	}
	if !strings.HasSuffix(fn, ".whl") && name.Normalize(fileName) != name.Normalize(project) {
		return nil // an archive named otherwise, e.g. a tag's
	}
	if name.Normalize(fileName) != name.Normalize(project) {
		return fmt.Errorf("file %s is not one of %s", fn, project)
	}
	if version == "" {
		return nil
	}
	v, err := pypiversion.Parse(version)
	if err != nil {
		return fmt.Errorf("version %q: %w", version, err)
	}
	fv, err := pypiversion.Parse(fileVersion)
	if err != nil || fv.Compare(v) != 0 {
		return fmt.Errorf("file %s is not version %s of %s", fn, version, project)
	}
	return nil
}

func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// sdistExts are the source distribution extensions pip reads.
var sdistExts = []string{".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"}

// splitPipFilename returns the name and version a wheel or sdist file
// name gives.
func splitPipFilename(fn string) (string, string, error) {
	if strings.HasSuffix(fn, ".whl") {
		w, err := tags.ParseWheelFilename(fn)
		if err != nil {
			return "", "", err
		}
		return w.Name, w.Version.String(), nil
	}
	for _, ext := range sdistExts {
		if stem, ok := strings.CutSuffix(fn, ext); ok {
			i := strings.LastIndexByte(stem, '-')
			if i <= 0 || i == len(stem)-1 {
				return "", "", fmt.Errorf("%q: want name-version%s", fn, ext)
			}
			return stem[:i], stem[i+1:], nil
		}
	}
	return "", "", fmt.Errorf("%q is not a wheel or an sdist", fn)
}

// SetPip replaces the pip packages of platform, a platform of the lock
// (SetPlatform first), by pkgs, which are copied. Each needs a name, a
// version, a URL that ValidPipFile accepts and a sha256; names are unique
// once normalised. Platform and Manager are set; an empty category is main.
func (l *Lock) SetPip(platform string, pkgs []*Package) error {
	if platform == "" || platform == string(condaplatform.Noarch) || !slices.Contains(l.Platforms, platform) {
		return fmt.Errorf("lock: pip packages for %q, not a platform of the lock", platform)
	}
	out := make([]*Package, 0, len(pkgs))
	seen := map[string]bool{}
	for _, p := range pkgs {
		if p.Name == "" || p.Version == "" {
			return fmt.Errorf("lock: %s: pip package %q lacks a name or version", platform, p.Name)
		}
		if err := ValidPipFile(p.Name, p.Version, p.URL); err != nil {
			return fmt.Errorf("lock: %s: pip package %s: %w", platform, p.Name, err)
		}
		if err := record.ValidSHA256(p.SHA256); err != nil || p.SHA256 == "" {
			return fmt.Errorf("lock: %s: pip package %s: no valid sha256 (%q)", platform, p.Name, p.SHA256)
		}
		n := name.Normalize(p.Name)
		if seen[n] {
			return fmt.Errorf("lock: %s: pip package %s is locked twice", platform, p.Name)
		}
		seen[n] = true
		c := *p
		c.Manager, c.Platform, c.Record = Pip, platform, nil
		c.SHA256 = strings.ToLower(p.SHA256)
		c.Dependencies = make(map[string]string, len(p.Dependencies))
		for k, v := range p.Dependencies {
			c.Dependencies[k] = v
		}
		if c.Category == "" {
			c.Category = MainCategory
		}
		out = append(out, &c)
	}
	l.Packages = slices.DeleteFunc(l.Packages, func(p *Package) bool { return p.Platform == platform && p.Manager == Pip })
	l.Packages = append(l.Packages, out...)
	sortPackages(l.Packages)
	return nil
}

// ErrPipHash is wrapped by the error of PipPackages for a pip package
// without a sha256.
var ErrPipHash = errors.New("no sha256")

// PipPackages returns the pip packages to install for platform, in lock
// order (by name): non-optional ones always, optional ones when their
// category is listed. It fails when one lacks a sha256 or a URL, or two
// share a name but not a URL.
func (l *Lock) PipPackages(platform string, categories ...string) ([]*Package, error) {
	pkgs, err := l.selected(platform, categories)
	if err != nil {
		return nil, err
	}
	var out []*Package
	var missing []string
	for _, p := range pkgs {
		if p.Manager != Pip {
			continue
		}
		if p.SHA256 == "" || p.URL == "" {
			missing = append(missing, p.Name)
			continue
		}
		out = append(out, p)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("lock: %s: pip packages %s: %w or url (re-lock to record them)", platform, strings.Join(missing, ", "), ErrPipHash)
	}
	return out, nil
}

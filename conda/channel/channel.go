// Package channel names conda channels and their platform subdirs the way
// conda does: a bare name ("conda-forge") lives under the channel alias
// (https://conda.anaconda.org by default), a URL or a local directory is a
// channel by itself, and every channel is split into subdirs ("linux-64",
// "noarch", ...) that each serve a repodata.json (CEP 26, CEP 36).
package channel

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/envkit/envkit/conda/platform"
)

// DefaultAlias is the base URL bare channel names are resolved against.
const DefaultAlias = "https://conda.anaconda.org"

// DefaultChannels are the channels conda's "defaults" name expands to on
// Linux and macOS (Windows adds pkgs/msys2).
var DefaultChannels = []string{
	"https://repo.anaconda.com/pkgs/main",
	"https://repo.anaconda.com/pkgs/r",
}

// Channel is a resolved conda channel.
type Channel struct {
	// Name is the short name as conda prints it: "conda-forge" for a channel
	// under the alias, "pkgs/main" for a defaults channel, otherwise the
	// canonical URL.
	Name string
	// BaseURL is the canonical URL: scheme and host, no trailing slash and
	// no subdir, e.g. "https://conda.anaconda.org/conda-forge" or
	// "file:///srv/channel". It identifies the channel (records carry it in
	// their Channel field, solver channel priority compares it).
	BaseURL string
}

// String returns the channel's name.
func (c Channel) String() string { return c.Name }

// SubdirURL returns the URL of one subdir of the channel, without a
// trailing slash: SubdirURL("noarch") = BaseURL + "/noarch".
func (c Channel) SubdirURL(subdir string) string { return c.BaseURL + "/" + subdir }

// Option configures Parse.
type Option func(*options)

type options struct {
	alias string
	cwd   string
}

// WithAlias sets the channel alias bare names resolve against (conda's
// channel_alias), e.g. a mirror "https://mirror.example/conda".
func WithAlias(alias string) Option {
	return func(o *options) { o.alias = strings.TrimRight(alias, "/") }
}

// WithWorkDir sets the directory relative local paths are resolved against
// (default: the process's working directory).
func WithWorkDir(dir string) Option { return func(o *options) { o.cwd = dir } }

// Parse resolves a channel as conda accepts it in environment.yml and on the
// command line:
//
//   - a bare name, optionally with labels: "conda-forge", "bioconda",
//     "conda-forge/label/dev" -> <alias>/<name>
//   - "pkgs/main", "pkgs/r", "pkgs/msys2" -> https://repo.anaconda.com/pkgs/...
//   - an http(s) URL: "https://repo.example/chan"; a credential in it
//     (conda's token, "https://host/t/<token>/chan", or user information,
//     "https://user:password@host/chan") is dropped (SplitCredential)
//   - a file:// URL or a local directory, absolute or relative
//     ("/srv/chan", "./chan", "../chan", "~" is not expanded)
//
// A trailing platform subdir ("conda-forge/linux-64",
// "https://host/chan/noarch/") is stripped: the channel is its parent.
// "defaults" names several channels; use Expand for it.
func Parse(s string, opts ...Option) (Channel, error) {
	o := options{alias: DefaultAlias}
	for _, opt := range opts {
		opt(&o)
	}
	raw := Redact(s) // errors never show a credential
	s = strings.TrimSpace(s)
	if s == "" {
		return Channel{}, fmt.Errorf("channel: empty channel name")
	}
	if s == "defaults" {
		return Channel{}, fmt.Errorf("channel %q: names several channels (%s); use channel.Expand", raw, strings.Join(DefaultChannels, ", "))
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		// A credential (conda's /t/<token>, user:password@) is not part
		// of the channel: SplitCredential gives it to the caller that
		// fetches.
		s = Redact(s)
		u, err := url.Parse(s)
		if err != nil {
			return Channel{}, fmt.Errorf("channel %q: %w", raw, err)
		}
		if u.Host == "" {
			return Channel{}, fmt.Errorf("channel %q: URL has no host", raw)
		}
		u.Scheme = strings.ToLower(u.Scheme)
		u.Host = strings.ToLower(u.Host)
		u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
		u.Path = stripSubdir(u.Path)
		u.RawPath = ""
		base := strings.TrimRight(u.String(), "/")
		return Channel{Name: nameUnder(base, o.alias), BaseURL: base}, nil
	case strings.HasPrefix(lower, "file:"):
		u, err := url.Parse(s)
		if err != nil {
			return Channel{}, fmt.Errorf("channel %q: %w", raw, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return Channel{}, fmt.Errorf("channel %q: file URL with host %q (want file:///path)", raw, u.Host)
		}
		if !strings.HasPrefix(u.Path, "/") {
			return Channel{}, fmt.Errorf("channel %q: file URL needs an absolute path (file:///path)", raw)
		}
		return fileChannel(u.Path), nil
	case strings.Contains(s, "://"):
		return Channel{}, fmt.Errorf("channel %q: unsupported URL scheme (want http, https or file)", raw)
	case isPath(s):
		p := filepath.FromSlash(s)
		if !filepath.IsAbs(p) {
			cwd := o.cwd
			if cwd == "" {
				var err error
				if cwd, err = filepath.Abs("."); err != nil {
					return Channel{}, fmt.Errorf("channel %q: %w", raw, err)
				}
			}
			p = filepath.Join(cwd, p)
		}
		return fileChannel(filepath.ToSlash(p)), nil
	}
	// A bare name, possibly with label path components.
	name := stripSubdir(strings.Trim(s, "/"))
	name = strings.Trim(name, "/")
	if name == "" {
		return Channel{}, fmt.Errorf("channel %q: empty channel name", raw)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, " \t\\?#:") {
			return Channel{}, fmt.Errorf("channel %q: invalid channel name component %q", raw, part)
		}
	}
	if strings.HasPrefix(name, "pkgs/") {
		switch name {
		case "pkgs/main", "pkgs/r", "pkgs/msys2", "pkgs/free", "pkgs/pro":
			return Channel{Name: name, BaseURL: "https://repo.anaconda.com/" + name}, nil
		}
	}
	return Channel{Name: name, BaseURL: o.alias + "/" + name}, nil
}

// Expand is Parse that also accepts "defaults", which names the channels in
// DefaultChannels (conda's default_channels on Linux and macOS).
func Expand(s string, opts ...Option) ([]Channel, error) {
	if strings.TrimSpace(s) != "defaults" {
		c, err := Parse(s, opts...)
		if err != nil {
			return nil, err
		}
		return []Channel{c}, nil
	}
	out := make([]Channel, 0, len(DefaultChannels))
	for _, u := range DefaultChannels {
		c, err := Parse(u, opts...)
		if err != nil {
			return nil, err
		}
		c.Name = strings.TrimPrefix(u, "https://repo.anaconda.com/")
		out = append(out, c)
	}
	return out, nil
}

// isPath reports whether s names a local directory rather than a channel
// name: absolute, explicitly relative, or a Windows drive path.
func isPath(s string) bool {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		s == "." || s == ".." || strings.HasPrefix(s, `.\`) || strings.HasPrefix(s, `..\`) {
		return true
	}
	return len(s) >= 3 && s[1] == ':' && (s[2] == '\\' || s[2] == '/') &&
		(s[0]|0x20 >= 'a' && s[0]|0x20 <= 'z')
}

func fileChannel(path string) Channel {
	path = stripSubdir(path)
	if len(path) > 1 {
		path = strings.TrimRight(path, "/")
	}
	if len(path) >= 2 && path[1] == ':' { // Windows drive: file:///C:/x
		path = "/" + path
	}
	u := url.URL{Scheme: "file", Path: path}
	base := u.String()
	if !strings.HasPrefix(base, "file:///") { // url.URL writes file:/x for an empty host
		base = "file://" + strings.TrimPrefix(base, "file:")
	}
	return Channel{Name: base, BaseURL: base}
}

// stripSubdir removes a trailing "/<known subdir>" (and a trailing slash).
func stripSubdir(p string) string {
	dir, _, _ := platform.CutSubdir(p)
	return dir
}

// nameUnder returns base relative to alias when it lives under it, else base.
func nameUnder(base, alias string) string {
	if alias != "" && strings.HasPrefix(base, alias+"/") {
		return strings.TrimPrefix(base, alias+"/")
	}
	if strings.HasPrefix(base, "https://repo.anaconda.com/pkgs/") {
		return strings.TrimPrefix(base, "https://repo.anaconda.com/")
	}
	return base
}

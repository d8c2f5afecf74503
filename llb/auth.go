package llb

import (
	"net/url"
	"strings"

	bkllb "github.com/moby/buildkit/client/llb"
)

// SecretPrefix starts the id of the BuildKit secret that holds a host's
// Authorization header value: envkit-auth-<host>, the host without its
// port ("envkit-auth-conda.example.com"), passed as
// `docker buildx build --secret id=envkit-auth-conda.example.com,env=VAR`
// or `buildctl build --secret id=...`.
const SecretPrefix = "envkit-auth-"

// SecretID is the id of the secret that holds the Authorization header
// value for host (a host name, or host:port, whose port is dropped).
func SecretID(host string) string {
	return SecretPrefix + hostname(host)
}

// URLSecretID is the SecretID of a URL's host, "" when it has none.
func URLSecretID(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return SecretID(u.Host)
}

func hostname(host string) string {
	return strings.ToLower((&url.URL{Host: host}).Hostname())
}

// Auth is the set of hosts whose secret (SecretID) the build has, by
// host name without port. Which secrets a build's session holds is not
// in the LLB: the frontend asks (an exec that mounts each optional secret),
// and only then attaches them. An absent secret must not be attached:
// BuildKit's HTTP source fails a source whose AuthHeaderSecret it cannot
// get (source/http: "failed to retrieve HTTP auth secret"), where a
// source without one is fetched without credentials.
type Auth map[string]bool

// Has reports whether the build has the secret of rawURL's host.
func (a Auth) Has(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Host != "" && a[hostname(u.Host)]
}

// For is the option every HTTP source envkit makes takes (repodata,
// shards, packages, index pages, wheels): the Authorization header from
// the secret of the URL's host when the build has it, else nothing:
//
//	bkllb.HTTP(u, bkllb.Checksum(d), c.Auth.For(u))
//
// The secret's id, not its value, is part of the source and its cache
// key (source/http's formatCacheKey), so a fetch with credentials is cached
// apart from one without, and the value reaches no LLB, cache or image.
func (a Auth) For(rawURL string) bkllb.HTTPOption {
	if !a.Has(rawURL) {
		return noHTTPOption{}
	}
	return bkllb.AuthHeaderSecret(URLSecretID(rawURL))
}

type noHTTPOption struct{}

func (noHTTPOption) SetHTTPOption(*bkllb.HTTPInfo) {}

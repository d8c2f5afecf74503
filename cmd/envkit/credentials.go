package main

// Credentials for private channels (and indexes): the Authorization header
// value for a host, which `envkit lock` and `envkit search` send with their
// own requests and `envkit build` gives BuildKit as the session secret
// envkit-auth-<host> (envllb.SecretID) that the frontend's fetches send. A
// value is never printed: errors name the host and where its credentials
// came from. Another fetch of the CLI (a pip index client) takes the same
// credentials: creds.lookup(req.URL.Host).header, or an authTransport.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/httpget"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/spec"
	"golang.org/x/net/http/httpguts"
)

// secretFlagHelp documents --secret.
const secretFlagHelp = "credentials for a channel's host: id=" + envllb.SecretPrefix + "HOST,env=VAR or id=" + envllb.SecretPrefix + "HOST,src=FILE, the whole Authorization header value (e.g. \"Bearer TOKEN\"), as docker buildx and buildctl take them (repeatable)"

// credentials find the Authorization header value for a host, first found
// first: --secret id=envkit-auth-<host>; a credential in a channel URL
// (conda's /t/<token>, user:password@: channel.SplitCredential); the docker
// config's auths entry for the host (with its port, then without), through
// its credential helpers as `docker login` stores them; ~/.netrc's machine
// entry for the host ($NETRC names another file). Hosts are host names
// without port, as the secret ids have them.
type credentials struct {
	flags  map[string]string // --secret values, by host
	inURLs map[string]string // channel URL credentials, by host
	stderr io.Writer

	// dockerConfig loads the docker config; nil means the default one
	// ($DOCKER_CONFIG, else ~/.docker), as build's registry credentials.
	dockerConfig func() (*configfile.ConfigFile, error)

	mu     sync.Mutex
	docker *configfile.ConfigFile
	netrc  []netrcEntry
	loaded bool
	found  map[string]credential // by host[:port] as asked
}

// credential is a header value and where it came from.
type credential struct {
	header, source string
}

// newCredentials reads the --secret values and the credentials of the
// channel URLs (channels as written).
func newCredentials(secrets, channels []string, stderr io.Writer) (*credentials, error) {
	c := &credentials{flags: map[string]string{}, inURLs: map[string]string{}, stderr: stderr, found: map[string]credential{}}
	for _, s := range secrets {
		host, value, err := parseSecretFlag(s)
		if err != nil {
			return nil, err
		}
		c.flags[host] = value
	}
	c.addChannels(channels)
	return c, nil
}

// addChannels takes the credentials of channel URLs (channels as written),
// the first of each host. It is called before any lookup.
func (c *credentials) addChannels(channels []string) {
	for _, ch := range channels {
		if _, cred, ok := channel.SplitCredential(ch); ok {
			if _, seen := c.inURLs[cred.Hostname()]; !seen {
				c.inURLs[cred.Hostname()] = cred.Header()
			}
		}
	}
}

// authClient is an HTTP client with the default timeouts that sends each
// host its credentials (authTransport).
func authClient(creds *credentials) *http.Client {
	client := httpget.NewClient(0, 0)
	client.Transport = &authTransport{base: client.Transport, creds: creds}
	return client
}

// parseSecretFlag reads --secret id=envkit-auth-HOST,env=VAR|src=FILE
// (buildctl's and docker buildx's syntax; type=env|file accepted) and
// returns the host and the value, a file's final line break dropped.
func parseSecretFlag(s string) (host, value string, err error) {
	var id, env, src string
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return "", "", usageErrorf("--secret %q: want id=%sHOST,env=VAR or id=%sHOST,src=FILE", s, envllb.SecretPrefix, envllb.SecretPrefix)
		}
		switch strings.ToLower(k) {
		case "id":
			id = v
		case "env":
			env = v
		case "src", "source":
			src = v
		case "type":
			if v != "env" && v != "file" {
				return "", "", usageErrorf("--secret %q: type %q: want env or file", s, v)
			}
		default:
			return "", "", usageErrorf("--secret %q: unknown key %q (want id, env or src)", s, k)
		}
	}
	host, ok := strings.CutPrefix(id, envllb.SecretPrefix)
	if !ok || host == "" || strings.ContainsAny(host, ":/ ") {
		return "", "", usageErrorf("--secret %q: id %q: want %sHOST, the host without port", s, id, envllb.SecretPrefix)
	}
	switch {
	case env != "" && src != "":
		return "", "", usageErrorf("--secret %q: give env or src, not both", s)
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return "", "", fmt.Errorf("--secret %s: the environment variable %s is not set", id, env)
		}
		value = v
	default:
		if src == "" {
			src = id // as buildctl: a file named like the id
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return "", "", fmt.Errorf("--secret %s: %w", id, err)
		}
		value = strings.TrimRight(string(data), "\r\n")
	}
	if value == "" || !httpguts.ValidHeaderFieldValue(value) {
		return "", "", fmt.Errorf("--secret %s: the value is not an Authorization header value (empty, or a line break or control character inside)", id)
	}
	return strings.ToLower(host), value, nil
}

// lookup returns the credential for host (host[:port], as in a URL).
func (c *credentials) lookup(hostport string) credential {
	if c == nil {
		return credential{}
	}
	hostport = strings.ToLower(hostport)
	name := (&url.URL{Host: hostport}).Hostname()
	if v, ok := c.flags[name]; ok {
		return credential{v, "--secret id=" + envllb.SecretID(name)}
	}
	if v, ok := c.inURLs[name]; ok {
		return credential{v, "the channel's URL"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cr, ok := c.found[hostport]; ok {
		return cr
	}
	if !c.loaded {
		c.loaded = true
		if c.dockerConfig == nil {
			c.docker = dockerconfig.LoadDefaultConfigFile(c.stderr)
		} else if cfg, err := c.dockerConfig(); err != nil {
			fmt.Fprintf(c.stderr, "envkit: warning: the docker config: %v\n", err)
		} else {
			c.docker = cfg
		}
		c.netrc = readNetrc(c.stderr)
	}
	cr := c.fromDocker(hostport, name)
	if cr.header == "" {
		cr = c.fromNetrc(name)
	}
	c.found[hostport] = cr
	return cr
}

// fromDocker is the docker config's entry for the host, with its port
// first: only a host the config names (auths, credHelpers) is looked up,
// so that no credential helper is asked about other hosts.
func (c *credentials) fromDocker(hostport, name string) credential {
	if c.docker == nil {
		return credential{}
	}
	for _, key := range slices.Compact([]string{hostport, name}) {
		_, inAuths := c.docker.AuthConfigs[key]
		_, inHelpers := c.docker.CredentialHelpers[key]
		if !inAuths && !inHelpers {
			continue
		}
		ac, err := c.docker.GetAuthConfig(key)
		if err != nil {
			fmt.Fprintf(c.stderr, "envkit: warning: the docker config's credentials for %s: %v\n", key, err)
			continue
		}
		source := "the docker config's auths entry for " + key
		switch {
		case ac.RegistryToken != "":
			return credential{"Bearer " + ac.RegistryToken, source}
		case ac.Username != "" || ac.Password != "":
			return credential{basic(ac.Username, ac.Password), source}
		}
	}
	return credential{}
}

func (c *credentials) fromNetrc(name string) credential {
	for _, e := range c.netrc {
		if e.machine == name {
			return credential{basic(e.login, e.password), "~/.netrc's machine " + name}
		}
	}
	return credential{}
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// secrets are the session secrets of a build whose channels are channels:
// envkit-auth-<host> for each channel host that has credentials, and each
// --secret.
func (c *credentials) secrets(channels []string) map[string][]byte {
	out := map[string][]byte{}
	for host, v := range c.flags {
		out[envllb.SecretID(host)] = []byte(v)
	}
	for _, ch := range channels {
		if ch == "nodefaults" {
			continue
		}
		chs, err := channel.Expand(ch)
		if err != nil {
			continue
		}
		for _, x := range chs {
			u, err := url.Parse(x.BaseURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				continue
			}
			if cr := c.lookup(u.Host); cr.header != "" {
				out[envllb.SecretID(u.Host)] = []byte(cr.header)
			}
		}
	}
	return out
}

// netrcEntry is a machine of a netrc file.
type netrcEntry struct{ machine, login, password string }

// readNetrc reads $NETRC, else ~/.netrc: its machine entries (a default
// entry is not used: it would send the same credentials to every host).
func readNetrc(stderr io.Writer) []netrcEntry {
	p := os.Getenv("NETRC")
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil
		}
		p = filepath.Join(home, ".netrc")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "envkit: warning: %v\n", err)
		}
		return nil
	}
	return parseNetrc(string(data))
}

// parseNetrc parses netrc's tokens: machine NAME, default, login,
// password, account, and macdef NAME, whose body runs to the next empty
// line.
func parseNetrc(data string) []netrcEntry {
	var out []netrcEntry
	var cur *netrcEntry
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		f := strings.Fields(line)
		for j := 0; j < len(f); j++ {
			next := func() string {
				if j+1 < len(f) {
					j++
					return f[j]
				}
				return ""
			}
			switch f[j] {
			case "machine":
				out = append(out, netrcEntry{machine: strings.ToLower(next())})
				cur = &out[len(out)-1]
			case "default":
				cur = nil
			case "login":
				if v := next(); cur != nil {
					cur.login = v
				}
			case "password":
				if v := next(); cur != nil {
					cur.password = v
				}
			case "account":
				next()
			case "macdef":
				for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
					i++
				}
				j = len(f)
			}
		}
	}
	return out
}

// authTransport sends each request with its host's credentials and notes
// the hosts that refused one (401, 403).
type authTransport struct {
	base  http.RoundTripper
	creds *credentials

	mu      sync.Mutex
	refused []refusedHost
}

type refusedHost struct {
	host, source string // source: where the credentials sent came from, "" for none
	status       int
}

// RoundTrip sends req with its host's credentials, unless it carries an
// Authorization header already (an index URL's own user:password@, which
// pypi/index sends).
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var cr credential
	if req.Header.Get("Authorization") == "" {
		cr = t.creds.lookup(req.URL.Host)
	} else {
		cr.source = "the index URL"
	}
	if cr.header != "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", cr.header)
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		t.mu.Lock()
		t.refused = append(t.refused, refusedHost{host: strings.ToLower(req.URL.Hostname()), source: cr.source, status: resp.StatusCode})
		t.mu.Unlock()
	}
	return resp, err
}

// explain adds to err which host refused a request for want of
// credentials and how to give them, as the hint of a positioned error or
// after err's text; err as it is when no host refused one.
func (t *authTransport) explain(err error) error {
	if t == nil || err == nil {
		return err
	}
	t.mu.Lock()
	if len(t.refused) == 0 {
		t.mu.Unlock()
		return err
	}
	r := t.refused[0]
	t.mu.Unlock()
	status := fmt.Sprintf("%d %s", r.status, http.StatusText(r.status))
	var hint string
	if r.source != "" {
		hint = fmt.Sprintf("%s refused the credentials from %s (%s)", r.host, r.source, status)
	} else {
		hint = fmt.Sprintf("%s wants credentials (%s): give them in ~/.netrc (machine %s login USER password PASSWORD), with docker login, or as --secret id=%s,env=VAR (the whole Authorization header value, e.g. \"Bearer TOKEN\")",
			r.host, status, r.host, envllb.SecretID(r.host))
	}
	var dl diag.List
	if errors.As(err, &dl) && len(dl) == 1 {
		d := *dl[0]
		d.Hint = hint
		return diag.List{&d}
	}
	return fmt.Errorf("%w: %s", err, hint)
}

// credentialsExit is the exit code of a credentials error: usage for a malformed
// --secret, failure otherwise.
func credentialsExit(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

// buildSecrets are the session secrets of a build of env: the credentials
// of its channels' hosts, and each --secret.
func buildSecrets(flags []string, env *spec.Environment, stderr io.Writer) (map[string][]byte, error) {
	var channels []string
	if env.Conda != nil {
		channels = envfile.Values(env.Conda.Channels)
	}
	creds, err := newCredentials(flags, channels, stderr)
	if err != nil {
		return nil, err
	}
	return creds.secrets(channels), nil
}

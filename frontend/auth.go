package frontend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/helper"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/spec"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Credentials reach every fetch through BuildKit secrets: the secret
// envkit-auth-<host> (envllb.SecretID) holds the Authorization header value
// for that host, and the HTTP sources of that host's URLs name it
// (envllb.Auth.For). BuildKit's HTTP source fails a source whose secret the
// session does not have, and no gateway call says which secrets it has, so
// the frontend asks first: one exec of the helper, run on every build
// (never cached: the secrets a session holds are not part of any cache
// key), mounts each host's secret as an optional environment variable and
// reports which it got. Only those are attached.
//
// A fetch of another kind (pip's index pages and wheels) does the same:
//
//	auth, err := b.credentials(ctx, urlHosts(indexURLs...), build) // asks only for hosts not asked yet
//	llb.HTTP(u, llb.Checksum(d), auth.For(u))                      // each source
//	&buildkitTransport{..., auth: auth}                             // documents fetched through BuildKit
//
// buildkitTransport sends no header of the request it is given (an index
// client's basic authentication included): credentials reach BuildKit as
// secrets alone, never in a URL, which the LLB and provenance would show.

// credentials are the hosts whose secrets were asked for in this build.
type credentials struct {
	mu    sync.Mutex
	asked map[string]bool
	auth  envllb.Auth
}

// credentials returns the hosts among hosts (and those asked before) whose
// secret the build has, asking for those not asked yet.
func (b *builder) credentials(ctx context.Context, hosts []string, build ocispecs.Platform) (envllb.Auth, error) {
	b.creds.mu.Lock()
	defer b.creds.mu.Unlock()
	var todo []string
	for _, h := range hosts {
		if !b.creds.asked[h] && !slices.Contains(todo, h) {
			todo = append(todo, h)
		}
	}
	if len(todo) > 0 {
		sort.Strings(todo)
		got, err := b.askCredentials(ctx, todo, build)
		if err != nil {
			// Like the probe's, this exec's failure does not fail the
			// build: the hosts are fetched without credentials, and a
			// host that wants them says so.
			b.src.Warn(ctx, fmt.Sprintf("%v (fetching without credentials)", err), client.WarnOpts{})
			got = nil
		}
		if b.creds.asked == nil {
			b.creds.asked, b.creds.auth = map[string]bool{}, envllb.Auth{}
		}
		for _, h := range todo {
			b.creds.asked[h] = true
			if why, ok := got[h]; ok {
				if why != "" {
					return nil, fmt.Errorf("the secret %s cannot be sent as an Authorization header: %s", envllb.SecretID(h), why)
				}
				b.creds.auth[h] = true
			}
		}
	}
	out := envllb.Auth{}
	for h := range b.creds.auth {
		out[h] = true
	}
	return out, nil
}

// askCredentials runs the helper's probe with no URLs and the secrets of
// hosts, uncached, and returns its report (helper.ProbeOutput.Auth).
func (b *builder) askCredentials(ctx context.Context, hosts []string, build ocispecs.Platform) (map[string]string, error) {
	in, err := (&helper.ProbeInput{Hosts: hosts}).Encode()
	if err != nil {
		return nil, err
	}
	p := helper.Probe{
		Day:    time.Now().UTC().Format(time.DateOnly),
		Input:  path.Join(helper.InputDir, helper.ProbeInputFile),
		Output: path.Join(helper.OutputDir, helper.ProbeOutputFile),
	}
	ids := make([]string, len(hosts))
	for i, h := range hosts {
		ids[i] = envllb.SecretID(h)
	}
	input := llb.Scratch().File(llb.Mkfile("/"+helper.ProbeInputFile, 0o644, in), llb.WithCustomName("[internal] credentials: hosts to look for"))
	opts := append([]llb.RunOption{
		llb.Args(append([]string{helper.Path}, p.Args()...)),
		llb.AddMount(helper.InputDir, input, llb.Readonly),
		llb.Network(llb.NetModeNone),
		llb.IgnoreCache,
		llb.WithCustomName("[internal] credentials: look for the secrets " + strings.Join(ids, ", ")),
	}, authSecrets(hosts)...)
	run := llb.Image(b.opts.HelperImage, llb.Platform(build), llb.WithMetaResolver(b.c)).Run(opts...)
	ref, err := b.solve(ctx, run.AddMount(helper.OutputDir, llb.Scratch()))
	if err != nil {
		return nil, fmt.Errorf("looking for the secrets %s: %w", strings.Join(ids, ", "), err)
	}
	data, err := readFile(ctx, ref, helper.ProbeOutputFile, spec.DefaultMaxFileSize)
	if err != nil {
		return nil, err
	}
	out, err := helper.ReadProbeOutput(data)
	if err != nil {
		return nil, err
	}
	return out.Auth, nil
}

// authSecrets mounts the secret of each host as the optional environment
// variable the helper reads it from (helper.AuthEnv).
func authSecrets(hosts []string) []llb.RunOption {
	opts := make([]llb.RunOption, len(hosts))
	for i, h := range hosts {
		opts[i] = llb.AddSecret(helper.AuthEnv(i), llb.SecretID(envllb.SecretID(h)), llb.SecretAsEnv(true), llb.SecretOptional)
	}
	return opts
}

// channelHosts are the host names (no port) of the http(s) channels among
// channels.
func channelHosts(channels []string) []string {
	var out []string
	for _, c := range channels {
		if c == "nodefaults" {
			continue
		}
		chs, err := channel.Expand(c)
		if err != nil {
			continue
		}
		for _, ch := range chs {
			out = appendHost(out, ch.BaseURL)
		}
	}
	return out
}

// urlHosts are the host names (no port) of URLs.
func urlHosts(urls ...string) []string {
	var out []string
	for _, u := range urls {
		out = appendHost(out, u)
	}
	return out
}

func appendHost(hosts []string, rawURL string) []string {
	if !isHTTP(rawURL) {
		return hosts
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return hosts
	}
	h := strings.ToLower(u.Hostname())
	if slices.Contains(hosts, h) {
		return hosts
	}
	return append(hosts, h)
}

// refusal is a host's 401 or 403 to a fetch.
type refusal struct {
	host   string
	status int
}

// refusedError says which host refused a fetch for want of credentials
// and how to give them: the secret to pass, or that the one passed was
// refused.
type refusedError struct {
	err error
	refusal
	sent  bool // the build had the host's secret
	inURL bool // a channel's URL carries a credential for the host
}

func (e *refusedError) Error() string { return e.err.Error() + ": " + e.hint() }

func (e *refusedError) Unwrap() error { return e.err }

func (e *refusedError) hint() string {
	id := envllb.SecretID(e.host)
	if e.sent {
		return fmt.Sprintf("%s refused the credentials of the secret %s (%d %s): check its value, the whole Authorization header (e.g. \"Bearer <token>\")",
			e.host, id, e.status, http.StatusText(e.status))
	}
	var url string
	if e.inURL {
		url = " (a credential in a channel's or index's URL is not sent through BuildKit, where the build's definition and provenance would show it; envkit build passes a channel's as that secret)"
	}
	return fmt.Sprintf("%s wants credentials (%d %s): pass its Authorization header value (e.g. \"Bearer <token>\") as the secret %s: docker buildx build --secret id=%s,env=VAR, or buildctl build --secret id=%s,env=VAR%s",
		e.host, e.status, http.StatusText(e.status), id, id, id, url)
}

// explain adds to err, a failed resolve, which host refused a fetch for
// want of credentials and how to give them: as the hint of the error at
// the channel's line, or after err's text. err is returned as it is when
// no host refused a fetch.
func (t *buildkitTransport) explain(err error) error {
	if t == nil || err == nil {
		return err
	}
	t.mu.Lock()
	if len(t.refused) == 0 {
		t.mu.Unlock()
		return err
	}
	r := t.refused[0]
	re := &refusedError{err: err, refusal: r, sent: t.auth[r.host], inURL: t.inURL[r.host]}
	t.mu.Unlock()
	var dl diag.List
	if errors.As(err, &dl) && len(dl) == 1 {
		d := *dl[0]
		d.Hint = re.hint()
		return diag.List{&d}
	}
	return re
}

// refuse notes a 401 or 403 for url.
func (t *buildkitTransport) refuse(rawURL string, code int) {
	if code != http.StatusUnauthorized && code != http.StatusForbidden {
		return
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refused = append(t.refused, refusal{host: strings.ToLower(u.Hostname()), status: code})
}

// packageURLs are the URLs of a lock's packages.
func packageURLs(l *lock.Lock) []string {
	out := make([]string, 0, len(l.Packages))
	for _, p := range l.Packages {
		out = append(out, p.URL)
	}
	return out
}

// urlCredentialHosts are the hosts whose channel URLs carry a credential
// (channel.SplitCredential), which the frontend drops.
func urlCredentialHosts(channels []string) map[string]bool {
	out := map[string]bool{}
	for _, c := range channels {
		if _, cred, ok := channel.SplitCredential(c); ok {
			out[strings.ToLower(cred.Hostname())] = true
		}
	}
	return out
}

// refusedFetch adds to out, the failure of a package's fetch (err as
// BuildKit gave it, ops the definition's package ops), which secret to
// pass when the package's host may have refused it: a 401 or 403, or a
// digest mismatch, which is what BuildKit v0.34's HTTP source reports for a
// refused fetch by checksum (source/http Snapshot saves the body of any
// answer, unlike a fetch without checksum, which checks the status).
func refusedFetch(out, err error, ops map[digest.Digest]envllb.PackageOp, auth envllb.Auth) error {
	code, ok := httpStatus(err)
	maybe := !ok && strings.Contains(err.Error(), "digest mismatch")
	if !maybe && (code != http.StatusUnauthorized && code != http.StatusForbidden) {
		return out
	}
	var ve *errdefs.VertexError
	var pf *packageFailure
	if !errors.As(err, &ve) || !errors.As(out, &pf) {
		return out
	}
	op, ok := ops[digest.Digest(ve.Digest)]
	if !ok || !op.Fetch || len(op.Records) == 0 {
		return out
	}
	u, perr := url.Parse(op.Records[0].URL)
	if perr != nil || u.Hostname() == "" {
		return out
	}
	host := strings.ToLower(u.Hostname())
	re := &refusedError{refusal: refusal{host: host, status: code}, sent: auth[host]}
	if !maybe {
		pf.msg += ": " + re.hint()
		return out
	}
	id := envllb.SecretID(host)
	if re.sent {
		pf.msg += fmt.Sprintf(" (BuildKit takes the body of a refusal for the package: if %s refused the credentials of the secret %s, check its value)", host, id)
	} else {
		pf.msg += fmt.Sprintf(" (BuildKit takes the body of a refusal for the package: if %s wants credentials, pass its Authorization header value as the secret %s: docker buildx build --secret id=%s,env=VAR, or buildctl build --secret id=%s,env=VAR)", host, id, id, id)
	}
	return out
}

// redactIndexes are index URLs without their user information.
func redactIndexes(indexes []string) []string {
	out := make([]string, len(indexes))
	for i, u := range indexes {
		out[i] = index.Redact(u)
	}
	return out
}

// credentialsIn notes the hosts of index URLs that carry user
// information, which is dropped (errors say so).
func (t *buildkitTransport) credentialsIn(indexes []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, u := range indexes {
		if index.Redact(u) == u {
			continue
		}
		if p, err := url.Parse(u); err == nil && p.Hostname() != "" {
			if t.inURL == nil {
				t.inURL = map[string]bool{}
			}
			t.inURL[strings.ToLower(p.Hostname())] = true
		}
	}
}

// pipIndexes are the index URLs of req's pip part (none without one).
func pipIndexes(req resolve.Request) []string {
	if req.Pip == nil || req.Pip.File == nil {
		return nil
	}
	return req.Pip.File.Indexes()
}

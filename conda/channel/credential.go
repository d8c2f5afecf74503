package channel

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
)

// Credential is what a channel URL carries to authenticate with its host:
// conda's token ("https://host/t/<token>/channel") or user information
// ("https://user:password@host/channel"). Parse strips it: a Channel's Name
// and BaseURL never hold it, so neither do the records, locks and hashes
// made from them. Its String method never shows the secret part.
type Credential struct {
	// Host is the URL's host as written, with its port if any
	// ("conda.example.com", "127.0.0.1:8080"), lowercased.
	Host string
	// Token is conda's token (the path segment after /t/).
	Token string
	// Username and Password are the URL's user information; HasPassword
	// tells "user@" from "user:@".
	Username, Password string
	HasPassword        bool
}

// Hostname is the host without its port.
func (c Credential) Hostname() string {
	return (&url.URL{Host: c.Host}).Hostname()
}

// Header is the Authorization header value that carries the credential: a
// token as a bearer token (anaconda.org takes it so as well as in the
// path, conda/conda#8605), user information as HTTP basic authentication.
func (c Credential) Header() string {
	if c.Token != "" {
		return "Bearer " + c.Token
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
}

// String names the credential without showing it.
func (c Credential) String() string {
	if c.Token != "" {
		return "a conda token for " + c.Host
	}
	return "user information for " + c.Host
}

// SplitCredential returns the channel s as written without its credential,
// and the credential, for an http(s) URL that carries one ("/t/<token>"
// in its path, "user:password@" before its host). Anything else is
// returned as it is, with ok false.
func SplitCredential(s string) (clean string, cred Credential, ok bool) {
	t := strings.TrimSpace(s)
	lower := strings.ToLower(t)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return s, Credential{}, false
	}
	u, err := url.Parse(t)
	if err != nil {
		return s, Credential{}, false
	}
	cred.Host = strings.ToLower(u.Host)
	if u.User != nil {
		cred.Username = u.User.Username()
		cred.Password, cred.HasPassword = u.User.Password()
		u.User = nil
		ok = true
	}
	if p, tok, found := cutToken(u.EscapedPath()); found {
		nu, err := url.Parse(u.Scheme + "://" + u.Host + p + query(u))
		if err != nil {
			return s, Credential{}, false
		}
		u = nu
		// The token is what conda sends; user information beside it is
		// dropped as well, never kept in the URL.
		cred.Token, cred.Username, cred.Password, cred.HasPassword = tok, "", "", false
		ok = true
	}
	if !ok {
		return s, Credential{}, false
	}
	return u.String(), cred, true
}

// Redact returns s without the credential it carries (SplitCredential): the
// form of a channel to write anywhere.
func Redact(s string) string {
	clean, _, _ := SplitCredential(s)
	return clean
}

func query(u *url.URL) string {
	out := ""
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		out += "#" + u.EscapedFragment()
	}
	return out
}

// cutToken removes the first "/t/<token>" from an escaped path, as conda
// does (conda.common.url.split_anaconda_token): a token is letters, digits,
// '-' and '_', and a whole path segment.
func cutToken(p string) (rest, token string, found bool) {
	for i := 0; ; {
		j := strings.Index(p[i:], "/t/")
		if j < 0 {
			return p, "", false
		}
		j += i
		k := j + len("/t/")
		end := k
		for end < len(p) && isTokenByte(p[end]) {
			end++
		}
		if end > k && (end == len(p) || p[end] == '/') {
			return p[:j] + p[end:], p[k:end], true
		}
		i = j + 1
	}
}

func isTokenByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}

// MaskCredentials masks with '*' the credentials of the http(s) URLs in a
// text, such as an environment file (user information, conda's /t/<token>
// as SplitCredential takes it), keeping every line's length so that a
// marked column stays right: for showing a file's lines (error snippets,
// source maps). data itself is never changed; it is returned as it is
// when it holds no credential.
func MaskCredentials(data []byte) []byte {
	spans := credentialSpans(data)
	if len(spans) == 0 {
		return data
	}
	out := bytes.Clone(data)
	for _, s := range spans {
		for i := s.from; i < s.to; i++ {
			out[i] = '*'
		}
	}
	return out
}

// StripCredentials removes the credentials of the http(s) URLs in a text,
// as MaskCredentials finds them: "user:password@" and conda's "/t/<token>"
// segment go, so that https://u:p@host/t/tok/chan reads https://host/chan,
// the channel SplitCredential leaves. For keeping a file elsewhere (a
// registered definition) without what would open its channels; positions
// after a credential move. data itself is never changed; it is returned as
// it is when it holds no credential.
func StripCredentials(data []byte) []byte {
	spans := credentialSpans(data)
	if len(spans) == 0 {
		return data
	}
	out := make([]byte, 0, len(data))
	last := 0
	for _, s := range spans {
		from, to := s.from, s.to
		if s.token {
			from -= len("/t/") // the whole segment: /t/<token>
		} else {
			to++ // the '@'
		}
		out = append(out, data[last:from]...)
		last = to
	}
	return append(out, data[last:]...)
}

// span is a credential's bytes in a text: user information (without its
// '@') or a conda token (without its "/t/").
type span struct {
	from, to int
	token    bool
}

// credentialSpans finds the credentials of the http(s) URLs in data, in
// order.
func credentialSpans(data []byte) []span {
	if !bytes.Contains(data, []byte("://")) {
		return nil
	}
	var spans []span
	for _, loc := range sourceURL.FindAllIndex(data, -1) {
		u := data[loc[0]:loc[1]]
		host := bytes.Index(u, []byte("://")) + len("://")
		end := len(u)
		if i := bytes.IndexByte(u[host:], '/'); i >= 0 {
			end = host + i
		}
		if at := bytes.LastIndexByte(u[host:end], '@'); at >= 0 {
			spans = append(spans, span{from: loc[0] + host, to: loc[0] + host + at})
		}
		// conda's token: the first /t/<token> path segment.
		for p, i := u[end:], 0; ; {
			j := bytes.Index(p[i:], []byte("/t/"))
			if j < 0 {
				break
			}
			k := i + j + len("/t/")
			e := k
			for e < len(p) && isTokenByte(p[e]) {
				e++
			}
			if e > k && (e == len(p) || p[e] == '/') {
				spans = append(spans, span{from: loc[0] + end + k, to: loc[0] + end + e, token: true})
				break
			}
			i += j + 1
		}
	}
	return spans
}

// sourceURL is an http(s) URL in YAML text: up to a space, a quote, or a
// flow collection's delimiter.
var sourceURL = regexp.MustCompile(`(?i)https?://[^\s'"\[\]{},]+`)

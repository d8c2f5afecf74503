// Package matchspec implements conda's MatchSpec query language (CEP 29):
// "channel/subdir::name version build[key=value,...]" specs, their version
// specifiers, matching against package records and conda's canonical text.
//
// Parse is for specs written by tools (repodata depends and constrains);
// ParseLenient also accepts what people write in environment.yml and on
// the conda command line. Both follow conda's parser (conda.models.
// match_spec); Parse additionally rejects ambiguous input conda silently
// resolves: a key given twice, a version or build given both positionally
// and in brackets, a name glob, and a dangling operator ("numpy=").
package matchspec

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
)

// MatchSpec is a parsed conda match spec. Empty fields match anything.
type MatchSpec struct {
	Name        string           // package name, lower case; "*" or "" = any (lenient only)
	Channel     string           // "conda-forge", a URL, or "" (from "channel::name" or [channel=...])
	Subdir      string           // from "channel/subdir::name" or [subdir=...]
	Version     *VersionSpec     // nil = any version
	Build       string           // build string, exact, glob ("py3*") or regex ("^py3.*$"); "" = any
	BuildNumber *BuildNumberSpec // nil = any
	MD5, SHA256 string           // from [md5=...], [sha256=...]; "" = not given
	FileName    string           // [fn=...]: the artifact file name
	URL         string           // [url=...]: the artifact URL
	License     string           // [license=...]: case-insensitive, exact, glob or regex
	// LicenseFamily is [license_family=...], matched like License.
	LicenseFamily string
	// TrackFeatures and Features ([track_features=...], [features=...], or
	// "name@" for a feature) must equal the record's set.
	TrackFeatures []string
	Features      []string

	buildRe    *regexp.Regexp // Build compiled when it is a regex
	channelURL []string       // Channel resolved to canonical base URLs
}

// ParseError reports an invalid match spec.
type ParseError struct {
	Spec string // the text given
	Msg  string // what is wrong
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid match spec %s: %s", quoteClipped(e.Spec), clipText(e.Msg, 4*maxQuoted))
}

// maxQuoted is how much of a spec an error message quotes.
const maxQuoted = 120

// clipText cuts s to n bytes (at a rune boundary), saying how many bytes
// it left out.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d more bytes)", s[:cut], len(s)-cut)
}

// quoteClipped quotes s, cut to maxQuoted bytes (at a rune boundary) with
// the number of bytes left out: a hostile spec of megabytes does not make a
// message of megabytes.
func quoteClipped(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d more bytes)", strconv.Quote(s[:cut]), len(s)-cut)
}

// Parse parses a match spec strictly, as found in repodata depends and
// constrains ("python >=3.8,<3.9.0a0", "libgcc-ng >=12", "blas * openblas").
func Parse(s string) (*MatchSpec, error) { return parse(s, false) }

// ParseLenient parses a match spec as conda accepts it from people:
// environment.yml dependencies and command-line arguments ("python=3.8",
// "numpy 1.2", "pip>=21", "pytorch::torch", "numpy=1.2=py_0", "*[md5=...]").
func ParseLenient(s string) (*MatchSpec, error) { return parse(s, true) }

// MustParse is ParseLenient for literals in code and tests; it panics on error.
func MustParse(s string) *MatchSpec {
	m, err := ParseLenient(s)
	if err != nil {
		panic(err)
	}
	return m
}

// bracketKeys are the keys accepted inside [...], in conda's print order.
var bracketKeys = []string{
	"channel", "subdir", "name", "version", "build", "build_number", "track_features", "features",
	"url", "md5", "sha256", "license", "license_family", "fn",
}

func parse(orig string, lenient bool) (*MatchSpec, error) {
	fail := func(format string, a ...any) (*MatchSpec, error) {
		return nil, &ParseError{Spec: orig, Msg: fmt.Sprintf(format, a...)}
	}
	s := strings.TrimSpace(orig)
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if i := strings.Index(s, " if "); i >= 0 {
		s = strings.TrimSpace(s[:i]) // conditional dependencies are ignored, as conda does
	}
	if s == "" {
		return fail("empty match spec")
	}
	m := &MatchSpec{}
	if strings.HasSuffix(s, "@") { // legacy feature spec "mkl@"
		feat := strings.TrimSuffix(s, "@")
		if feat == "" || strings.ContainsFunc(feat, unicode.IsSpace) || strings.ContainsAny(feat, "@[]=<>!~,|'\"") {
			return fail("feature spec %q: want a feature name before '@'", s)
		}
		m.Name = "*"
		m.TrackFeatures = []string{feat}
		return m, nil
	}

	// Brackets: [key=value,...] at the end.
	var kv []keyValue
	if i := strings.IndexByte(s, '['); i >= 0 {
		if s[len(s)-1] != ']' {
			return fail("text after the bracket section, or missing ']'")
		}
		if strings.Contains(s[i:], "][") {
			return fail("multiple bracket sections are not allowed")
		}
		var msg string
		if kv, msg = parseBrackets(s[i+1 : len(s)-1]); msg != "" {
			return fail("%s", msg)
		}
		s = strings.TrimSpace(s[:i])
		if strings.ContainsAny(s, "[]") {
			return fail("multiple bracket sections are not allowed")
		}
	}

	// channel(/subdir):namespace:rest, split at the last two colons.
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		head, rest := s[:i], s[i+1:]
		if j := strings.LastIndexByte(head, ':'); j >= 0 {
			ch := head[:j] // head[j+1:] is the namespace, which conda ignores
			if ch != "" {
				m.Channel, m.Subdir = splitChannelSubdir(ch)
			}
		}
		s = strings.TrimSpace(rest)
	}

	// Name: up to the first space or operator character.
	k := strings.IndexAny(s, " =<>!~")
	if k < 0 {
		k = len(s)
	}
	name, rest := s[:k], s[k:]
	if name == "" {
		return fail("no package name")
	}
	name = strings.ToLower(name)
	if strings.IndexByte(name, '*') >= 0 {
		if !lenient && name != "*" {
			return fail("package name %q: globs are only accepted leniently", name)
		}
		if msg := validName(strings.ReplaceAll(name, "*", "a")); strings.HasPrefix(msg, "invalid character") {
			return fail("package name %q: %s", name, msg)
		}
	} else if msg := validName(name); msg != "" {
		return fail("package name %q: %s", name, msg)
	}
	m.Name = name

	// conda ignores a lone character after the name ("numpy=").
	if len(rest) == 1 {
		if !lenient {
			return fail("operator %q without a version", rest)
		}
		rest = ""
	}
	var versionText, build string
	hasVersion := false
	if rest = strings.TrimSpace(rest); rest != "" {
		v, b, hasBuild := splitVersionBuild(rest)
		versionText, build, hasVersion = sanitizeVersion(v, hasBuild), b, true
	}

	// Bracket keys override positional values (strictly: may not repeat them).
	seen := map[string]bool{}
	for _, p := range kv {
		if seen[p.key] && !lenient {
			return fail("key %q given more than once", p.key)
		}
		seen[p.key] = true
		switch p.key {
		case "name": // conda ignores a name in brackets: the positional one wins
		case "version":
			if hasVersion && !lenient {
				return fail("version given both positionally (%q) and in brackets (%q)", versionText, p.value)
			}
			versionText, hasVersion = sanitizeVersion(p.value, false), true
		case "build":
			if build != "" && !lenient {
				return fail("build given both positionally (%q) and in brackets (%q)", build, p.value)
			}
			build = p.value
		case "build_number":
			bn, err := ParseBuildNumberSpec(p.value)
			if err != nil {
				return fail("%v", err)
			}
			m.BuildNumber = bn
		case "channel":
			c, sd := splitChannelSubdir(p.value)
			m.Channel = c
			if sd != "" {
				m.Subdir = sd
			}
		case "subdir":
			m.Subdir = p.value
		case "md5":
			m.MD5 = p.value
		case "sha256":
			m.SHA256 = p.value
		case "fn":
			m.FileName = p.value
		case "url":
			m.URL = p.value
		case "license":
			m.License = strings.ToLower(p.value)
		case "license_family":
			m.LicenseFamily = strings.ToLower(p.value)
		case "track_features":
			m.TrackFeatures = splitFeatures(p.value)
		case "features":
			m.Features = splitFeatures(p.value)
		}
	}

	if i := strings.IndexFunc(build, func(r rune) bool { return r == '\'' || r == '"' || unicode.IsSpace(r) }); i >= 0 {
		return fail("build %s: invalid character %q", quoteClipped(build), build[i])
	}
	for _, f := range []struct{ key, value string }{{"channel", m.Channel}, {"subdir", m.Subdir}} {
		if i := strings.IndexFunc(f.value, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("'\"[]=,|<>", r)
		}); i >= 0 {
			return fail("%s %q: invalid character %q", f.key, f.value, f.value[i])
		}
	}
	if hasVersion {
		vs, err := ParseVersionSpec(versionText)
		if err != nil {
			return fail("%v", err)
		}
		m.Version = vs
	}
	m.Build = build
	if err := m.compile(); err != nil {
		return fail("%v", err)
	}
	return m, nil
}

// compile prepares the matchers of m's string fields.
func (m *MatchSpec) compile() error {
	m.buildRe = nil
	if isRegex(m.Build) {
		re, err := regexp.Compile(m.Build)
		if err != nil {
			return fmt.Errorf("build %q: invalid regex: %w", m.Build, err)
		}
		m.buildRe = re
	}
	m.channelURL = nil
	switch {
	case m.Channel == "" || strings.IndexByte(m.Channel, '*') >= 0 || isRegex(m.Channel):
	case m.Channel == "defaults":
		m.channelURL = channel.DefaultChannels
	default:
		c, err := channel.Parse(m.Channel)
		if err != nil {
			return err
		}
		m.channelURL = []string{c.BaseURL}
	}
	return nil
}

// splitChannelSubdir splits "conda-forge/linux-64" into channel and subdir
// when the last path component is a known subdir.
func splitChannelSubdir(s string) (string, string) {
	if dir, sd, ok := platform.CutSubdir(s); ok {
		return dir, string(sd)
	}
	if t := strings.TrimRight(s, "/"); platform.IsKnown(t) && t != s {
		return "", t
	}
	return s, ""
}

func splitFeatures(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == ',' })
	slices.Sort(f)
	return slices.Compact(f)
}

// splitVersionBuild splits "version build" or "version=build" as conda's
// _parse_version_plus_build: the build is the shortest tail, after a space
// or '=' that does not follow an operator character, that holds none of
// "-=,|<>~". Spaces are removed from the version.
func splitVersionBuild(s string) (ver, build string, hasBuild bool) {
	lastBad := strings.LastIndexAny(s, "-=,|<>~")
	for i := max(1, lastBad); i < len(s)-1; i++ {
		if (s[i] == ' ' || s[i] == '=') && strings.IndexByte("=!|,<>~", s[i-1]) < 0 {
			ver, build, hasBuild = s[:i], strings.TrimSpace(s[i+1:]), true
			break
		}
	}
	if !hasBuild {
		ver = s
	}
	return strings.ReplaceAll(ver, " ", ""), build, hasBuild
}

// sanitizeVersion applies conda's _sanitize_version_str: "==1.2" without
// a build is "1.2"; "=1.2" is "1.2*" without a build and "1.2" with one.
func sanitizeVersion(v string, hasBuild bool) string {
	if v == "=" || v == "==" || !strings.HasPrefix(v, "=") {
		return v
	}
	bare := strings.TrimLeft(v, "=")
	if strings.HasPrefix(v, "==") && !hasBuild && !strings.ContainsAny(bare, "=,|") {
		return bare
	}
	if !strings.ContainsAny(bare, "=,|") {
		if !hasBuild && !strings.HasSuffix(bare, "*") {
			return bare + "*"
		}
		return bare
	}
	return v
}

type keyValue struct{ key, value string }

// parseBrackets parses `key=value, key2='value 2' key3="v"`.
func parseBrackets(s string) ([]keyValue, string) {
	var out []keyValue
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i == len(s) {
			break
		}
		start := i
		for i < len(s) && (isAlnum(s[i]) || s[i] == '_' || s[i] == '-') {
			i++
		}
		key := s[start:i]
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if key == "" || i == len(s) || s[i] != '=' {
			return nil, fmt.Sprintf("expected key=value in brackets at %q", s[start:])
		}
		i++
		for i < len(s) && s[i] == ' ' {
			i++
		}
		var value string
		if i < len(s) && (s[i] == '\'' || s[i] == '"') {
			q := s[i]
			end := strings.IndexByte(s[i+1:], q)
			if end < 0 {
				return nil, fmt.Sprintf("unterminated quote in value of %q", key)
			}
			value = s[i+1 : i+1+end]
			i += end + 2
			if i < len(s) && s[i] != ',' && s[i] != ' ' {
				return nil, fmt.Sprintf("expected ',' after the quoted value of %q", key)
			}
		} else {
			vs := i
			for i < len(s) && s[i] != ',' && s[i] != ' ' {
				i++
			}
			value = s[vs:i]
		}
		if strings.TrimSpace(value) == "" {
			return nil, fmt.Sprintf("empty value for key %q", key)
		}
		if !slices.Contains(bracketKeys, key) {
			return nil, fmt.Sprintf("unknown key %q in brackets (known: %s)", key, strings.Join(bracketKeys, ", "))
		}
		out = append(out, keyValue{key, strings.TrimSpace(value)})
	}
	return out, ""
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validName checks a lower-cased package name against CEP 26: letters,
// digits and single '.', '_' or '-' separators; "__name" for virtual packages.
func validName(n string) string {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Sprintf("invalid character %q", c)
		}
	}
	isSep := func(c byte) bool { return c == '.' || c == '_' || c == '-' }
	body := n
	if strings.HasPrefix(n, "__") { // virtual package
		body = n[2:]
		if body == "" || isSep(body[0]) {
			return "a virtual package name must be '__' then a letter or digit"
		}
	} else if n[0] == '.' || n[0] == '-' {
		return "must start with a letter, a digit or '_'"
	}
	for i := 2; i < len(body); i++ {
		if isSep(body[i]) && isSep(body[i-1]) {
			return "separators ('.', '_', '-') must not follow each other"
		}
	}
	return ""
}

// Match reports whether r satisfies every field of m except Channel, URL
// and FileName, which only a RepoDataRecord has (see MatchRecord).
func (m *MatchSpec) Match(r *record.PackageRecord) bool {
	if m.Name != "" && m.Name != "*" {
		if strings.IndexByte(m.Name, '*') >= 0 {
			if !globMatch(m.Name, r.Name) {
				return false
			}
		} else if m.Name != r.Name {
			return false
		}
	}
	if m.Version != nil && !m.Version.Match(r.Version) {
		return false
	}
	if m.Build != "" && !matchString(m.Build, m.buildRe, r.Build) {
		return false
	}
	if m.BuildNumber != nil && !m.BuildNumber.Match(r.BuildNumber) {
		return false
	}
	if m.Subdir != "" && !matchString(m.Subdir, nil, r.Subdir) {
		return false
	}
	if m.MD5 != "" && !strings.EqualFold(m.MD5, r.MD5) {
		return false
	}
	if m.SHA256 != "" && !strings.EqualFold(m.SHA256, r.SHA256) {
		return false
	}
	if m.License != "" && !matchString(m.License, nil, strings.ToLower(r.License)) {
		return false
	}
	if m.LicenseFamily != "" && !matchString(m.LicenseFamily, nil, strings.ToLower(r.LicenseFamily)) {
		return false
	}
	if m.TrackFeatures != nil && !sameSet(m.TrackFeatures, r.TrackFeatures) {
		return false
	}
	if m.Features != nil && !sameSet(m.Features, splitFeatures(r.Features)) {
		return false
	}
	return true
}

// MatchRecord is Match plus the fields only a RepoDataRecord has: Channel
// (by canonical URL; a glob is matched against the channel's name), URL and
// FileName.
func (m *MatchSpec) MatchRecord(r *record.RepoDataRecord) bool {
	if !m.Match(&r.PackageRecord) {
		return false
	}
	if m.Channel != "" && m.Channel != "*" {
		if m.channelURL != nil {
			if !slices.Contains(m.channelURL, strings.TrimRight(r.Channel, "/")) {
				return false
			}
		} else {
			c, err := channel.Parse(r.Channel)
			if err != nil || !matchString(m.Channel, nil, c.Name) {
				return false
			}
		}
	}
	if m.FileName != "" && !matchString(m.FileName, nil, r.FileName) {
		return false
	}
	if m.URL != "" && !matchString(m.URL, nil, r.URL) {
		return false
	}
	return true
}

// sameSet reports whether a (sorted, unique) holds the same strings as b.
func sameSet(a, b []string) bool {
	if len(b) == 0 {
		return len(a) == 0
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// String returns the spec in conda's canonical form (conda's
// MatchSpec.__str__): "conda-forge/linux-64::numpy==1.2=py_0",
// "numpy=1.2", "python[version='>=3.8,<3.9']". Parsing it gives an equal
// spec.
func (m *MatchSpec) String() string {
	var b strings.Builder
	var brackets []string
	exactChannel := m.Channel != "" && m.Channel != "*" && !strings.ContainsAny(m.Channel, "*^$")
	if exactChannel {
		b.WriteString(channelName(m.Channel))
	} else if m.Channel != "" && m.Channel != "*" {
		brackets = append(brackets, "channel='"+m.Channel+"'")
	}
	if m.Subdir != "" {
		if exactChannel {
			b.WriteString("/" + m.Subdir)
		} else {
			brackets = append(brackets, "subdir="+m.Subdir)
		}
	}
	if b.Len() > 0 {
		b.WriteString("::")
	}
	name := m.Name
	if name == "" {
		name = "*"
	}
	b.WriteString(name)

	versionExact := false
	if m.Version != nil {
		v := m.Version.String()
		switch {
		case strings.ContainsAny(v, "><$^|,"):
			brackets = append(brackets, "version='"+v+"'")
		case strings.HasPrefix(v, "!=") || strings.HasPrefix(v, "~="):
			if m.Build != "" {
				brackets = append(brackets, "version='"+v+"'")
			} else {
				b.WriteString(v)
			}
		case m.Version.op == opStartsWith && strings.HasSuffix(v, ".*"):
			b.WriteString("=" + v[:len(v)-2])
		case m.Version.op == opAny:
		case m.Version.op == opEq && strings.HasPrefix(v, "=="):
			b.WriteString(v)
			versionExact = true
		case m.Version.op == opEq:
			b.WriteString("==" + v)
			versionExact = true
		default: // globs like "1.*.2", or "=1.2" kept as written inside a spec
			brackets = append(brackets, "version='"+v+"'")
		}
	}
	if m.Build != "" {
		switch {
		case strings.ContainsAny(m.Build, "><$^|, ="):
			brackets = append(brackets, "build='"+m.Build+"'")
		case strings.IndexByte(m.Build, '*') >= 0 || !versionExact:
			brackets = append(brackets, "build="+m.Build)
		default:
			b.WriteString("=" + m.Build)
		}
	}
	add := func(key, value string) {
		if value == "" {
			return
		}
		if strings.ContainsAny(value, ", =") {
			value = "'" + value + "'"
		}
		brackets = append(brackets, key+"="+value)
	}
	if m.BuildNumber != nil {
		add("build_number", m.BuildNumber.String())
	}
	add("track_features", strings.Join(m.TrackFeatures, " "))
	add("features", strings.Join(m.Features, " "))
	if m.Channel == "" {
		add("url", m.URL)
	}
	add("md5", m.MD5)
	add("sha256", m.SHA256)
	add("license", m.License)
	add("license_family", m.LicenseFamily)
	if m.URL == "" {
		add("fn", m.FileName)
	}
	if len(brackets) > 0 {
		b.WriteString("[" + strings.Join(brackets, ",") + "]")
	}
	return b.String()
}

// channelName returns the short name conda prints for a channel under the
// default alias ("conda-forge" for its URL); other channels print as given.
func channelName(s string) string {
	if c, err := channel.Parse(s); err == nil && !strings.Contains(c.Name, "://") {
		return c.Name
	}
	return s
}

// CutName splits a dependency spec into the package name it starts with
// and the rest, both trimmed: "python >=3.8" -> ("python", ">=3.8"),
// "conda-forge::numpy[version='>=1']" -> ("numpy", "[version='>=1']"),
// "pip>=21" -> ("pip", ">=21"). It takes PEP 508 requirements too:
// "pkg; python_version<'3.8'" -> ("pkg", "; python_version<'3.8'"),
// "pkg @ file:x" -> ("pkg", "@ file:x"). A "channel::" prefix is dropped.
// The name keeps its case (conda names are lowercase; compare PyPI names
// after strings.ToLower). It does not validate: it is the fast path for
// walking depends, where Parse would cost a full parse per spec.
func CutName(spec string) (name, rest string) {
	s := strings.TrimSpace(spec)
	if i := strings.LastIndex(s, "::"); i >= 0 {
		s = s[i+2:]
	}
	if i := strings.IndexAny(s, " \t=<>!~[(;,*@"); i >= 0 {
		return s[:i], strings.TrimSpace(s[i:])
	}
	return s, ""
}

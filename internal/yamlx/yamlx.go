// Package yamlx reads YAML documents as yaml.Node trees so that every value
// keeps its position, and reports problems as positioned diag errors.
package yamlx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/envkit/envkit/internal/diag"
	"gopkg.in/yaml.v3"
)

// Doc is one parsed YAML file.
type Doc struct {
	File string
	Root *yaml.Node // the document's top-level value; nil for an empty file or a null
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse parses data as a single YAML document. A syntax error comes back as
// a diag.List with the line yaml.v3 reports. Parse is strict where YAML is
// lax in ways that hide mistakes or smuggle data: a second document, a
// duplicate key (YAML keeps the last one silently) and a tag other than the
// standard ones (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq; e.g.
// !!binary or a custom !tag) are errors, positioned.
func Parse(file string, data []byte) (*Doc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil && !errors.Is(err, io.EOF) {
		return nil, diag.List{syntaxError(file, data, err)}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, diag.List{syntaxError(file, data, err)}
	default:
		e := &diag.Error{File: file, Line: next.Line, Column: next.Column, Msg: "a second YAML document",
			Hint: "an environment file holds one document: remove the --- line and what follows, or put it in its own file"}
		if len(next.Content) > 0 {
			e.Line, e.Column = next.Content[0].Line, next.Content[0].Column
		}
		// An empty document is placed after the end of the file.
		if lines := lineCount(data); e.Line > lines {
			e.Line, e.Column = lines, 0
		}
		return nil, diag.List{e}
	}
	d := &Doc{File: file}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 && !IsNull(n.Content[0]) {
		d.Root = n.Content[0] // a document of only "---" or "~" is empty
	}
	if errs := d.strict(); len(errs) > 0 {
		return nil, errs
	}
	return d, nil
}

func syntaxError(file string, data []byte, err error) *diag.Error {
	e := &diag.Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "invalid YAML: " + m[2]
	}
	// yaml.v3 may place an error at the end of the last line on the
	// line after it.
	if lines := lineCount(data); e.Line > lines {
		e.Line = lines
	}
	return e
}

// lineCount counts lines as YAML breaks them: at \n, \r\n and a lone \r.
func lineCount(data []byte) int {
	return bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 1
}

// standardTags are the tags a file may write explicitly.
var standardTags = map[string]bool{"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true, "!!map": true, "!!seq": true}

// strict walks the document once (aliases are not followed, so a document
// of nested aliases costs its size, not its expansion) for duplicate keys
// and explicit non-standard tags.
func (d *Doc) strict() diag.List {
	var errs diag.List
	stack := []*yaml.Node{d.Root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == nil || n.Kind == yaml.AliasNode {
			continue
		}
		if n.Style&yaml.TaggedStyle != 0 && !standardTags[n.Tag] {
			errs = append(errs, d.At(n, "", fmt.Sprintf("YAML tag %s is not accepted", clip(n.Tag, 40)),
				"write the value as a plain string, number or boolean; only the standard tags !!str, !!int, !!float, !!bool, !!null, !!map and !!seq are allowed"))
		}
		if n.Kind == yaml.MappingNode {
			errs = append(errs, d.duplicates(n)...)
		}
		for i := len(n.Content) - 1; i >= 0; i-- {
			stack = append(stack, n.Content[i])
		}
	}
	return errs
}

// duplicates reports the keys of mapping n written more than once, each at
// its repetition. Large mappings are checked by sorting their keys (no map
// of a million entries), small ones pairwise.
func (d *Doc) duplicates(n *yaml.Node) diag.List {
	var keys []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && !(k.Value == "<<" && k.Tag == "!!merge") {
			keys = append(keys, k)
		}
	}
	// Sorted by value, then by position: each run of equal keys starts
	// with the first written.
	slices.SortStableFunc(keys, func(a, b *yaml.Node) int { return strings.Compare(a.Value, b.Value) })
	var errs diag.List
	first := 0
	for i := 1; i < len(keys); i++ {
		if keys[i].Value != keys[first].Value {
			first = i
			continue
		}
		k := keys[i]
		errs = append(errs, d.At(k, clip(k.Value, 80), fmt.Sprintf("duplicate key (first at line %d)", keys[first].Line),
			"remove one of them: YAML would silently keep only the last"))
	}
	slices.SortFunc(errs, func(a, b *diag.Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return errs
}

// clip cuts s to n bytes for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// At builds an error positioned at n.
func (d *Doc) At(n *yaml.Node, field, msg, hint string) *diag.Error {
	e := &diag.Error{File: d.File, Field: field, Msg: msg, Hint: hint}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// Pair is one key/value of a mapping.
type Pair struct {
	Key   *yaml.Node
	Value *yaml.Node
}

// Pairs returns the entries of a mapping node in document order, resolving
// aliases. It returns nil for any other node.
func Pairs(n *yaml.Node) []Pair {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]Pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, Pair{Key: n.Content[i], Value: Resolve(n.Content[i+1])})
	}
	return out
}

// Resolve follows alias nodes.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is absent or an explicit null.
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// Kind names a node's kind for error messages.
func Kind(n *yaml.Node) string {
	n = Resolve(n)
	switch {
	case n == nil || IsNull(n):
		return "null"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!str":
		return "a string"
	case n.Tag == "!!int", n.Tag == "!!float":
		return "a number"
	case n.Tag == "!!bool":
		return "a boolean"
	}
	return "a " + strings.TrimPrefix(n.Tag, "!!")
}

var errNotScalar = errors.New("not a scalar")

// Scalar returns the text of a scalar node (strings, numbers and booleans
// as written).
func Scalar(n *yaml.Node) (string, error) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", errNotScalar
	}
	return n.Value, nil
}

// String reads a scalar that must be a string; numbers (as written) are
// accepted only when allowNumber is set (e.g. version: 1). Booleans never
// are: version: true is a mistake, not the version "true".
func (d *Doc) String(n *yaml.Node, field string, allowNumber bool) (string, *diag.Error) {
	n = Resolve(n)
	s, err := Scalar(n)
	switch {
	case err == nil && n.Tag == "!!str":
		return s, nil
	case err == nil && allowNumber && (n.Tag == "!!int" || n.Tag == "!!float"):
		return s, nil
	case allowNumber:
		return "", d.At(n, field, fmt.Sprintf("must be a string or a number, not %s", Kind(n)), "quote it if it is meant as text")
	}
	return "", d.At(n, field, fmt.Sprintf("must be a string, not %s", Kind(n)), "")
}

// StringMap reads a mapping of scalar values, converting scalars to strings,
// in document order.
func (d *Doc) StringMap(n *yaml.Node, field string) ([]KV, diag.List) {
	n = Resolve(n)
	if IsNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, diag.List{d.At(n, field, "must be a mapping of names to values, not "+Kind(n), "")}
	}
	var out []KV
	var errs diag.List
	seen := map[string]bool{}
	for _, p := range Pairs(n) {
		k, err := Scalar(p.Key)
		if err != nil {
			errs = append(errs, d.At(p.Key, field, "keys must be strings", ""))
			continue
		}
		if seen[k] {
			errs = append(errs, d.At(p.Key, field+"."+k, "duplicate key", "remove one of them"))
			continue
		}
		seen[k] = true
		v := ""
		if !IsNull(p.Value) {
			s, err := Scalar(p.Value)
			if err != nil {
				errs = append(errs, d.At(p.Value, field+"."+k, "value must be a string, not "+Kind(p.Value), ""))
				continue
			}
			v = s
		}
		out = append(out, KV{Key: k, Value: v, Line: p.Key.Line, Column: p.Key.Column})
	}
	return out, errs
}

// KV is one entry of a string mapping, with the key's position.
type KV struct {
	Key, Value   string
	Line, Column int
}

// UnknownKey is the error for a mapping key that is not one of known,
// positioned at the key: "unknown key", with the hint "did you mean X?"
// when a known key is close (suggest), else hint, or "known keys: a, b"
// when hint is "". Callers that only warn change Msg.
func UnknownKey(file string, key *yaml.Node, field string, known []string, hint string) *diag.Error {
	k, _ := Scalar(key)
	if s := suggest(k, known); s != "" {
		hint = "did you mean " + s + "?"
	} else if hint == "" {
		hint = knownKeysHint(known)
	}
	e := &diag.Error{File: file, Field: field, Msg: "unknown key", Hint: hint}
	if key != nil {
		e.Line, e.Column = key.Line, key.Column
	}
	return e
}

// knownHints holds "known keys: ..." per list of known keys (keyed by its
// first element's address), so that a million unknown keys share one hint.
var knownHints sync.Map

func knownKeysHint(known []string) string {
	if len(known) == 0 {
		return ""
	}
	if h, ok := knownHints.Load(&known[0]); ok {
		return h.(string)
	}
	h := "known keys: " + strings.Join(known, ", ")
	knownHints.Store(&known[0], h)
	return h
}

// UnknownKey is UnknownKey in d's file.
func (d *Doc) UnknownKey(key *yaml.Node, field string, known []string, hint string) *diag.Error {
	return UnknownKey(d.File, key, field, known, hint)
}

// suggest returns the candidate closest to s (edit distance at most 2), for
// "did you mean" hints, or "" (always for an empty s). It costs nothing for
// keys whose length is far from every candidate's, and allocates nothing
// for short ones: a file of a million unknown keys asks it a million times.
func suggest(s string, candidates []string) string {
	if s == "" || len(s) > 64 {
		return ""
	}
	best, bestD := "", 3
	for _, c := range candidates {
		if len(c) > len(s)+2 || len(s) > len(c)+2 {
			continue
		}
		if d := distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the edit distance of a and b, ignoring ASCII case.
func distance(a, b string) int {
	var buf [2][67]int
	prev, cur := buf[0][:len(b)+1], buf[1][:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if lower(a[i-1]) == lower(b[j-1]) {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

package lock

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/yamlx"
	"gopkg.in/yaml.v3"
)

// decoder reads a yaml.Node tree, collecting positioned errors. Every
// method returns a zero value for a nil (absent) node without reporting
// it: a missing required key is reported once, by fields.
type decoder struct {
	file    string
	errs    diag.List
	skipped []Skipped // packages left out (see Lock.Skipped)
}

// parseYAML parses data (YAML or JSON) and returns its top-level node.
func parseYAML(file string, data []byte) (*yaml.Node, error) {
	doc, err := yamlx.Parse(file, data)
	if err != nil {
		return nil, err
	}
	return yamlx.Resolve(doc.Root), nil
}

var (
	resolve = yamlx.Resolve
	isNull  = yamlx.IsNull
	kind    = yamlx.Kind
)

func sub(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func item(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	e := &diag.Error{File: d.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// skip leaves a package out of the lock, with a warning at n.
func (d *decoder) skip(n *yaml.Node, field, platform, name string, err error) {
	d.skipped = append(d.skipped, d.skipAt(n, field, platform, name, err))
}

// skipAt is the Skipped of a package left out for err, with a warning at n.
func (d *decoder) skipAt(n *yaml.Node, field, platform, name string, err error) Skipped {
	w := skipWarning(d.file, 0, field, name, err)
	if n != nil {
		w.Line, w.Column = n.Line, n.Column
	}
	return Skipped{Platform: platform, Name: name, Warning: w}
}

// fields returns a mapping's values by key. Unless known is nil, a key not
// in known is an error; required keys that are absent are errors too.
func (d *decoder) fields(n *yaml.Node, field string, known, required []string) map[string]*yaml.Node {
	n = resolve(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "must be a mapping, not %s", kind(n))
		return nil
	}
	m := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		switch {
		case k.Kind != yaml.ScalarNode:
			d.fail(k, field, "keys must be strings, not %s", kind(k))
		case m[k.Value] != nil:
			d.fail(k, sub(field, k.Value), "duplicate key")
		case known != nil && !slices.Contains(known, k.Value):
			d.errs = append(d.errs, yamlx.UnknownKey(d.file, k, sub(field, k.Value), known, ""))
		default:
			m[k.Value] = v
		}
	}
	for _, k := range required {
		if m[k] == nil {
			d.fail(n, sub(field, k), "required field is missing")
		}
	}
	return m
}

// str reads a scalar as text; numbers are taken as written (version: 1.2).
func (d *decoder) str(n *yaml.Node, field string) string {
	n = resolve(n)
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.fail(n, field, "must be a string, not %s", kind(n))
		return ""
	}
	return n.Value
}

// optStr is str where null or absent means "".
func (d *decoder) optStr(n *yaml.Node, field string) string {
	if isNull(n) {
		return ""
	}
	return d.str(n, field)
}

func (d *decoder) boolean(n *yaml.Node, field string) bool {
	n = resolve(n)
	if n == nil {
		return false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.fail(n, field, "must be true or false, not %s", kind(n))
		return false
	}
	return strings.EqualFold(n.Value, "true")
}

// integer reads an integer; ok is false (and an error reported) when n
// is something else. Null or absent is 0.
func (d *decoder) integer(n *yaml.Node, field string) (i int64, ok bool) {
	n = resolve(n)
	if isNull(n) {
		return 0, true
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
		d.fail(n, field, "must be an integer, not %s", kind(n))
		return 0, false
	}
	return i, true
}

// list reads a sequence; null or absent is an empty list.
func (d *decoder) list(n *yaml.Node, field string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, field, "must be a list, not %s", kind(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out
}

func (d *decoder) strList(n *yaml.Node, field string) []string {
	items := d.list(n, field)
	out := make([]string, 0, len(items))
	for i, c := range items {
		out = append(out, d.str(c, item(field, i)))
	}
	return out
}

// strMap reads a mapping of strings (null values are ""); null or absent
// is an empty map. The map is never nil.
func (d *decoder) strMap(n *yaml.Node, field string) map[string]string {
	out := map[string]string{}
	if isNull(n) {
		return out
	}
	for k, v := range d.fields(n, field, nil, nil) {
		out[k] = d.optStr(v, sub(field, k))
	}
	return out
}

// err returns the collected errors sorted by position, or nil.
func (d *decoder) err() error {
	slices.SortStableFunc(d.errs, func(a, b *diag.Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return d.errs.Err()
}

// Package envfile reads conda environment.yml files (CEP 24): name,
// channels, dependencies with a pip subsection, variables, and the
// platforms/category extensions. Every value keeps its position so that
// problems are reported at the right line.
package envfile

import (
	"fmt"
	"strings"

	"github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/yamlx"
	"gopkg.in/yaml.v3"
)

// Item is a string value with its position in the file.
type Item struct {
	Value  string
	Line   int
	Column int
}

// EnvFile is one environment.yml.
type EnvFile struct {
	File         string
	Name         string
	Prefix       string
	Channels     []Item // as written, in order; "nodefaults" included
	Dependencies []Item // conda match specs as written, in order
	Pip          []Item // the pip subsection's requirements, in order
	Variables    []yamlx.KV
	Platforms    []Item
	Category     string
	// Warnings are problems that do not stop a build (unknown top-level
	// keys, which CEP 24 says to ignore with a warning).
	Warnings diag.List
}

// cep24Keys are the top-level keys CEP 24 and its extensions define.
var cep24Keys = []string{"name", "prefix", "channels", "dependencies", "variables", "platforms", "category"}

// Parse reads an environment.yml document.
func Parse(file string, data []byte) (*EnvFile, error) {
	doc, err := yamlx.Parse(file, data)
	if err != nil {
		return nil, err
	}
	if doc.Root == nil {
		return nil, diag.List{{File: file, Line: 1, Msg: "empty conda environment file", Hint: "list the packages under dependencies:"}}
	}
	ef, errs := FromNode(doc, doc.Root, "")
	return ef, errs.Err()
}

// FromNode reads an environment.yml held in node n of doc (the document root,
// or an inline conda_file mapping). field prefixes the field names in errors.
func FromNode(doc *yamlx.Doc, n *yaml.Node, field string) (*EnvFile, diag.List) {
	ef := &EnvFile{File: doc.File}
	f := func(name string) string {
		if field == "" {
			return name
		}
		return field + "." + name
	}
	n = yamlx.Resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, diag.List{doc.At(n, field, "a conda environment must be a mapping, not "+yamlx.Kind(n), "see CEP 24: name, channels, dependencies")}
	}
	var errs diag.List
	sawDeps := false
	for _, p := range yamlx.Pairs(n) {
		key := p.Key.Value
		switch key {
		case "name", "prefix", "category":
			if yamlx.IsNull(p.Value) {
				continue
			}
			s, e := doc.String(p.Value, f(key), true)
			if e != nil {
				errs = append(errs, e)
				continue
			}
			switch key {
			case "name":
				ef.Name = s
				if strings.ContainsAny(s, "/ :#") {
					errs = append(errs, doc.At(p.Value, f(key), fmt.Sprintf("environment name %q contains one of / space : #", s), "choose a name without them"))
				}
			case "prefix":
				ef.Prefix = s
			case "category":
				ef.Category = s
			}
		case "channels", "platforms":
			items, e := stringList(doc, p.Value, f(key))
			errs = append(errs, e...)
			if key == "channels" {
				ef.Channels = items
			} else {
				ef.Platforms = items
				for _, it := range items {
					if it.Value == string(platform.Noarch) {
						errs = append(errs, &diag.Error{File: doc.File, Line: it.Line, Column: it.Column, Field: f(key), Msg: "noarch is not a platform", Hint: "name target platforms such as linux-64"})
					}
				}
			}
		case "dependencies":
			sawDeps = true
			errs = append(errs, ef.readDependencies(doc, p.Value, f(key))...)
		case "variables":
			kv, e := doc.StringMap(p.Value, f(key))
			errs = append(errs, e...)
			ef.Variables = kv
		default:
			w := doc.UnknownKey(p.Key, f(key), cep24Keys, "CEP 24 keys are "+strings.Join(cep24Keys, ", "))
			w.Msg = "unknown key in a conda environment, ignored"
			ef.Warnings = append(ef.Warnings, w)
		}
	}
	if !sawDeps {
		errs = append(errs, doc.At(n, f("dependencies"), "missing", "list the conda packages under dependencies:"))
	}
	return ef, errs
}

func (ef *EnvFile) readDependencies(doc *yamlx.Doc, n *yaml.Node, field string) diag.List {
	if yamlx.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return diag.List{doc.At(n, field, "must be a list, not "+yamlx.Kind(n), "write one package spec per line, each starting with '- '")}
	}
	var errs diag.List
	for i, c := range n.Content {
		c = yamlx.Resolve(c)
		fi := fmt.Sprintf("%s[%d]", field, i)
		if c.Kind == yaml.MappingNode {
			for _, p := range yamlx.Pairs(c) {
				if p.Key.Value != "pip" {
					errs = append(errs, doc.At(p.Key, fi+"."+p.Key.Value, "unknown dependency subsection", "only pip: is supported"))
					continue
				}
				items, e := stringList(doc, p.Value, fi+".pip")
				errs = append(errs, e...)
				ef.Pip = append(ef.Pip, items...)
			}
			continue
		}
		s, err := yamlx.Scalar(c)
		if err != nil {
			errs = append(errs, doc.At(c, fi, "must be a package spec string or a pip: list, not "+yamlx.Kind(c), ""))
			continue
		}
		s = strings.TrimSpace(s)
		if s == "" {
			errs = append(errs, doc.At(c, fi, "empty package spec", "remove the line"))
			continue
		}
		ef.Dependencies = append(ef.Dependencies, Item{Value: s, Line: c.Line, Column: c.Column})
	}
	return errs
}

func stringList(doc *yamlx.Doc, n *yaml.Node, field string) ([]Item, diag.List) {
	n = yamlx.Resolve(n)
	if yamlx.IsNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, diag.List{doc.At(n, field, "must be a list, not "+yamlx.Kind(n), "")}
	}
	var out []Item
	var errs diag.List
	for i, c := range n.Content {
		s, err := yamlx.Scalar(c)
		if err != nil || strings.TrimSpace(s) == "" {
			errs = append(errs, doc.At(c, fmt.Sprintf("%s[%d]", field, i), "must be a non-empty string, not "+yamlx.Kind(c), ""))
			continue
		}
		out = append(out, Item{Value: strings.TrimSpace(s), Line: c.Line, Column: c.Column})
	}
	return out, errs
}

// Values returns the values of items.
func Values(items []Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Value
	}
	return out
}

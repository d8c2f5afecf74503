package yamlx

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestUnknownKey covers what the former hand-written checks said: spec's
// top-level keys (known keys listed), build and inference_config (their
// own hint), conda/envfile (CEP 24 keys, a warning) and conda/lock's
// decoder (known fields listed).
func TestUnknownKey(t *testing.T) {
	doc, err := Parse("env.yml", []byte("name: a\ndescripton: x\nbuild:\n  paht: .\n  zzz: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	pairs := Pairs(doc.Root)
	build := Pairs(pairs[2].Value)
	keys := []string{"name", "version", "description", "image", "build"}
	for _, c := range []struct {
		key               *yaml.Node
		field             string
		known             []string
		hint              string
		line, col         int
		wantHint, wantErr string
	}{
		{pairs[1].Key, "descripton", keys, "", 2, 1, "did you mean description?", "env.yml:2:1: descripton: unknown key"},
		{build[0].Key, "build.paht", []string{"path", "dockerfile_path"}, "build takes path and dockerfile_path", 4, 3, "did you mean path?", "env.yml:4:3: build.paht: unknown key"},
		{build[1].Key, "build.zzz", []string{"path", "dockerfile_path"}, "build takes path and dockerfile_path", 5, 3, "build takes path and dockerfile_path", "env.yml:5:3: build.zzz: unknown key"},
		{build[1].Key, "build.zzz", []string{"path", "dockerfile_path"}, "", 5, 3, "known keys: path, dockerfile_path", "env.yml:5:3: build.zzz: unknown key"},
		{pairs[1].Key, "descripton", []string{"DESCRIPTION"}, "", 2, 1, "did you mean DESCRIPTION?", "env.yml:2:1: descripton: unknown key"},
	} {
		e := doc.UnknownKey(c.key, c.field, c.known, c.hint)
		if e.Line != c.line || e.Column != c.col || e.Field != c.field || e.Hint != c.wantHint || !strings.HasPrefix(e.Error(), c.wantErr) {
			t.Errorf("UnknownKey(%s) = %q (hint %q, %d:%d), want %q (hint %q, %d:%d)", c.field, e.Error(), e.Hint, e.Line, e.Column, c.wantErr, c.wantHint, c.line, c.col)
		}
	}
	if e := UnknownKey("lock.yml", nil, "x", []string{"a", "b"}, ""); e.Line != 0 || e.File != "lock.yml" || e.Hint != "known keys: a, b" {
		t.Errorf("UnknownKey without a node = %+v", e)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"name", "version", "description", "dockerfile_path"}
	for in, want := range map[string]string{
		"descripton":     "description",
		"Descripton":     "description",
		"nmae":           "name",
		"verison":        "version",
		"dockerfilepath": "dockerfile_path",
		"colour":         "",
		"":               "",
		"n":              "", // too far from every key
	} {
		if got := suggest(in, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// Parse refuses what YAML accepts silently but an environment file must
// not hold: a second document, a duplicate key, a non-standard tag; it
// keeps the standard explicit tags, merge keys and aliases.
func TestParseStrict(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"name: a\n---\nname: b\n", "env.yml:3:1: a second YAML document"},
		{"name: a\nimage: x\nname: b\n", "env.yml:3:1: name: duplicate key (first at line 1)"},
		{"tags:\n  a: 1\n  b: 2\n  a: 3\n", "env.yml:4:3: a: duplicate key (first at line 2)"},
		{"deps:\n  - {x: 1, x: 2}\n", "env.yml:2:12: x: duplicate key (first at line 2)"},
		{"name: !!binary aGVsbG8=\n", "env.yml:1:7: YAML tag !!binary is not accepted"},
		{"name: !custom x\n", "env.yml:1:7: YAML tag !custom is not accepted"},
		{"version: !!timestamp 2001-12-14\n", "YAML tag !!timestamp is not accepted"},
		{"a: [\n", "env.yml:1: invalid YAML"},
		{"a: 1\n---\na: [\n", "invalid YAML"},
	} {
		_, err := Parse("env.yml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.src, err, c.want)
		}
	}
	for _, src := range []string{
		"name: !!str 1\nversion: !!int 2\nx: !!float 1.5\ny: !!bool true\nz: !!null ~\nm: !!map {a: 1}\ns: !!seq [1]\n",
		"base: &b {a: 1}\nother:\n  <<: *b\n  c: 2\n",
		"---\nname: a\n...\n",
		"",
		"a: 1\nb: {a: 1}\nc: [{a: 1}, {a: 2}]\n",
	} {
		if _, err := Parse("env.yml", []byte(src)); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

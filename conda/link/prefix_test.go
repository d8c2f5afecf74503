package link

import (
	"errors"
	"strings"
	"testing"

	condapkg "github.com/envkit/envkit/conda/package"
)

func TestReplaceBinary(t *testing.T) {
	const ph = "/placeholder/prefix"
	cases := []struct{ in, prefix, want string }{
		{"abc", "/p", "abc"},
		{"x\x00" + ph + "/lib\x00y", "/p", "x\x00/p/lib" + strings.Repeat("\x00", len(ph)-2) + "\x00y"},
		{ph + ":" + ph + "\x00", "/p", "/p:/p" + strings.Repeat("\x00", 2*(len(ph)-2)) + "\x00"},
		{"a" + ph, "/p", "a/p" + strings.Repeat("\x00", len(ph)-2)}, // unterminated at EOF
		{ph + "\x00" + ph + "\x00", ph, ph + "\x00" + ph + "\x00"},  // same length
	}
	for _, c := range cases {
		got, err := replaceBinary([]byte(c.in), ph, c.prefix)
		if err != nil || string(got) != c.want || len(got) != len(c.in) {
			t.Errorf("replaceBinary(%q, %q) = %q, %v; want %q", c.in, c.prefix, got, err, c.want)
		}
	}
	var tooLong *PrefixTooLongError
	if _, err := replaceBinary([]byte("x"+ph), ph, ph+"x"); !errors.As(err, &tooLong) {
		t.Errorf("longer prefix: err = %v", err)
	}
	// A file without the placeholder is fine whatever the prefix.
	if got, err := replaceBinary([]byte("none"), ph, ph+"longer"); err != nil || string(got) != "none" {
		t.Errorf("no placeholder: %q, %v", got, err)
	}
}

func TestFixShebang(t *testing.T) {
	long := "/" + strings.Repeat("p", 130)
	cases := []struct{ line, prefix, want string }{
		{"#!/short/bin/python", "/short", ""},
		{"#!" + long + "/bin/python3.11 -E", long, "#!/bin/sh\n'''exec' \"" + long + "/bin/python3.11\" -E \"$0\" \"$@\" #'''"},
		{"#!" + long + "/bin/python", long, "#!/bin/sh\n'''exec' \"" + long + "/bin/python\" \"$0\" \"$@\" #'''"},
		{"#! " + long + "/bin/bash -e", long, "#!/usr/bin/env bash -e"},
		{"#!" + long + "/bin/python3-config", long, "#!/usr/bin/env python3-config"},
		{"#!/opt/my env/bin/perl -w", "/opt/my env", "#!/usr/bin/env perl -w"},
		{"#!relative/" + long, long, ""},
	}
	for _, c := range cases {
		got, ok := fixShebang(c.line, c.prefix, maxShebangLinux)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("fixShebang(%q) = %q, %v; want %q", c.line, got, ok, c.want)
		}
	}
}

func TestReplaceTextShebang(t *testing.T) {
	const ph = "/opt/anaconda1anaconda2anaconda3"
	long := "/" + strings.Repeat("q", 140)
	// A long shebang is fixed in a file with a placeholder, even one that
	// does not carry it (as conda and rattler do); a file without the
	// placeholder is not touched.
	in := "#!" + long + "/bin/sh -e\necho " + ph + "\n"
	if got := string(replaceText([]byte(in), ph, "/p", maxShebangLinux)); got != "#!/usr/bin/env sh -e\necho /p\n" {
		t.Errorf("replaceText = %q", got)
	}
	if in := "#!" + long + "/bin/sh\n"; string(replaceText([]byte(in), ph, "/p", maxShebangLinux)) != in {
		t.Errorf("a file without placeholder was changed")
	}
	// A one-line file that is only a shebang.
	if got := string(replaceText([]byte("#!"+ph+"/bin/python"), ph, long, maxShebangLinux)); got != "#!/bin/sh\n'''exec' \""+long+"/bin/python\" \"$0\" \"$@\" #'''" {
		t.Errorf("replaceText = %q", got)
	}
}

func TestEntryPointScript(t *testing.T) {
	ep := condapkg.EntryPoint{Command: "tool", Module: "pkg.cli", Function: "main.run"}
	s := entryPointScript(ep, "/p/bin/python3.11", maxShebangLinux)
	if !strings.HasPrefix(s, "#!/p/bin/python3.11\n") || !strings.Contains(s, "from pkg.cli import main\n") || !strings.Contains(s, "sys.exit(main.run())\n") {
		t.Errorf("script:\n%s", s)
	}
}

func TestLinkScriptNames(t *testing.T) {
	cases := map[string]string{
		"bin/.pkg-post-link.sh":     "post-link",
		"Scripts/.pkg-pre-link.bat": "pre-link",
		"bin/.pkg-pre-unlink.sh":    "pre-unlink",
		"bin/.pkg-post-unlink.sh":   "post-unlink",
		"bin/.other-post-link.sh":   "",
		"bin/.pkg-post-link.bat":    "",
		"bin/pkg-post-link.sh":      "",
		"lib/.pkg-post-link.sh":     "",
		"bin/.pkg-activate.sh":      "",
	}
	for p, want := range cases {
		s, ok := linkScript("pkg", p)
		if s.Action != want || ok != (want != "") {
			t.Errorf("linkScript(%q) = %+v, %v; want %q", p, s, ok, want)
		}
	}
}

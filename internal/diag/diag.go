// Package diag is the positioned error every envkit input check reports:
// the file, line, column and field at fault, what is wrong and how to fix it.
package diag

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is one problem in an input file.
type Error struct {
	File   string // path as the user named it
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	Field  string // dotted path of the field, e.g. "conda_file" or "inference_config.scoring_route.port"
	Msg    string // what is wrong
	Hint   string // how to fix it; may be empty
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(clip(e.Msg, MaxMessage))
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(clip(e.Hint, MaxMessage))
		b.WriteString(")")
	}
	return b.String()
}

// MaxMessage bounds the message and the hint an Error prints: a message
// that quotes hostile input (a name, a spec) stays readable.
const MaxMessage = 1000

// MaxShown is how many errors a List prints; the rest are counted.
const MaxShown = 50

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d more bytes)", s[:cut], len(s)-cut)
}

// List is several problems found in one pass; it is an error when non-empty.
type List []*Error

// Error prints the first MaxShown errors, one a line, and counts the rest.
func (l List) Error() string {
	s := make([]string, 0, min(len(l), MaxShown)+1)
	for _, e := range l[:min(len(l), MaxShown)] {
		s = append(s, e.Error())
	}
	if len(l) > MaxShown {
		s = append(s, fmt.Sprintf("and %d more errors", len(l)-MaxShown))
	}
	return strings.Join(s, "\n")
}

// Err returns l as an error, or nil when l is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Unwrap lets errors.As find each *Error.
func (l List) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

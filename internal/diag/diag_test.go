package diag

import (
	"fmt"
	"strings"
	"testing"
)

// A list prints its first MaxShown errors and counts the rest; a long
// message is clipped.
func TestListCapped(t *testing.T) {
	var l List
	for i := range 1000 {
		l = append(l, &Error{File: "f.yml", Line: i + 1, Msg: fmt.Sprintf("bad %d", i)})
	}
	s := l.Error()
	if lines := strings.Split(s, "\n"); len(lines) != MaxShown+1 || lines[MaxShown] != "and 950 more errors" || lines[0] != "f.yml:1: bad 0" {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
	e := &Error{File: "f.yml", Msg: strings.Repeat("é", 1000), Hint: "h"}
	if s := e.Error(); len(s) > MaxMessage+100 || !strings.Contains(s, "… (1000 more bytes) (h)") {
		t.Errorf("%d bytes: %q", len(s), s[len(s)-40:])
	}
}

package repodata

import (
	"bytes"
	"fmt"
	"strconv"
)

// scanner is a minimal JSON tokenizer over a byte slice. It validates what
// it skips (strings, numbers, literals, nesting) but builds nothing, so
// indexing a 300 MB repodata.json touches each byte once and allocates
// almost nothing. Errors carry the byte offset; syntaxError turns it into a
// line and column.
type scanner struct {
	data  []byte
	pos   int
	depth int
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 512

type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

func (s *scanner) errorf(format string, args ...any) error {
	return &syntaxError{off: s.pos, msg: fmt.Sprintf(format, args...)}
}

// lineCol returns the 1-based line and column of byte offset off.
func lineCol(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	line = 1 + bytes.Count(data[:off], []byte{'\n'})
	col = off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

func (s *scanner) skipWS() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// atEnd reports whether only white space is left.
func (s *scanner) atEnd() bool {
	s.skipWS()
	return s.pos >= len(s.data)
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.skipWS()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		return s.unexpected(fmt.Sprintf("%q", c))
	}
	s.pos++
	return nil
}

func (s *scanner) unexpected(want string) error {
	if s.pos >= len(s.data) {
		return s.errorf("unexpected end of JSON, want %s", want)
	}
	return s.errorf("unexpected %q, want %s", s.data[s.pos], want)
}

// strFlags classifies string bytes: 1 ends the fast loop (quote, backslash,
// control character), 2 marks a non-ASCII byte.
var strFlags = func() (t [256]uint8) {
	for i := 0; i < 0x20; i++ {
		t[i] = 1
	}
	t['"'], t['\\'] = 1, 1
	for i := 0x80; i < 0x100; i++ {
		t[i] = 2
	}
	return t
}()

// str scans a string starting at the opening quote. It returns the raw
// contents (between the quotes) and whether they need decoding: escapes or
// non-ASCII bytes (which must be valid UTF-8 or are replaced, as
// encoding/json does).
func (s *scanner) str() (raw []byte, special bool, err error) {
	if s.peek() != '"' {
		return nil, false, s.unexpected("a string")
	}
	s.pos++
	start := s.pos
	d := s.data
	for i := s.pos; i < len(d); i++ {
		f := strFlags[d[i]]
		if f == 0 {
			continue
		}
		if f == 2 {
			special = true
			continue
		}
		switch c := d[i]; c {
		case '"':
			s.pos = i + 1
			return d[start:i], special, nil
		case '\\':
			special = true
			i++
			if i >= len(d) {
				s.pos = i
				return nil, false, s.errorf("unexpected end of JSON in string")
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(d) || !isHex4(d[i+1:i+5]) {
					s.pos = i
					return nil, false, s.errorf("invalid \\u escape in string")
				}
				i += 4
			default:
				s.pos = i
				return nil, false, s.errorf("invalid escape %q in string", d[i])
			}
		default:
			s.pos = i
			return nil, false, s.errorf("control character %#x in string", c)
		}
	}
	s.pos = len(d)
	return nil, false, s.errorf("unexpected end of JSON in string")
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// number scans a JSON number and returns its text.
func (s *scanner) number() ([]byte, error) {
	s.skipWS()
	d, i := s.data, s.pos
	start := i
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return nil, s.unexpected("a digit")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return nil, s.unexpected("a digit after '.'")
		}
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return nil, s.unexpected("a digit in the exponent")
		}
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	}
	s.pos = i
	return d[start:i], nil
}

// literal scans true, false or null.
func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(lit)) {
		return s.errorf("invalid literal, want %s", lit)
	}
	s.pos += len(lit)
	return nil
}

// skip scans over one JSON value of any kind.
func (s *scanner) skip() error {
	switch c := s.peek(); c {
	case '"':
		_, _, err := s.str()
		return err
	case '{':
		more, err := s.enterObject()
		for more && err == nil {
			if _, _, err = s.key(); err != nil {
				return err
			}
			if err = s.skip(); err != nil {
				return err
			}
			more, err = s.nextMember()
		}
		return err
	case '[':
		more, err := s.enterArray()
		for more && err == nil {
			if err = s.skip(); err != nil {
				return err
			}
			more, err = s.nextElem()
		}
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || '0' <= c && c <= '9' {
			_, err := s.number()
			return err
		}
		return s.unexpected("a JSON value")
	}
}

// enterObject consumes '{' and reports whether a member follows. Iterate
// with key, a value, and nextMember:
//
//	more, err := s.enterObject()
//	for more && err == nil { k, _, err = s.key(); ...value...; more, err = s.nextMember() }
func (s *scanner) enterObject() (bool, error) { return s.enter('{', '}') }

// enterArray consumes '[' and reports whether an element follows.
func (s *scanner) enterArray() (bool, error) { return s.enter('[', ']') }

func (s *scanner) enter(open, close byte) (bool, error) {
	if err := s.expect(open); err != nil {
		return false, err
	}
	if s.depth++; s.depth > maxDepth {
		return false, s.errorf("JSON nested too deeply")
	}
	if s.peek() == close {
		s.pos++
		s.depth--
		return false, nil
	}
	return true, nil
}

// key scans a member's key and the colon after it.
func (s *scanner) key() ([]byte, bool, error) {
	k, special, err := s.str()
	if err != nil {
		return nil, false, err
	}
	if s.peek() != ':' {
		return nil, false, s.unexpected("':'")
	}
	s.pos++
	return k, special, nil
}

// nextMember consumes ',' (another member follows) or '}' (the end).
func (s *scanner) nextMember() (bool, error) { return s.next('}') }

// nextElem consumes ',' (another element follows) or ']' (the end).
func (s *scanner) nextElem() (bool, error) { return s.next(']') }

func (s *scanner) next(close byte) (bool, error) {
	switch s.peek() {
	case ',':
		s.pos++
		return true, nil
	case close:
		s.pos++
		s.depth--
		return false, nil
	}
	return false, s.unexpected(fmt.Sprintf("',' or %q", close))
}

// unquote decodes the raw contents of a string as encoding/json does.
func unquote(raw []byte, special bool) string {
	if !special {
		return string(raw)
	}
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var out string
	if err := jsonUnmarshal(q, &out); err != nil {
		// The scanner validated the string; this cannot happen.
		return strconv.Quote(string(raw))
	}
	return out
}

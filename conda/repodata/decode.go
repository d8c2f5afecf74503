package repodata

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
)

// jsonUnmarshal is encoding/json's Unmarshal; the reference decoder.
var jsonUnmarshal = json.Unmarshal

// errFallback makes decoder.decode hand a record to encoding/json: for rare
// forms (escaped strings, non-ASCII or upper-case keys) whose exact
// encoding/json semantics are not worth re-implementing.
var errFallback = errors.New("repodata: fall back to encoding/json")

// decoder decodes package records from their JSON object text into
// record.PackageRecord, with exactly the result encoding/json gives through
// PackageRecord.UnmarshalJSON, several times faster and with far fewer
// allocations: it interns repeated strings (depends, licenses, builds) and
// parses each distinct version string once. A decoder is not safe for
// concurrent use; each goroutine has its own.
type decoder struct {
	strs  map[string]string
	vers  map[string]version.Version
	items []string // scratch for string lists
	arena []string // backing store handed out by alloc
}

// alloc returns a copy of items carved from a shared arena, so that the
// depends and constrains of many records cost one allocation. The copy has
// its capacity clipped: appending to it reallocates instead of overwriting
// a neighbour.
func (d *decoder) alloc(items []string) []string {
	n := len(items)
	if n == 0 {
		return []string{}
	}
	if n > len(d.arena) {
		d.arena = make([]string, max(n, 1024))
	}
	out := d.arena[:n:n]
	d.arena = d.arena[n:]
	copy(out, items)
	return out
}

func newDecoder() *decoder {
	return &decoder{strs: make(map[string]string), vers: make(map[string]version.Version)}
}

// decode decodes one record object.
func (d *decoder) decode(raw []byte, r *record.PackageRecord) error {
	err := d.fast(raw, r)
	if errors.Is(err, errFallback) {
		*r = record.PackageRecord{}
		err = jsonUnmarshal(raw, r)
	}
	return err
}

func (d *decoder) fast(raw []byte, r *record.PackageRecord) error {
	s := scanner{data: raw}
	more, err := s.enterObject()
	for more && err == nil {
		var k []byte
		var special bool
		if k, special, err = s.key(); err != nil {
			return err
		}
		if special || hasUpper(k) {
			return errFallback
		}
		switch string(k) {
		case "name":
			err = d.str(&s, &r.Name, true)
		case "version":
			err = d.version(&s, &r.Version)
		case "build":
			err = d.str(&s, &r.Build, false) // nearly unique: not worth interning
		case "build_number":
			err = d.int(&s, &r.BuildNumber)
		case "depends":
			r.Depends, err = d.list(&s, r.Depends)
		case "constrains":
			r.Constrains, err = d.list(&s, r.Constrains)
		case "track_features":
			err = d.features(&s, &r.TrackFeatures)
		case "features":
			err = d.str(&s, &r.Features, true)
		case "subdir":
			err = d.str(&s, &r.Subdir, true)
		case "arch":
			err = d.str(&s, &r.Arch, true)
		case "platform":
			err = d.str(&s, &r.Platform, true)
		case "noarch":
			err = d.noarch(&s, &r.Noarch)
		case "license":
			err = d.str(&s, &r.License, true)
		case "license_family":
			err = d.str(&s, &r.LicenseFamily, true)
		case "timestamp":
			err = d.int(&s, &r.Timestamp)
		case "size":
			err = d.int(&s, &r.Size)
		case "md5":
			err = d.str(&s, &r.MD5, false)
		case "sha256":
			err = d.str(&s, &r.SHA256, false)
		case "legacy_bz2_md5":
			err = d.str(&s, &r.LegacyBz2MD5, false)
		case "legacy_bz2_size":
			err = d.int(&s, &r.LegacyBz2Size)
		case "python_site_packages_path":
			err = d.str(&s, &r.PythonSitePackagesPath, true)
		default:
			err = s.skip()
		}
		if err != nil {
			if errors.Is(err, errFallback) {
				return err
			}
			return fmt.Errorf("%s: %w", k, err)
		}
		more, err = s.nextMember()
	}
	if err != nil {
		return err
	}
	r.Timestamp = record.NormalizeTimestamp(r.Timestamp)
	return nil
}

func hasUpper(k []byte) bool {
	for _, c := range k {
		if 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// typeError names the JSON kind found where another was wanted.
func typeError(s *scanner, want string) error {
	kind := "a number"
	switch s.peek() {
	case '"':
		kind = "a string"
	case '{':
		kind = "an object"
	case '[':
		kind = "an array"
	case 't', 'f':
		kind = "a boolean"
	case 'n':
		kind = "null"
	}
	return fmt.Errorf("want %s, got %s", want, kind)
}

func (d *decoder) intern(b []byte) string {
	if v, ok := d.strs[string(b)]; ok {
		return v
	}
	v := string(b)
	d.strs[v] = v
	return v
}

// str decodes a string; null leaves dst as it is (as encoding/json does).
func (d *decoder) str(s *scanner, dst *string, intern bool) error {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '"':
		raw, special, err := s.str()
		if err != nil {
			return err
		}
		if special {
			return errFallback
		}
		if intern {
			*dst = d.intern(raw)
		} else {
			*dst = string(raw)
		}
		return nil
	}
	return typeError(s, "a string")
}

// int decodes an integer; null leaves dst as it is.
func (d *decoder) int(s *scanner, dst *int64) error {
	switch c := s.peek(); {
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		num, err := s.number()
		if err != nil {
			return err
		}
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil {
			return fmt.Errorf("want an integer, got %s", num)
		}
		*dst = v
		return nil
	}
	return typeError(s, "an integer")
}

// strings decodes an array of strings into d.items (null items are "").
func (d *decoder) strings(s *scanner) error {
	d.items = d.items[:0]
	more, err := s.enterArray()
	for more && err == nil {
		var v string
		if err = d.str(s, &v, true); err != nil {
			return err
		}
		d.items = append(d.items, v)
		more, err = s.nextElem()
	}
	return err
}

// list decodes an array of strings; null gives nil.
func (d *decoder) list(s *scanner, _ []string) ([]string, error) {
	switch s.peek() {
	case 'n':
		return nil, s.literal("null")
	case '[':
		if err := d.strings(s); err != nil {
			return nil, err
		}
		return d.alloc(d.items), nil
	}
	return nil, typeError(s, "an array of strings")
}

// features decodes track_features: a string, an array of strings or null.
func (d *decoder) features(s *scanner, dst *record.StringList) error {
	switch s.peek() {
	case 'n':
		*dst = nil
		return s.literal("null")
	case '"':
		var v string
		if err := d.str(s, &v, true); err != nil {
			return err
		}
		*dst = record.ParseStringList(v)
		return nil
	case '[':
		if err := d.strings(s); err != nil {
			return err
		}
		*dst = record.MakeStringList(d.items)
		return nil
	}
	return typeError(s, "a string or an array of strings")
}

func (d *decoder) noarch(s *scanner, dst *record.NoarchType) error {
	switch s.peek() {
	case 'n':
		*dst = record.NoarchNone
		return s.literal("null")
	case 't':
		*dst = record.NoarchGeneric
		return s.literal("true")
	case 'f':
		*dst = record.NoarchNone
		return s.literal("false")
	case '"':
		var v string
		if err := d.str(s, &v, true); err != nil {
			return err
		}
		t, err := record.ParseNoarch(v)
		if err != nil {
			return err
		}
		*dst = t
		return nil
	}
	return typeError(s, "a string or bool")
}

// version decodes and parses a version, once per distinct string.
func (d *decoder) version(s *scanner, dst *version.Version) error {
	var text string
	switch s.peek() {
	case 'n': // leaves the version as it is, as Version.UnmarshalJSON does
		return s.literal("null")
	case '"':
		raw, special, err := s.str()
		if err != nil {
			return err
		}
		if special {
			return errFallback
		}
		if v, ok := d.vers[string(raw)]; ok {
			*dst = v
			return nil
		}
		text = string(raw)
	default:
		return typeError(s, "a string")
	}
	v, err := version.Parse(text)
	if err != nil {
		return err
	}
	d.vers[text] = v
	*dst = v
	return nil
}

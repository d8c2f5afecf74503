// Package repodata reads conda channel metadata: repodata.json (CEP 36,
// with CEP 15 base_url), its zstd-compressed form, and sharded repodata
// (CEP 16); and a Gateway fetches it over HTTP(S) or from local channels
// through a revalidated disk cache and answers queries for the records of
// named packages and, recursively, their dependencies.
//
// Parsing is lazy: Parse checks the document's syntax and indexes where each
// package record lies by package name, touching each byte once and
// allocating next to nothing per record; records are decoded only for the
// names a query asks for (or all of them, in parallel, by Records). A
// record that cannot be decoded (a bad version, a field of the wrong type)
// is skipped and reported through Warnings, not a failure of the file.
package repodata

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/httpget"
)

// Info is the "info" object of a repodata document.
type Info struct {
	Subdir string `json:"subdir"`
	// BaseURL is where packages are downloaded from (CEP 15), absolute or
	// relative to the repodata document; honoured when repodata_version >= 2.
	BaseURL string `json:"base_url"`
}

// RepoData is one subdir's package records, indexed by package name.
// Its methods are safe for concurrent use.
type RepoData struct {
	Info Info
	// Version is repodata_version; 1 when absent.
	Version int
	// Removed lists file names once served and now withdrawn (informative).
	Removed []string
	// Channel is the channel's canonical URL records are attributed to.
	Channel string
	// Subdir is the subdir the document was read from.
	Subdir string

	source string // the document's location, for messages
	base   string // package download base URL, with a trailing slash

	data    []byte
	entries []entry // grouped by name: group g is entries[groups[g].lo:groups[g].hi]
	groups  []group
	byName  map[string]int32

	mu       sync.Mutex
	dec      *decoder
	decoded  [][]*record.RepoDataRecord
	done     []bool
	warnings []*diag.Error
	reported int // warnings handed out by takeWarnings
}

type group struct {
	name   string
	lo, hi int32
}

// entry is where one package record lies in the document.
type entry struct {
	fnStart, fnEnd int // the file name (raw JSON string contents)
	start, end     int // the record object
	name           int32
	fnSpecial      bool // the file name has escapes or non-ASCII bytes
	section        uint8
}

const (
	secPackages uint8 = iota
	secConda
)

var sectionNames = [...]string{"packages", "packages.conda"}

// Parse parses a repodata.json document (plain or zstd-compressed) served
// at <channel>/<subdir>/repodata.json. channel is the channel's canonical
// URL (records' Channel, and the base of their download URLs); subdir may
// be "" to take it from info.subdir. An empty document is an empty
// repodata. A syntax error fails the whole document with its line and
// column; a bad record is skipped with a warning (see Warnings).
func Parse(data []byte, channel, subdir string) (*RepoData, error) {
	return parse(data, source{channel: channel, subdir: subdir})
}

// source says where a document comes from.
type source struct {
	channel, subdir string
	file            string        // the document's name for messages; default <channel>/<subdir>/repodata.json
	baseURL         string        // download base overriding info.base_url (sharded repodata)
	max             httpget.Limit // bounds the decompressed document; zero: the default repodata limit
}

// zstdMagic starts every zstd frame.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

func parse(data []byte, src source) (*RepoData, error) {
	file := src.file
	if file == "" {
		file = strings.TrimSuffix(src.channel, "/") + "/" + src.subdir + "/repodata.json"
	}
	if bytes.HasPrefix(data, zstdMagic) {
		b := src.max
		if b.Max == 0 {
			b = httpget.DefaultLimit(DefaultMaxRepodataSize, "repodata", "Gateway.MaxRepodataSize", EnvMaxRepodataSize)
		}
		var err error
		if data, err = decompress(data, b, file); err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return nil, err
			}
			return nil, &diag.Error{File: file, Msg: "zstd: " + err.Error()}
		}
	}
	rd := &RepoData{Version: 1, Channel: src.channel, Subdir: src.subdir, source: file, data: data}
	p := indexer{rd: rd, s: scanner{data: data}, names: make(map[string]int32)}
	if err := p.document(); err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			line, col := lineCol(data, se.off)
			return nil, &diag.Error{File: file, Line: line, Column: col, Msg: se.msg}
		}
		return nil, &diag.Error{File: file, Msg: err.Error()}
	}
	if rd.Subdir == "" {
		rd.Subdir = rd.Info.Subdir
	}
	if err := rd.setBase(src); err != nil {
		return nil, &diag.Error{File: file, Field: "info.base_url", Msg: err.Error()}
	}
	p.group()
	rd.decoded = make([][]*record.RepoDataRecord, len(rd.groups))
	rd.done = make([]bool, len(rd.groups))
	return rd, nil
}

// setBase works out the download base URL: the shard index's, info.base_url
// (repodata_version >= 2) resolved against the document, or the subdir.
func (rd *RepoData) setBase(src source) error {
	loc := strings.TrimSuffix(rd.Channel, "/") + "/" + rd.Subdir + "/"
	if rd.Channel == "" {
		loc = ""
	}
	ref := src.baseURL
	if ref == "" && rd.Version >= 2 {
		ref = rd.Info.BaseURL
	}
	if ref == "" {
		rd.base = loc
		return nil
	}
	u, err := url.Parse(ref)
	if err != nil {
		return err
	}
	if loc != "" {
		b, err := url.Parse(loc)
		if err != nil {
			return err
		}
		u = b.ResolveReference(u)
	}
	rd.base = u.String()
	if !strings.HasSuffix(rd.base, "/") {
		rd.base += "/"
	}
	return nil
}

// indexer reads the document's structure and records where records lie.
type indexer struct {
	rd    *RepoData
	s     scanner
	names map[string]int32
}

func (p *indexer) document() error {
	s := &p.s
	if s.atEnd() { // CEP 36: an empty document is an empty dictionary
		return nil
	}
	more, err := s.enterObject()
	for more && err == nil {
		var k []byte
		var special bool
		if k, special, err = s.key(); err != nil {
			return err
		}
		key := string(k)
		if special {
			key = unquote(k, special)
		}
		start := s.peek()
		off := s.pos
		switch key {
		case "info":
			err = p.decodeValue("info", start, '{', &p.rd.Info)
		case "packages":
			err = p.packages(secPackages)
		case "packages.conda":
			err = p.packages(secConda)
		case "removed":
			err = p.decodeValue("removed", start, '[', &p.rd.Removed)
		case "repodata_version":
			var v int
			if err = p.decodeValue("repodata_version", start, '0', &v); err == nil && v != 0 {
				p.rd.Version = v
			}
		default:
			err = s.skip()
		}
		if err != nil {
			var se *syntaxError
			if !errors.As(err, &se) {
				err = &syntaxError{off: off, msg: key + ": " + err.Error()}
			}
			return err
		}
		more, err = s.nextMember()
	}
	if err != nil {
		return err
	}
	if !s.atEnd() {
		return s.errorf("unexpected %q after the top-level object", s.data[s.pos])
	}
	return nil
}

// decodeValue decodes a small top-level value with encoding/json; kind is
// the opening byte wanted ('0' for a number); null leaves v unset.
func (p *indexer) decodeValue(field string, first, kind byte, v any) error {
	s := &p.s
	start := s.pos
	if err := s.skip(); err != nil {
		return err
	}
	if first == 'n' {
		return nil
	}
	if kind == '0' && (first == '-' || '0' <= first && first <= '9') || first == kind {
		if err := jsonUnmarshal(s.data[start:s.pos], v); err != nil {
			return fmt.Errorf("invalid value: %w", err)
		}
		return nil
	}
	want := map[byte]string{'{': "an object", '[': "an array", '0': "an integer"}[kind]
	return fmt.Errorf("want %s", want)
}

// packages indexes a "packages" or "packages.conda" object.
func (p *indexer) packages(sec uint8) error {
	s := &p.s
	if s.peek() == 'n' {
		return s.literal("null")
	}
	if s.peek() != '{' {
		return errors.New("want an object mapping file names to records")
	}
	more, err := s.enterObject()
	for more && err == nil {
		s.peek()
		e := entry{fnStart: s.pos + 1, section: sec}
		var fn []byte
		if fn, e.fnSpecial, err = s.key(); err != nil {
			return err
		}
		e.fnEnd = e.fnStart + len(fn)
		isObject := s.peek() == '{'
		e.start = s.pos
		if !isObject {
			if err = s.skip(); err != nil {
				return err
			}
			p.rd.warn(e, "want a package record object")
		} else {
			name, ok, err := p.recordName()
			if err != nil {
				return err
			}
			e.end = s.pos
			if !ok {
				p.rd.warn(e, "no package name (want a string \"name\")")
			} else {
				id, found := p.names[string(name)]
				if !found {
					id = int32(len(p.rd.groups))
					n := string(name)
					p.names[n] = id
					p.rd.groups = append(p.rd.groups, group{name: n})
				}
				e.name = id
				p.rd.groups[id].hi++ // count; group() turns counts into ranges
				p.rd.entries = append(p.rd.entries, e)
			}
		}
		more, err = s.nextMember()
	}
	return err
}

// recordName scans a record object, returning the value of its "name".
func (p *indexer) recordName() (name []byte, ok bool, err error) {
	s := &p.s
	more, err := s.enterObject()
	for more && err == nil {
		var k []byte
		var special bool
		if k, special, err = s.key(); err != nil {
			return nil, false, err
		}
		if !special && string(k) == "name" {
			switch s.peek() {
			case '"':
				raw, sp, err := s.str()
				if err != nil {
					return nil, false, err
				}
				name, ok = raw, len(raw) > 0
				if sp {
					name = []byte(unquote(raw, sp))
				}
			default:
				name, ok = nil, false
				err = s.skip()
			}
		} else {
			err = s.skip()
		}
		if err != nil {
			return nil, false, err
		}
		more, err = s.nextMember()
	}
	return name, ok, err
}

// group orders entries by name (keeping file order within a name) and
// drops shadowed artifacts: a .tar.bz2 when the same stem exists as .conda,
// and repeated file names (the last one wins, as in a JSON object).
func (p *indexer) group() {
	rd := p.rd
	pos := int32(0)
	for i := range rd.groups {
		n := rd.groups[i].hi
		rd.groups[i].lo, rd.groups[i].hi = pos, pos
		pos += n
	}
	sorted := make([]entry, len(rd.entries))
	for _, e := range rd.entries {
		g := &rd.groups[e.name]
		sorted[g.hi] = e
		g.hi++
	}
	rd.entries = sorted
	// Drop shadowed entries, compacting in place.
	out := int32(0)
	for i := range rd.groups {
		g := &rd.groups[i]
		es := rd.entries[g.lo:g.hi]
		if len(es) > 1 {
			es = rd.dedupe(es)
		}
		lo := out
		out += int32(copy(rd.entries[out:], es))
		g.lo, g.hi = lo, out
	}
	rd.entries = rd.entries[:out]
	rd.byName = make(map[string]int32, len(rd.groups))
	sort.Slice(rd.groups, func(i, j int) bool { return rd.groups[i].name < rd.groups[j].name })
	for i, g := range rd.groups {
		rd.byName[g.name] = int32(i)
	}
}

// stem splits a file name into its stem and an extension rank: 0 for
// .conda (preferred), 1 for .tar.bz2, 2 otherwise.
func stem(fn []byte) ([]byte, int) {
	s, t := record.CutArchiveExt(fn)
	switch t {
	case record.ArchiveConda:
		return s, 0
	case record.ArchiveTarBz2:
		return s, 1
	}
	return fn, 2
}

func (rd *RepoData) dedupe(es []entry) []entry {
	fn := func(e entry) []byte { return rd.data[e.fnStart:e.fnEnd] }
	idx := make([]int, len(es))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		sa, ra := stem(fn(es[a]))
		sb, rb := stem(fn(es[b]))
		if c := bytes.Compare(sa, sb); c != 0 {
			return c
		}
		if ra != rb {
			return ra - rb
		}
		return es[b].start - es[a].start // later first
	})
	keep := make([]bool, len(es))
	var prev []byte
	for k, i := range idx {
		s, rank := stem(fn(es[i]))
		if k > 0 && bytes.Equal(s, prev) && (rank != 2 || bytes.Equal(fn(es[i]), fn(es[idx[k-1]]))) {
			continue
		}
		keep[i], prev = true, s
	}
	out := es[:0]
	for i, e := range es {
		if keep[i] {
			out = append(out, e)
		}
	}
	return out
}

// warn records a skipped record.
func (rd *RepoData) warn(e entry, msg string) {
	line, _ := lineCol(rd.data, e.start)
	rd.warnings = append(rd.warnings, &diag.Error{
		File:  rd.source,
		Line:  line,
		Field: sectionNames[e.section] + "[" + strconv.Quote(rd.fileName(e)) + "]",
		Msg:   msg,
	})
}

func (rd *RepoData) fileName(e entry) string {
	return unquote(rd.data[e.fnStart:e.fnEnd], e.fnSpecial)
}

// checkRecord checks what a record puts into download URLs and locks: its
// file name must be a plain <name>-<version>-<build>.conda or .tar.bz2 of
// the record's own name, version and build (nothing that could leave the
// channel's directory), and its checksums, when present, hex digests.
func checkRecord(fn string, r *record.PackageRecord) error {
	if err := record.ValidFileName(fn, r); err != nil {
		return err
	}
	if r.SHA256 != "" {
		if err := record.ValidSHA256(r.SHA256); err != nil {
			return err
		}
	}
	if r.MD5 != "" {
		return record.ValidMD5(r.MD5)
	}
	return nil
}

// Len returns the number of package records indexed (before decoding, so
// records found invalid later still count).
func (rd *RepoData) Len() int { return len(rd.entries) }

// Names returns the package names, sorted.
func (rd *RepoData) Names() []string {
	out := make([]string, len(rd.groups))
	for i, g := range rd.groups {
		out[i] = g.name
	}
	return out
}

// Has reports whether there are records for name.
func (rd *RepoData) Has(name string) bool {
	_, ok := rd.byName[name]
	return ok
}

// ByName returns the records of one package name, decoding them on first
// use. The records are shared: do not modify them.
func (rd *RepoData) ByName(name string) []*record.RepoDataRecord {
	g, ok := rd.byName[name]
	if !ok {
		return nil
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if !rd.done[g] {
		if rd.dec == nil {
			rd.dec = newDecoder()
		}
		recs, warns := rd.decodeGroup(rd.dec, int(g))
		rd.decoded[g], rd.done[g] = recs, true
		rd.warnings = append(rd.warnings, warns...)
	}
	return rd.decoded[g]
}

// Records returns every record, ordered by package name, decoding (in
// parallel) those not decoded yet. The records are shared: do not modify
// them.
func (rd *RepoData) Records() []*record.RepoDataRecord {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	var todo []int
	for g, done := range rd.done {
		if !done {
			todo = append(todo, g)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), 1+len(rd.entries)/2048)
	if len(todo) > 0 {
		warns := make([][]*diag.Error, len(rd.groups))
		var wg sync.WaitGroup
		chunk := (len(todo) + workers - 1) / workers
		for w := 0; w < workers; w++ {
			part := todo[min(w*chunk, len(todo)):min((w+1)*chunk, len(todo))]
			if len(part) == 0 {
				continue
			}
			dec := rd.dec
			if w > 0 || dec == nil {
				dec = newDecoder()
			}
			wg.Go(func() {
				for _, g := range part {
					rd.decoded[g], warns[g] = rd.decodeGroup(dec, g)
				}
			})
		}
		wg.Wait()
		for _, g := range todo {
			rd.done[g] = true
			rd.warnings = append(rd.warnings, warns[g]...)
		}
	}
	n := 0
	for _, recs := range rd.decoded {
		n += len(recs)
	}
	out := make([]*record.RepoDataRecord, 0, n)
	for _, recs := range rd.decoded {
		out = append(out, recs...)
	}
	return out
}

// Warnings returns the problems found so far: records skipped while
// indexing and while decoding. After Records it is complete.
func (rd *RepoData) Warnings() []*diag.Error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return slices.Clone(rd.warnings)
}

// takeWarnings returns the warnings not taken before.
func (rd *RepoData) takeWarnings() []*diag.Error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	w := rd.warnings[rd.reported:]
	rd.reported = len(rd.warnings)
	return w
}

// decodeGroup decodes the records of group g.
func (rd *RepoData) decodeGroup(dec *decoder, g int) ([]*record.RepoDataRecord, []*diag.Error) {
	grp := rd.groups[g]
	es := rd.entries[grp.lo:grp.hi]
	slab := make([]record.RepoDataRecord, len(es))
	out := make([]*record.RepoDataRecord, 0, len(es))
	var warns []*diag.Error
	for i, e := range es {
		r := &slab[i]
		err := dec.decode(rd.data[e.start:e.end], &r.PackageRecord)
		switch {
		case err != nil:
		case r.Name != grp.name:
			err = fmt.Errorf("name %q does not match the indexed name %q", r.Name, grp.name)
		case r.Version.IsZero():
			err = errors.New("no version")
		default:
			// One string holds the URL; the file name is its tail.
			if e.fnSpecial {
				r.URL = rd.base + rd.fileName(e)
			} else {
				r.URL = rd.base + string(rd.data[e.fnStart:e.fnEnd]) // no temporary copy
			}
			r.FileName = r.URL[len(rd.base):]
			err = checkRecord(r.FileName, &r.PackageRecord)
		}
		if err != nil {
			line, _ := lineCol(rd.data, e.start)
			warns = append(warns, &diag.Error{
				File:  rd.source,
				Line:  line,
				Field: sectionNames[e.section] + "[" + strconv.Quote(rd.fileName(e)) + "]",
				Msg:   "skipped invalid record: " + err.Error(),
			})
			continue
		}
		r.Channel = rd.Channel
		if r.Subdir == "" {
			r.Subdir = rd.Subdir
		}
		out = append(out, r)
	}
	return out, warns
}

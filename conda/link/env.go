package link

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/record"
)

// History is the action block of conda-meta/history that records how the
// environment was created (CEP 32). Its existence is what makes a directory
// a conda environment.
type History struct {
	// Time is the block's timestamp, written in UTC. It is the caller's
	// choice (e.g. SOURCE_DATE_EPOCH), never the clock, so that the layer
	// is reproducible; see ModTime.
	Time time.Time
	// Command is the "# cmd:" line, e.g. "envkit build env.yml".
	Command string
	// Tool and ToolVersion give the "# <tool> version: <version>" line.
	Tool, ToolVersion string
	// Linked are the environment's packages, written as
	// "+channel/subdir::name-version-build" lines in this order.
	Linked []*record.RepoDataRecord
	// Specs are the user's requested specs ("# update specs: [...]"),
	// which `conda env export --from-history` reads back.
	Specs []string
}

// WriteHistory writes dest/conda-meta/history (dest is where the prefix's
// contents are written), with mode 0644 and modification time h.Time.
func WriteHistory(dest string, h History) error {
	t := ModTime(h.Time)
	var b strings.Builder
	fmt.Fprintf(&b, "==> %s <==\n", t.UTC().Format(time.DateTime))
	if h.Command != "" {
		fmt.Fprintf(&b, "# cmd: %s\n", oneLine(h.Command))
	}
	if h.Tool != "" {
		fmt.Fprintf(&b, "# %s version: %s\n", oneLine(h.Tool), oneLine(h.ToolVersion))
	}
	for _, r := range h.Linked {
		b.WriteString("+" + distString(r) + "\n")
	}
	b.WriteString("# update specs: [")
	for i, s := range h.Specs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyString(s))
	}
	b.WriteString("]\n")
	return writeMeta(dest, "history", []byte(b.String()), t)
}

// WriteState writes dest/conda-meta/state with the environment's variables
// (CEP 24 variables, CEP 32 state: {"env_vars": {...}}, keys sorted), which
// conda exports on activation. Nothing is written when vars is empty.
func WriteState(dest string, vars map[string]string, mtime time.Time) error {
	if len(vars) == 0 {
		return nil
	}
	for k := range vars {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("conda-meta/state: variable name %q: empty or contains '=' or NUL", k)
		}
	}
	b, err := json.MarshalIndent(struct {
		EnvVars map[string]string `json:"env_vars"`
	}{vars}, "", "  ")
	if err != nil {
		return err
	}
	return writeMeta(dest, "state", append(b, '\n'), ModTime(mtime))
}

// writeMeta writes dest/conda-meta/name, giving it, conda-meta/ and dest
// the time t.
func writeMeta(dest, name string, data []byte, t time.Time) error {
	l := &linker{dest: dest, mtime: t, dirs: map[string]bool{}}
	if err := l.mkdirAll("conda-meta"); err != nil {
		return err
	}
	if err := l.writeFile(l.abs("conda-meta/"+name), data, 0o644); err != nil {
		return err
	}
	return l.touchDirs()
}

// distString is conda's dist string of a record:
// "channel/subdir::name-version-build", with the channel's short name
// ("conda-forge") when it has one.
func distString(r *record.RepoDataRecord) string {
	ch := r.Channel
	if c, err := channel.Parse(r.Channel); err == nil && c.Name != "" {
		ch = c.Name
	}
	var s string
	if ch != "" {
		s = ch
		if r.Subdir != "" {
			s += "/" + r.Subdir
		}
		s += "::"
	}
	return s + r.Dist()
}

// pyString quotes s as a Python string literal (history's specs list is
// read back with ast.literal_eval).
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, c := range s {
		switch c {
		case '\\', '\'':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

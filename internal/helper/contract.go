// Package helper is the contract between envkit's frontend and its link
// helper: the frontend binary itself, run by the frontend in BuildKit execs
// ("envkit-frontend link ...", "envkit-frontend wheel ...", "envkit-frontend
// meta ...", "envkit-frontend probe ..."). For each subcommand it holds, side by side, its arguments
// as a struct, how the caller (package llb, the frontend for probe) turns
// them into the exec's argv, how the helper
// parses that argv back, and the payload files the caller writes (with
// llb.Mkfile into a read-only mount) and the helper reads. Nothing large
// goes on the command line: Linux caps one argument at 128 KiB.
//
// The helper's run side (verify, extract, link, write conda-meta) is in
// package helper/run, so that the LLB conversion does not import it.
package helper

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/envkit/envkit/conda/link"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/pypi/tags"
	"github.com/envkit/envkit/pypi/wheel"
)

// Path is where the frontend image holds the helper (see the Dockerfile).
const Path = "/bin/envkit-frontend"

// The helper's subcommands: the first argument after Path.
const (
	// CommandLink verifies, extracts and links conda packages, each into
	// its layer (its own, or one it shares with the packages before it).
	CommandLink = "link"
	// CommandWheel installs wheels (pip packages), each into its layer
	// (its own, or one it shares with the wheels before it).
	CommandWheel = "wheel"
	// CommandMeta writes the environment's own conda-meta files: history,
	// state and the lock.
	CommandMeta = "meta"
	// CommandProbe asks channels which of their repodata files exist, with
	// network, so that the frontend fetches only those.
	CommandProbe = "probe"
)

// IsCommand reports whether name is one of the helper's subcommands.
func IsCommand(name string) bool {
	return name == CommandLink || name == CommandWheel || name == CommandMeta || name == CommandProbe
}

// Where the caller mounts what a helper exec reads and writes.
const (
	// InputDir holds the payload files (LinkInputFile, MetaInputFile,
	// LockFile), read-only.
	InputDir = "/in"
	// PackageDir holds a fetched package archive, read-only.
	PackageDir = "/pkg"
	// WheelDir holds the fetched wheels of a wheel exec, each in a
	// read-only mount of its own (WheelDir/<i>/<file name>).
	WheelDir = "/whl"
	// OutputDir is the layer's root: the environment is written to
	// OutputDir/<prefix>.
	OutputDir = "/out"

	LinkInputFile   = "link.json"
	WheelInputFile  = "wheel.json"
	MetaInputFile   = "meta.json"
	LockFile        = "conda-lock.yml"
	ProbeInputFile  = "probe.json"
	ProbeOutputFile = "probe.json"
)

// LockPath is where the environment keeps its lock, relative to its prefix:
// what it resolved to, which a later build can take as its lock file.
const LockPath = "conda-meta/conda-lock.yml"

// MaxInput bounds the size of a payload file the helper reads.
const MaxInput = 64 << 20

// Link is "link": link packages into an environment at Prefix, each into
// its layer. A package is named by three paths of its own (its input
// file, its archive and its layer's root), so that one exec can link
// several packages into several output mounts. Packages with the same
// layer root share that layer: they are linked in order, each over the
// ones before as merging one layer per package in that order would.
type Link struct {
	// Prefix is the environment's path in the image (--prefix).
	Prefix string
	// Platform is the target conda subdir, e.g. linux-aarch64
	// (--platform).
	Platform string
	// Python is the environment's interpreter, for noarch: python packages
	// (--python VERSION:SITE_PACKAGES).
	Python *link.Python
	// Packages are the packages to link, in order
	// (--package input=PATH,archive=PATH,dest=PATH, repeated).
	Packages []LinkPackage
}

// LinkPackage is one package of a Link.
type LinkPackage struct {
	// Input is the package's LinkInput file.
	Input string
	// Archive is the fetched package file (.conda or .tar.bz2).
	Archive string
	// Dest is the root of the package's layer: its files go to
	// Dest/<prefix>. Packages with the same Dest share the layer.
	Dest string
}

// LinkInput is a package's payload: what linking it needs besides its
// archive. It depends on the package alone, so that it changes, and the
// package's layer is rebuilt, only when the package does.
type LinkInput struct {
	// Record is the package's repodata record as solved or locked; its
	// sha256 is what the archive is verified against.
	Record *record.RepoDataRecord `json:"record"`
}

// Args returns the exec's arguments after the helper's path.
func (l *Link) Args() []string {
	args := []string{CommandLink, "--prefix", l.Prefix, "--platform", l.Platform}
	if l.Python != nil {
		args = append(args, "--python", l.Python.Version+":"+l.Python.SitePackages)
	}
	for _, p := range l.Packages {
		args = append(args, "--package", csvLine("input="+p.Input, "archive="+p.Archive, "dest="+p.Dest))
	}
	return args
}

// ParseLink parses the arguments Args returns (args[0] is CommandLink).
func ParseLink(args []string) (*Link, error) {
	var l Link
	fl, err := flags(CommandLink, args)
	if err != nil {
		return nil, err
	}
	fl.StringVar(&l.Prefix, "prefix", "", "the environment's path in the image")
	fl.StringVar(&l.Platform, "platform", "", "the target conda subdir")
	fl.Func("python", "VERSION:SITE_PACKAGES of the environment's Python, for noarch: python packages", func(s string) error {
		v, sp, ok := strings.Cut(s, ":")
		if !ok || v == "" || sp == "" {
			return fmt.Errorf("%q: want VERSION:SITE_PACKAGES", s)
		}
		l.Python = &link.Python{Version: v, SitePackages: sp}
		return nil
	})
	fl.Func("package", "input=PATH,archive=PATH,dest=PATH of a package to link (repeated)", func(s string) error {
		p, err := parsePackage(s)
		if err != nil {
			return err
		}
		l.Packages = append(l.Packages, p)
		return nil
	})
	if err := parse(fl, args); err != nil {
		return nil, err
	}
	if err := absolute(CommandLink, "--prefix", l.Prefix); err != nil {
		return nil, err
	}
	if l.Platform == "" {
		return nil, fmt.Errorf("%s: --platform is required", CommandLink)
	}
	if len(l.Packages) == 0 {
		return nil, fmt.Errorf("%s: no --package to link", CommandLink)
	}
	return &l, nil
}

func parsePackage(s string) (LinkPackage, error) {
	r := csv.NewReader(strings.NewReader(s))
	fields, err := r.Read()
	if err != nil {
		return LinkPackage{}, fmt.Errorf("%q: %w", s, err)
	}
	if _, err := r.Read(); err != io.EOF {
		return LinkPackage{}, fmt.Errorf("%q: more than one line", s)
	}
	var p LinkPackage
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		var dst *string
		switch k {
		case "input":
			dst = &p.Input
		case "archive":
			dst = &p.Archive
		case "dest":
			dst = &p.Dest
		default:
			return LinkPackage{}, fmt.Errorf("%q: unknown key %q (want input, archive and dest)", s, k)
		}
		if *dst != "" {
			return LinkPackage{}, fmt.Errorf("%q: %s given twice", s, k)
		}
		*dst = v
	}
	for _, f := range []struct{ name, v string }{{"input", p.Input}, {"archive", p.Archive}, {"dest", p.Dest}} {
		if err := absolute("", f.name, f.v); err != nil {
			return LinkPackage{}, fmt.Errorf("%q: %w", s, err)
		}
	}
	return p, nil
}

// Encode returns the payload file's content.
func (in *LinkInput) Encode() ([]byte, error) {
	if in.Record == nil {
		return nil, errors.New("link input: no record")
	}
	return json.Marshal(in)
}

// ReadLinkInput reads and checks a LinkInput file.
func ReadLinkInput(file string) (*LinkInput, error) {
	var in LinkInput
	if err := readJSON(file, &in); err != nil {
		return nil, err
	}
	r := in.Record
	switch {
	case r == nil:
		return nil, fmt.Errorf("%s: no record", file)
	case r.FileName == "" || strings.ContainsAny(r.FileName, `/\`):
		return nil, fmt.Errorf("%s: record of %s: file name %q is not a plain file name", file, r.Name, r.FileName)
	case r.SHA256 == "":
		return nil, fmt.Errorf("%s: record of %s: no sha256 to verify the archive against", file, r.FileName)
	}
	return &in, nil
}

// Wheel is "wheel": install wheels (pip packages) into an environment,
// into one layer whose root is Dest (or, a batch, into the layers their
// WheelFile.Dest name). What to install is the Input
// file (WheelInput): the environment's prefix and python, and the wheels
// in order, each over the ones before as merging one layer per wheel in
// that order would. Wheels are installed after the conda packages, so
// the environment's python is known; the exec needs no network.
type Wheel struct {
	// Input is the WheelInput file (--input).
	Input string
	// Dest is the layer's root: files go to Dest/<prefix> (--dest).
	Dest string
}

// WheelInput is a wheel exec's payload. It depends on its wheels and the
// environment's python alone, so that the layer is rebuilt only when they
// change.
type WheelInput struct {
	// Prefix is the environment's path in the image: what shebangs hold.
	Prefix string `json:"prefix"`
	// Platform is the target conda subdir, e.g. linux-aarch64.
	Platform string `json:"platform"`
	// Python is the environment's interpreter, from its conda python.
	Python WheelPython `json:"python"`
	// Wheels are the wheels to install, in order.
	Wheels []WheelFile `json:"wheels"`
}

// WheelPython is the environment's interpreter as the installer needs it.
type WheelPython struct {
	// Version is MAJOR.MINOR, e.g. "3.12".
	Version string `json:"version"`
	// SitePackages is purelib and platlib relative to the prefix, e.g.
	// "lib/python3.12/site-packages".
	SitePackages string `json:"site_packages"`
}

// WheelFile is one wheel of a WheelInput.
type WheelFile struct {
	// Filename is the wheel's file name, e.g.
	// "demo-1.0-py3-none-any.whl".
	Filename string `json:"filename"`
	// Archive is where the exec finds the fetched wheel (under WheelDir).
	Archive string `json:"archive"`
	// SHA256 is the wheel's sha256 (hex), checked before it is read.
	SHA256 string `json:"sha256"`
	// Requested writes REQUESTED: the environment's pip lines name it.
	Requested bool `json:"requested,omitempty"`
	// DirectURL is written as direct_url.json, for a "name @ url" line,
	// or a wheel a line names by its path: an empty URL is the file the
	// exec reads, file://<Archive>, as pip writes the file it installed.
	DirectURL *wheel.DirectURL `json:"direct_url,omitempty"`
	// Dest, when set, is the root of the wheel's layer instead of the
	// exec's --dest: one exec then installs several layers (a batch).
	// Wheels with the same root share it, each over the ones before.
	Dest string `json:"dest,omitempty"`
}

// Args returns the exec's arguments after the helper's path.
func (w *Wheel) Args() []string {
	return []string{CommandWheel, "--input", w.Input, "--dest", w.Dest}
}

// ParseWheel parses the arguments Args returns (args[0] is CommandWheel).
func ParseWheel(args []string) (*Wheel, error) {
	var w Wheel
	fl, err := flags(CommandWheel, args)
	if err != nil {
		return nil, err
	}
	fl.StringVar(&w.Input, "input", "", "the wheels to install and the environment's python, JSON")
	fl.StringVar(&w.Dest, "dest", "", "the layer's root")
	if err := parse(fl, args); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"--input", w.Input}, {"--dest", w.Dest}} {
		if err := absolute(CommandWheel, f.name, f.v); err != nil {
			return nil, err
		}
	}
	return &w, nil
}

// Encode checks the payload and returns the file's content.
func (in *WheelInput) Encode() ([]byte, error) {
	if err := in.check(); err != nil {
		return nil, fmt.Errorf("wheel input: %w", err)
	}
	return json.Marshal(in)
}

// ReadWheelInput reads and checks a WheelInput file.
func ReadWheelInput(file string) (*WheelInput, error) {
	var in WheelInput
	if err := readJSON(file, &in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &in, nil
}

func (in *WheelInput) check() error {
	if err := absolute("", "prefix", in.Prefix); err != nil {
		return err
	}
	if in.Platform == "" {
		return errors.New("no platform")
	}
	major, minor, ok := strings.Cut(in.Python.Version, ".")
	if !ok || !digits(major) || !digits(minor) {
		return fmt.Errorf("python version %q: want MAJOR.MINOR", in.Python.Version)
	}
	if sp := in.Python.SitePackages; sp == "" || path.IsAbs(sp) || path.Clean(sp) != sp || sp == ".." || strings.HasPrefix(sp, "../") {
		return fmt.Errorf("python site-packages %q: want a clean path relative to the prefix", sp)
	}
	if len(in.Wheels) == 0 {
		return errors.New("no wheel to install")
	}
	for _, w := range in.Wheels {
		if w.Filename == "" || strings.ContainsAny(w.Filename, `/\`) {
			return fmt.Errorf("wheel file name %q is not a plain file name", w.Filename)
		}
		if _, err := tags.ParseWheelFilename(w.Filename); err != nil {
			return fmt.Errorf("%s: %w", w.Filename, err)
		}
		if err := absolute("", w.Filename+": archive", w.Archive); err != nil {
			return err
		}
		if len(w.SHA256) != 64 || !hexDigits(w.SHA256) {
			return fmt.Errorf("%s: sha256 %q is not a hex sha256", w.Filename, w.SHA256)
		}
		if w.Dest != "" {
			if err := absolute("", w.Filename+": dest", w.Dest); err != nil {
				return err
			}
		}
	}
	return nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func hexDigits(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// Meta is "meta": write the environment's own conda-meta files into Dest.
type Meta struct {
	// Prefix is the environment's path in the image (--prefix).
	Prefix string
	// Dest is the layer's root: files go to Dest/Prefix (--dest).
	Dest string
	// Input is the MetaInput file (--input).
	Input string
	// Lock is the environment's lock file, kept as LockPath (--lock);
	// empty when there is none.
	Lock string
}

// MetaInput is the environment's payload for "meta".
type MetaInput struct {
	// History is conda-meta/history's block: the packages and the specs.
	History link.History `json:"history"`
	// Variables are the conda file's variables, for conda-meta/state.
	Variables map[string]string `json:"variables,omitempty"`
}

// Args returns the exec's arguments after the helper's path.
func (m *Meta) Args() []string {
	args := []string{CommandMeta, "--prefix", m.Prefix, "--dest", m.Dest, "--input", m.Input}
	if m.Lock != "" {
		args = append(args, "--lock", m.Lock)
	}
	return args
}

// ParseMeta parses the arguments Args returns (args[0] is CommandMeta).
func ParseMeta(args []string) (*Meta, error) {
	var m Meta
	fl, err := flags(CommandMeta, args)
	if err != nil {
		return nil, err
	}
	fl.StringVar(&m.Prefix, "prefix", "", "the environment's path in the image")
	fl.StringVar(&m.Dest, "dest", "", "the layer's root")
	fl.StringVar(&m.Input, "input", "", "the environment's payload file (history, variables), JSON")
	fl.StringVar(&m.Lock, "lock", "", "the environment's lock file, kept as "+LockPath)
	if err := parse(fl, args); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"--prefix", m.Prefix}, {"--dest", m.Dest}, {"--input", m.Input}} {
		if err := absolute(CommandMeta, f.name, f.v); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// Encode returns the payload file's content.
func (in *MetaInput) Encode() ([]byte, error) { return json.Marshal(in) }

// ReadMetaInput reads a MetaInput file.
func ReadMetaInput(file string) (*MetaInput, error) {
	var in MetaInput
	if err := readJSON(file, &in); err != nil {
		return nil, err
	}
	for i, r := range in.History.Linked {
		if r == nil {
			return nil, fmt.Errorf("%s: history.Linked[%d] is null", file, i)
		}
	}
	return &in, nil
}

// Probe is "probe": ask for each URL of the Input file, with a HEAD
// request, whether it exists, and write the answers to Output. An answer
// of any kind (200, 404, a 5xx, a refused connection) is a result, not a
// failure: the exec fails only when it cannot read its input or write its
// output, so that probing a channel's optional files never shows as a
// failed step.
type Probe struct {
	// Day is the UTC date the answers are for, 2006-01-02 (--day). It is
	// an argument only so that BuildKit reuses the exec's answers within a
	// day and asks again the next, as conda keeps whether a channel serves
	// repodata.json.zst for a day.
	Day string
	// Input is the ProbeInput file (--input).
	Input string
	// Output is where the ProbeOutput file goes (--output).
	Output string
}

// ProbeInput is the probe's payload: the URLs to ask for.
type ProbeInput struct {
	URLs []string `json:"urls"`
	// Hosts are host names (no port) whose Authorization header value the
	// exec may have, the i-th in the environment variable AuthEnv(i) (a
	// BuildKit secret mounted as an optional environment variable, empty
	// when the build does not have it): sent
	// with each request to that host, and reported in ProbeOutput.Auth. A
	// probe with no URLs only reports which of them it has.
	Hosts []string `json:"hosts,omitempty"`
}

// AuthEnv is the environment variable that holds the Authorization header
// value for ProbeInput.Hosts[i].
func AuthEnv(i int) string { return "ENVKIT_AUTH_" + strconv.Itoa(i) }

// ProbeOutput holds the probe's answers.
type ProbeOutput struct {
	// Status is each URL's HTTP status; 0 when no response came (Errors
	// says why).
	Status map[string]int `json:"status"`
	// Errors are the transport failures, by URL.
	Errors map[string]string `json:"errors,omitempty"`
	// Auth holds the hosts of ProbeInput.Hosts whose header value the exec
	// had: "" when it can be sent, else why not (never the value itself).
	Auth map[string]string `json:"auth,omitempty"`
}

// Args returns the exec's arguments after the helper's path.
func (p *Probe) Args() []string {
	return []string{CommandProbe, "--day", p.Day, "--input", p.Input, "--output", p.Output}
}

// ParseProbe parses the arguments Args returns (args[0] is CommandProbe).
func ParseProbe(args []string) (*Probe, error) {
	var p Probe
	fl, err := flags(CommandProbe, args)
	if err != nil {
		return nil, err
	}
	fl.StringVar(&p.Day, "day", "", "the UTC date the answers are for (a cache key)")
	fl.StringVar(&p.Input, "input", "", "the URLs to probe, JSON")
	fl.StringVar(&p.Output, "output", "", "where to write the answers, JSON")
	if err := parse(fl, args); err != nil {
		return nil, err
	}
	if _, err := time.Parse(time.DateOnly, p.Day); err != nil {
		return nil, fmt.Errorf("%s: --day %q: want a date such as 2006-01-02", CommandProbe, p.Day)
	}
	for _, f := range []struct{ name, v string }{{"--input", p.Input}, {"--output", p.Output}} {
		if err := absolute(CommandProbe, f.name, f.v); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// Encode returns the payload file's content.
func (in *ProbeInput) Encode() ([]byte, error) { return json.Marshal(in) }

// ReadProbeInput reads a ProbeInput file: http(s) URLs only.
func ReadProbeInput(file string) (*ProbeInput, error) {
	var in ProbeInput
	if err := readJSON(file, &in); err != nil {
		return nil, err
	}
	for _, u := range in.URLs {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return nil, fmt.Errorf("%s: %q is not an http(s) URL", file, u)
		}
	}
	return &in, nil
}

// ReadProbeOutput reads the probe's answers (the caller's side: from the
// exec's output mount).
func ReadProbeOutput(data []byte) (*ProbeOutput, error) {
	var out ProbeOutput
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("probe answers: %w", err)
	}
	return &out, nil
}

// ReadFile reads a payload file of at most MaxInput bytes.
func ReadFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(data) > MaxInput {
		return nil, fmt.Errorf("%s: larger than the helper's limit of %d MiB for a payload file", file, MaxInput>>20)
	}
	return data, nil
}

func readJSON(file string, v any) error {
	data, err := ReadFile(file)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// flags starts the flag set of command, checking args[0].
func flags(command string, args []string) (*flag.FlagSet, error) {
	if len(args) == 0 || args[0] != command {
		return nil, fmt.Errorf("want the %s subcommand first, got %q", command, args)
	}
	fl := flag.NewFlagSet(command, flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	return fl, nil
}

func parse(fl *flag.FlagSet, args []string) error {
	if err := fl.Parse(args[1:]); err != nil {
		return fmt.Errorf("%s: %w", fl.Name(), err)
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fl.Name(), fl.Arg(0))
	}
	return nil
}

func absolute(command, name, v string) error {
	prefix := ""
	if command != "" {
		prefix = command + ": "
	}
	switch {
	case v == "":
		return fmt.Errorf("%s%s is required", prefix, name)
	case !path.IsAbs(v):
		return fmt.Errorf("%s%s %q: not an absolute path", prefix, name, v)
	}
	return nil
}

// csvLine writes fields as one CSV line, quoted where needed (as docker's
// --mount values are).
func csvLine(fields ...string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(fields) // a strings.Builder does not fail
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/repodata"
	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/conda/solver"
	"github.com/envkit/envkit/internal/rootfs"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/metadata"
	"github.com/envkit/envkit/pypi/reqfile"
	pipresolve "github.com/envkit/envkit/pypi/resolve"
	"github.com/envkit/envkit/spec"
	"github.com/spf13/cobra"
)

const lockLong = `Solves the conda specs (from FILE's conda environment, or SPEC arguments)
for each platform, then FILE's pip: lines for the python of that solution
(a pip requirement a conda package satisfies is not installed again), and
prints the lock on stdout:
  --format conda-lock  conda-lock v1 YAML, every platform (default)
  --format explicit    an @EXPLICIT file; one platform only (pip packages
                       as "# pip name @ url#sha256=..." lines)
  --format json        the solution: a JSON array for one platform, an object
                       of arrays keyed by platform for several; conda records
                       ("manager": "conda") then pip packages ("manager": "pip",
                       name, version, url, sha256)
pip lines take pip's requirements-file options: -i/--index-url,
--extra-index-url, --pre, --only-binary, --no-binary, -r and -c (files
beside FILE), --hash; index pages are cached beside the repodata.
Channels: --channel flags first (highest priority), then the file's channels.
"nodefaults" is ignored: envkit has no implicit default channels.
Platforms: --platform flags, else the file's platforms:, else this machine's.
Each platform's lock records the sha256 of the request (specs, channels,
platform, virtual packages, channel priority): with --lockfile, a platform
whose hash is unchanged and whose every package is consistent with the
request (inside its channels, dependencies locked, specs satisfied, nothing
extra) is reused as is, and other platforms prefer the previous lock's
packages; --check only reports whether the lock is stale, and why (exit 1
if it is).`

type lockOptions struct {
	channels, platforms, virtual []string
	format, file, priority       string
	lockfile                     string
	check                        bool
	secrets                      []string // --secret
	solverTimeout                time.Duration
}

func lockCmd() *cobra.Command {
	var o lockOptions
	c := &cobra.Command{
		Use:   "lock (-f FILE | SPEC...)",
		Short: "solve a conda environment (and its pip packages) and print its lock",
		Long:  lockLong,
		Example: "  envkit lock -f conda.yml --platform linux-64 --platform linux-aarch64 > conda-lock.yml\n" +
			"  envkit lock \"python 3.12.*\" numpy -c conda-forge --format explicit\n" +
			"  envkit lock -f conda.yml --lockfile conda-lock.yml --check",
		Args: func(_ *cobra.Command, args []string) error {
			if (o.file == "") == (len(args) == 0) {
				return usageErrorf("give either -f environment.yml or SPEC arguments")
			}
			if o.check && o.lockfile == "" {
				return usageErrorf("--check needs --lockfile")
			}
			switch o.format {
			case "conda-lock", "explicit", "json":
			default:
				return usageErrorf("--format %q: want conda-lock, explicit or json", o.format)
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return exit(runLock(&o, args, c.OutOrStdout(), c.ErrOrStderr()))
		},
	}
	fl := c.Flags()
	fl.StringArrayVarP(&o.channels, "channel", "c", nil, "channel name, URL or local directory, highest priority first (repeatable)")
	fl.StringArrayVarP(&o.platforms, "platform", "p", nil, "target conda subdir, e.g. linux-64 (repeatable)")
	fl.StringArrayVar(&o.virtual, "virtual-package", nil, "override a target virtual package, NAME=VERSION, e.g. __glibc=2.28, __cuda=12.2 (repeatable; empty VERSION removes it)")
	fl.StringVar(&o.format, "format", "conda-lock", "output format: conda-lock, explicit or json")
	fl.StringVarP(&o.file, "file", "f", "", "environment to lock: a conda environment.yml, or an Azure ML environment file with conda_file")
	fl.StringVar(&o.priority, "channel-priority", "strict", "strict, flexible or disabled")
	fl.StringVar(&o.lockfile, "lockfile", "", "previous lock (any format envkit reads): reused when fresh, preferred otherwise")
	fl.BoolVar(&o.check, "check", false, "with --lockfile: only report whether it is stale for the request")
	fl.StringArrayVar(&o.secrets, "secret", nil, secretFlagHelp)
	fl.DurationVar(&o.solverTimeout, "solver-timeout", solver.DefaultTimeout, "how long each platform's solve may search before giving up (0: no limit)")
	addReadFlags(c)
	return c
}

// runLock locks the request of o and specs (the SPEC arguments).
func runLock(o *lockOptions, specs []string, stdout, stderr io.Writer) int {
	req, env, code := lockRequest(o, specs, stderr)
	if code != exitOK {
		return code
	}
	if o.format == "explicit" && len(req.Platforms) > 1 {
		fmt.Fprintf(stderr, "envkit lock: --format explicit holds one platform, the request has %s; choose one with --platform\n", strings.Join(req.Platforms, ", "))
		return exitUsage
	}
	if o.lockfile != "" {
		dir, data, err := readConfined(o.lockfile, maxLockfileSize)
		if err == nil {
			dir.Close()
		}
		if err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
		if req.Previous, err = lock.Read(o.lockfile, data); err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
		req.Previous.Redact() // as the channels' credentials, never written (credentials.go)
		for _, s := range req.Previous.Skipped {
			fmt.Fprintf(stderr, "warning: %v\n", s.Warning)
		}
		if o.check {
			return checkLock(req, o.lockfile, stdout, stderr)
		}
	}

	ctx, cancel := interruptible()
	defer cancel()
	l, err := resolve.Resolve(ctx, *req)
	if err != nil {
		return lockFailure(stderr, err, env, len(specs) > 0, req.Gateway)
	}
	if env != nil {
		l.Sources = []string{filepath.Base(env.File)}
	}
	switch o.format {
	case "conda-lock":
		err = lock.WriteCondaLock(stdout, l)
	case "explicit":
		err = lock.WriteExplicit(stdout, l, req.Platforms[0])
	case "json":
		err = writeLockJSON(stdout, l)
	}
	if err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// lockRequest builds the resolve request from the flags and the
// environment file or SPEC arguments.
func lockRequest(o *lockOptions, specs []string, stderr io.Writer) (*resolve.Request, *envfile.EnvFile, int) {
	req := &resolve.Request{Specs: specs, Channels: o.channels, Platforms: o.platforms}
	switch {
	case o.solverTimeout < 0:
		fmt.Fprintf(stderr, "envkit lock: --solver-timeout %v: want a positive duration, or 0 for no limit\n", o.solverTimeout)
		return nil, nil, exitUsage
	case o.solverTimeout == 0:
		req.SolverBudget.Time = -1 // no limit
	default:
		req.SolverBudget.Time = o.solverTimeout
	}
	switch o.priority {
	case "strict":
		req.ChannelPriority = solver.Strict
	case "flexible":
		req.ChannelPriority = solver.Flexible
	case "disabled":
		req.ChannelPriority = solver.Disabled
	default:
		fmt.Fprintf(stderr, "envkit lock: --channel-priority %q: want strict, flexible or disabled\n", o.priority)
		return nil, nil, exitUsage
	}
	creds, err := newCredentials(o.secrets, nil, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "envkit lock: %v\n", err)
		return nil, nil, credentialsExit(err)
	}
	var env *envfile.EnvFile
	if o.file != "" {
		def, err := loadEnvironment(o.file)
		if err != nil {
			printDiagnostics(stderr, err)
			return nil, nil, exitFailure
		}
		for _, w := range def.Warnings {
			fmt.Fprintf(stderr, "warning: %v\n", w)
		}
		if env = def.Conda; env == nil {
			fmt.Fprintf(stderr, "envkit: %s: a %s environment has no conda environment to lock\n", o.file, def.Kind())
			return nil, nil, exitFailure
		}
		req.Specs = envfile.Values(env.Dependencies)
		pip, err := pipRequest(def, env, creds, stderr)
		if err != nil {
			printDiagnostics(stderr, err)
			return nil, nil, exitFailure
		}
		req.Pip = pip
		// Command-line channels come first, as with conda; the file's
		// local paths are relative to the file that lists them.
		dir := filepath.Dir(env.File)
		for _, c := range envfile.Values(env.Channels) {
			req.Channels = append(req.Channels, fileChannel(c, dir))
		}
		if len(req.Platforms) == 0 {
			req.Platforms = envfile.Values(env.Platforms)
		}
	}
	if len(req.Platforms) == 0 {
		req.Platforms = []string{string(platform.Current())}
	}
	v, err := parseVirtual(o.virtual)
	if err != nil {
		fmt.Fprintf(stderr, "envkit lock: %v\n", err)
		return nil, nil, exitUsage
	}
	if v != nil {
		req.Virtual = make(map[string]map[string]string, len(req.Platforms))
		for _, p := range req.Platforms {
			req.Virtual[p] = v
		}
	}
	creds.addChannels(req.Channels)
	req.Gateway = condaGateway(stderr, creds)
	return req, env, exitOK
}

// pipRequest is the pip part of def's conda environment env: its pip:
// lines and the -r and -c files they name, as spec read them with the
// environment (inside its directory: what the hash covers); the indexes
// are read through a client with a disk cache beside the repodata's. Nil
// when there are no pip lines.
func pipRequest(def *spec.Environment, env *envfile.EnvFile, creds *credentials, stderr io.Writer) (*resolve.Pip, error) {
	if len(env.Pip) == 0 {
		return nil, nil
	}
	pf := def.Pip
	if pf == nil { // not loaded with its directory: -r refused
		var err error
		if pf, err = resolve.ParsePip(env, nil); err != nil {
			return nil, err
		}
	}
	for _, w := range pf.Warnings {
		fmt.Fprintf(stderr, "warning: %v\n", w)
	}
	warn := func(err error) { fmt.Fprintf(stderr, "envkit: warning: %v\n", err) }
	return &resolve.Pip{
		File:        pf,
		SpecOrigins: resolve.SpecOrigins(env),
		Warn:        func(w string) { fmt.Fprintf(stderr, "envkit: warning: %s\n", w) },
		Index: func(indexes []string) (pipresolve.Index, error) {
			return resolve.NewPipIndex(&index.Client{Indexes: indexes, CacheDir: pypiCacheDir(), Warn: warn, HTTPClient: authClient(creds)}), nil
		},
		LocalWheels:   localWheels(def, pf),
		LocalProjects: localProjects(def, pf),
	}, nil
}

// localProjects are the project directories def's pip lines name, as spec
// read them (their canonical archive's sha256, their pyproject.toml's
// metadata); each is locked as a file: URL relative to the environment's
// directory.
func localProjects(def *spec.Environment, pf *reqfile.File) map[string]resolve.LocalProject {
	out := map[string]resolve.LocalProject{}
	for _, q := range pf.Requirements {
		rel, ok := def.RelPath(q.Path)
		f := def.PipFileByPath(rel)
		if !q.Project || !ok || f == nil || !f.Project {
			continue
		}
		pp, err := f.Pyproject()
		if err != nil { // spec refused it already
			continue
		}
		out[q.Path] = resolve.LocalProject{URL: "file:" + rel, SHA256: f.SHA256, Metadata: pp.Metadata()}
	}
	return out
}

// localWheels are the wheels def's pip lines name by path, as spec hashed
// them, their metadata read inside the environment's directory; each is
// locked as a file: URL relative to that directory.
func localWheels(def *spec.Environment, pf *reqfile.File) map[string]resolve.LocalWheel {
	out := map[string]resolve.LocalWheel{}
	for _, q := range pf.Requirements {
		rel, ok := def.RelPath(q.Path)
		f := def.PipFileByPath(rel)
		if q.Path == "" || !ok || f == nil || !f.Wheel {
			continue
		}
		out[q.Path] = resolve.LocalWheel{URL: "file:" + rel, SHA256: f.SHA256, Metadata: func(context.Context) (*metadata.Metadata, error) {
			dir, err := rootfs.Open(filepath.Dir(def.File))
			if err != nil {
				return nil, err
			}
			defer dir.Close()
			fh, err := dir.Open(rel)
			if err != nil {
				return nil, err
			}
			defer fh.Close()
			ra, ok := fh.(io.ReaderAt)
			st, err := fh.Stat()
			if !ok || err != nil {
				return nil, fmt.Errorf("%s: cannot read it", rel)
			}
			return index.WheelMetadata(ra, st.Size(), path.Base(rel))
		}}
	}
	return out
}

// pypiCacheDir is where index pages and metadata are cached, beside the
// repodata cache.
func pypiCacheDir() string {
	d := condaCacheDir()
	if d == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(d), "pypi")
}

// fileChannel resolves a channel written in an environment file in dir: a
// local path becomes its file:// URL (relative to the file, not to the
// working directory); anything else is kept as written.
func fileChannel(c, dir string) string {
	if c == "nodefaults" || c == "defaults" || strings.Contains(c, "://") {
		return c
	}
	ch, err := channel.Parse(c, channel.WithWorkDir(dir))
	if err != nil || !strings.HasPrefix(ch.BaseURL, "file://") {
		return c // errors are reported, with the text as written, by resolve
	}
	return ch.BaseURL
}

// lockFailure reports a resolve error; an invalid spec or platform of a
// file is shown at its line, no channels at the file (resolve.InEnvFile).
func lockFailure(stderr io.Writer, err error, env *envfile.EnvFile, fromArgs bool, g *repodata.Gateway) int {
	if d := resolve.InEnvFile(err, env); d != nil {
		printDiagnostics(stderr, explainAuth(g, d))
		return exitFailure
	}
	code := condaFailure(stderr, explainAuth(g, err))
	var be *solver.BudgetError
	if errors.As(err, &be) {
		fmt.Fprintln(stderr, "hint: search longer with --solver-timeout (e.g. --solver-timeout 5m, or 0 for no limit), or pin some of the requested versions")
	}
	return code
}

// checkLock reports, for each platform of req, whether req.Previous can be
// installed as is (resolve.CheckLock); exit 1 if not. A stale platform is
// followed by each rule a package breaks, the first maxStaleProblems of
// them.
func checkLock(req *resolve.Request, file string, stdout, stderr io.Writer) int {
	code := exitOK
	for _, p := range req.Platforms {
		err := req.CheckLock(req.Previous, p)
		var se *resolve.StaleError
		switch {
		case errors.As(err, &se):
			code = exitFailure
			if len(se.Problems) == 1 {
				fmt.Fprintf(stdout, "%s: %s: stale: %s\n", file, p, se.Problems[0])
				continue
			}
			fmt.Fprintf(stdout, "%s: %s: stale:\n", file, p)
			for i, pr := range se.Problems {
				if i == maxStaleProblems {
					fmt.Fprintf(stdout, "  and %d more\n", len(se.Problems)-i)
					break
				}
				fmt.Fprintf(stdout, "  %s\n", pr)
			}
		case err != nil:
			return condaFailure(stderr, err)
		default:
			fmt.Fprintf(stdout, "%s: %s: up to date\n", file, p)
		}
	}
	return code
}

// maxStaleProblems bounds the reasons --check prints for one platform.
const maxStaleProblems = 20

// writeLockJSON prints the solution: an array of packages for one
// platform, an object of arrays keyed by platform for several. Conda
// records come first ("manager": "conda"), then the pip packages
// ("manager": "pip", name as the index spells it, version, url, sha256).
func writeLockJSON(w io.Writer, l *lock.Lock) error {
	byPlatform := map[string][]*record.RepoDataRecord{}
	pip := map[string][]pipJSON{}
	for _, p := range l.Packages {
		switch {
		case p.Manager == lock.Conda && p.Record != nil:
			byPlatform[p.Platform] = append(byPlatform[p.Platform], p.Record)
		case p.Manager == lock.Pip:
			pip[p.Platform] = append(pip[p.Platform], pipJSON{Manager: string(lock.Pip), Name: p.Name, Version: p.Version, URL: p.URL, SHA256: p.SHA256})
		}
	}
	list := func(platform string) []any {
		recs := sortedByName(byPlatform[platform])
		out := make([]any, 0, len(recs)+len(pip[platform]))
		for _, r := range recs {
			out = append(out, lockRecordJSON{Manager: string(lock.Conda), recordJSON: toRecordJSON(r)})
		}
		for _, p := range pip[platform] {
			out = append(out, p)
		}
		return out
	}
	if len(l.Platforms) == 1 {
		return writeJSON(w, list(l.Platforms[0]))
	}
	out := make(map[string][]any, len(l.Platforms))
	for _, p := range l.Platforms {
		out[p] = list(p)
	}
	return writeJSON(w, out)
}

// lockRecordJSON is a conda record as lock --format json prints it.
type lockRecordJSON struct {
	Manager string `json:"manager"`
	recordJSON
}

// pipJSON is a pip package as lock --format json prints it.
type pipJSON struct {
	Manager string `json:"manager"`
	Name    string `json:"name"`
	Version string `json:"version"`
	URL     string `json:"url"`
	SHA256  string `json:"sha256"`
}

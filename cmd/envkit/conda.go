package main

// Helpers shared by the conda commands (search, lock).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/repodata"
	"github.com/envkit/envkit/conda/resolve"
)

// condaCacheDir is where repodata is cached: $ENVKIT_CACHE/repodata, else
// ~/.cache/envkit/repodata ("" when neither is known: no disk cache).
func condaCacheDir() string {
	if d := os.Getenv("ENVKIT_CACHE"); d != "" {
		return filepath.Join(d, "repodata")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "envkit", "repodata")
}

// condaGateway returns a repodata gateway on the cache dir that reports
// skipped records on stderr and sends each host its credentials.
func condaGateway(stderr io.Writer, creds *credentials) *repodata.Gateway {
	return &repodata.Gateway{
		Client:   authClient(creds),
		CacheDir: condaCacheDir(),
		Warn:     func(err error) { fmt.Fprintf(stderr, "envkit: warning: %v\n", err) },
	}
}

// explainAuth adds to err, from a resolve through g (condaGateway), which
// host refused a request for want of credentials, and how to give them.
func explainAuth(g *repodata.Gateway, err error) error {
	if g == nil || g.Client == nil {
		return err
	}
	if t, ok := g.Client.Transport.(*authTransport); ok {
		return t.explain(err)
	}
	return err
}

// interruptible returns a context cancelled by Ctrl-C.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// condaFailure prints err and returns its exit code: a usage error for a bad
// spec or platform on the command line or missing channels, a failure
// otherwise.
func condaFailure(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "envkit: %v\n", err)
	var se *resolve.SpecError
	if errors.As(err, &se) || errors.Is(err, resolve.ErrNoChannels) || errors.Is(err, resolve.ErrPlatform) {
		return exitUsage
	}
	return exitFailure
}

// recordJSON is a package record as search and lock print it.
type recordJSON struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Build       string   `json:"build"`
	BuildNumber int64    `json:"build_number"`
	Channel     string   `json:"channel"`
	Subdir      string   `json:"subdir"`
	FileName    string   `json:"fn"`
	URL         string   `json:"url"`
	MD5         string   `json:"md5"`
	SHA256      string   `json:"sha256"`
	Size        int64    `json:"size,omitempty"`
	Timestamp   int64    `json:"timestamp,omitempty"`
	License     string   `json:"license,omitempty"`
	Depends     []string `json:"depends"`
	Constrains  []string `json:"constrains"`
}

func toRecordJSON(r *record.RepoDataRecord) recordJSON {
	return recordJSON{
		Name: r.Name, Version: r.Version.String(), Build: r.Build, BuildNumber: r.BuildNumber,
		Channel: channelName(r.Channel), Subdir: r.Subdir, FileName: r.FileName, URL: r.URL,
		MD5: r.MD5, SHA256: r.SHA256, Size: r.Size, Timestamp: r.Timestamp, License: r.License,
		Depends:    nonNil(r.Depends),
		Constrains: nonNil(r.Constrains),
	}
}

// recordsJSON converts records for printing ([] rather than null when empty).
func recordsJSON(recs []*record.RepoDataRecord) []recordJSON {
	out := make([]recordJSON, 0, len(recs))
	for _, r := range recs {
		out = append(out, toRecordJSON(r))
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeJSON prints v indented, with a final newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// channelName is how conda prints a channel: its short name under the
// alias ("conda-forge"), else its URL.
func channelName(baseURL string) string {
	if c, err := channel.Parse(baseURL); err == nil {
		return c.String()
	}
	return baseURL
}

// parseVirtual reads --virtual-package NAME=VERSION flags into overrides
// (NAME with or without "__"; an empty VERSION removes the package).
func parseVirtual(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(flags))
	for _, f := range flags {
		name, ver, ok := strings.Cut(f, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("--virtual-package %q: want NAME=VERSION, e.g. __glibc=2.28 or __cuda=12.2", f)
		}
		if !strings.HasPrefix(name, "__") {
			name = "__" + name
		}
		out[name] = strings.TrimSpace(ver)
	}
	return out, nil
}

// sortedByName returns recs sorted by name (then subdir, for stability).
func sortedByName(recs []*record.RepoDataRecord) []*record.RepoDataRecord {
	out := slices.Clone(recs)
	slices.SortFunc(out, func(a, b *record.RepoDataRecord) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Subdir, b.Subdir)
	})
	return out
}

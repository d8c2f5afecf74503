package resolve

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/envkit/envkit/conda/repodata"
)

// TestLockCannotBeSteered: a channel whose newer records have a file name
// that climbs out of the channel or a sha256 that is not a digest locks the
// older, sound record; the others never reach the lock, and each is
// reported at its line.
func TestLockCannotBeSteered(t *testing.T) {
	dir := t.TempDir()
	sha := strings.Repeat("0123456789abcdef", 4)
	docs := map[string]string{
		"linux-64": `{}`,
		"noarch": `{"packages": {
  "a-1-0.tar.bz2": {"name": "a", "version": "1", "build": "0", "sha256": "` + sha + `"},
  "../../../../etc/passwd": {"name": "a", "version": "2", "build": "0", "sha256": "` + sha + `"},
  "a-3-0.tar.bz2": {"name": "a", "version": "3", "build": "0", "sha256": "abc"}
}}`,
	}
	for sd, doc := range docs {
		os.MkdirAll(filepath.Join(dir, sd), 0o755)
		if err := os.WriteFile(filepath.Join(dir, sd, "repodata.json"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	url, _ := serve(t, dir)
	for _, ch := range []string{url, dir} {
		var mu sync.Mutex
		var warns []string
		g := &repodata.Gateway{Warn: func(err error) { mu.Lock(); warns = append(warns, err.Error()); mu.Unlock() }}
		l, err := Resolve(context.Background(), Request{
			Specs: []string{"a"}, Channels: []string{"nodefaults", ch}, Platforms: []string{"linux-64"}, Gateway: g,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Packages) != 1 {
			t.Fatalf("%s: %d packages locked, want 1", ch, len(l.Packages))
		}
		p := l.Packages[0]
		base := strings.TrimSuffix(ch, "/")
		if !strings.HasPrefix(base, "http") {
			base = "file://" + base
		}
		if p.Version != "1" || p.URL != base+"/noarch/a-1-0.tar.bz2" {
			t.Errorf("%s: locked %s %s at %s, want a 1 from the channel", ch, p.Name, p.Version, p.URL)
		}
		got := strings.Join(warns, "\n")
		if len(warns) != 2 || !strings.Contains(got, `noarch/repodata.json:3: packages["../../../../etc/passwd"]: skipped invalid record`) ||
			!strings.Contains(got, `noarch/repodata.json:4: packages["a-3-0.tar.bz2"]: skipped invalid record: sha256 "abc" is not 64 hex digits`) {
			t.Errorf("%s: warnings:\n%s", ch, got)
		}
	}
}

package resolve

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/metadata"
)

// A pip line that names a wheel by path is resolved from the wheel the
// caller read (its metadata and sha256; its dependencies from the index)
// and locked with its sha256 and a file: URL relative to the environment's
// directory; CheckLock takes the lock only while the wheel has that
// sha256.
func TestResolveLocalWheel(t *testing.T) {
	url, _ := servePipIndex(t)
	tool := pypitest.File{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "tool", Version: "1.0", RequiresDist: []string{"Werkzeug>=3"}}}}
	data, err := tool.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	conda := fmt.Sprintf("dependencies:\n  - python=3.12\n  - pip:\n    - --index-url %s\n    - ./dist/tool-1.0-py3-none-any.whl\n", url)
	req, _ := pipRequest(t, pipChannel(t), conda, new(atomic.Int64))
	lw := LocalWheel{URL: "file:dist/tool-1.0-py3-none-any.whl", SHA256: pypitest.Sum(data),
		Metadata: func(context.Context) (*metadata.Metadata, error) {
			return index.WheelMetadata(bytes.NewReader(data), int64(len(data)), "tool-1.0-py3-none-any.whl")
		}}
	if p := req.Pip.File.Requirements[0].Path; p != "dist/tool-1.0-py3-none-any.whl" {
		t.Fatalf("path %q", p)
	}
	// Without the wheel at hand: refused at its line.
	if _, err := Resolve(context.Background(), *req); err == nil || !strings.Contains(err.Error(), "a wheel from a path is not supported here") {
		t.Errorf("without LocalWheels: %v", err)
	}
	req.Pip.LocalWheels = map[string]LocalWheel{"dist/tool-1.0-py3-none-any.whl": lw}
	l, err := Resolve(context.Background(), *req)
	if err != nil {
		t.Fatal(err)
	}
	pip := pipLocked(l, "linux-64")
	if p := pip["tool"]; p == nil || p.URL != lw.URL || p.SHA256 != lw.SHA256 || p.Version != "1.0" {
		t.Errorf("tool locked as %+v", p)
	}
	if p := pip["Werkzeug"]; p == nil || p.Version != "3.0.1" || !strings.HasPrefix(p.URL, url) {
		t.Errorf("Werkzeug locked as %+v", p)
	}
	if err := req.CheckLock(l, "linux-64"); err != nil {
		t.Errorf("check: %v", err)
	}
	// The wheel changed: the lock is not for it.
	other := lw
	other.SHA256 = strings.Repeat("0", 64)
	req.Pip.LocalWheels["dist/tool-1.0-py3-none-any.whl"] = other
	if err := req.CheckLock(l, "linux-64"); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Errorf("check with another wheel: %v", err)
	}
}

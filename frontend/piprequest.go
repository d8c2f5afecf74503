package frontend

import (
	"context"
	"net/http"
	"path"

	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/metadata"
	"github.com/envkit/envkit/pypi/reqfile"
	pipresolve "github.com/envkit/envkit/pypi/resolve"
	"github.com/moby/buildkit/frontend/gateway/client"
)

// pipRequest is the pip part of the conda request: the conda file's pip:
// lines, resolved by conda/resolve after each platform's solve from
// indexes read through BuildKit's HTTP source (the frontend has no
// network of its own; BuildKit caches the pages and metadata it fetches).
// Nil without pip lines.
func (s *condaSolver) pipRequest(ctx context.Context) (*resolve.Pip, error) {
	ef := s.env.Conda
	// The pip lines and the -r and -c files they name, as spec read them
	// from the dockerfile local with the environment (builder.load): what
	// the hash covers.
	pf := s.env.Pip
	if pf == nil {
		var err error
		if pf, err = resolve.ParsePip(ef, s.env.OpenPipFile); err != nil || pf == nil {
			return nil, err
		}
	}
	for _, w := range pf.Warnings {
		if s.b.src != nil {
			s.b.src.Warn(ctx, w.Error(), client.WarnOpts{})
		}
	}
	var hc *http.Client
	if s.transport != nil { // nil: the index is read directly (tests)
		hc = &http.Client{Transport: s.transport}
		s.transport.credentialsIn(pf.Indexes())
	}
	return &resolve.Pip{
		LocalWheels:   s.localWheels(ctx, pf),
		LocalProjects: s.localProjects(pf),
		File:          pf,
		SpecOrigins:   resolve.SpecOrigins(ef),
		Warn: func(w string) {
			if s.b.src != nil {
				s.b.src.Warn(ctx, w, client.WarnOpts{})
			}
		},
		Index: func(indexes []string) (pipresolve.Index, error) {
			if hc != nil {
				// An index URL's user information is not sent through
				// BuildKit, whose LLB would show it: the host's secret
				// is (auth.go), and a refusal says so.
				indexes = redactIndexes(indexes)
			}
			// The frontend's container has no writable temporary
			// directory: a wheel read for its METADATA (an index without
			// PEP 658 metadata files) is held in memory, as BuildKit's
			// fetch gives it to the transport anyway.
			return resolve.NewPipIndex(&index.Client{Indexes: indexes, HTTPClient: hc, InMemory: true}), nil
		},
	}, nil
}

// localProjects are the project directories the pip lines name, as spec
// read them from the dockerfile local (their canonical archive's sha256,
// their pyproject.toml's metadata); each is locked as a file: URL of the
// directory relative to the environment's directory.
func (s *condaSolver) localProjects(pf *reqfile.File) map[string]resolve.LocalProject {
	out := map[string]resolve.LocalProject{}
	for _, q := range pf.Requirements {
		rel, ok := s.env.RelPath(q.Path)
		f := s.env.PipFileByPath(rel)
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

// localWheels are the wheels the pip lines name by path, as spec hashed
// them from the dockerfile local, their metadata read from it in ranges
// (the zip's directory and METADATA, not the whole wheel); each is locked
// as a file: URL relative to the environment's directory.
func (s *condaSolver) localWheels(ctx context.Context, pf *reqfile.File) map[string]resolve.LocalWheel {
	out := map[string]resolve.LocalWheel{}
	ld, _ := s.b.dir.(*localDir)
	for _, q := range pf.Requirements {
		rel, ok := s.env.RelPath(q.Path)
		f := s.env.PipFileByPath(rel)
		if q.Path == "" || !ok || f == nil || !f.Wheel || ld == nil {
			continue
		}
		size := f.Size
		out[q.Path] = resolve.LocalWheel{URL: "file:" + rel, SHA256: f.SHA256, Metadata: func(context.Context) (*metadata.Metadata, error) {
			r, err := ld.ref(rel, "open")
			if err != nil {
				return nil, err
			}
			ra := &refReaderAt{ctx: ctx, ref: r.ref, name: path.Join(ld.dir, rel)}
			return index.WheelMetadata(ra, size, path.Base(rel))
		}}
	}
	return out
}

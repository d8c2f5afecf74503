package frontend

import (
	"context"
	"errors"
	"net/http"

	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/pypi/index"
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
	pf, err := resolve.ParsePip(ef, func(string) ([]byte, error) {
		// Only the conda file (and the lock file) are loaded from the
		// dockerfile local.
		return nil, errors.New("the frontend does not read -r and -c files yet: list the requirements in the conda file, or lock with envkit lock and build with the lock file")
	})
	if err != nil || pf == nil {
		return nil, err
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
		File:        pf,
		SpecOrigins: resolve.SpecOrigins(ef),
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

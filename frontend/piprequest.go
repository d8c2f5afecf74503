package frontend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/internal/diag"
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
			return resolve.NewPipIndex(&index.Client{Indexes: indexes, HTTPClient: hc}), nil
		},
	}, nil
}

// pipNotInstalled refuses a resolution that locks pip packages, at the
// first pip line, until the frontend installs them (branch pip-layers):
// an image without the packages its file asks for must not build.
func (s *condaSolver) pipNotInstalled(l *lock.Lock) error {
	ef := s.env.Conda
	var names []string
	for _, p := range l.Packages {
		if p.Manager == lock.Pip {
			names = append(names, p.Platform+": "+p.Name+"-"+p.Version)
		}
	}
	if len(ef.Pip) == 0 || len(names) == 0 {
		return nil
	}
	it := ef.Pip[0]
	return diag.List{{File: ef.File, Line: it.Line, Column: it.Column, Field: "dependencies.pip",
		Msg:  fmt.Sprintf("pip packages are resolved (%s) but not installed by the frontend yet", strings.Join(names, ", ")),
		Hint: "install them with docker_steps (RUN pip install ...) until the pip layers land"}}
}

package pypitest

import (
	"context"
	"fmt"
	"sync"

	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/metadata"
	"github.com/envkit/envkit/pypi/name"
)

// MemIndex answers what an index.Client would for an index of projects,
// from memory, without building or serving files: for resolver tests and
// benchmarks that measure the resolver, not the disk. A file's URL is
// mem:///_files/<file>, its "sha256" the sha256 of its metadata (a stand-in:
// no bytes are built). It counts the requests it answers.
type MemIndex struct {
	projects map[string]*index.Project
	meta     map[string][]byte // by URL

	mu       sync.Mutex
	Requests map[string]int // by project name, and by file name for metadata
}

// NewMemIndex makes a MemIndex of the projects.
func NewMemIndex(projects ...Project) (*MemIndex, error) {
	m := &MemIndex{projects: map[string]*index.Project{}, meta: map[string][]byte{}, Requests: map[string]int{}}
	for _, p := range projects {
		if err := name.Validate(p.Name); err != nil {
			return nil, fmt.Errorf("pypitest: %w", err)
		}
		norm := name.Normalize(p.Name)
		pg := &index.Page{Name: norm, URL: "mem:///" + norm + "/", APIVersion: "1.1"}
		for _, f := range p.Files {
			md := f.MetadataBytes()
			fn := f.Filename()
			u := "mem:///" + FilesDir + "/" + fn
			m.meta[u] = md
			rp := f.RequiresPython
			if rp == "" {
				rp = f.meta().RequiresPython
			} else if rp == "-" {
				rp = ""
			}
			pg.Files = append(pg.Files, index.File{Filename: fn, URL: u, Hashes: map[string]string{"sha256": Sum(md)},
				RequiresPython: rp, Yanked: f.Yanked, YankedReason: f.YankedReason, CoreMetadata: true, Size: -1, Index: "mem:///"})
		}
		m.projects[norm] = &index.Project{Name: norm, Pages: []*index.Page{pg}}
	}
	return m, nil
}

// Project returns a project's page, or an *index.NotFoundError.
func (m *MemIndex) Project(ctx context.Context, project string) (*index.Project, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	norm := name.Normalize(project)
	m.mu.Lock()
	m.Requests[norm]++
	m.mu.Unlock()
	p, ok := m.projects[norm]
	if !ok {
		return nil, &index.NotFoundError{Name: norm, Indexes: []string{"mem:///"}}
	}
	return p, nil
}

// Metadata parses a file's metadata.
func (m *MemIndex) Metadata(ctx context.Context, f index.File) (*metadata.Metadata, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.Requests[f.Filename]++
	m.mu.Unlock()
	data, ok := m.meta[f.URL]
	if !ok {
		return nil, fmt.Errorf("%s: not found", f.URL)
	}
	return metadata.Parse(data, f.Filename+".metadata")
}

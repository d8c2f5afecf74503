package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Errors a workspace operation wraps; test them with errors.Is.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("version exists with another definition")
	ErrReserved    = errors.New("reserved name")
	ErrUnreachable = errors.New("registry unreachable")
	ErrAuth        = errors.New("registry refused the credentials")
	ErrCurated     = errors.New("curated environments cannot be changed")
)

// repo is one repository of a workspace, reached with go-containerregistry
// and the docker config's credentials.
type repo struct {
	ws   *Workspace
	name name.Repository
}

func (r *repo) opts(ctx context.Context) []remote.Option {
	puller, pusher := r.ws.clients()
	return []remote.Option{remote.WithContext(ctx), remote.Reuse(puller), remote.Reuse(pusher)}
}

// clients are the workspace's puller and pusher, shared by its requests so
// that the registry is pinged and the credentials exchanged once per
// repository, not once per request.
func (w *Workspace) clients() (*remote.Puller, *remote.Pusher) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.puller == nil {
		opts := append([]remote.Option{remote.WithAuthFromKeychain(w.keychain)}, w.extra...)
		var err error
		if w.puller, err = remote.NewPuller(opts...); err != nil {
			panic(err) // only options that cannot fail are given
		}
		if w.pusher, err = remote.NewPusher(opts...); err != nil {
			panic(err)
		}
	}
	return w.puller, w.pusher
}

// resetClients drops the puller and pusher, which keep the error of a
// failed first contact: the next request contacts the registry again.
func (w *Workspace) resetClients() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.puller, w.pusher = nil, nil
}

// manifest fetches the manifest tagged tag; ErrNotFound when there is none.
func (r *repo) manifest(ctx context.Context, tag string) (*ocispec.Manifest, error) {
	desc, err := remote.Get(r.name.Tag(tag), r.opts(ctx)...)
	if err != nil {
		return nil, r.ws.wrap(err, fmt.Sprintf("read %s:%s", r.name, tag))
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, fmt.Errorf("%s:%s: %w", r.name, tag, err)
	}
	return &m, nil
}

// blob fetches a blob and checks its digest.
func (r *repo) blob(ctx context.Context, d digest.Digest) ([]byte, error) {
	l, err := remote.Layer(r.name.Digest(d.String()), r.opts(ctx)...)
	if err != nil {
		return nil, r.ws.wrap(err, fmt.Sprintf("read blob %s", d))
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, r.ws.wrap(err, fmt.Sprintf("read blob %s", d))
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, r.ws.wrap(err, fmt.Sprintf("read blob %s", d))
	}
	if got := digest.FromBytes(data); got != d {
		return nil, fmt.Errorf("%s: blob %s has digest %s", r.name, d, got)
	}
	return data, nil
}

// putBlob uploads data (unless the registry has it) and returns its descriptor.
func (r *repo) putBlob(ctx context.Context, data []byte, mediaType string) (ocispec.Descriptor, error) {
	if err := remote.WriteLayer(r.name, static.NewLayer(data, types.MediaType(mediaType)), r.opts(ctx)...); err != nil {
		return ocispec.Descriptor{}, r.ws.wrap(err, "write blob")
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}, nil
}

// putManifest tags m as tag: one PUT, so the tag either names the new
// manifest or is left as it was.
func (r *repo) putManifest(ctx context.Context, tag string, m *ocispec.Manifest) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := remote.Put(r.name.Tag(tag), rawManifest{raw, types.MediaType(m.MediaType)}, r.opts(ctx)...); err != nil {
		return r.ws.wrap(err, fmt.Sprintf("write %s:%s", r.name, tag))
	}
	return nil
}

// tags lists the repository's tags; none when it does not exist yet.
func (r *repo) tags(ctx context.Context) ([]string, error) {
	tags, err := remote.List(r.name, r.opts(ctx)...)
	if err != nil {
		err = r.ws.wrap(err, "list "+r.name.String())
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return tags, nil
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// wrap turns a registry client error into one that says what went wrong
// in the user's terms and wraps ErrNotFound, ErrAuth or ErrUnreachable.
func (w *Workspace) wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		w.resetClients()
		return err
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusNotFound:
			return errorf(ErrNotFound, "%s: not found", what)
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			w.resetClients()
			return errorf(ErrAuth, "workspace %s: the registry refused the credentials (%s: %s); log in with `docker login %s` (envkit reads the docker config's credentials)",
				w, what, http.StatusText(te.StatusCode), w.Registry)
		}
		for _, d := range te.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
				return errorf(ErrNotFound, "%s: not found", what)
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return errorf(ErrAuth, "workspace %s: the registry refused the credentials (%s: %s); log in with `docker login %s`", w, what, d.Message, w.Registry)
			}
		}
		return fmt.Errorf("workspace %s: %s: %w", w, what, err)
	}
	var ne net.Error
	var oe *net.OpError
	w.resetClients()
	if errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return errorf(ErrUnreachable, "workspace %s: cannot reach the registry %s (%s); is it running?", w, w.Registry, rootCause(err))
	}
	return fmt.Errorf("workspace %s: %s: %w", w, what, err)
}

// rootCause is what failed on the network ("dial: connect: connection
// refused") rather than the whole chain of URLs.
func rootCause(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Op + ": " + oe.Err.Error()
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// kindError is an error of one of the kinds above, with its own message.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func errorf(kind error, format string, a ...any) error {
	return &kindError{kind, fmt.Sprintf(format, a...)}
}

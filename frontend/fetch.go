package frontend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	envllb "github.com/envkit/envkit/llb"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/errdefs"
)

// buildkitTransport is an http.RoundTripper that fetches through BuildKit's
// HTTP source: the frontend itself runs without network, and BuildKit caches
// and revalidates what it downloads. It serves GET only.
type buildkitTransport struct {
	ctx context.Context
	c   client.Client
	// absent are URLs known not to exist (probe): answered 404 without
	// asking BuildKit, whose HTTP source shows a 404 as a failed step.
	absent map[string]bool
	// auth are the hosts whose credentials the build has (secrets): their
	// fetches send them.
	auth envllb.Auth
	// inURL are the hosts whose channel URLs carry a credential, which is
	// not sent (errors say so).
	inURL map[string]bool

	mu      sync.Mutex
	tries   map[string]int // requests per URL so far
	refused []refusal      // 401s and 403s, in order
}

// fetchFile is the file name of the n-th request (from 0) for a URL.
// BuildKit keeps a failed vertex's error for the rest of the build and
// answers the same vertex with it again, so a retry of the repodata
// Gateway would never reach the channel: each retry is a vertex of its
// own, by a file name of its own.
func fetchFile(n int) string {
	if n == 0 {
		return "body"
	}
	return "body.retry" + strconv.Itoa(n)
}

func (t *buildkitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return nil, fmt.Errorf("%s %s: only GET goes through BuildKit", req.Method, req.URL)
	}
	url := req.URL.String()
	if t.absent[url] {
		return response(req, http.StatusNotFound, nil), nil
	}
	t.mu.Lock()
	if t.tries == nil {
		t.tries = map[string]int{}
	}
	file := fetchFile(t.tries[url])
	t.tries[url]++
	t.mu.Unlock()
	name := "[internal] fetch " + url
	if file != "body" {
		name += " (" + strings.TrimPrefix(file, "body.") + ")"
	}
	st := llb.HTTP(url, llb.Filename(file), llb.WithCustomName(name), t.auth.For(url))
	def, err := st.Marshal(t.ctx)
	if err != nil {
		return nil, err
	}
	res, err := t.c.Solve(req.Context(), client.SolveRequest{Definition: def.ToPB(), Evaluate: true})
	if err != nil {
		if code, ok := httpStatus(err); ok {
			t.refuse(url, code)
			return response(req, code, nil), nil
		}
		return nil, err
	}
	ref, err := res.SingleRef()
	if err != nil {
		return nil, err
	}
	body, err := readFile(req.Context(), ref, file, 0) // bounded by the repodata Gateway's limits
	if err != nil {
		return nil, err
	}
	return response(req, http.StatusOK, body), nil
}

// statusText is how BuildKit's HTTP source (source/http/source.go) refuses
// a response outside 2xx and 3xx: errors.Errorf("invalid response status
// %d", resp.StatusCode).
const statusText = "invalid response status "

// httpStatus returns the HTTP status with which BuildKit's HTTP source
// refused the fetch that failed with err.
//
// BuildKit v0.34.2 gives the status in no typed form: the HTTP source
// returns a plain error with the status in its text, the gateway sends it
// as a gRPC status with code Unknown, and the typed details of
// solver/errdefs say which vertex failed (errdefs.Vertex) and, for exec and
// file ops only, which op (errdefs.Solve), never why. So the typed part
// decides whether this is the fetch failing: the error must carry an
// errdefs.VertexError, which the solver attaches to a vertex's own failure
// and which a gateway, session or cancellation error does not carry (the
// definition RoundTrip solves holds one vertex, the HTTP source). Only then
// is the status read, from BuildKit's one format for it; a fetch that fails
// otherwise (connection refused, timeout) stays an error.
// TestStatusTextIsBuildKits fails when a BuildKit upgrade changes the text.
func httpStatus(err error) (int, bool) {
	var ve *errdefs.VertexError
	if !errors.As(err, &ve) {
		return 0, false
	}
	msg := ve.Error()
	i := strings.LastIndex(msg, statusText)
	if i < 0 {
		return 0, false
	}
	rest := msg[i+len(statusText):]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	code, cerr := strconv.Atoi(rest[:n])
	if cerr != nil || n != 3 || code < 100 || code > 599 {
		return 0, false
	}
	return code, true
}

func response(req *http.Request, code int, body []byte) *http.Response {
	return &http.Response{
		Status:        strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// isHTTP reports whether a channel can be fetched through BuildKit.
func isHTTP(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

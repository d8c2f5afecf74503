package frontend

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
)

// buildkitTransport is an http.RoundTripper that fetches through BuildKit's
// HTTP source: the frontend itself runs without network, and BuildKit caches
// and revalidates what it downloads. It serves GET only.
type buildkitTransport struct {
	ctx context.Context
	c   client.Client
}

var statusRE = regexp.MustCompile(`invalid response status (\d+)`)

func (t *buildkitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return nil, fmt.Errorf("%s %s: only GET goes through BuildKit", req.Method, req.URL)
	}
	url := req.URL.String()
	st := llb.HTTP(url, llb.Filename("body"), llb.WithCustomName("[internal] fetch "+url))
	def, err := st.Marshal(t.ctx)
	if err != nil {
		return nil, err
	}
	res, err := t.c.Solve(req.Context(), client.SolveRequest{Definition: def.ToPB(), Evaluate: true})
	if err != nil {
		if m := statusRE.FindStringSubmatch(err.Error()); m != nil {
			code, _ := strconv.Atoi(m[1])
			return response(req, code, nil), nil
		}
		return nil, err
	}
	ref, err := res.SingleRef()
	if err != nil {
		return nil, err
	}
	body, err := readFile(req.Context(), ref, "body")
	if err != nil {
		return nil, err
	}
	return response(req, http.StatusOK, body), nil
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

package run

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/envkit/envkit/internal/helper"
	"golang.org/x/net/http/httpguts"

	// The helper runs from the frontend image (scratch, no CA bundle):
	// Mozilla's roots, used only when the system has none, so that probing
	// an https channel can verify it.
	_ "golang.org/x/crypto/x509roots/fallback"
)

// probeTimeout bounds one probe request; probeWorkers bounds the requests
// in flight.
const (
	probeTimeout = 20 * time.Second
	probeWorkers = 8
)

// Probe asks for each URL of p's input with a HEAD request whether it
// exists, and writes the answers. No answer fails it: a URL without a
// response gets status 0 and its error. A request to one of the input's
// hosts carries the Authorization header value the exec has for it
// (helper.AuthEnv), and the output says which hosts had one.
func Probe(ctx context.Context, p *helper.Probe, client *http.Client) error {
	in, err := helper.ReadProbeInput(p.Input)
	if err != nil {
		return err
	}
	if client == nil {
		client = &http.Client{Timeout: probeTimeout}
	}
	out := helper.ProbeOutput{Status: make(map[string]int, len(in.URLs)), Errors: map[string]string{}}
	auth := map[string]string{} // header value by host name
	for i, h := range in.Hosts {
		// BuildKit sets an optional secret it does not have as an empty
		// variable: empty is absent.
		v := os.Getenv(helper.AuthEnv(i))
		if v == "" {
			continue
		}
		if out.Auth == nil {
			out.Auth = map[string]string{}
		}
		out.Auth[h] = headerProblem(v)
		if out.Auth[h] == "" {
			auth[h] = v
		}
	}
	var mu sync.Mutex
	urls := make(chan string)
	var wg sync.WaitGroup
	for range min(probeWorkers, len(in.URLs)) {
		wg.Go(func() {
			for u := range urls {
				code, err := head(ctx, client, u, auth)
				mu.Lock()
				out.Status[u] = code
				if err != nil {
					out.Errors[u] = err.Error()
				}
				mu.Unlock()
			}
		})
	}
	for _, u := range in.URLs {
		urls <- u
	}
	close(urls)
	wg.Wait()
	data, err := json.Marshal(&out)
	if err != nil {
		return err
	}
	return os.WriteFile(p.Output, data, 0o644)
}

// headerProblem says why v cannot be sent as a header value ("" when it
// can), without showing it: BuildKit's HTTP source sends the secret as it
// is, so a value Go's client refuses fails every fetch from that host.
func headerProblem(v string) string {
	switch {
	case strings.ContainsAny(v, "\r\n"):
		return "it contains a line break (a file written with echo ends with one; write it with printf)"
	case !httpguts.ValidHeaderFieldValue(v):
		return "it contains characters a header value cannot hold"
	}
	return ""
}

func head(ctx context.Context, client *http.Client, u string, auth map[string]string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "envkit")
	if v, ok := auth[strings.ToLower(req.URL.Hostname())]; ok {
		req.Header.Set("Authorization", v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

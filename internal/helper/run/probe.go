package run

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/envkit/envkit/internal/helper"

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
// response gets status 0 and its error.
func Probe(ctx context.Context, p *helper.Probe, client *http.Client) error {
	in, err := helper.ReadProbeInput(p.Input)
	if err != nil {
		return err
	}
	if client == nil {
		client = &http.Client{Timeout: probeTimeout}
	}
	out := helper.ProbeOutput{Status: make(map[string]int, len(in.URLs)), Errors: map[string]string{}}
	var mu sync.Mutex
	urls := make(chan string)
	var wg sync.WaitGroup
	for range min(probeWorkers, len(in.URLs)) {
		wg.Go(func() {
			for u := range urls {
				code, err := head(ctx, client, u)
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

func head(ctx context.Context, client *http.Client, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "envkit")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

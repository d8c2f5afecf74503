package resolve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/repodata"
)

// TestInEnvFile covers what the two former copies handled: the frontend's
// solveError (an invalid spec at its dependency line) and the CLI's
// lockFailure (that, an invalid platform at its line, no channels at the
// file), with errors as Resolve really returns them.
func TestInEnvFile(t *testing.T) {
	ef, err := envfile.Parse("env.yml", []byte("channels:\n  - nodefaults\ndependencies:\n  - python\n  - numpy >=>1\nplatforms:\n  - linux-64\n  - linux-fake\n"))
	if err != nil {
		t.Fatal(err)
	}
	resolveErr := func(specs, channels, platforms []string) error {
		_, err := Resolve(context.Background(), Request{Specs: specs, Channels: channels, Platforms: platforms})
		if err == nil {
			t.Fatal("Resolve succeeded")
		}
		return err
	}
	deps, plats := envfile.Values(ef.Dependencies), envfile.Values(ef.Platforms)
	specErr := resolveErr(deps, []string{"conda-forge"}, []string{"linux-64"})
	platErr := resolveErr([]string{"python"}, []string{"conda-forge"}, plats)
	noChan := resolveErr([]string{"python"}, envfile.Values(ef.Channels), []string{"linux-64"})
	for _, c := range []struct {
		name      string
		err       error
		ef        *envfile.EnvFile
		field     string
		line, col int
	}{
		{"invalid spec", specErr, ef, "dependencies", 5, 5},
		{"invalid spec, wrapped", fmt.Errorf("solve: %w", specErr), ef, "dependencies", 5, 5},
		{"invalid platform", platErr, ef, "platforms", 8, 5},
		{"no channels", noChan, ef, "channels", 2, 5},
		{"spec index beyond the file", &SpecError{Index: 7, Spec: "x", Err: errors.New("bad")}, ef, "", 0, 0},
		{"platform not in the file", &PlatformError{Platform: "osx-fake", Err: ErrPlatform}, ef, "", 0, 0},
		{"unsatisfiable on a platform", &PlatformError{Platform: "linux-64", Err: errors.New("nothing provides x")}, ef, "", 0, 0},
		{"other error", errors.New("network down"), ef, "", 0, 0},
		{"no file", specErr, nil, "", 0, 0},
		{"no error", nil, ef, "", 0, 0},
	} {
		d := InEnvFile(c.err, c.ef)
		if c.field == "" {
			if d != nil {
				t.Errorf("%s: InEnvFile = %v, want nil", c.name, d)
			}
			continue
		}
		if len(d) != 1 || d[0].File != "env.yml" || d[0].Field != c.field || d[0].Line != c.line || d[0].Column != c.col || d[0].Msg == "" {
			t.Errorf("%s: InEnvFile = %+v, want env.yml:%d:%d %s", c.name, d, c.line, c.col, c.field)
		}
	}
}

// Repodata a channel does not give (a 5xx answered every time, a refused
// connection) is placed at that channel's line, naming the URL and cause.
func TestInEnvFileChannel(t *testing.T) {
	good, _ := serve(t, channelDir(t, "conda-index1"))
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/ch"
	l.Close()
	ef, err := envfile.Parse("env.yml", []byte("channels:\n  - nodefaults\n  - "+good+"\n  - "+down.URL+"/ch\n  -   "+closed+"\ndependencies:\n  - numpy\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		channels  []string
		line, col int
		cause     string
	}{
		{[]string{good, down.URL + "/ch"}, 4, 5, "503 Service Unavailable (gave up after 3 attempts)"},
		{[]string{good, closed}, 5, 7, "connection refused"},
	} {
		_, err := Resolve(context.Background(), Request{Specs: envfile.Values(ef.Dependencies), Channels: c.channels, Platforms: []string{"linux-64"},
			Gateway: &repodata.Gateway{RetryBackoff: time.Millisecond}})
		d := InEnvFile(err, ef)
		if len(d) != 1 || d[0].Field != "channels" || d[0].Line != c.line || d[0].Column != c.col ||
			!strings.Contains(d[0].Msg, c.channels[1]+"/") || !strings.Contains(d[0].Msg, "repodata") || !strings.Contains(d[0].Msg, c.cause) {
			t.Errorf("%s: InEnvFile(%v) = %+v, want env.yml:%d:%d channels with the URL and %q", c.channels[1], err, d, c.line, c.col, c.cause)
		}
	}
}

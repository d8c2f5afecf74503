package frontend

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/diag"
	envllb "github.com/envkit/envkit/llb"
)

func TestChannelHosts(t *testing.T) {
	got := channelHosts([]string{"conda-forge", "nodefaults", "https://u:p@Private.example:8443/t/tok/chan", "http://127.0.0.1:9999/a", "http://127.0.0.1:1/b", "./local", "defaults"})
	want := []string{"conda.anaconda.org", "private.example", "127.0.0.1", "repo.anaconda.com"}
	if !slices.Equal(got, want) {
		t.Errorf("channelHosts = %v, want %v", got, want)
	}
}

// A 401 or 403 during the resolve names the host and the secret to pass
// (or that the one passed was refused), as the hint of the error at the
// channel's line or after an error without a place.
func TestExplainRefusal(t *testing.T) {
	at := diag.List{{File: "conda.yml", Line: 2, Column: 5, Field: "channels", Msg: "repodata cannot be fetched: GET http://127.0.0.1:1/c/noarch/repodata.json: 401 Unauthorized", Hint: "check the channel's URL"}}
	tr := &buildkitTransport{}
	if err := tr.explain(at); err.Error() != at.Error() {
		t.Errorf("no refusal: %v", err)
	}
	tr.refuse("http://127.0.0.1:1/c/noarch/repodata.json", 404) // not a refusal
	if err := tr.explain(at); err.Error() != at.Error() {
		t.Errorf("a 404 changed the error: %v", err)
	}
	tr.refuse("http://127.0.0.1:1/c/noarch/repodata.json", 401)
	err := tr.explain(at)
	var dl diag.List
	if !errors.As(err, &dl) || len(dl) != 1 || dl[0].Line != 2 || dl[0].Msg != at[0].Msg {
		t.Fatalf("explain lost the position: %#v", err)
	}
	if h := dl[0].Hint; !strings.Contains(h, "127.0.0.1 wants credentials (401 Unauthorized)") || !strings.Contains(h, "docker buildx build --secret id=envkit-auth-127.0.0.1,env=VAR") || !strings.Contains(h, "buildctl build --secret id=envkit-auth-127.0.0.1,env=VAR") {
		t.Errorf("hint: %s", h)
	}
	if at[0].Hint != "check the channel's URL" {
		t.Error("explain changed its argument")
	}
	tr.auth = envllb.Auth{"127.0.0.1": true}
	plain := errors.New("GET http://127.0.0.1:1/c/noarch/repodata.json: 401 Unauthorized")
	err = tr.explain(plain)
	if !errors.Is(err, plain) || !strings.Contains(err.Error(), "127.0.0.1 refused the credentials of the secret envkit-auth-127.0.0.1 (401 Unauthorized)") {
		t.Errorf("with the secret: %v", err)
	}
}

// A credential in a channel's URL is dropped: a refusal says it is not
// sent through BuildKit and which secret carries it instead.
func TestExplainCredentialInURL(t *testing.T) {
	tr := &buildkitTransport{inURL: urlCredentialHosts([]string{"conda-forge", "https://conda.example.com/t/tk-1/private", "https://u:p@Other.example/c"})}
	if len(tr.inURL) != 2 || !tr.inURL["conda.example.com"] || !tr.inURL["other.example"] {
		t.Fatalf("urlCredentialHosts = %v", tr.inURL)
	}
	tr.refuse("https://conda.example.com/private/noarch/repodata.json", 403)
	err := tr.explain(errors.New("GET https://conda.example.com/private/noarch/repodata.json: 403 Forbidden"))
	if msg := err.Error(); !strings.Contains(msg, "conda.example.com wants credentials (403 Forbidden)") || !strings.Contains(msg, "not sent through BuildKit") || strings.Contains(msg, "tk-1") {
		t.Errorf("explain: %v", msg)
	}
}

package main

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
)

func TestParseNetrc(t *testing.T) {
	got := parseNetrc(`# comment
machine Conda.Example.com login alice password s3cret
default login anon password x
machine other.example
  login bob
  password "p w"
macdef init
  cd /
  machine fake.example login mallory password m

machine last.example login carol password c account acct
`)
	want := []netrcEntry{{"conda.example.com", "alice", "s3cret"}, {"other.example", "bob", `"p`}, {"last.example", "carol", "c"}}
	if len(got) != len(want) {
		t.Fatalf("parseNetrc = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseSecretFlag(t *testing.T) {
	t.Setenv("CONDA_AUTH", "Bearer tok")
	dir := t.TempDir()
	file := filepath.Join(dir, "auth")
	if err := os.WriteFile(file, []byte("Bearer fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ in, host, value string }{
		{"id=envkit-auth-Conda.Example.com,env=CONDA_AUTH", "conda.example.com", "Bearer tok"},
		{"id=envkit-auth-127.0.0.1,src=" + file, "127.0.0.1", "Bearer fromfile"},
		{"type=file,id=envkit-auth-h,source=" + file, "h", "Bearer fromfile"},
	} {
		host, value, err := parseSecretFlag(tt.in)
		if err != nil || host != tt.host || value != tt.value {
			t.Errorf("parseSecretFlag(%q) = %q, %q, %v", tt.in, host, value, err)
		}
	}
	for _, in := range []string{"id=other,env=CONDA_AUTH", "id=envkit-auth-h:8080,env=CONDA_AUTH", "id=envkit-auth-h,env=UNSET_X", "id=envkit-auth-h,env=CONDA_AUTH,src=x", "id=envkit-auth-h,foo=1", "envkit-auth-h"} {
		if _, _, err := parseSecretFlag(in); err == nil {
			t.Errorf("parseSecretFlag(%q): no error", in)
		} else if strings.Contains(err.Error(), "Bearer tok") {
			t.Errorf("parseSecretFlag(%q): the error shows the value: %v", in, err)
		}
	}
}

// Credentials come from --secret, then the channel URL, then the docker
// config (host with port first), then ~/.netrc; each request to a host
// carries that host's alone; a refusal names the host and where the
// credentials came from, or how to give them.
func TestCredentialsLookup(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("NETRC", "")
	t.Setenv("DOCKER_AUTH_CONFIG", "")
	if err := os.MkdirAll(filepath.Join(home, "docker"), 0o700); err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("dockeruser:dockerpass"))
	if err := os.WriteFile(filepath.Join(home, "docker", "config.json"), []byte(`{"auths": {"docker.example:5000": {"auth": "`+auth+`"}, "both.example": {"auth": "`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".netrc"), []byte("machine netrc.example login n password np\nmachine both.example login n password np\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLAG_AUTH", "Bearer flag")
	c, err := newCredentials([]string{"id=envkit-auth-flag.example,env=FLAG_AUTH"}, []string{"https://url.example/t/urltok/chan", "https://flag.example/t/ignored/chan", "conda-forge"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// The default loader reads $DOCKER_CONFIG once per process.
	c.dockerConfig = func() (*configfile.ConfigFile, error) { return dockerconfig.Load(filepath.Join(home, "docker")) }
	for host, want := range map[string]string{
		"flag.example":        "Bearer flag",
		"url.example:443":     "Bearer urltok",
		"docker.example:5000": basic("dockeruser", "dockerpass"),
		"docker.example":      "", // the docker config's key has the port
		"both.example":        basic("dockeruser", "dockerpass"),
		"netrc.example":       basic("n", "np"),
		"conda.anaconda.org":  "",
	} {
		if got := c.lookup(host).header; got != want {
			t.Errorf("lookup(%s) = %q, want %q", host, got, want)
		}
	}

	// envkit build's session secrets: each channel host with credentials,
	// and each --secret.
	secrets := c.secrets([]string{"https://url.example/t/urltok/chan", "https://netrc.example/c", "https://none.example/c", "conda-forge", "nodefaults", "./local"})
	want := map[string]string{"envkit-auth-url.example": "Bearer urltok", "envkit-auth-netrc.example": basic("n", "np"), "envkit-auth-flag.example": "Bearer flag"}
	if len(secrets) != len(want) {
		t.Errorf("secrets: %d, want %d", len(secrets), len(want))
	}
	for id, v := range want {
		if string(secrets[id]) != v {
			t.Errorf("secret %s = %q, want %q", id, secrets[id], v)
		}
	}

	var gotAuth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	for _, creds := range []*credentials{c, {flags: map[string]string{"127.0.0.1": "Bearer wrong"}}} {
		g := condaGateway(io.Discard, creds)
		resp, err := g.Client.Get(srv.URL + "/chan/noarch/repodata.json")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		err = explainAuth(g, errors.New("GET: 401 Unauthorized"))
		if creds == c && (!strings.Contains(err.Error(), "127.0.0.1 wants credentials (401 Unauthorized)") || !strings.Contains(err.Error(), "--secret id=envkit-auth-127.0.0.1,env=VAR")) {
			t.Errorf("no credentials: %v", err)
		}
		if creds != c && (!strings.Contains(err.Error(), "127.0.0.1 refused the credentials from --secret id=envkit-auth-127.0.0.1") || strings.Contains(err.Error(), "wrong")) {
			t.Errorf("refused credentials: %v", err)
		}
	}
	if len(gotAuth) != 2 || gotAuth[0] != "" || gotAuth[1] != "Bearer wrong" {
		t.Errorf("headers sent %q", gotAuth)
	}
}

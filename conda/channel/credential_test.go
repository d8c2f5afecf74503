package channel

import (
	"strings"
	"testing"
)

func TestSplitCredential(t *testing.T) {
	tests := []struct {
		in, clean string
		cred      Credential
		ok        bool
		header    string
	}{
		{"https://conda.example.com/t/tk-12_ab/private", "https://conda.example.com/private",
			Credential{Host: "conda.example.com", Token: "tk-12_ab"}, true, "Bearer tk-12_ab"},
		{"http://127.0.0.1:8080/t/s3kr1t/chan/linux-64/", "http://127.0.0.1:8080/chan/linux-64/",
			Credential{Host: "127.0.0.1:8080", Token: "s3kr1t"}, true, "Bearer s3kr1t"},
		{"https://host/prefix/t/s3kr1t/chan", "https://host/prefix/chan", Credential{Host: "host", Token: "s3kr1t"}, true, "Bearer s3kr1t"},
		{"https://host/t/s3kr1t", "https://host", Credential{Host: "host", Token: "s3kr1t"}, true, "Bearer s3kr1t"},
		{"https://alice:s%3Acret@Host.example:8443/chan", "https://Host.example:8443/chan",
			Credential{Host: "host.example:8443", Username: "alice", Password: "s:cret", HasPassword: true}, true, "Basic YWxpY2U6czpjcmV0"},
		{"https://TOKEN@conda.anaconda.org/org", "https://conda.anaconda.org/org",
			Credential{Host: "conda.anaconda.org", Username: "TOKEN"}, true, "Basic VE9LRU46"},
		{"https://u:p@host/t/s3kr1t/chan", "https://host/chan", Credential{Host: "host", Token: "s3kr1t"}, true, "Bearer s3kr1t"},
		// Not credentials: a channel named t, "/t/" not a whole segment, no URL.
		{"https://host/t/", "https://host/t/", Credential{}, false, ""},
		{"https://host/at/x/chan", "https://host/at/x/chan", Credential{}, false, ""},
		{"https://host/t/a.b/chan", "https://host/t/a.b/chan", Credential{}, false, ""},
		{"conda-forge", "conda-forge", Credential{}, false, ""},
		{"file:///srv/t/s3kr1t", "file:///srv/t/s3kr1t", Credential{}, false, ""},
	}
	for _, tt := range tests {
		clean, cred, ok := SplitCredential(tt.in)
		if clean != tt.clean || cred != tt.cred || ok != tt.ok {
			t.Errorf("SplitCredential(%q) = %q, %+v, %v; want %q, %+v, %v", tt.in, clean, cred, ok, tt.clean, tt.cred, tt.ok)
			continue
		}
		if ok && cred.Header() != tt.header {
			t.Errorf("SplitCredential(%q).Header() = %q, want %q", tt.in, cred.Header(), tt.header)
		}
		if ok {
			if s := cred.String(); cred.Token != "" && strings.Contains(s, cred.Token) || cred.Password != "" && strings.Contains(s, cred.Password) {
				t.Errorf("Credential.String() = %q shows the secret", s)
			}
		}
	}
	if got := Redact("https://u:p@host/t/s3kr1t/chan"); got != "https://host/chan" {
		t.Errorf("Redact = %q", got)
	}
}

func TestParseErrorHidesCredential(t *testing.T) {
	_, err := Parse("https://user:hunter2@/t/s3kr1t/chan")
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "/t/s3kr1t") {
		t.Errorf("error shows the credential: %v", err)
	}
}

// A text's URLs have their credentials masked, each line as long as it
// was; the text given is not changed.
func TestMaskCredentials(t *testing.T) {
	in := "channels: [\"https://conda.example.com/t/tk-s3kr1t/private\", conda-forge]\n" +
		"  - https://alice:s3kr1t@pkgs.example/simple\n" +
		"  - --extra-index-url=http://s3kr1t@127.0.0.1:8080/t/notatoken.x/simple\n" +
		"channels: [https://host/t/]\n"
	orig := in
	got := string(MaskCredentials([]byte(in)))
	if in != orig {
		t.Fatal("MaskCredentials changed its argument")
	}
	want := "channels: [\"https://conda.example.com/t/*********/private\", conda-forge]\n" +
		"  - https://************@pkgs.example/simple\n" +
		"  - --extra-index-url=http://******@127.0.0.1:8080/t/notatoken.x/simple\n" +
		"channels: [https://host/t/]\n"
	if got != want {
		t.Errorf("MaskCredentials =\n%s\nwant\n%s", got, want)
	}
	plain := []byte("channels: [conda-forge]\n")
	if out := MaskCredentials(plain); &out[0] != &plain[0] {
		t.Error("a text without credentials was copied")
	}
}

func TestStripCredentials(t *testing.T) {
	in := "channels: [\"https://conda.example.com/t/tk-s3kr1t/private\", conda-forge]\n" +
		"  - https://alice:s3kr1t@pkgs.example/simple\n" +
		"  - --extra-index-url=http://s3kr1t@127.0.0.1:8080/t/notatoken.x/simple\n" +
		"  - https://u:p@host/t/tok\n" +
		"channels: [https://host/t/]\n"
	orig := in
	got := string(StripCredentials([]byte(in)))
	if in != orig {
		t.Fatal("StripCredentials changed its argument")
	}
	want := "channels: [\"https://conda.example.com/private\", conda-forge]\n" +
		"  - https://pkgs.example/simple\n" +
		"  - --extra-index-url=http://127.0.0.1:8080/t/notatoken.x/simple\n" +
		"  - https://host\n" +
		"channels: [https://host/t/]\n"
	if got != want {
		t.Errorf("StripCredentials =\n%s\nwant\n%s", got, want)
	}
	// What is left is the channel SplitCredential leaves.
	for _, u := range []string{"https://conda.example.com/t/tk-s3kr1t/private", "https://alice:s3kr1t@pkgs.example/simple"} {
		base, _, ok := SplitCredential(u)
		if !ok || base != string(StripCredentials([]byte(u))) {
			t.Errorf("SplitCredential(%q) = %q (%v), StripCredentials gives %q", u, base, ok, StripCredentials([]byte(u)))
		}
	}
	plain := []byte("channels: [conda-forge]\n")
	if out := StripCredentials(plain); &out[0] != &plain[0] {
		t.Error("a text without credentials was copied")
	}
}

package llb

import (
	"context"
	"testing"

	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
)

// httpAttrs returns the attributes of the one source op of st.
func httpAttrs(t *testing.T, st bkllb.State) map[string]string {
	t.Helper()
	def, err := st.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.Unmarshal(dt); err != nil {
			t.Fatal(err)
		}
		if src := op.GetSource(); src != nil {
			return src.Attrs
		}
	}
	t.Fatal("no source op")
	return nil
}

func TestAuthFor(t *testing.T) {
	if got := SecretID("Conda.Example.com:8443"); got != "envkit-auth-conda.example.com" {
		t.Errorf("SecretID = %q", got)
	}
	auth := Auth{"conda.example.com": true}
	for _, tt := range []struct {
		url, secret string
	}{
		{"https://conda.example.com:8443/chan/noarch/repodata.json", "envkit-auth-conda.example.com"},
		{"https://CONDA.example.com/chan/linux-64/a-1-0.conda", "envkit-auth-conda.example.com"},
		{"https://conda.anaconda.org/conda-forge/noarch/repodata.json", ""},
		{"not a url", ""},
	} {
		attrs := httpAttrs(t, bkllb.HTTP(tt.url, auth.For(tt.url)))
		if got := attrs[pb.AttrHTTPAuthHeaderSecret]; got != tt.secret {
			t.Errorf("%s: auth header secret %q, want %q", tt.url, got, tt.secret)
		}
	}
	var none Auth
	if attrs := httpAttrs(t, bkllb.HTTP("https://conda.example.com/x", none.For("https://conda.example.com/x"))); attrs[pb.AttrHTTPAuthHeaderSecret] != "" {
		t.Errorf("nil Auth attached a secret: %v", attrs)
	}
}

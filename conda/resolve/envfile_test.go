package resolve

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/envkit/envkit/conda/envfile"
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

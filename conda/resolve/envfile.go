package resolve

import (
	"errors"
	"fmt"
	"strings"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/repodata"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/pypi/reqfile"
	pipresolve "github.com/envkit/envkit/pypi/resolve"
)

// InEnvFile places err, from resolving a Request made from ef (Specs from
// ef.Dependencies, Platforms from ef.Platforms, Channels from
// ef.Channels), in ef: an invalid spec at its line under dependencies, an
// invalid platform at its line under platforms, ErrNoChannels at the
// file, repodata that could not be fetched (a *repodata.FetchError, a
// *repodata.LimitError) at the line of the channel serving it. It returns nil when ef is nil or err has no place in it; the CLI
// and the frontend then report err as it is.
func InEnvFile(err error, ef *envfile.EnvFile) diag.List {
	if err == nil || ef == nil {
		return nil
	}
	var se *SpecError
	if errors.As(err, &se) && se.Index >= 0 && se.Index < len(ef.Dependencies) {
		it := ef.Dependencies[se.Index]
		return diag.List{{File: ef.File, Line: it.Line, Column: it.Column, Field: "dependencies", Msg: se.Error()}}
	}
	var pipErr *PipError
	if errors.As(err, &pipErr) && pipErr.Pos.Line > 0 {
		e := &diag.Error{File: pipErr.Pos.File, Line: pipErr.Pos.Line, Column: pipErr.Pos.Column, Msg: pipErr.Error()}
		if pipErr.Pos.File == ef.File {
			e.Field = "dependencies.pip"
		}
		var ce *pipresolve.ConflictError
		if errors.As(err, &ce) {
			e.Msg = pipErr.Platform + ": " + ce.Error()
		}
		return diag.List{e}
	}
	var pe *PlatformError
	if errors.As(err, &pe) && errors.Is(err, ErrPlatform) {
		for _, it := range ef.Platforms {
			if it.Value == pe.Platform {
				return diag.List{{File: ef.File, Line: it.Line, Column: it.Column, Field: "platforms", Msg: err.Error()}}
			}
		}
	}
	if u := repodataURL(err); u != "" {
		for _, it := range ef.Channels {
			if ch, perr := channel.Parse(it.Value); perr == nil && strings.HasPrefix(u, ch.BaseURL+"/") {
				return diag.List{{File: ef.File, Line: it.Line, Column: it.Column, Field: "channels", Msg: "repodata cannot be fetched: " + err.Error(),
					Hint: "check the channel's URL and that it answers; envkit tried again before giving up"}}
			}
		}
	}
	if errors.Is(err, ErrNoChannels) {
		e := &diag.Error{File: ef.File, Field: "channels", Msg: err.Error()}
		if len(ef.Channels) > 0 { // at the first channel written (e.g. nodefaults)
			e.Line, e.Column = ef.Channels[0].Line, ef.Channels[0].Column
		}
		return diag.List{e}
	}
	return nil
}

// repodataURL is the URL of the repodata file err failed on, or "".
func repodataURL(err error) string {
	var fe *repodata.FetchError
	if errors.As(err, &fe) {
		return fe.URL
	}
	var le *repodata.LimitError
	if errors.As(err, &le) {
		return le.URL
	}
	return ""
}

// ParsePip reads the pip: section of ef (reqfile.ParseLines), with its
// -r and -c files read through open (nil refuses them); errors are at
// their line under dependencies.pip. It returns nil when ef has no pip
// lines.
func ParsePip(ef *envfile.EnvFile, open func(path string) ([]byte, error)) (*reqfile.File, error) {
	if ef == nil || len(ef.Pip) == 0 {
		return nil, nil
	}
	lines := make([]reqfile.Line, len(ef.Pip))
	for i, it := range ef.Pip {
		lines[i] = reqfile.Line{Text: it.Value, Line: it.Line, Column: it.Column}
	}
	return reqfile.ParseLines(ef.File, lines, reqfile.Options{Open: open, Field: "dependencies.pip"})
}

// SpecOrigins returns where each of ef's dependencies is written
// ("conda.yml:5"), for Pip.SpecOrigins.
func SpecOrigins(ef *envfile.EnvFile) []string {
	out := make([]string, len(ef.Dependencies))
	for i, it := range ef.Dependencies {
		out[i] = fmt.Sprintf("%s:%d", ef.File, it.Line)
	}
	return out
}

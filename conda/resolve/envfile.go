package resolve

import (
	"errors"
	"strings"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/repodata"
	"github.com/envkit/envkit/internal/diag"
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

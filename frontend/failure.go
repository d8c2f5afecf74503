package frontend

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/resolve"
	envllb "github.com/envkit/envkit/llb"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

// packageFailure is a conda package's fetch or link that failed: which
// package, from where, why it is in the environment, and BuildKit's
// message. It does not wrap BuildKit's error: the gateway would send that
// error's gRPC status, whose message is BuildKit's alone; packageError
// carries its vertex and sources over instead.
type packageFailure struct {
	msg   string
	lines []int // the conda file's lines of the specs that brought the packages in
}

func (e *packageFailure) Error() string { return e.msg }

// packageError names the package behind err when err is the failure of a
// vertex that fetches or links conda packages (ops, from
// envllb.PackageOps): the package file, its URL and channel, the sha256 it
// is fetched by, and the line of ef that brought it in, directly or through
// which dependencies (origins, from resolve.Origins). BuildKit's message
// is kept verbatim inside: it alone holds what was received. Other errors
// are returned as they are.
func packageError(err error, ops map[digest.Digest]envllb.PackageOp, origins map[string]resolve.Origin, ef *envfile.EnvFile) error {
	var ve *errdefs.VertexError
	if err == nil || !errors.As(err, &ve) || ve.Vertex == nil {
		return err
	}
	op, ok := ops[digest.Digest(ve.Digest)]
	if !ok || len(op.Records) == 0 {
		return err
	}
	cause := ve.Error()
	f := &packageFailure{}
	var why []string
	for _, r := range op.Records {
		o, line := origin(r, origins, ef)
		why = append(why, r.FileName+" ("+o+")")
		if line > 0 && !slices.Contains(f.lines, line) {
			f.lines = append(f.lines, line)
		}
	}
	prefix := ef.File
	if len(f.lines) == 1 {
		prefix = fmt.Sprintf("%s:%d", ef.File, f.lines[0])
	}
	if op.Fetch {
		r := op.Records[0]
		f.msg = fmt.Sprintf("%s: %s from channel %s: fetching %s, expected sha256:%s, failed: %s", prefix, why[0], r.Channel, r.URL, r.SHA256, cause)
	} else {
		f.msg = fmt.Sprintf("%s: linking %s failed: %s", prefix, strings.Join(why, ", "), cause)
	}
	out := errdefs.WrapVertex(f, digest.Digest(ve.Digest))
	for _, src := range errdefs.Sources(err) {
		out = errdefs.WithSource(out, src)
	}
	return out
}

// failedIn reports whether err is the failure of one of ops' vertices.
func failedIn[T any](err error, ops map[digest.Digest]T) bool {
	var ve *errdefs.VertexError
	if !errors.As(err, &ve) || ve.Vertex == nil {
		return false
	}
	_, ok := ops[digest.Digest(ve.Digest)]
	return ok
}

// wheelError names the wheel behind err when err is the failure of a
// vertex that fetches or installs wheels (ops, from envllb.WheelOps): the
// wheel's file, its URL, the sha256 it is fetched by, and the pip line
// that brought it in, directly or through which packages. BuildKit's
// message is kept verbatim inside, as packageError does; the helper's own
// message (which member, which RECORD line) is in the step's log above it.
func wheelError(err error, ops map[digest.Digest]envllb.WheelOp, pe *pipEnv) error {
	var ve *errdefs.VertexError
	if err == nil || !errors.As(err, &ve) || ve.Vertex == nil {
		return err
	}
	op, ok := ops[digest.Digest(ve.Digest)]
	if !ok || len(op.Wheels) == 0 {
		return err
	}
	f := &packageFailure{}
	var why []string
	for _, w := range op.Wheels {
		o, line := pe.why(w)
		why = append(why, w.Filename+" ("+o+")")
		if line > 0 && !slices.Contains(f.lines, line) {
			f.lines = append(f.lines, line)
		}
	}
	prefix := pe.ef.File
	if len(f.lines) == 1 {
		prefix = fmt.Sprintf("%s:%d", pe.ef.File, f.lines[0])
	}
	if op.Fetch {
		w := op.Wheels[0]
		f.msg = fmt.Sprintf("%s: pip package %s: fetching %s, expected sha256:%s, failed: %s", prefix, why[0], w.URL, w.SHA256, ve.Error())
	} else if w := op.Wheels[0]; len(op.Wheels) == 1 && w.Sdist {
		f.msg = fmt.Sprintf("%s: pip package %s: building a wheel from the sdist %s (sha256:%s) with the environment's pip failed (pip's output is in the step's log above): %s", prefix, why[0], w.URL, w.SHA256, ve.Error())
	} else {
		urls := make([]string, len(op.Wheels))
		for i, w := range op.Wheels {
			urls[i] = w.URL
		}
		f.msg = fmt.Sprintf("%s: installing pip package %s from %s failed (the step's log says why): %s", prefix, strings.Join(why, ", "), strings.Join(urls, ", "), ve.Error())
	}
	out := errdefs.WrapVertex(f, digest.Digest(ve.Digest))
	for _, src := range errdefs.Sources(err) {
		out = errdefs.WithSource(out, src)
	}
	return out
}

// origin says why r is in the environment ("requested at conda.yml:7",
// "required by numpy (conda.yml:7) → libblas") and gives the line of its
// spec (0 when unknown).
func origin(r *record.RepoDataRecord, origins map[string]resolve.Origin, ef *envfile.EnvFile) (string, int) {
	o, ok := origins[strings.ToLower(r.Name)]
	if !ok || o.Spec < 0 || o.Spec >= len(ef.Dependencies) {
		return "not requested", 0
	}
	line := ef.Dependencies[o.Spec].Line
	at := fmt.Sprintf("%s:%d", ef.File, line)
	if len(o.Path) <= 1 {
		return "requested at " + at, line
	}
	return fmt.Sprintf("required by %s (%s) → %s", o.Path[0], at, strings.Join(o.Path[1:], " → ")), line
}

// withPackageSource marks, in the conda file, the lines of the specs that
// brought a failed package in, unless BuildKit already marked the failed
// op's own source locations.
func withPackageSource(err error, sm *llb.SourceMap) error {
	var f *packageFailure
	if sm == nil || !errors.As(err, &f) || len(f.lines) == 0 || len(errdefs.Sources(err)) > 0 {
		return err
	}
	return withSource(err, sm, lineRanges(f.lines))
}

// packageLocations returns, for envllb.Conda.Locations, the location in
// the conda file (sm) of the lines of the specs that brought packages in
// (origins): one location marking each line once, or none when sm is nil
// or no line is known.
func packageLocations(origins map[string]resolve.Origin, ef *envfile.EnvFile, sm *llb.SourceMap) func(...*record.RepoDataRecord) []llb.ConstraintsOpt {
	if sm == nil {
		return nil
	}
	return func(recs ...*record.RepoDataRecord) []llb.ConstraintsOpt {
		var lines []int
		for _, r := range recs {
			if _, line := origin(r, origins, ef); line > 0 && !slices.Contains(lines, line) {
				lines = append(lines, line)
			}
		}
		if len(lines) == 0 {
			return nil
		}
		return []llb.ConstraintsOpt{sm.Location(lineRanges(lines))}
	}
}

func lineRanges(lines []int) []*pb.Range {
	rs := make([]*pb.Range, len(lines))
	for i, l := range lines {
		rs[i] = &pb.Range{Start: &pb.Position{Line: int32(l)}, End: &pb.Position{Line: int32(l)}}
	}
	return rs
}

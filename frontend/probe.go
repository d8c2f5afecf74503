package frontend

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"slices"
	"time"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/repodata"
	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/internal/helper"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/spec"
	"github.com/moby/buildkit/client/llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// repodataForms are the files a channel subdir may serve its repodata
// as, the ones the repodata Gateway asks for: a sharded index (CEP 16),
// repodata.json.zst, and repodata.json, which a channel lacks for a subdir
// it does not serve.
var repodataForms = []string{repodata.ShardIndexFile, "repodata.json.zst", "repodata.json"}

// requestChannels are the channels a resolve of channels and specs
// queries: the request's own, then those its specs name
// (conda-forge::numpy, https://host/chan::pkg, pkg[channel=...]) as
// conda's match-spec parser reads them, as conda/resolve adds them. A
// spec that does not parse, or whose channel is a pattern, adds none: the
// resolve reports the one and matches the other against the rest.
func requestChannels(channels, specs []string) []string {
	out := slices.Clone(channels)
	for _, s := range specs {
		if c, ok := resolve.SpecChannel(s); ok && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// probeURLs are the repodata files of channels x subdirs (noarch added)
// to ask for, each once; "defaults" stands for the channels it names.
// Channels that do not parse or are not http(s) are left out: the
// resolve reports them.
func probeURLs(channels []string, subdirs []string) []string {
	subdirs = append(slices.Clone(subdirs), "noarch")
	var urls, bases []string
	for _, c := range channels {
		if c == "nodefaults" {
			continue
		}
		chs, err := channel.Expand(c) // "defaults": the channels it names
		if err != nil {
			continue
		}
		for _, ch := range chs {
			if !isHTTP(ch.BaseURL) || slices.Contains(bases, ch.BaseURL) {
				continue
			}
			bases = append(bases, ch.BaseURL)
			for i, sd := range subdirs {
				if slices.Contains(subdirs[:i], sd) {
					continue
				}
				for _, f := range repodataForms {
					urls = append(urls, ch.BaseURL+"/"+sd+"/"+f)
				}
			}
		}
	}
	return urls
}

// probe asks, in one exec of the helper with network, which of urls exist,
// and returns those that do not (404 or 410). BuildKit's HTTP source fails
// on a 404 and shows it as a failed step (ERROR in the progress output)
// even when the caller expects it, as for a channel's optional repodata
// forms; the helper's probe answers without failing, and its day argument
// makes BuildKit reuse the answers for the rest of the UTC day. Anything
// but a 404 or 410 (200, a 5xx, no answer) leaves the URL to be fetched,
// with the Gateway's retries and errors. Requests to the hosts of auth
// carry their credentials (the same secrets as the fetches); which hosts
// those are is part of the exec's input, so that answers got without
// credentials are not reused by a build that has them.
func (b *builder) probe(ctx context.Context, urls []string, build ocispecs.Platform, now time.Time, auth envllb.Auth) (map[string]bool, error) {
	if len(urls) == 0 {
		return nil, nil
	}
	var hosts []string
	for _, h := range urlHosts(urls...) {
		if auth[h] {
			hosts = append(hosts, h)
		}
	}
	in, err := (&helper.ProbeInput{URLs: urls, Hosts: hosts}).Encode()
	if err != nil {
		return nil, err
	}
	p := helper.Probe{
		Day:    now.UTC().Format(time.DateOnly),
		Input:  path.Join(helper.InputDir, helper.ProbeInputFile),
		Output: path.Join(helper.OutputDir, helper.ProbeOutputFile),
	}
	input := llb.Scratch().File(llb.Mkfile("/"+helper.ProbeInputFile, 0o644, in), llb.WithCustomName("[internal] conda: repodata files to probe"))
	helperImage := llb.Image(b.opts.HelperImage, llb.Platform(build), llb.WithMetaResolver(b.c))
	run := helperImage.Run(append([]llb.RunOption{
		llb.Args(append([]string{helper.Path}, p.Args()...)),
		llb.AddMount(helper.InputDir, input, llb.Readonly),
		llb.WithCustomName(fmt.Sprintf("[internal] conda: probe channels for their repodata files (%d URLs)", len(urls))),
	}, authSecrets(hosts)...)...)
	ref, err := b.solve(ctx, run.AddMount(helper.OutputDir, llb.Scratch()))
	if err != nil {
		return nil, err
	}
	data, err := readFile(ctx, ref, helper.ProbeOutputFile, spec.DefaultMaxFileSize)
	if err != nil {
		return nil, err
	}
	out, err := helper.ReadProbeOutput(data)
	if err != nil {
		return nil, err
	}
	absent := map[string]bool{}
	for _, u := range urls {
		if code := out.Status[u]; code == http.StatusNotFound || code == http.StatusGone {
			absent[u] = true
		}
	}
	return absent, nil
}

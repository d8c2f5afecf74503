package frontend

import (
	"slices"
	"testing"
)

func TestProbeURLs(t *testing.T) {
	got := probeURLs([]string{"nodefaults", "http://127.0.0.1:9/ch/", "./local", "conda-forge", "http://127.0.0.1:9/ch", "defaults", "https://repo.anaconda.com/pkgs/main"}, []string{"linux-64", "linux-64", "noarch"})
	var want []string
	// "defaults" is probed as the channels it names, each once.
	for _, base := range []string{"http://127.0.0.1:9/ch", "https://conda.anaconda.org/conda-forge", "https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"} {
		for _, sd := range []string{"linux-64", "noarch"} {
			want = append(want, base+"/"+sd+"/repodata_shards.msgpack.zst", base+"/"+sd+"/repodata.json.zst", base+"/"+sd+"/repodata.json")
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("probeURLs =\n%q\nwant\n%q", got, want)
	}
}

// TestProbeURLsOfSpecChannels: a channel only a spec names is probed as
// the environment's own are, after them.
func TestProbeURLsOfSpecChannels(t *testing.T) {
	channels := requestChannels([]string{"http://127.0.0.1:9/ch"}, []string{
		"python=3.10",
		"conda-forge::numpy>=1.26",
		"http://127.0.0.1:9/other::tool",
		"http://127.0.0.1:9/third/linux-64::lib", // a channel/subdir: the channel
		"scipy[channel=bioconda]",
		"http://127.0.0.1:9/ch::again", // the environment's own: once
		"conda-forge::pandas",          // named before: once
		"*forge::glob",                 // a pattern: matched, not queried
		"defaults::old",
		"not a spec ::: [",
	})
	want := []string{"http://127.0.0.1:9/ch", "conda-forge", "http://127.0.0.1:9/other", "http://127.0.0.1:9/third", "bioconda", "defaults"}
	if !slices.Equal(channels, want) {
		t.Fatalf("requestChannels = %q, want %q", channels, want)
	}
	got := probeURLs(channels, []string{"linux-64"})
	var bases []string
	for i := 0; i < len(got); i += len(repodataForms) * 2 {
		bases = append(bases, got[i][:len(got[i])-len("/linux-64/"+repodataForms[0])])
	}
	wantBases := []string{"http://127.0.0.1:9/ch", "https://conda.anaconda.org/conda-forge", "http://127.0.0.1:9/other", "http://127.0.0.1:9/third", "https://conda.anaconda.org/bioconda", "https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"}
	if !slices.Equal(bases, wantBases) || len(got) != len(wantBases)*len(repodataForms)*2 {
		t.Errorf("probeURLs probes %q (%d URLs), want %q, 6 URLs each", bases, len(got), wantBases)
	}
	if !slices.Contains(got, "http://127.0.0.1:9/other/noarch/repodata.json.zst") {
		t.Errorf("probeURLs = %q: no noarch/repodata.json.zst of the spec-only channel", got)
	}
}

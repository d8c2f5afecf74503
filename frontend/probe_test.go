package frontend

import (
	"slices"
	"testing"
)

func TestProbeURLs(t *testing.T) {
	got := probeURLs([]string{"nodefaults", "http://127.0.0.1:9/ch/", "./local", "conda-forge"}, []string{"linux-64", "linux-64", "noarch"})
	var want []string
	for _, base := range []string{"http://127.0.0.1:9/ch", "https://conda.anaconda.org/conda-forge"} {
		for _, sd := range []string{"linux-64", "noarch"} {
			want = append(want, base+"/"+sd+"/repodata_shards.msgpack.zst", base+"/"+sd+"/repodata.json.zst", base+"/"+sd+"/repodata.json")
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("probeURLs =\n%q\nwant\n%q", got, want)
	}
}

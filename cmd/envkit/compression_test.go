package main

import (
	"maps"
	"strings"
	"testing"
)

// --compression and --compression-level become the image exporter's
// attributes: gzip at level 1 unless told otherwise.
func TestExporterCompression(t *testing.T) {
	for _, c := range []struct {
		args    []string
		want    map[string]string
		wantErr string
	}{
		{nil, map[string]string{"compression": "gzip", "compression-level": "1"}, ""},
		{[]string{"--compression-level", "9"}, map[string]string{"compression": "gzip", "compression-level": "9"}, ""},
		{[]string{"--compression", "zstd"}, map[string]string{"compression": "zstd"}, ""},
		{[]string{"--compression", "zstd", "--compression-level", "19"}, map[string]string{"compression": "zstd", "compression-level": "19"}, ""},
		{[]string{"--compression", "uncompressed"}, map[string]string{"compression": "uncompressed"}, ""},
		{[]string{"--compression-level", "0"}, nil, "gzip's levels are 1 to 9"},
		{[]string{"--compression", "zstd", "--compression-level", "23"}, nil, "zstd's levels are 1 to 22"},
		{[]string{"--compression", "uncompressed", "--compression-level", "3"}, nil, "no level"},
		{[]string{"--compression-level", "fast"}, nil, `--compression-level "fast": not a number`},
		{[]string{"--compression", "lz4"}, nil, `--compression "lz4": want gzip, zstd or uncompressed`},
	} {
		opt := &buildOptions{}
		c0 := buildCommand(opt)
		if err := c0.Flags().Parse(c.args); err != nil {
			t.Fatal(err)
		}
		got, err := exporterCompression(*opt)
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: error %v, want %q", c.args, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", c.args, err)
		case !maps.Equal(got, c.want):
			t.Errorf("%q: %v, want %v", c.args, got, c.want)
		}
	}
}

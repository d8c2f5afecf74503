package main

import (
	"reflect"
	"testing"
)

// diffLayers keeps what both images share per platform, and names the
// replaced and new layers; a platform the old image lacks is all new.
func TestDiffLayers(t *testing.T) {
	old := map[string][]string{"linux/amd64": {"base1", "pkg-a", "pkg-b", "meta1"}}
	new := map[string][]string{"linux/amd64": {"base2", "pkg-a", "pkg-b", "meta1"}, "linux/arm64": {"base3", "pkg-c"}}
	got := diffLayers(old, new)
	want := []layerChange{
		{Platform: "linux/amd64", Kept: 3, Removed: []string{"base1"}, Added: []string{"base2"}},
		{Platform: "linux/arm64", Kept: 0, Removed: []string{}, Added: []string{"base3", "pkg-c"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diffLayers:\n got %+v\nwant %+v", got, want)
	}
}

package repodata

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/envkit/envkit/conda/record"
)

// FuzzParse checks that Parse never panics, accepts only valid JSON, and
// that the fast record decoder agrees with encoding/json on every record:
// both fail, or both succeed with equal records. The seed corpus is in
// testdata/fuzz/FuzzParse and runs with every go test.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"packages":{"a-1-0.tar.bz2":{"name":"a","version":"1","build":"0","depends":["b >=1"],"noarch":true}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := Parse(data, "https://h/c", "linux-64")
		if err != nil {
			return
		}
		if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && !bytes.HasPrefix(data, zstdMagic) && !json.Valid(data) {
			t.Fatalf("Parse accepted invalid JSON")
		}
		recs := rd.Records()
		if len(recs) > rd.Len() {
			t.Fatalf("%d records from %d entries", len(recs), rd.Len())
		}
		for _, r := range recs {
			if got := rd.ByName(r.Name); len(got) == 0 {
				t.Fatalf("ByName(%q) empty but Records has %s", r.Name, r.FileName)
			}
		}
		dec := newDecoder()
		for _, e := range rd.entries {
			raw := rd.data[e.start:e.end]
			var fast, ref record.PackageRecord
			errFast := dec.decode(raw, &fast)
			errRef := json.Unmarshal(raw, &ref)
			if (errFast == nil) != (errRef == nil) {
				t.Fatalf("record %s: fast decoder error %v, encoding/json error %v", raw, errFast, errRef)
			}
			if errFast == nil && !reflect.DeepEqual(fast, ref) {
				t.Fatalf("record %s:\nfast %+v\n ref %+v", raw, fast, ref)
			}
		}
	})
}

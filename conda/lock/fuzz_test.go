package lock

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzReadExplicit checks that the explicit-file parser never panics and
// that whatever it accepts, but what it skipped, survives a write and a
// second read unchanged.
// Seeds: testdata/fuzz/FuzzReadExplicit.
func FuzzReadExplicit(f *testing.F) {
	f.Add([]byte(cep23Example))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ReadExplicit("fuzz.txt", data)
		if err != nil {
			return
		}
		platform := ""
		if len(l.Platforms) > 0 {
			platform = l.Platforms[0]
		}
		var buf bytes.Buffer
		if err := WriteExplicit(&buf, l, platform); err != nil {
			t.Fatalf("cannot write what was read: %v", err)
		}
		back, err := ReadExplicit("fuzz.txt", buf.Bytes())
		if err != nil {
			t.Fatalf("cannot read what was written: %v\n%s", err, buf.Bytes())
		}
		l.Skipped = nil // skipped packages are not written
		if !reflect.DeepEqual(l, back) {
			t.Fatalf("round trip changed the lock:\n%s\n%s\n%s", dump(l), dump(back), buf.Bytes())
		}
	})
}

package condapkg

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/envkit/envkit/internal/testdata"
)

// The seed corpora are in testdata/fuzz/<FuzzName>/; go test runs them.

func FuzzParsePaths(f *testing.F) {
	f.Add([]byte(`{"paths":[{"_path":"a/b","path_type":"softlink","sha256":"` + sha("") + `","size_in_bytes":0}],"paths_version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		paths, version, err := ParsePaths(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("error %v wraps neither ErrFormat nor ErrUnsafePath", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, p := range paths {
			if err := CheckPath(p.Path); err != nil || seen[p.Path] || p.PathType == "" || p.FileMode == "" {
				t.Fatalf("accepted entry %+v (%v, duplicate %v)", p, err, seen[p.Path])
			}
			seen[p.Path] = true
		}
		// What was accepted survives a round trip unchanged.
		out, err := json.Marshal(map[string]any{"paths": paths, "paths_version": version})
		if err != nil {
			t.Fatal(err)
		}
		again, v2, err := ParsePaths(out)
		if err != nil || v2 != version || !reflect.DeepEqual(again, paths) && len(paths) > 0 {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, paths, again)
		}
	})
}

func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(`{"name":"zlib","version":"1.2.11","build":"h7b6447c_3","build_number":3,"depends":["libgcc-ng >=7.3.0"],"timestamp":1542814864621}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseIndex(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		if r.Name == "" || r.Build == "" || r.Version.IsZero() {
			t.Fatalf("accepted an incomplete record %+v", r)
		}
	})
}

func FuzzParseLink(f *testing.F) {
	f.Add([]byte(`{"noarch":{"type":"python","entry_points":["a = b.c:d"]},"package_metadata_version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLink(data)
		if err != nil {
			return
		}
		for _, ep := range l.Noarch.EntryPoints {
			if again, err := ParseEntryPoint(ep.String()); err != nil || again != ep {
				t.Fatalf("entry point %+v does not round-trip: %+v, %v", ep, again, err)
			}
		}
	})
}

// FuzzRead feeds whole archives (zip envelope, zstd and bzip2 streams, tar
// headers, metadata) to Read: it must return metadata or an *Error, never
// panic, within small limits.
func FuzzRead(f *testing.F) {
	for _, p := range [][]string{
		{"conda", "packages", "empty-0.1.0-h4616a5c_0.conda"},
		{"conda", "packages", "cph_test_data-0.0.1-0.tar.bz2"},
	} {
		data, err := os.ReadFile(testdata.Path(f, p...))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	limits := WithLimits(Limits{MaxUnpackedSize: 8 << 20, MaxMetadataSize: 1 << 20, MaxMembers: 1000})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Read(bytes.NewReader(data), int64(len(data)), "fuzz", limits)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if m.Index.Name == "" {
			t.Fatal("metadata without a name")
		}
	})
}

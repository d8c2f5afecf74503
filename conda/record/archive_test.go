package record

import "testing"

// TestCutArchiveExt covers what the former copies handled: condapkg's
// FormatOf, lock's splitFilename and isArchive (URLs too) and repodata's
// stem (bytes).
func TestCutArchiveExt(t *testing.T) {
	for _, c := range []struct {
		in, stem string
		typ      ArchiveType
	}{
		{"zlib-1.2.11-h7b6447c_3.conda", "zlib-1.2.11-h7b6447c_3", ArchiveConda},
		{"zlib-1.2.11-0.tar.bz2", "zlib-1.2.11-0", ArchiveTarBz2},
		{"https://conda.anaconda.org/conda-forge/noarch/six-1.16.0-pyh6c4a22f_0.tar.bz2", "https://conda.anaconda.org/conda-forge/noarch/six-1.16.0-pyh6c4a22f_0", ArchiveTarBz2},
		{".conda", "", ArchiveConda},
		{"conda", "conda", ArchiveUnknown},
		{"x.tar.gz", "x.tar.gz", ArchiveUnknown},
		{"x.bz2", "x.bz2", ArchiveUnknown},
		{"x.CONDA", "x.CONDA", ArchiveUnknown},
		{"x.conda.txt", "x.conda.txt", ArchiveUnknown},
		{"", "", ArchiveUnknown},
	} {
		stem, typ := CutArchiveExt(c.in)
		if stem != c.stem || typ != c.typ {
			t.Errorf("CutArchiveExt(%q) = %q, %v; want %q, %v", c.in, stem, typ, c.stem, c.typ)
		}
		bstem, btyp := CutArchiveExt([]byte(c.in))
		if string(bstem) != c.stem || btyp != c.typ {
			t.Errorf("CutArchiveExt([]byte(%q)) = %q, %v; want %q, %v", c.in, bstem, btyp, c.stem, c.typ)
		}
		if got := ArchiveTypeOf(c.in); got != c.typ {
			t.Errorf("ArchiveTypeOf(%q) = %v, want %v", c.in, got, c.typ)
		}
		if c.typ != ArchiveUnknown && c.stem+c.typ.Ext() != c.in {
			t.Errorf("%q: stem %q + Ext %q does not give it back", c.in, c.stem, c.typ.Ext())
		}
	}
	if ArchiveUnknown.String() != "unknown" || ArchiveConda.String() != ".conda" || ArchiveTarBz2.String() != ".tar.bz2" {
		t.Error("String")
	}
}

func BenchmarkCutArchiveExtBytes(b *testing.B) {
	fn := []byte("numpy-1.26.4-py312heda63a1_0.tar.bz2")
	b.ReportAllocs()
	for b.Loop() {
		CutArchiveExt(fn)
	}
}

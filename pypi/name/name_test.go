package name

import (
	"errors"
	"testing"
)

// Cases from pypa/packaging's tests/test_utils.py (commit 053c884615f2) and
// tests/test_requirements.py.
var normalizeCases = [][2]string{
	{"foo", "foo"}, {"Foo", "foo"}, {"fOo", "foo"}, {"foo.bar", "foo-bar"}, {"Foo.Bar", "foo-bar"},
	{"Foo.....Bar", "foo-bar"}, {"foo_bar", "foo-bar"}, {"foo___bar", "foo-bar"}, {"foo-bar", "foo-bar"},
	{"foo----bar", "foo-bar"}, {"a--b", "a-b"}, {"1--1", "1-1"},
	// not valid, but normalised all the same
	{"_not_legal", "-not-legal"}, {"hi\n", "hi\n"}, {"h\ri", "h\ri"},
	// extras (PEP 685)
	{"all-blue", "all-blue"}, {"all_blue", "all-blue"}, {"all---blue", "all-blue"}, {"cRazy_BUnches", "crazy-bunches"},
	{"PEP_685...norm", "pep-685-norm"}, {"Different.punctuation..is...equal", "different-punctuation-is-equal"},
}

func TestNormalize(t *testing.T) {
	for _, c := range normalizeCases {
		if got := Normalize(c[0]); got != c[1] {
			t.Errorf("Normalize(%q) = %q, want %q", c[0], got, c[1])
		}
		if Valid(c[0]) {
			if !IsNormalized(c[1]) || IsNormalized(c[0]) != (c[0] == c[1]) {
				t.Errorf("IsNormalized(%q / %q) wrong", c[0], c[1])
			}
			if !Equal(c[0], c[1]) {
				t.Errorf("Equal(%q, %q) = false", c[0], c[1])
			}
		}
	}
	if Equal("package_one", "package_two") || Equal("packaging", "package") {
		t.Error("different names compare equal")
	}
}

func TestValidate(t *testing.T) {
	for _, s := range []string{"package", "pAcKaGe", "Package", "foo-bar.quux_bAz", "installer", "android12", "a", "1", "A.b-C_d"} {
		if err := Validate(s); err != nil {
			t.Errorf("Validate(%q): %v", s, err)
		}
	}
	for s, pos := range map[string]int{"": 0, "_not_legal": 0, "foo-": 3, "foo#bar": 3, "hi\n": 2, "\nhi": 0, "ünï": 0, "a b": 1} {
		var e *Error
		if err := Validate(s); !errors.As(err, &e) || e.Pos != pos {
			t.Errorf("Validate(%q) = %v, want an error at byte %d", s, err, pos)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Fatalf("Normalize not idempotent on %q: %q", s, n)
		}
		if Valid(s) && !IsNormalized(n) {
			t.Fatalf("valid %q normalises to %q, which IsNormalized rejects", s, n)
		}
		if IsNormalized(s) && (n != s || !Valid(s)) {
			t.Fatalf("normal %q is not valid or changes", s)
		}
		if Valid(s) != Valid(n) && Valid(s) {
			t.Fatalf("%q valid but %q not", s, n)
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	names := []string{"requests", "Django", "zope.interface", "typing_extensions", "azureml-core", "Foo.....Bar"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = Normalize(names[i%len(names)])
	}
}

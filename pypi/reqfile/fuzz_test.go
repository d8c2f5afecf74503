package reqfile

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/diag"
)

// credRE matches a URL with the seeds' password in it.
var credRE = regexp.MustCompile(`://[^/\s"@]*:sekret@`)

// FuzzParse checks that Parse never panics, that every error is a
// positioned one inside the input, and that no error or warning prints the
// credentials of an index URL.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"numpy==1.0\n-r other.txt\n",
		"--extra-index-url=https://user:sekret@h/simple\nfoo \\\n >=1 # c\n",
		"-i ftp://u:sekret@h/\n",
		"x @ git+https://u:sekret@h/x\n-e .\n",
		"https://h/a-1.0-py3-none-any.whl ; os_name == 'nt'\n",
	} {
		f.Add(s)
	}
	open := func(string) ([]byte, error) { return []byte("six\n-r other.txt\n"), nil }
	f.Fuzz(func(t *testing.T, s string) {
		file, err := Parse("r.txt", []byte(s), Options{Open: open})
		nlines := strings.Count(s, "\n") + 1
		check := func(l diag.List) {
			for _, e := range l {
				if e.Line < 1 || e.Column < 1 || e.File == "r.txt" && e.Line > nlines {
					t.Fatalf("%q: %v is not inside the input", s, e)
				}
				if credRE.MatchString(e.Error()) {
					t.Fatalf("%q: %v prints credentials", s, e)
				}
			}
		}
		if err != nil {
			var l diag.List
			if !errors.As(err, &l) {
				t.Fatalf("%q: %v is not a diag.List", s, err)
			}
			check(l)
			return
		}
		check(file.Warnings)
	})
}

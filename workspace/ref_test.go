package workspace

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseRef(t *testing.T) {
	h := "envkit_0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		in   string
		want Ref
	}{
		{"my-env:1", Ref{Name: "my-env", Version: "1"}},
		{"azureml:my-env:1", Ref{Name: "my-env", Version: "1"}},
		{"my-env@latest", Ref{Name: "my-env", Latest: true}},
		{"azureml:my-env@latest", Ref{Name: "my-env", Latest: true}},
		{"my-env:2024:01", Ref{Name: "my-env", Version: "2024:01"}}, // a version may contain ':'
		{"my.env_2:1.0.0", Ref{Name: "my.env_2", Version: "1.0.0"}},
		{"AzureML-sklearn-1.5:1", Ref{Name: "AzureML-sklearn-1.5", Version: "1"}},
		{h, Ref{Hash: h}},
	} {
		got, err := ParseRef(c.in)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseRef(%q) = %+v, want %+v", c.in, got, c.want)
		}
		back := strings.TrimPrefix(c.in, "azureml:")
		if got.String() != back {
			t.Errorf("ParseRef(%q).String() = %q", c.in, got.String())
		}
	}
	for _, c := range []struct{ in, msg string }{
		{"my-env", "want NAME:VERSION"},
		{"my-env:", "empty version"},
		{":1", "empty name"},
		{"my-env@newest", "unknown label @newest"},
		{"my-env:latest", `"latest" is not a version`},
		{"azureml:", "want NAME:VERSION"},
		{"envkit_0123", "32 lowercase hex"},
		{"envkit_0123456789ABCDEF0123456789ABCDEF", "32 lowercase hex"},
		{"a b:1", "a name has letters, digits"},
		{"-x:1", "starts with a letter or digit"},
		{"a/b:1", "a name has letters, digits"},
		{strings.Repeat("n", 256) + ":1", "more than 255"},
	} {
		_, err := ParseRef(c.in)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("ParseRef(%q) = %v, want an error containing %q", c.in, err, c.msg)
		}
	}
}

func TestNextVersion(t *testing.T) {
	for _, c := range []struct {
		existing []string
		want     string
	}{
		{nil, "1"},
		{[]string{"1"}, "2"},
		{[]string{"1", "3", "2"}, "4"},
		{[]string{"9", "10"}, "11"},                                // numerically, not as text
		{[]string{"1.0", "beta", "2024-01"}, "1"},                  // not integers: not counted
		{[]string{"2", "2.5", "release"}, "3"},                     // only the integers count
		{[]string{"007"}, "8"},                                     // leading zeros read as the number
		{[]string{"18446744073709551616"}, "18446744073709551617"}, // beyond uint64
	} {
		if got := NextVersion(c.existing); got != c.want {
			t.Errorf("NextVersion(%q) = %q, want %q", c.existing, got, c.want)
		}
	}
}

func TestLatestAndOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rs := []Record{
		{Name: "a", Version: "10", Created: t0.Add(time.Second)},
		{Name: "a", Version: "2", Created: t0.Add(time.Second)}, // same instant: version order
		{Name: "a", Version: "1", Created: t0},
		{Name: "a", Version: "x", Created: t0.Add(3 * time.Second), Archived: true},
		{Name: "a", Version: "0.9", Created: t0.Add(2 * time.Second)}, // created later than 10
	}
	sortRecords(rs)
	var got []string
	for _, r := range rs {
		got = append(got, r.Version)
	}
	if strings.Join(got, " ") != "1 2 10 0.9 x" {
		t.Errorf("order = %v, want [1 2 10 0.9 x]", got)
	}
	l, ok := latest(rs)
	if !ok || l.Version != "0.9" {
		t.Errorf("latest = %v %v, want 0.9 (created last, x is archived)", l.Version, ok)
	}
	rs[3].Archived, rs[4].Archived = true, false // 0.9 archived, x restored
	if l, _ := latest(rs); l.Version != "x" {
		t.Errorf("latest = %v, want x", l.Version)
	}
	if _, ok := latest([]Record{{Version: "1", Archived: true}}); ok {
		t.Error("latest of only archived versions found one")
	}
}

var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

func TestTagFor(t *testing.T) {
	seen := map[string]string{}
	for _, nv := range [][2]string{
		{"a-b", "1"}, {"a", "b-1"}, {"a.b", "1"}, {"a", "b.1"}, {"my env", "1"}, {"my_env", "1"},
		{"x", "2024:01"}, {"x", "2024_01"}, {".hidden", "1"}, {strings.Repeat("n", 255), strings.Repeat("9", 128)},
		{"Env", "1"}, {"env", "1"},
	} {
		tag := tagFor(nv[0], nv[1])
		if !tagRE.MatchString(tag) {
			t.Errorf("tagFor(%q, %q) = %q: not a valid tag", nv[0], nv[1], tag)
		}
		if prev, ok := seen[tag]; ok {
			t.Errorf("tagFor(%q, %q) = %q, the tag of %s too", nv[0], nv[1], tag, prev)
		}
		seen[tag] = nv[0] + ":" + nv[1]
		if tagFor(nv[0], nv[1]) != tag {
			t.Errorf("tagFor(%q, %q) is not stable", nv[0], nv[1])
		}
	}
	if got := tagFor("my-env", "3"); !strings.HasPrefix(got, "my-env.3-") {
		t.Errorf("tagFor(my-env, 3) = %q, want it to start with my-env.3-", got)
	}
}

func TestIsReserved(t *testing.T) {
	for name, want := range map[string]bool{
		"AzureML-sklearn": true, "azureml-sklearn": true, "MicrosoftFoo": true, "microsoft": true,
		"AzureML": false, "my-AzureML-env": false, "Micro": false, "sklearn": false,
	} {
		if got := IsReserved(name); got != want {
			t.Errorf("IsReserved(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestTagPrefix(t *testing.T) {
	for _, nv := range [][2]string{{"my-env", "1"}, {"my env", "2024:01"}, {strings.Repeat("n", 255), "7"}, {".x", "1"}} {
		if tag := tagFor(nv[0], nv[1]); !strings.HasPrefix(tag, tagPrefix(nv[0])) {
			t.Errorf("tagFor(%q, %q) = %q does not start with tagPrefix %q", nv[0], nv[1], tag, tagPrefix(nv[0]))
		}
	}
	if strings.HasPrefix(tagFor("my-env-2", "1"), tagPrefix("my-env")) {
		t.Error("my-env-2's tags start as my-env's")
	}
}

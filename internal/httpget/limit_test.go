package httpget

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1", 1}, {"7B", 7}, {"2GiB", 2 << 30}, {"1500MB", 1500e6}, {"300m", 300 << 20},
		{" 64 KiB ", 64 << 10}, {"3k", 3 << 10}, {"1T", 1 << 40}, {"2tb", 2e12},
	} {
		if got, err := ParseSize(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, err string }{
		{"", "not a positive size"}, {"0", "not a positive size"}, {"-1", "not a positive size"},
		{"GiB", "not a positive size"}, {"1.5GiB", "not a positive size"}, {"2 GiBs", "not a positive size"},
		{"9999999999TiB", "too large"}, {"9223372036854775807", "too large"},
	} {
		if _, err := ParseSize(tc.in); err == nil || err.Error() != tc.err {
			t.Errorf("ParseSize(%q): err = %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{1 << 30, "1GiB"}, {128 << 20, "128MiB"}, {1500, "1500B"}, {3 << 10, "3KiB"}, {5 << 40, "5TiB"}, {1<<20 + 1, "1048577B"}, {0, "0B"}} {
		if got := FormatSize(tc.n); got != tc.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// TestNewLimit: the field set wins, then the environment, then the
// default; each limit's error says how to raise it.
func TestNewLimit(t *testing.T) {
	const env = "ENVKIT_TEST_MAX_THING_SIZE"
	for _, tc := range []struct {
		set      int64
		env      string
		want     int64
		wantHint string
		wantErr  string
	}{
		{set: 5, env: "1GiB", want: 5, wantHint: "raise T.MaxThing"},
		{env: "", want: 1 << 20, wantHint: "raise it with " + env + "=2MiB (or T.MaxThing)"},
		{env: "3MiB", want: 3 << 20, wantHint: "raise it with " + env + "=6MiB (or T.MaxThing)"},
		{env: "lots", wantErr: env + "=lots: not a positive size (want a size such as 2GiB or 1500MB)"},
	} {
		t.Setenv(env, tc.env)
		l, err := NewLimit(tc.set, "thing", "T.MaxThing", env, 1<<20)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%+v: err = %v, want %q", tc, err, tc.wantErr)
			}
			if d := DefaultLimit(1<<20, "thing", "T.MaxThing", env); d.Max != 1<<20 {
				t.Errorf("DefaultLimit with a bad variable: %d, want the default", d.Max)
			}
			continue
		}
		if err != nil || l.Max != tc.want {
			t.Errorf("%+v: %d, %v", tc, l.Max, err)
			continue
		}
		le := l.Err("https://h/x")
		want := "https://h/x: thing larger than the limit of " + FormatSize(tc.want) + "; " + tc.wantHint
		if le.Error() != want || le.Limit != tc.want || le.What != "thing" || le.URL != "https://h/x" {
			t.Errorf("%+v: %q, want %q", tc, le.Error(), want)
		}
	}
}

// TestReadBounded: bodies read in chunks come back whole, whether their
// size is known, unknown or announced too small; one byte over the limit
// fails, as does an announced size over it; a failing reader's error is
// returned.
func TestReadBounded(t *testing.T) {
	data := make([]byte, 3<<20+12345)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	l := Limit{Max: int64(len(data)), What: "doc", Field: "T.Max"}
	for _, size := range []int64{-1, int64(len(data)), 100, 0} {
		got, err := ReadBounded(iotest.HalfReader(bytes.NewReader(data)), size, l, "u")
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("size %d: %d bytes, %v", size, len(got), err)
		}
	}
	l.Max--
	for _, size := range []int64{-1, int64(len(data)), 100} {
		if _, err := ReadBounded(bytes.NewReader(data), size, l, "u"); !errors.As(err, new(*LimitError)) {
			t.Errorf("over the limit, size %d: err = %v", size, err)
		}
	}
	if _, err := ReadBounded(iotest.TimeoutReader(bytes.NewReader(data)), -1, Limit{Max: 1 << 30}, "u"); !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("failing reader: err = %v", err)
	}
	if got, err := ReadBounded(bytes.NewReader(nil), -1, l, "u"); err != nil || len(got) != 0 {
		t.Errorf("empty body: %q, %v", got, err)
	}
}

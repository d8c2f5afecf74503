package lock

import (
	"io"
	"testing"
)

// The largest fixtures: a 430-package, 3-platform conda-lock.yml and a
// 568-package explicit file.
func BenchmarkReadCondaLock(b *testing.B) {
	path, data := readFixture(b, "conda-lock", "conda-lock.yml")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadCondaLock(path, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteCondaLock(b *testing.B) {
	path, data := readFixture(b, "conda-lock", "conda-lock.yml")
	l, err := ReadCondaLock(path, data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteCondaLock(io.Discard, l); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadExplicit(b *testing.B) {
	path, data := readFixture(b, "explicit", "ros-noetic_linux-64.txt")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadExplicit(path, data); err != nil {
			b.Fatal(err)
		}
	}
}

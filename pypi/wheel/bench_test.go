package wheel

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's CPU time (user and system, every thread: the
// garbage collector's too).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU time per op since start: on a machine shared
// with other work it moves less than the wall time per op (ns/op).
func reportCPU(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkInstall installs each real wheel, and the three together, into
// a fresh layer per iteration: read and check the archive, decompress and
// verify every file against RECORD, write it, generate scripts and RECORD.
func BenchmarkInstall(b *testing.B) {
	for _, tc := range []struct {
		name   string
		wheels []string
	}{
		{"pip", realWheels[:1]},
		{"setuptools", realWheels[1:2]},
		{"wheel", realWheels[2:]},
		{"all3", realWheels},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var paths []string
			var size int64
			for _, w := range tc.wheels {
				p := realWheel(b, w)
				fi, err := os.Stat(p)
				if err != nil {
					b.Fatal(err)
				}
				size += fi.Size()
				paths = append(paths, p)
			}
			root := b.TempDir()
			b.SetBytes(size) // wheel bytes read per op
			b.ReportAllocs()
			i := 0
			cpu := cpuTime()
			for b.Loop() {
				i++
				dest := filepath.Join(root, strconv.Itoa(i))
				for _, p := range paths {
					if _, err := Install(context.Background(), p, Options{Prefix: envPrefix, Dest: dest, Python: py312, Requested: true}); err != nil {
						b.Fatal(err)
					}
				}
				if i%20 == 0 {
					b.StopTimer()
					c := cpuTime()
					os.RemoveAll(root)
					cpu += cpuTime() - c // not the install's
					b.StartTimer()
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkVerify reads pip's wheel and checks every file against RECORD
// without writing anything.
func BenchmarkVerify(b *testing.B) {
	data, err := os.ReadFile(realWheel(b, realWheels[0]))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		w, err := Read(bytesReader(data), int64(len(data)), realWheels[0], Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Verify(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

package run

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envkit/envkit/internal/helper"
	"github.com/envkit/envkit/internal/pypitest"
)

// runHelperEnv makes this test binary the helper (Main with its
// arguments), so that a benchmark runs the helper as its own process, as
// BuildKit does.
const runHelperEnv = "ENVKIT_TEST_RUN_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(runHelperEnv) == "1" {
		if err := Main(context.Background(), os.Args[1:], os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "helper: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// benchWheels writes n generated wheels into dir: 5 to 40 modules of 1 to
// 30 KiB of Python-like text each, every fourth with a console script.
func benchWheels(b *testing.B, dir string, n int) []helper.WheelFile {
	r := rand.New(rand.NewPCG(9, 9))
	words := strings.Fields("def return import self value data result for in if else while class lambda None True False yield with as try except raise")
	var files []helper.WheelFile
	for i := range n {
		name := fmt.Sprintf("benchpkg%03d", i)
		w := pypitest.Wheel{Meta: pypitest.Meta{Name: name, Version: "1.0"}}
		for j := range 5 + r.IntN(36) {
			var body strings.Builder
			for size := 1<<10 + r.IntN(29<<10); body.Len() < size; {
				body.WriteString(words[r.IntN(len(words))])
				if r.IntN(8) == 0 {
					body.WriteString("\n    ")
				} else {
					body.WriteByte(' ')
				}
			}
			w.Files = append(w.Files, pypitest.FileSpec{Path: fmt.Sprintf("%s/mod%02d.py", name, j), Content: body.String()})
		}
		if i%4 == 0 {
			w.EntryPoints = "[console_scripts]\n" + name + " = " + name + ".mod00:main\n"
		}
		data, err := w.Bytes()
		if err != nil {
			b.Fatal(err)
		}
		p := filepath.Join(dir, w.Filename())
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
		files = append(files, helper.WheelFile{Filename: w.Filename(), Archive: p, SHA256: pypitest.Sum(data)})
	}
	return files
}

// pipPython is a pyenv CPython with pip: 3.12.1 as the task names it when
// it has pip, else the newest 3.x that has pip 23.
func pipPython(b *testing.B) (string, string) {
	home, _ := os.UserHomeDir()
	for _, v := range []string{"3.12.1", "3.11.7", "3.10.13"} {
		py := filepath.Join(home, ".pyenv", "versions", v, "bin", "python")
		if out, err := exec.Command(py, "-m", "pip", "--version").Output(); err == nil {
			return py, strings.Fields(string(out))[1]
		}
	}
	b.Skip("no pyenv CPython with pip")
	return "", ""
}

// usage is what a process took.
type usage struct {
	wall, cpu time.Duration // cpu: user and system
	maxRSS    int64
}

func (u *usage) add(o usage) {
	u.wall += o.wall
	u.cpu += o.cpu
	u.maxRSS = max(u.maxRSS, o.maxRSS)
}

// timed runs cmd and returns its wall and CPU time and peak resident
// memory.
func timed(b *testing.B, cmd *exec.Cmd) usage {
	// Each starts with no dirty pages of the others' writes and removals
	// to flush (which would bill the first one for the last one's).
	syscall.Sync()
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	d := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return usage{wall: d, cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), maxRSS: ru.Maxrss << 10} // KiB on Linux
}

// BenchmarkInstall100Wheels installs 100 generated wheels into a fresh
// directory per iteration, side by side: envkit's helper ("wheel" with one
// payload listing the 100, a process of its own as in a BuildKit exec:
// each wheel verified against its sha256 and RECORD, over the ones before)
// and pyenv's pip (pip install --no-deps --no-index --target DIR *.whl,
// which also compiles bytecode; and with --no-compile, which envkit
// leaves to ENVKIT_COMPILE_BYTECODE). Reported: wall and CPU (user and
// system) seconds per install and peak RSS of each process, and pip's
// times over envkit's (on a busy machine the CPU ratio moves less).
//
//	go test -run '^$' -bench Install100Wheels -benchtime 3x ./internal/helper/run
func BenchmarkInstall100Wheels(b *testing.B) {
	py, pipVersion := pipPython(b)
	dir := b.TempDir()
	wheels := benchWheels(b, filepath.Join(dir), 100)
	in := wheelInput(wheels...)
	data, err := in.Encode()
	if err != nil {
		b.Fatal(err)
	}
	input := filepath.Join(dir, helper.WheelInputFile)
	if err := os.WriteFile(input, data, 0o644); err != nil {
		b.Fatal(err)
	}
	var archives []string
	for _, w := range wheels {
		archives = append(archives, w.Archive)
	}
	var envkit, pip, pipNoCompile usage
	for i := 0; b.Loop(); i++ {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		for _, d := range []string{out + "-envkit", out + "-pip", out + "-pip-nc"} {
			if err := os.Mkdir(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		cmd := exec.Command(os.Args[0], (&helper.Wheel{Input: input, Dest: out + "-envkit"}).Args()...)
		cmd.Env = append(os.Environ(), runHelperEnv+"=1")
		envkit.add(timed(b, cmd))
		pipArgs := []string{"-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check", "--quiet", "--target"}
		pip.add(timed(b, exec.Command(py, append(append(pipArgs, out+"-pip"), archives...)...)))
		pipNoCompile.add(timed(b, exec.Command(py, append(append(append(pipArgs, out+"-pip-nc"), "--no-compile"), archives...)...)))
		for _, d := range []string{out + "-envkit", out + "-pip", out + "-pip-nc"} {
			if err := os.RemoveAll(d); err != nil {
				b.Fatal(err)
			}
		}
	}
	n := float64(b.N)
	for _, m := range []struct {
		name string
		u    usage
	}{{"envkit", envkit}, {"pip", pip}, {"pip-no-compile", pipNoCompile}} {
		b.ReportMetric(m.u.wall.Seconds()/n, m.name+"-s/op")
		b.ReportMetric(m.u.cpu.Seconds()/n, m.name+"-cpu-s/op")
		b.ReportMetric(float64(m.u.maxRSS)/(1<<20), m.name+"-maxrss-MiB")
	}
	b.ReportMetric(pip.wall.Seconds()/envkit.wall.Seconds(), "pip/envkit")
	b.ReportMetric(pipNoCompile.wall.Seconds()/envkit.wall.Seconds(), "pip-no-compile/envkit")
	b.ReportMetric(pip.cpu.Seconds()/envkit.cpu.Seconds(), "pip/envkit-cpu")
	b.ReportMetric(pipNoCompile.cpu.Seconds()/envkit.cpu.Seconds(), "pip-no-compile/envkit-cpu")
	b.Logf("pip %s (%s); 100 wheels", pipVersion, py)
}

package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
)

// BenchmarkCondaBuild measures what the per-package layers buy, on the real
// stack, for an environment of 40 packages:
//
//	go test -run '^$' -bench CondaBuild -benchtime 3x ./integration
//
// cold: an empty BuildKit cache; unchanged: the same build again;
// one-package: one package's version changed; patched-base: the base image's
// tag moved. Compare the sub-benchmarks' ns/op within one run.
func BenchmarkCondaBuild(b *testing.B) {
	e := harness.Get(b)
	const n = 40
	chDir := b.TempDir()
	pkgs := func(changed int) []condatest.Package {
		var out []condatest.Package
		var deps []string
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("pkg%02d", i)
			v := "1.0"
			if i == 0 && changed > 0 {
				v = "1." + strconv.Itoa(changed)
			}
			files := make([]condatest.File, 20)
			for j := range files {
				files[j] = condatest.File{Path: fmt.Sprintf("lib/%s/f%02d.txt", name, j), Content: strings.Repeat(name+" ", 2000)}
			}
			out = append(out, condatest.Package{Name: name, Version: v, Build: "0", Files: files})
			deps = append(deps, name)
		}
		out = append(out, condatest.Package{Name: "meta", Version: "1.0", Build: "0", Depends: deps})
		return out
	}
	write := func(changed int) {
		if err := condatest.WriteChannel(chDir, pkgs(changed)...); err != nil {
			b.Fatal(err)
		}
	}
	write(0)
	srv := httptest.NewServer(http.FileServer(http.Dir(chDir)))
	b.Cleanup(srv.Close)
	baseRef := e.Ref("bench/base:1")
	pushBase := func(level int) {
		d := newProject(b, "Dockerfile", "FROM "+e.Base.Base+"\nRUN echo "+strconv.Itoa(level)+" > /etc/patch-level\n", map[string]string{})
		if _, err := e.BuildDockerfile(ctxFor(b), d.dir, nil, baseRef); err != nil {
			b.Fatal(err)
		}
	}
	pushBase(0)
	p := newProject(b, "environment.yml", syntax(b, e)+"name: bench\nimage: "+baseRef+"\nconda_file:\n  channels: ["+srv.URL+"]\n  dependencies: [meta]\n", map[string]string{})
	build := func() {
		if out, err := clients[0].build(b, e, p, e.Ref("bench/env:1"), nil); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
	version, level := 0, 0
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if out, err := e.Buildctl(ctxFor(b), "prune", "--all"); err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			b.StartTimer()
			build()
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		build()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			build()
		}
	})
	b.Run("one-package", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			version++
			write(version)
			b.StartTimer()
			build()
		}
	})
	b.Run("patched-base", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			level++
			pushBase(level)
			b.StartTimer()
			build()
		}
	})
}

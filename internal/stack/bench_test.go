package stack

import (
	"context"
	"testing"
)

// BenchmarkStartClose measures a cold start (registry + buildkitd + buildx
// builder, fresh state dir) up to readiness, and its shutdown.
// Run: go test -run=^$ -bench=Start -benchtime=5x ./internal/stack
func BenchmarkStartClose(b *testing.B) {
	needsDaemons(b)
	b.ReportAllocs()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		dir := shortTempDirB(b)
		s, err := Start(ctx, Options{StateDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartReuse measures finding a running persistent stack again, as
// every envkit CLI command does.
func BenchmarkStartReuse(b *testing.B) {
	needsDaemons(b)
	b.ReportAllocs()
	ctx := context.Background()
	dir := shortTempDirB(b)
	if _, err := Start(ctx, Options{StateDir: dir, Persistent: true}); err != nil {
		b.Fatal(err)
	}
	defer Stop(ctx, dir)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Start(ctx, Options{StateDir: dir, Persistent: true})
		if err != nil {
			b.Fatal(err)
		}
		if !s.Reused {
			b.Fatal("not reused")
		}
	}
}

// BenchmarkPushBaseImages measures building and pushing both base images
// into an empty registry.
func BenchmarkPushBaseImages(b *testing.B) {
	needsDaemons(b)
	b.ReportAllocs()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := Start(ctx, Options{StateDir: shortTempDirB(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.PushBaseImages(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

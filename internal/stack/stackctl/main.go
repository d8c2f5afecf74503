// Command stackctl starts, inspects and stops a persistent envkit stack
// (see internal/stack), for development and CI scripts:
//
//	go run ./internal/stack/stackctl start [-dir DIR] [-port N] [-base]
//	go run ./internal/stack/stackctl status [-dir DIR]
//	go run ./internal/stack/stackctl stop [-dir DIR]
//
// start prints shell assignments (ENVKIT_REGISTRY, BUILDKIT_HOST,
// DOCKER_CONFIG, BUILDX_BUILDER) for eval. DIR defaults to
// stack.DefaultStateDir(); tests share a stack through ENVKIT_TEST_STACK_DIR.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/envkit/envkit/internal/stack"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	dir := fs.String("dir", stack.DefaultStateDir(), "state directory of the stack")
	port := fs.Int("port", 0, "registry port on 127.0.0.1 (start; 0: any free port)")
	base := fs.Bool("base", false, "also push the test base images (start)")
	_ = fs.Parse(os.Args[2:]) // ExitOnError: a bad flag exits

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 5*time.Minute)
	defer cancelT()

	var err error
	switch cmd {
	case "start", "status":
		err = start(ctx, *dir, *port, *base, cmd == "status")
	case "stop":
		err = stack.Stop(ctx, *dir)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stackctl:", err)
		os.Exit(1)
	}
}

func start(ctx context.Context, dir string, port int, base, statusOnly bool) error {
	if statusOnly {
		if _, err := os.Stat(dir + "/stack.json"); err != nil {
			return fmt.Errorf("no stack in %s", dir)
		}
	}
	began := time.Now()
	s, err := stack.Start(ctx, stack.Options{StateDir: dir, Persistent: true, RegistryPort: port})
	if err != nil {
		return err
	}
	if statusOnly && !s.Reused {
		// It had died: Start brought it back, which is what a caller wants.
		fmt.Fprintln(os.Stderr, "stackctl: the stack was not running; started it again")
	}
	if base {
		imgs, err := s.PushBaseImages(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("ENVKIT_BASE_IMAGE=%s\nENVKIT_BASE_IMAGE_MULTI=%s\n", imgs.Base, imgs.Multi)
	}
	fmt.Printf("ENVKIT_REGISTRY=%s\nBUILDKIT_HOST=%s\nDOCKER_CONFIG=%s\nBUILDX_BUILDER=%s\n",
		s.Registry, s.BuildkitAddr, s.DockerConfig, stack.BuilderName)
	fmt.Fprintf(os.Stderr, "stackctl: ready in %v (reused: %v); logs: %s, %s\n",
		time.Since(began).Round(time.Millisecond), s.Reused, s.RegistryLog, s.BuildkitdLog)
	return nil
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: stackctl start|status|stop [-dir DIR] [-port N] [-base]")
	os.Exit(2)
}

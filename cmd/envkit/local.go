package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/envkit/envkit/examples"
	"github.com/envkit/envkit/internal/stack"
)

// DefaultRegistryPort is the local registry's port unless
// ENVKIT_REGISTRY_PORT says otherwise; the examples' "# syntax=" lines name
// it.
const DefaultRegistryPort = 5765

// localStack is envkit's own buildkitd and registry on 127.0.0.1, started
// on first use and reused by later commands.
type localStack struct {
	s        *stack.Stack
	addr     string
	registry string
}

func startLocalStack(ctx context.Context, stderr io.Writer) (*localStack, error) {
	port := DefaultRegistryPort
	if v := os.Getenv("ENVKIT_REGISTRY_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("ENVKIT_REGISTRY_PORT=%q is not a port", v)
		}
		port = p
	}
	s, err := stack.Start(ctx, stack.Options{Persistent: true, RegistryPort: port})
	if err != nil {
		return nil, err
	}
	verb := "started"
	if s.Reused {
		verb = "reusing"
	}
	fmt.Fprintf(stderr, "envkit: %s local buildkitd (%s) and registry (%s); logs in %s\n", verb, s.BuildkitAddr, s.Registry, s.LogDir)
	return &localStack{s: s, addr: s.BuildkitAddr, registry: s.Registry}, nil
}

// quickstart writes the embedded quickstart environment to the stack's
// state directory, with its base image replaced by the small base image the
// stack makes locally (no machine here reaches Docker Hub), and returns the
// environment file's path.
func (l *localStack) quickstart(ctx context.Context) (string, error) {
	base, err := l.s.PushBaseImages(ctx)
	if err != nil {
		return "", fmt.Errorf("make the local base image: %w", err)
	}
	dir := filepath.Join(l.s.StateDir, "quickstart")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	data, err := fs.ReadFile(examples.Quickstart, "quickstart/environment.yml")
	if err != nil {
		return "", err
	}
	data = bytes.Replace(data, []byte("image: busybox:stable"), []byte("image: "+base.Base), 1)
	file := filepath.Join(dir, "environment.yml")
	return file, os.WriteFile(file, data, 0o644)
}

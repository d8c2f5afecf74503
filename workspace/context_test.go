package workspace

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/envkit/envkit/hash"
	"github.com/envkit/envkit/spec"
)

func write(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// A build-context environment's definition keeps what its hash covers
// (files, modes, symlinks, directories, .dockerignore applied): stored as a
// tar and written out again, it hashes as the original does.
func TestBuildContextDefinition(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "environment.yml"), "name: ctx\nbuild:\n  path: docker\n", 0o644)
	write(t, filepath.Join(dir, "docker", "Dockerfile"), "FROM busybox\nCOPY . /app\n", 0o644)
	write(t, filepath.Join(dir, "docker", "bin", "run.sh"), "#!/bin/sh\necho hi\n", 0o755)
	write(t, filepath.Join(dir, "docker", "secret.txt"), "ignored\n", 0o600)
	write(t, filepath.Join(dir, "docker", ".dockerignore"), "secret.txt\n", 0o644)
	if err := os.Symlink("bin/run.sh", filepath.Join(dir, "docker", "run")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "docker", "bin"), 0o750); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "environment.yml")
	data, _ := os.ReadFile(file)
	env, err := spec.Load(file, data, os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	want, err := hash.Compute(env, os.DirFS(filepath.Join(dir, "docker")))
	if err != nil {
		t.Fatal(err)
	}

	def, err := ReadDefinition(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range def.Context {
		if f.Path == "secret.txt" {
			t.Error("an ignored file is in the stored context")
		}
	}
	if _, h, err := def.hash(); err != nil || h != hash.Short(want) {
		t.Fatalf("definition hash %s %v, the file's %s", h, err, hash.Short(want))
	}
	tarred, err := contextTar(def.Context)
	if err != nil {
		t.Fatal(err)
	}
	back, err := untarContext(tarred)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, def.Context) {
		t.Errorf("tar round trip:\n got %+v\nwant %+v", back, def.Context)
	}
	again, _ := contextTar(back)
	if string(again) != string(tarred) {
		t.Error("the same context gives another tar")
	}

	out := filepath.Join(t.TempDir(), "out")
	def.Context = back
	written, err := def.WriteFiles(out)
	if err != nil {
		t.Fatal(err)
	}
	def2, err := ReadDefinition(written)
	if err != nil {
		t.Fatal(err)
	}
	if _, h, _ := def2.hash(); h != hash.Short(want) {
		t.Errorf("the written files hash to %s, want %s", h, hash.Short(want))
	}
	if fi, err := os.Stat(filepath.Join(out, "docker", "bin")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("directory mode: %v %v", fi.Mode(), err)
	}
	if _, err := def.WriteFiles(out); err == nil {
		t.Error("WriteFiles overwrote existing files")
	}
}

// A stored context cannot write outside the directory it is written to.
func TestWriteFilesStaysInside(t *testing.T) {
	d := &Definition{Record: Record{Name: "x", Version: "1"}, EnvFile: "environment.yml", ContextPath: "c",
		Context: []File{{Path: "link", Mode: os.ModeSymlink | 0o777, Data: []byte("../../..")}, {Path: "link/escaped", Mode: 0o644, Data: []byte("x")}}}
	if _, err := d.WriteFiles(t.TempDir()); err == nil {
		t.Error("a file written through a symlink out of the directory")
	}
	d = &Definition{Record: Record{Name: "x", Version: "1"}, EnvFile: "../environment.yml", Files: []File{{Path: "../environment.yml", Data: []byte("x")}}}
	if _, err := d.WriteFiles(t.TempDir()); err == nil {
		t.Error("a file written above the directory")
	}
}

// A definition is read inside its directory: a conda file that is a
// symlink leading out of it is refused, as the CLI's other commands refuse it.
func TestReadDefinitionConfined(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "env")
	write(t, filepath.Join(top, "outside.yml"), "dependencies: [python]\n", 0o644)
	write(t, filepath.Join(dir, "environment.yml"), "name: x\nimage: busybox\nconda_file: conda.yml\n", 0o644)
	if err := os.Symlink("../outside.yml", filepath.Join(dir, "conda.yml")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDefinition(filepath.Join(dir, "environment.yml")); err == nil {
		t.Error("a conda file outside the directory was read")
	}
}

package workspace

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// A channel's token and an index's password in the files are not stored in
// the workspace: the stored files lose them, keep the hash, and build as
// the original (the credentials then come from secrets, docker config or
// netrc).
func TestCreateStripsCredentials(t *testing.T) {
	w := memWorkspace(t)
	const token, password = "tk-S3KR1T", "p4ssw0rd"
	dir := t.TempDir()
	write(t, filepath.Join(dir, "environment.yml"), "name: private\nimage: busybox\nconda_file: conda.yml\n", 0o644)
	write(t, filepath.Join(dir, "conda.yml"), "channels:\n  - https://conda.example.com/t/"+token+"/private\ndependencies:\n  - python=3.12\n  - pip:\n    - -r requirements.txt\n", 0o644)
	write(t, filepath.Join(dir, "requirements.txt"), "--extra-index-url https://alice:"+password+"@pkgs.example.com/simple\nflask\n", 0o644)
	file := filepath.Join(dir, "environment.yml")
	want := hashOf(t, file)

	ctx := context.Background()
	c, err := w.Create(ctx, file, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash != want {
		t.Errorf("registered hash %s, the file's %s", c.Hash, want)
	}
	def, err := w.Lookup(ctx, Ref{Name: "private", Version: c.Version}) // checks the files against the hash
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range def.Files {
		if s := string(f.Data); strings.Contains(s, token) || strings.Contains(s, password) {
			t.Errorf("stored %s holds a credential:\n%s", f.Path, s)
		}
	}
	got := map[string]string{}
	for _, f := range def.Files {
		got[f.Path] = string(f.Data)
	}
	if !strings.Contains(got["conda.yml"], "https://conda.example.com/private\n") || !strings.Contains(got["requirements.txt"], "https://pkgs.example.com/simple\n") {
		t.Errorf("stored files:\n%v", got)
	}
	written, err := def.WriteFiles(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	if h := hashOf(t, written); h != want {
		t.Errorf("written out, the definition hashes to %s, want %s", h, want)
	}
}

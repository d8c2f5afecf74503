package frontend

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/spec"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestNewSBOMs(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"attest:provenance": "mode=max"}, false},
		{map[string]string{"attest:sbom": ""}, true},                           // buildctl --opt attest:sbom=
		{map[string]string{"attest:sbom": "true"}, true},                       // a bare value
		{map[string]string{"build-arg:BUILDKIT_ATTEST_SBOM": ""}, true},        // --build-arg BUILDKIT_ATTEST_SBOM=
		{map[string]string{"attest:sbom": "generator=example/scanner"}, false}, // the build names its scanner
		{map[string]string{"attest:sbom": "scan-context=true,generator=example/scanner"}, false},
	} {
		s, err := newSBOMs(c.opts)
		if err != nil || (s != nil) != c.want {
			t.Errorf("%v: %v, %v; want an SBOM: %v", c.opts, s, err, c.want)
		}
	}
	if _, err := newSBOMs(map[string]string{"attest:sbom": `"unterminated`}); err == nil {
		t.Error("a malformed attest:sbom accepted")
	}
}

// A platform's document lists the lock the image keeps and the base the
// conversion labelled; the image is labelled with its lock's digest.
func TestSBOMOfPlatform(t *testing.T) {
	fn := "libfoo-1.0-h0_0.conda"
	l := &lock.Lock{}
	if err := l.SetPlatform("linux-aarch64", "h", []*record.RepoDataRecord{{
		PackageRecord: record.PackageRecord{Name: "libfoo", Version: version.MustParse("1.0"), Build: "h0_0", Subdir: "linux-aarch64",
			License: "MIT", SHA256: strings.Repeat("a", 64)},
		FileName: fn, URL: "https://conda.example/chan/linux-aarch64/" + fn, Channel: "https://conda.example/chan",
	}}); err != nil {
		t.Fatal(err)
	}
	var lockYAML bytes.Buffer
	if err := lock.WriteCondaLock(&lockYAML, l); err != nil {
		t.Fatal(err)
	}
	conda := &envllb.Conda{Lock: lockYAML.Bytes(), Subdir: "linux-aarch64"}
	epoch := time.Unix(1700000000, 0)
	img := &dockerspec.DockerOCIImage{}
	img.Config.Labels = map[string]string{labelBaseName: "registry.example/base:1", labelBaseDigest: "sha256:" + strings.Repeat("b", 64)}
	labelLock(img, conda)
	if got := img.Config.Labels[LabelLockDigest]; got != digest.FromBytes(lockYAML.Bytes()).String() {
		t.Errorf("lock label %q", got)
	}
	labelLock(&dockerspec.DockerOCIImage{}, nil) // no conda: no label, no panic

	s, _ := newSBOMs(map[string]string{"attest:sbom": ""})
	env := &spec.Environment{Name: "vision", Version: "2"}
	h := digest.FromString("x")
	if err := s.add(env, h, &ocispecs.Platform{OS: "linux", Architecture: "arm64"}, &envllb.Result{Image: img, Epoch: &epoch}, conda); err != nil {
		t.Fatal(err)
	}
	doc, ok := s.docs["linux/arm64"]
	if !ok {
		t.Fatalf("documents by platform: %v", s.docs)
	}
	var d struct {
		Name         string
		CreationInfo struct{ Created string }
		Packages     []struct {
			Name            string
			LicenseDeclared string
			ExternalRefs    []struct{ ReferenceLocator string }
		}
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "envkit vision:2 linux/arm64" || d.CreationInfo.Created != "2023-11-14T22:13:20Z" || len(d.Packages) != 3 {
		t.Fatalf("document %s", doc)
	}
	if p := d.Packages[2]; p.Name != "libfoo" || p.LicenseDeclared != "MIT" ||
		p.ExternalRefs[0].ReferenceLocator != "pkg:conda/libfoo@1.0?build=h0_0&channel=https:%2F%2Fconda.example%2Fchan&subdir=linux-aarch64&type=conda" {
		t.Errorf("package %+v", p)
	}
	if !strings.HasPrefix(d.Packages[1].ExternalRefs[0].ReferenceLocator, "pkg:oci/base@sha256:bbbb") {
		t.Errorf("base %+v", d.Packages[1])
	}
	// An environment without a name is named by its hash.
	if err := s.add(&spec.Environment{}, h, nil, &envllb.Result{Image: img}, nil); err != nil {
		t.Fatal(err)
	}
	if len(s.docs) != 2 {
		t.Fatalf("documents for %d platforms", len(s.docs))
	}
	for id, doc := range s.docs {
		if id != "linux/arm64" && !bytes.Contains(doc, []byte(`"name": "envkit envkit_2d711642b726b04401627ca9fbac32f5`)) {
			t.Errorf("%s: %s", id, doc[:200])
		}
	}
}

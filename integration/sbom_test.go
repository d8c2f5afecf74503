package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/lock"
	envfrontend "github.com/envkit/envkit/frontend"
	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	envllb "github.com/envkit/envkit/llb"
	"github.com/opencontainers/go-digest"
)

const (
	predicateSPDX = "https://spdx.dev/Document"
	// BuildKit's default scanner, which envkit's own SBOM replaces.
	scannerImage = "buildkit-syft-scanner"
)

// statement is an in-toto statement as BuildKit pushes an attestation.
type statement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string
		Digest map[string]string
	} `json:"subject"`
	Predicate json.RawMessage `json:"predicate"`
}

// attestations returns the in-toto statements of the image index ref, by
// the platform of the image they attest (os/arch) and predicate type.
func attestations(t *testing.T, e *harness.Env, ref string) map[string]map[string]statement {
	t.Helper()
	ctx := ctxFor(t)
	m, err := e.Reg.Manifest(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := m.Index()
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	platformOf := map[digest.Digest]string{}
	for _, d := range idx.Manifests {
		if d.Platform != nil && d.Platform.OS != "unknown" {
			platformOf[d.Digest] = d.Platform.OS + "/" + d.Platform.Architecture
		}
	}
	repo, _, _ := strings.Cut(ref, "@")
	out := map[string]map[string]statement{}
	for _, d := range idx.Manifests {
		if d.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			continue
		}
		plat := platformOf[digest.Digest(d.Annotations["vnd.docker.reference.digest"])]
		if plat == "" {
			t.Errorf("attestation manifest %s attests %s, not an image of the index", d.Digest, d.Annotations["vnd.docker.reference.digest"])
			continue
		}
		am, err := e.Reg.Manifest(ctx, repoOf(repo)+"@"+d.Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		im, err := am.Image()
		if err != nil {
			t.Fatal(err)
		}
		out[plat] = map[string]statement{}
		for _, l := range im.Layers {
			blob, err := e.Reg.Blob(ctx, repo, l.Digest)
			if err != nil {
				t.Fatal(err)
			}
			var st statement
			if err := json.Unmarshal(blob, &st); err != nil {
				t.Fatalf("attestation layer %s: %v", l.Digest, err)
			}
			if st.PredicateType != l.Annotations["in-toto.io/predicate-type"] {
				t.Errorf("layer %s annotated %s holds %s", l.Digest, l.Annotations["in-toto.io/predicate-type"], st.PredicateType)
			}
			if len(st.Subject) == 0 || "sha256:"+st.Subject[0].Digest["sha256"] != d.Annotations["vnd.docker.reference.digest"] {
				t.Errorf("%s statement of %s: subject %v", st.PredicateType, plat, st.Subject)
			}
			out[plat][st.PredicateType] = st
		}
	}
	return out
}

// repoOf is HOST/REPO of HOST/REPO[:TAG].
func repoOf(ref string) string {
	host, rest, _ := strings.Cut(ref, "/")
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest = rest[:i]
	}
	return host + "/" + rest
}

type spdxDoc struct {
	SPDXVersion  string `json:"spdxVersion"`
	CreationInfo struct {
		Creators []string `json:"creators"`
	} `json:"creationInfo"`
	Packages []struct {
		SPDXID       string `json:"SPDXID"`
		Name         string `json:"name"`
		VersionInfo  string `json:"versionInfo"`
		Download     string `json:"downloadLocation"`
		License      string `json:"licenseDeclared"`
		Checksums    []struct{ Algorithm, ChecksumValue string }
		ExternalRefs []struct {
			ReferenceType, ReferenceLocator string
		} `json:"externalRefs"`
	} `json:"packages"`
	Relationships []struct {
		Element string `json:"spdxElementId"`
		Type    string `json:"relationshipType"`
		Related string `json:"relatedSpdxElement"`
	} `json:"relationships"`
}

func spdxOf(t *testing.T, st statement) spdxDoc {
	t.Helper()
	var d spdxDoc
	if err := json.Unmarshal(st.Predicate, &d); err != nil {
		t.Fatal(err)
	}
	if d.SPDXVersion != "SPDX-2.3" {
		t.Errorf("spdxVersion %q", d.SPDXVersion)
	}
	return d
}

// checkSBOM checks that doc lists the base image of img and every package
// of the lock img keeps, with version, sha256, URL and purl.
func checkSBOM(t *testing.T, e *harness.Env, doc spdxDoc, img *harness.Image, l *lock.Lock, subdir string) {
	t.Helper()
	purls := map[string]string{} // name -> purl
	sums := map[string]string{}
	for _, p := range doc.Packages {
		for _, r := range p.ExternalRefs {
			if r.ReferenceType == "purl" {
				purls[p.Name] = r.ReferenceLocator
			}
		}
		for _, c := range p.Checksums {
			if c.Algorithm == "SHA256" {
				sums[p.Name] = c.ChecksumValue
			}
		}
		if p.Name == "libfoo" || p.Name == "tool" {
			// condatest's packages declare BSD-3-Clause.
			if p.VersionInfo == "" || !strings.HasPrefix(p.Download, "http://127.0.0.1:") || p.License != "BSD-3-Clause" {
				t.Errorf("%s: version %q, downloadLocation %q, licenseDeclared %q", p.Name, p.VersionInfo, p.Download, p.License)
			}
		}
	}
	var want []string
	for _, p := range l.Packages {
		if p.Platform != subdir {
			continue
		}
		want = append(want, p.Name)
		if sums[p.Name] != p.SHA256 {
			t.Errorf("%s: %s sha256 %q, the lock's %q", subdir, p.Name, sums[p.Name], p.SHA256)
		}
		if wantPurl := "pkg:conda/" + p.Name + "@" + p.Version + "?build=" + p.Record.Build; !strings.HasPrefix(purls[p.Name], wantPurl) ||
			!strings.Contains(purls[p.Name], "subdir="+p.Record.Subdir) {
			t.Errorf("%s: %s purl %q, want %s...&subdir=%s", subdir, p.Name, purls[p.Name], wantPurl, p.Record.Subdir)
		}
	}
	if len(want) == 0 {
		t.Errorf("the lock of %s has no packages", subdir)
	}
	baseName := img.Config.Config.Labels["org.opencontainers.image.base.name"]
	baseDigest := img.Config.Config.Labels["org.opencontainers.image.base.digest"]
	var base string
	for name, purl := range purls {
		if strings.HasPrefix(purl, "pkg:oci/") {
			base = name + " " + purl
		}
	}
	if baseDigest == "" || !strings.Contains(base, "@"+baseDigest+"?") || !strings.HasPrefix(base, strings.TrimSuffix(baseName, ":1")) {
		t.Errorf("base image in the SBOM: %q, want %s@%s", base, baseName, baseDigest)
	}
	if n := len(doc.Packages); n != len(want)+2 {
		t.Errorf("%d SPDX packages, want the environment, its base and the lock's %d", n, len(want))
	}
}

// imageLock reads the lock img keeps and checks the label with its digest.
func imageLock(t *testing.T, e *harness.Env, img *harness.Image) *lock.Lock {
	t.Helper()
	data, err := e.Reg.ReadImageFile(ctxFor(t), img, envllb.DefaultPrefix+"/"+envllb.LockPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Config.Config.Labels[envfrontend.LabelLockDigest]; got != digest.FromBytes(data).String() {
		t.Errorf("label %s = %q, the lock's digest is %s", envfrontend.LabelLockDigest, got, digest.FromBytes(data))
	}
	l, err := lock.Read("conda-lock.yml", data)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// docker buildx build --sbom=true and buildctl --opt attest:sbom= attach
// envkit's own SPDX document to each platform's image: every package of
// that platform's lock, the base image by digest. BuildKit's scanner image
// is neither pulled nor run (Docker Hub is not reachable here: a pull
// would fail the build).
func TestSBOMAttestation(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t, libfoo("linux-64", "x86_64"), libfoo("linux-aarch64", "aarch64"), tool("2.0", "linux-64"), tool("2.0", "linux-aarch64"))
	p := newProject(t, "environment.yml", syntax(t, e)+"name: sbom-env\nversion: \"3\"\nimage: "+e.Base.Multi+"\nconda_file: conda.yml\n",
		map[string]string{"conda.yml": "channels: [" + ch + "]\ndependencies: [tool]\n"})
	plats := []string{"linux/amd64", "linux/arm64"}
	builds := map[string]func(ref string) ([]byte, error){
		"buildx": func(ref string) ([]byte, error) {
			return e.DockerBuildx(ctxFor(t), "build", "--progress", "plain", "-f", filepath.Join(p.dir, p.file), "--sbom=true",
				"--platform", strings.Join(plats, ","), "--output", "type=image,name="+ref+",push=true,registry.insecure=true", p.dir)
		},
		"buildctl": func(ref string) ([]byte, error) {
			return e.Buildctl(ctxFor(t), "build", "--frontend", "gateway.v0", "--opt", "source="+frontend(t, e),
				"--local", "context="+p.dir, "--local", "dockerfile="+p.dir, "--opt", "filename="+p.file,
				"--opt", "platform="+strings.Join(plats, ","), "--opt", "attest:sbom=",
				"--output", "type=image,name="+ref+",push=true,registry.insecure=true", "--progress", "plain")
		},
	}
	docs := map[string]map[string]json.RawMessage{} // by client and platform
	for _, name := range []string{"buildx", "buildctl"} {
		docs[name] = map[string]json.RawMessage{}
		t.Run(name, func(t *testing.T) {
			ref := e.Ref("it/sbom-" + name + ":1")
			out, err := builds[name](ref)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if strings.Contains(string(out), scannerImage) || strings.Contains(string(out), "generating sbom") {
				t.Errorf("the build ran BuildKit's scanner:\n%s", out)
			}
			if !strings.Contains(string(out), "[envkit] SBOM of linux/amd64") {
				t.Errorf("no envkit SBOM step in the output:\n%s", out)
			}
			atts := attestations(t, e, ref)
			if len(atts) != 2 {
				t.Fatalf("attestations for %d platforms, want 2: %v", len(atts), atts)
			}
			for plat, subdir := range map[string]string{"linux/amd64": "linux-64", "linux/arm64": "linux-aarch64"} {
				st, ok := atts[plat][predicateSPDX]
				if !ok {
					t.Errorf("%s: no SPDX attestation (have %v)", plat, atts[plat])
					continue
				}
				img, err := e.Reg.Image(ctxFor(t), ref, plat)
				if err != nil {
					t.Fatal(err)
				}
				l := imageLock(t, e, img)
				if !slices.Equal(l.Platforms, []string{subdir}) {
					t.Errorf("%s: the image's lock has platforms %v", plat, l.Platforms)
				}
				doc := spdxOf(t, st)
				checkSBOM(t, e, doc, img, l, subdir)
				docs[name][plat] = st.Predicate
				if os.Getenv("ENVKIT_TEST_DUMP") != "" {
					t.Logf("%s SPDX:\n%s", plat, st.Predicate)
				}
			}
		})
	}
	// The same lock and base make the same document, whichever client.
	for plat, doc := range docs["buildx"] {
		if other := docs["buildctl"][plat]; !bytes.Equal(doc, other) {
			t.Errorf("%s: buildx and buildctl builds have different documents:\n%s\n%s", plat, doc, other)
		}
	}
	// envkit sbom prints that document without building: from the image,
	// and from the environment file (solved again, the same lock).
	bin := envkitBinary(t)
	for plat, want := range docs["buildctl"] {
		for _, arg := range []string{e.Ref("it/sbom-buildctl:1"), filepath.Join(p.dir, p.file)} {
			cmd := exec.Command(bin, "sbom", arg, "--platform", plat)
			cmd.Env = append(os.Environ(), "ENVKIT_WORKSPACE=", "SOURCE_DATE_EPOCH=")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("envkit sbom %s --platform %s: %v\n%s", arg, plat, err, stderr.String())
				continue
			}
			var got, att any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("envkit sbom %s: %v\n%s", arg, err, out)
			}
			if err := json.Unmarshal(want, &att); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, att) {
				t.Errorf("envkit sbom %s --platform %s:\n%s\nthe attestation:\n%s", arg, plat, out, want)
			}
		}
	}
}

// An environment without conda gets a document with its base image alone.
func TestSBOMImageOnly(t *testing.T) {
	e := harness.Get(t)
	p := newProject(t, "environment.yml", syntax(t, e)+"name: sbom-plain\nimage: "+e.Base.Base+"\n", map[string]string{})
	ref := e.Ref("it/sbom-plain:1")
	if out, err := clients[0].build(t, e, p, ref, []string{"linux/amd64"}, "attest:sbom="); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	atts := attestations(t, e, ref)
	st, ok := atts["linux/amd64"][predicateSPDX]
	if !ok {
		t.Fatalf("no SPDX attestation: %v", atts)
	}
	doc := spdxOf(t, st)
	if len(doc.Packages) != 2 || doc.Packages[0].Name != "sbom-plain" || len(doc.Packages[1].ExternalRefs) != 1 ||
		!strings.HasPrefix(doc.Packages[1].ExternalRefs[0].ReferenceLocator, "pkg:oci/base@sha256:") {
		t.Errorf("packages %+v", doc.Packages)
	}
}

// --provenance=mode=max through the frontend records the environment file
// (the request's configSource, and its content among the sources), the
// conda file's content, every package and repodata file fetched with its
// sha256, the base image by digest, and the lock the image keeps (written
// by a step of the build definition; its digest is the image's label
// dev.envkit.lock.digest). A lock file given (lockfile=) is among the
// request's arguments, and no repodata is fetched. docker buildx imagetools
// inspect shows the SBOM.
func TestProvenance(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"))
	condaYML := "channels: [" + ch + "]\ndependencies: [tool]\n"
	envYML := syntax(t, e) + "name: prov-env\nimage: " + e.Base.Base + "\nconda_file: conda.yml\n"
	p := newProject(t, "environment.yml", envYML, map[string]string{"conda.yml": condaYML})
	builds := map[string]func(ref string) ([]byte, error){
		"buildx": func(ref string) ([]byte, error) {
			return e.DockerBuildx(ctxFor(t), "build", "--progress", "plain", "-f", filepath.Join(p.dir, p.file), "--provenance=mode=max", "--sbom=true",
				"--platform", "linux/amd64", "--output", "type=image,name="+ref+",push=true,registry.insecure=true", p.dir)
		},
		"buildctl": func(ref string) ([]byte, error) {
			return e.Buildctl(ctxFor(t), "build", "--frontend", "gateway.v0", "--opt", "source="+frontend(t, e),
				"--local", "context="+p.dir, "--local", "dockerfile="+p.dir, "--opt", "filename="+p.file,
				"--opt", "platform=linux/amd64", "--opt", "attest:provenance=mode=max", "--opt", "lockfile=conda-lock.yml",
				"--output", "type=image,name="+ref+",push=true,registry.insecure=true")
		},
	}
	// buildctl's build installs the lock buildx's image keeps, given as the
	// lockfile option.
	for _, name := range []string{"buildx", "buildctl"} {
		t.Run(name, func(t *testing.T) {
			if name == "buildctl" {
				data, err := e.Reg.ReadFile(ctxFor(t), e.Ref("it/prov-buildx:1"), "linux/amd64", envllb.DefaultPrefix+"/"+envllb.LockPath)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(p.dir, "conda-lock.yml"), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ref := e.Ref("it/prov-" + name + ":1")
			if out, err := builds[name](ref); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			st, ok := attestations(t, e, ref)["linux/amd64"][predicateSLSA1]
			if !ok {
				t.Fatalf("no %s attestation", predicateSLSA1)
			}
			img, err := e.Reg.Image(ctxFor(t), ref, "linux/amd64")
			if err != nil {
				t.Fatal(err)
			}
			l := imageLock(t, e, img)
			var prov provenance
			if err := json.Unmarshal(st.Predicate, &prov); err != nil {
				t.Fatal(err)
			}
			bd := prov.BuildDefinition
			if name == "buildctl" && bd.ExternalParameters.Request.Args["lockfile"] != "conda-lock.yml" {
				t.Errorf("the lock file is not among the request's arguments: %v", bd.ExternalParameters.Request.Args)
			}
			if bd.ExternalParameters.ConfigSource.Path != "environment.yml" || bd.ExternalParameters.Request.Frontend != "gateway.v0" ||
				!slices.ContainsFunc(bd.ExternalParameters.Request.Locals, func(l struct{ Name string }) bool { return l.Name == "dockerfile" }) {
				t.Errorf("external parameters %+v", bd.ExternalParameters)
			}
			sources := map[string]string{}
			for _, info := range prov.RunDetails.Metadata.BuildKit.Source.Infos {
				sources[info.Filename] = string(info.Data)
			}
			if sources["environment.yml"] != envYML || sources["conda.yml"] != condaYML {
				t.Errorf("sources in the provenance: %q", sources)
			}
			deps := map[string]string{}
			for _, d := range bd.ResolvedDependencies {
				deps[d.URI] = d.Digest["sha256"]
			}
			for _, pkg := range l.Packages {
				if deps[pkg.URL] != pkg.SHA256 {
					t.Errorf("resolved dependency %s: sha256 %q, the lock's %s", pkg.URL, deps[pkg.URL], pkg.SHA256)
				}
			}
			// Solved, the build fetched repodata; installed from the lock,
			// none.
			if _, ok := deps[ch+"/linux-64/repodata.json"]; ok != (name == "buildx") {
				t.Errorf("%s: repodata among the resolved dependencies: %v, want %v: %v", name, ok, name == "buildx", deps)
			}
			baseDigest := img.Config.Config.Labels["org.opencontainers.image.base.digest"]
			if !slices.ContainsFunc(bd.ResolvedDependencies, func(d dependency) bool {
				return strings.HasPrefix(d.URI, "pkg:docker/"+strings.Replace(e.Base.Base, ":1", "@1", 1)) && "sha256:"+d.Digest["sha256"] == baseDigest
			}) {
				t.Errorf("base %s@%s not among the resolved dependencies %v", e.Base.Base, baseDigest, deps)
			}
			// The lock the image keeps is written by a step of the build.
			var lockDigests []string
			for _, op := range bd.InternalParameters.BuildConfig.LLBDefinition {
				for _, a := range op.Op.Op.File.Actions {
					if mk := a.Action.Mkfile; mk != nil && mk.Path == "/conda-lock.yml" {
						lockDigests = append(lockDigests, digest.FromBytes(mk.Data).String())
					}
				}
			}
			if want := img.Config.Config.Labels[envfrontend.LabelLockDigest]; !slices.Equal(lockDigests, []string{want}) {
				t.Errorf("the build definition writes locks %v, the image's is %s", lockDigests, want)
			}
			if name != "buildx" {
				return
			}
			out, err := e.DockerBuildx(ctxFor(t), "imagetools", "inspect", ref, "--format", "{{json .SBOM}}")
			if err != nil {
				t.Fatal(err)
			}
			var shown struct{ SPDX spdxDoc }
			if err := json.Unmarshal(out, &shown); err != nil {
				t.Fatalf("imagetools inspect: %v\n%s", err, out)
			}
			checkSBOM(t, e, shown.SPDX, img, l, "linux-64")
		})
	}
}

const predicateSLSA1 = "https://slsa.dev/provenance/v1"

type dependency struct {
	URI    string
	Digest map[string]string
}

// provenance is what the test reads of BuildKit's SLSA v1 provenance.
type provenance struct {
	BuildDefinition struct {
		ExternalParameters struct {
			ConfigSource struct{ Path string }
			Request      struct {
				Frontend string
				Args     map[string]string
				Locals   []struct{ Name string }
			}
		}
		InternalParameters struct {
			BuildConfig struct {
				LLBDefinition []struct {
					Op struct {
						Op struct {
							File struct {
								Actions []struct {
									Action struct {
										Mkfile *struct {
											Path string
											Data []byte
										}
									}
								}
							}
						}
					}
				}
			}
		}
		ResolvedDependencies []dependency
	}
	RunDetails struct {
		Metadata struct {
			BuildKit struct {
				Source struct {
					Infos []struct {
						Filename string
						Data     []byte
					}
				}
			} `json:"buildkit_metadata"`
		}
	}
}

// A build that names its scanner (attest:sbom=generator=IMAGE) gets that
// scanner's document, run by BuildKit, and none of envkit's. This is also
// the control of TestSBOMAttestation's check: a scanner BuildKit runs
// shows in the build output.
func TestSBOMNamedScanner(t *testing.T) {
	e := harness.Get(t)
	ctx := ctxFor(t)
	stmt := `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"` + predicateSPDX + `","subject":[],"predicate":{"spdxVersion":"SPDX-2.3","name":"fake-scanner"}}`
	scanner := newProject(t, "Dockerfile", "FROM "+e.Base.Base+"\nCOPY scan.sh /\nCMD [\"/bin/sh\", \"/scan.sh\"]\n",
		map[string]string{"scan.sh": "echo '" + stmt + "' > \"$BUILDKIT_SCAN_DESTINATION/fake.spdx.json\"\n"})
	scannerRef := e.Ref("it/fake-scanner:1")
	if _, err := e.BuildDockerfile(ctx, scanner.dir, nil, scannerRef); err != nil {
		t.Fatal(err)
	}
	p := newProject(t, "environment.yml", syntax(t, e)+"name: sbom-scanned\nimage: "+e.Base.Base+"\n", map[string]string{})
	ref := e.Ref("it/sbom-scanned:1")
	out, err := e.Buildctl(ctx, "build", "--frontend", "gateway.v0", "--opt", "source="+frontend(t, e),
		"--local", "context="+p.dir, "--local", "dockerfile="+p.dir, "--opt", "filename="+p.file,
		"--opt", "attest:sbom=generator="+scannerRef, "--progress", "plain",
		"--output", "type=image,name="+ref+",push=true,registry.insecure=true")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "generating sbom using "+scannerRef) || strings.Contains(string(out), "[envkit] SBOM") {
		t.Errorf("the named scanner did not run, or envkit made its SBOM too:\n%s", out)
	}
	var plats []string
	for plat, sts := range attestations(t, e, ref) {
		plats = append(plats, plat)
		st, ok := sts[predicateSPDX]
		if !ok {
			t.Fatalf("%s: no SPDX attestation", plat)
		}
		if doc := spdxOf(t, st); len(doc.Packages) != 0 || !strings.Contains(string(st.Predicate), `"fake-scanner"`) {
			t.Errorf("%s: not the scanner's document: %s", plat, st.Predicate)
		}
	}
	if len(plats) != 1 {
		t.Errorf("attestations for %v", plats)
	}
}

// envkit sbom FILE lists the lock the workspace stored for the file's hash
// (what every later build installs) even when the channel has moved on,
// and the document is the one of the built image; without the workspace it
// solves anew.
func TestSBOMStoredLock(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	chDir := t.TempDir()
	if err := condatest.WriteChannel(chDir, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64")); err != nil {
		t.Fatal(err)
	}
	ch := newLoggedChannel(t, chDir)
	p := newProject(t, "env.yml", "name: sbom-stored\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch.URL+"]\n  dependencies: [tool]\n", map[string]string{})
	file := filepath.Join(p.dir, p.file)
	ws := e.Ref("it/sbom-ws")
	built, _ := cliBuild(t, e, bin, file, e.Ref("it/sbom-stored:1"), "--workspace", ws)
	if err := condatest.WriteChannel(chDir, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"), tool("3.0", "linux-64")); err != nil {
		t.Fatal(err)
	}
	sbomOf := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"sbom", "--platform", "linux/amd64"}, args...)...)
		cmd.Env = append(os.Environ(), "ENVKIT_WORKSPACE=", "SOURCE_DATE_EPOCH=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("envkit sbom %v: %v\n%s", args, err, stderr.String())
		}
		var doc map[string]any
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	toolVersion := func(doc map[string]any) string {
		for _, p := range doc["packages"].([]any) {
			if p := p.(map[string]any); p["name"] == "tool" {
				return p["versionInfo"].(string)
			}
		}
		return ""
	}
	stored := sbomOf(file, "--workspace", ws)
	if v := toolVersion(stored); v != "2.0" {
		t.Errorf("from the stored lock: tool %s, want 2.0", v)
	}
	if fromImage := sbomOf(built.Image); !reflect.DeepEqual(stored, fromImage) {
		t.Errorf("the stored lock's document differs from the image's:\n%v\n%v", stored, fromImage)
	}
	if v := toolVersion(sbomOf(file)); v != "3.0" {
		t.Errorf("solved anew: tool %s, want 3.0", v)
	}
}

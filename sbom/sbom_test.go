package sbom

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"
)

const (
	forge    = "https://conda.anaconda.org/conda-forge"
	baseRef  = "ubuntu:22.04"
	baseDgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func rec(name, ver, build, subdir, license string, depends ...string) *record.RepoDataRecord {
	fn := name + "-" + ver + "-" + build + ".conda"
	sum := strings.Repeat(string("0123456789abcdef"[len(name)%16]), 64)
	return &record.RepoDataRecord{
		PackageRecord: record.PackageRecord{Name: name, Version: version.MustParse(ver), Build: build, Subdir: subdir,
			Depends: depends, License: license, SHA256: sum, MD5: sum[:32]},
		FileName: fn, URL: forge + "/" + subdir + "/" + fn, Channel: forge,
	}
}

// testLock is a linux-64 environment: python and what it needs, a noarch
// package, a virtual dependency, and a pip package.
func testLock(t *testing.T) *lock.Lock {
	t.Helper()
	l := &lock.Lock{}
	err := l.SetPlatform("linux-64", "h", []*record.RepoDataRecord{
		rec("python", "3.12.3", "h1_0_cpython", "linux-64", "Python-2.0", "libzlib >=1.2.13", "_libgcc_mutex", "__glibc >=2.17"),
		rec("libzlib", "1.3.1", "h4ab18f5_1", "linux-64", "zlib"),
		rec("_libgcc_mutex", "0.1", "conda_forge", "linux-64", "None"),
		rec("typing_extensions", "4.12.2", "pyha770c72_0", "noarch", "mit or apache-2.0", "python >=3.8"),
		rec("typing-extensions", "4.12.2", "hd8ed1ab_0", "noarch", "", "typing_extensions ==4.12.2 pyha770c72_0"),
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Packages = append(l.Packages, &lock.Package{Name: "Requests_OAuth", Version: "2.0.0", Manager: lock.Pip, Platform: "linux-64",
		URL: "https://user:secret@pypi.example/packages/requests_oauth-2.0.0-py3-none-any.whl", SHA256: strings.Repeat("e", 64),
		Dependencies: map[string]string{"typing.extensions[dev]": ">=4"}, Category: "main"})
	l.Packages = append(l.Packages, &lock.Package{Name: "typing-extensions", Version: "4.12.2", Manager: lock.Pip, Platform: "linux-64",
		URL: "https://pypi.example/packages/typing_extensions-4.12.2-py3-none-any.whl", SHA256: strings.Repeat("f", 64), Category: "main"})
	return l
}

func testEnv(t *testing.T) Environment {
	return Environment{Name: "my-env", Version: "1", Hash: "envkit_00", Platform: "linux/amd64",
		Base: Image{Ref: baseRef, Digest: baseDgst}, Lock: testLock(t), Created: time.Unix(1700000000, 0)}
}

func spdxOf(t *testing.T, env Environment) (map[string]any, []byte) {
	t.Helper()
	d, err := New(env)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.SPDX()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m, b
}

func list(m map[string]any, key string) []map[string]any {
	var out []map[string]any
	xs, _ := m[key].([]any)
	for _, x := range xs {
		out = append(out, x.(map[string]any))
	}
	return out
}

// pkgByName finds the SPDX package with name and purl type.
func pkgByName(t *testing.T, m map[string]any, name, purlType string) map[string]any {
	t.Helper()
	for _, p := range list(m, "packages") {
		if p["name"] != name {
			continue
		}
		for _, r := range list(p, "externalRefs") {
			if strings.HasPrefix(r["referenceLocator"].(string), "pkg:"+purlType+"/") {
				return p
			}
		}
	}
	t.Fatalf("no %s package %s in %v", purlType, name, m["packages"])
	return nil
}

func purlOf(t *testing.T, p map[string]any) packageurl.PackageURL {
	t.Helper()
	refs := list(p, "externalRefs")
	if len(refs) != 1 || refs[0]["referenceCategory"] != "PACKAGE-MANAGER" || refs[0]["referenceType"] != "purl" {
		t.Fatalf("%s: externalRefs %v", p["name"], refs)
	}
	u, err := packageurl.FromString(refs[0]["referenceLocator"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSPDXPackages(t *testing.T) {
	env := testEnv(t)
	m, _ := spdxOf(t, env)
	if m["spdxVersion"] != "SPDX-2.3" || m["dataLicense"] != "CC0-1.0" || m["SPDXID"] != "SPDXRef-DOCUMENT" {
		t.Errorf("header: %v %v %v", m["spdxVersion"], m["dataLicense"], m["SPDXID"])
	}
	if ci := m["creationInfo"].(map[string]any); ci["created"] != "2023-11-14T22:13:20Z" {
		t.Errorf("created %v", ci["created"])
	}
	// the root, the base, five conda and two pip packages
	if n := len(list(m, "packages")); n != 9 {
		t.Fatalf("%d packages, want 9", n)
	}
	for _, lp := range env.Lock.Packages {
		typ := map[lock.Manager]string{lock.Conda: "conda", lock.Pip: "pypi"}[lp.Manager]
		p := pkgByName(t, m, lp.Name, typ)
		if p["versionInfo"] != lp.Version {
			t.Errorf("%s: versionInfo %v, want %s", lp.Name, p["versionInfo"], lp.Version)
		}
		sums := list(p, "checksums")
		if len(sums) == 0 || sums[0]["algorithm"] != "SHA256" || sums[0]["checksumValue"] != lp.SHA256 {
			t.Errorf("%s: checksums %v, want SHA256 %s", lp.Name, sums, lp.SHA256)
		}
		if lp.Manager == lock.Conda && p["downloadLocation"] != lp.URL {
			t.Errorf("%s: downloadLocation %v, want %s", lp.Name, p["downloadLocation"], lp.URL)
		}
		u := purlOf(t, p)
		if u.Version != lp.Version {
			t.Errorf("%s: purl version %q", lp.Name, u.Version)
		}
		if lp.Manager == lock.Conda {
			q := u.Qualifiers.Map()
			r := lp.Record
			if u.Name != lp.Name || q["build"] != r.Build || q["channel"] != "conda-forge" || q["subdir"] != r.Subdir || q["type"] != "conda" {
				t.Errorf("%s: purl %s", lp.Name, u)
			}
			if p["supplier"] != "Organization: conda-forge" {
				t.Errorf("%s: supplier %v", lp.Name, p["supplier"])
			}
		}
	}
	// A pip name is a purl name as the pypi type writes it.
	if u := purlOf(t, pkgByName(t, m, "Requests_OAuth", "pypi")); u.Name != "requests-oauth" {
		t.Errorf("pypi purl name %q", u.Name)
	}
	// Credentials stay out of the document.
	if p := pkgByName(t, m, "Requests_OAuth", "pypi"); p["downloadLocation"] != "https://pypi.example/packages/requests_oauth-2.0.0-py3-none-any.whl" {
		t.Errorf("pip downloadLocation %v", p["downloadLocation"])
	}
	base := pkgByName(t, m, "ubuntu", "oci")
	if base["versionInfo"] != baseDgst || base["primaryPackagePurpose"] != "CONTAINER" {
		t.Errorf("base: %v", base)
	}
	if u := purlOf(t, base); u.Version != baseDgst || u.Qualifiers.Map()["repository_url"] != "docker.io/library/ubuntu" ||
		u.Qualifiers.Map()["tag"] != "22.04" || u.Qualifiers.Map()["arch"] != "amd64" {
		t.Errorf("base purl %s", u)
	}
}

func TestSPDXLicenses(t *testing.T) {
	m, _ := spdxOf(t, testEnv(t))
	extracted := map[string]string{}
	for _, e := range list(m, "hasExtractedLicensingInfos") {
		extracted[e["licenseId"].(string)] = e["extractedText"].(string)
	}
	for name, want := range map[string]string{
		"python":            "Python-2.0",
		"libzlib":           "Zlib", // an identifier's case is the list's
		"typing_extensions": "MIT OR Apache-2.0",
		"typing-extensions": "NOASSERTION",
		"_libgcc_mutex":     "LicenseRef-None",
	} {
		p := pkgByName(t, m, name, "conda")
		if p["licenseDeclared"] != want {
			t.Errorf("%s: licenseDeclared %v, want %s", name, p["licenseDeclared"], want)
		}
	}
	if len(extracted) != 1 || extracted["LicenseRef-None"] != "None" {
		t.Errorf("hasExtractedLicensingInfos %v", extracted)
	}
}

func TestSPDXRelationships(t *testing.T) {
	m, _ := spdxOf(t, testEnv(t))
	ids := map[string]string{} // SPDXID -> name/purl type
	for _, p := range list(m, "packages") {
		typ := "root"
		if refs := list(p, "externalRefs"); len(refs) > 0 {
			typ, _, _ = strings.Cut(strings.TrimPrefix(refs[0]["referenceLocator"].(string), "pkg:"), "/")
		}
		ids[p["SPDXID"].(string)] = typ + ":" + p["name"].(string)
	}
	if len(ids) != 9 {
		t.Fatalf("SPDX ids not unique: %v", ids)
	}
	got := map[string][]string{}
	for _, r := range list(m, "relationships") {
		from, to := r["spdxElementId"].(string), r["relatedSpdxElement"].(string)
		if from != "SPDXRef-DOCUMENT" {
			from = ids[from]
		}
		got[r["relationshipType"].(string)] = append(got[r["relationshipType"].(string)], from+" -> "+ids[to])
	}
	for _, rs := range got {
		slices.Sort(rs)
	}
	want := map[string][]string{
		"DESCRIBES": {"SPDXRef-DOCUMENT -> root:my-env"},
		"CONTAINS": {"root:my-env -> conda:_libgcc_mutex", "root:my-env -> conda:libzlib", "root:my-env -> conda:python",
			"root:my-env -> conda:typing-extensions", "root:my-env -> conda:typing_extensions", "root:my-env -> oci:ubuntu",
			"root:my-env -> pypi:Requests_OAuth", "root:my-env -> pypi:typing-extensions"},
		// __glibc is virtual: no package; pip names match normalised.
		"DEPENDS_ON": {"conda:python -> conda:_libgcc_mutex", "conda:python -> conda:libzlib",
			"conda:typing-extensions -> conda:typing_extensions", "conda:typing_extensions -> conda:python",
			"pypi:Requests_OAuth -> pypi:typing-extensions"},
	}
	for typ, w := range want {
		if !slices.Equal(got[typ], w) {
			t.Errorf("%s:\n got %q\nwant %q", typ, got[typ], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("relationship types %v", got)
	}
}

// BuildKit's exporter reads the document with spdx/tools-golang.
func TestSPDXReadsWithToolsGolang(t *testing.T) {
	_, b := spdxOf(t, testEnv(t))
	doc, err := spdxjson.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Packages) != 9 || len(doc.Relationships) != 1+8+5 {
		t.Errorf("tools-golang reads %d packages, %d relationships", len(doc.Packages), len(doc.Relationships))
	}
}

func TestDeterministic(t *testing.T) {
	env := testEnv(t)
	_, a := spdxOf(t, env)
	// The same lock in another order, read again.
	env2 := testEnv(t)
	slices.Reverse(env2.Lock.Packages)
	_, b := spdxOf(t, env2)
	if !bytes.Equal(a, b) {
		t.Errorf("same lock, other bytes:\n%s\n%s", a, b)
	}
	ns := regexp.MustCompile(`"documentNamespace": "https://envkit.dev/spdx/envkit-my-env-1-linux-amd64-[0-9a-f]{64}"`)
	if !ns.Match(a) {
		t.Errorf("namespace: %s", a[:400])
	}
	// Another package sha256: another namespace.
	env3 := testEnv(t)
	env3.Lock.Packages[0].SHA256 = strings.Repeat("a", 64)
	m1, _ := spdxOf(t, env)
	m3, _ := spdxOf(t, env3)
	if m1["documentNamespace"] == m3["documentNamespace"] {
		t.Errorf("another lock has the same namespace %v", m1["documentNamespace"])
	}
	// No time given: the epoch.
	env.Created = time.Time{}
	if m, _ := spdxOf(t, env); m["creationInfo"].(map[string]any)["created"] != "1970-01-01T00:00:00Z" {
		t.Errorf("created %v", m["creationInfo"])
	}
}

func TestBaseOnly(t *testing.T) {
	m, _ := spdxOf(t, Environment{Name: "plain", Platform: "linux/arm64/v8", Base: Image{Ref: "127.0.0.1:5765/envkit/base:1", Digest: baseDgst}})
	ps := list(m, "packages")
	if len(ps) != 2 {
		t.Fatalf("packages %v", ps)
	}
	u := purlOf(t, ps[1])
	if u.Name != "base" || u.Qualifiers.Map()["repository_url"] != "127.0.0.1:5765/envkit/base" || u.Qualifiers.Map()["arch"] != "arm64" {
		t.Errorf("purl %s", u)
	}
	if rs := list(m, "relationships"); len(rs) != 2 {
		t.Errorf("relationships %v", rs)
	}
}

// A base that is no reference (a build argument left in a FROM) is named
// as written, without a purl.
func TestBaseNotAReference(t *testing.T) {
	m, _ := spdxOf(t, Environment{Name: "x", Base: Image{Ref: "$BASE:1"}})
	ps := list(m, "packages")
	if len(ps) != 2 || ps[1]["name"] != "$BASE:1" || ps[1]["externalRefs"] != nil {
		t.Errorf("packages %v", ps)
	}
}

func TestPlatformChoice(t *testing.T) {
	l := testLock(t)
	if err := l.SetPlatform("linux-aarch64", "h", []*record.RepoDataRecord{rec("libzlib", "1.3.1", "h68df207_1", "linux-aarch64", "Zlib")}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Environment{Name: "x", Lock: l}); err == nil || !strings.Contains(err.Error(), "choose one") {
		t.Errorf("two platforms, none chosen: %v", err)
	}
	if _, err := New(Environment{Name: "x", Lock: l, Subdir: "osx-64"}); err == nil || !strings.Contains(err.Error(), "no platform osx-64") {
		t.Errorf("absent platform: %v", err)
	}
	m, _ := spdxOf(t, Environment{Name: "x", Lock: l, Subdir: "linux-aarch64"})
	if ps := list(m, "packages"); len(ps) != 2 || ps[1]["name"] != "libzlib" || purlOf(t, ps[1]).Qualifiers.Map()["build"] != "h68df207_1" {
		t.Errorf("linux-aarch64: %v", ps)
	}
}

func TestCycloneDX(t *testing.T) {
	d, err := New(testEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.CycloneDX()
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		Format                    string `json:"bomFormat"`
		SpecVersion, SerialNumber string
		Metadata                  struct {
			Timestamp string
			Component struct{ Type, Name, BOMRef string }
		}
		Components []struct {
			Type, Name, Version, PURL string
			BOMRef                    string `json:"bom-ref"`
			Hashes                    []struct{ Alg, Content string }
			Licenses                  []struct {
				Expression string
				License    struct{ Name string }
			}
		}
		Dependencies []struct {
			Ref       string
			DependsOn []string
		}
	}
	if err := json.Unmarshal(b, &bom); err != nil {
		t.Fatal(err)
	}
	if bom.Format != "CycloneDX" || bom.SpecVersion != "1.5" || !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(bom.SerialNumber) {
		t.Errorf("header %s %s %s", bom.Format, bom.SpecVersion, bom.SerialNumber)
	}
	if bom.Metadata.Component.Name != "my-env" || bom.Metadata.Component.Type != "container" || bom.Metadata.Timestamp != "2023-11-14T22:13:20Z" {
		t.Errorf("metadata %+v", bom.Metadata)
	}
	if len(bom.Components) != 8 {
		t.Fatalf("%d components", len(bom.Components))
	}
	refs := map[string]string{}
	for _, c := range bom.Components {
		refs[c.BOMRef] = c.Name
		if c.Type == "library" && (len(c.Hashes) == 0 || c.Hashes[0].Alg != "SHA-256" || len(c.Hashes[0].Content) != 64 || c.PURL == "" || c.Version == "") {
			t.Errorf("component %+v", c)
		}
		if c.Name == "python" && (len(c.Licenses) != 1 || c.Licenses[0].Expression != "Python-2.0") {
			t.Errorf("python licenses %+v", c.Licenses)
		}
		if c.Name == "_libgcc_mutex" && (len(c.Licenses) != 1 || c.Licenses[0].License.Name != "None") {
			t.Errorf("_libgcc_mutex licenses %+v", c.Licenses)
		}
	}
	var pyDeps []string
	for _, dep := range bom.Dependencies {
		if refs[dep.Ref] == "python" {
			for _, r := range dep.DependsOn {
				pyDeps = append(pyDeps, refs[r])
			}
		}
	}
	slices.Sort(pyDeps)
	if !slices.Equal(pyDeps, []string{"_libgcc_mutex", "libzlib"}) {
		t.Errorf("python depends on %v", pyDeps)
	}
	b2, _ := d.CycloneDX()
	if !bytes.Equal(b, b2) {
		t.Error("CycloneDX is not deterministic")
	}
}

func TestLicense(t *testing.T) {
	for in, want := range map[string]string{
		"MIT":                                  "MIT",
		"mit":                                  "MIT",
		"BSD-3-Clause":                         "BSD-3-Clause",
		"Apache-2.0 AND (MIT OR BSD-2-Clause)": "Apache-2.0 AND (MIT OR BSD-2-Clause)",
		"GPL-2.0-or-later WITH GCC-exception-2.0": "GPL-2.0-or-later WITH GCC-exception-2.0",
		"GPL-2.0+":               "GPL-2.0+",
		"LicenseRef-Proprietary": "LicenseRef-Proprietary",
		"((MIT))":                "((MIT))",
	} {
		if got, ok := License(in); !ok || got != want {
			t.Errorf("License(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "BSD", "Public Domain", "MIT AND", "(MIT", "MIT)", "MIT WITH Foo", "GPL-2.0 WITH", "LicenseRef-", "MIT OR OR Apache-2.0", "Apache 2.0"} {
		if got, ok := License(in); ok {
			t.Errorf("License(%q) = %q, accepted", in, got)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://conda.example/t/tk-123/private/linux-64/a-1-0.conda": "https://conda.example/private/linux-64/a-1-0.conda",
		"https://u:p@pypi.example/simple/a/a-1.whl?token=x":           "https://pypi.example/simple/a/a-1.whl",
		"https://conda.anaconda.org/conda-forge/noarch/a-1-0.conda":   "https://conda.anaconda.org/conda-forge/noarch/a-1-0.conda",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

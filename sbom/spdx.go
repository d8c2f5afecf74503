package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"
)

// NamespacePrefix starts every SPDX documentNamespace envkit writes; the
// rest is the document's name and the sha256 of its content.
const NamespacePrefix = "https://envkit.dev/spdx/"

// Creator is the tool named in the documents' creation info.
const Creator = "Tool: envkit"

const noAssertion = "NOASSERTION"

// SPDX 2.3 JSON, the fields envkit writes, in the order of the
// specification's examples.
type (
	spdxDocument struct {
		SPDXVersion       string          `json:"spdxVersion"`
		DataLicense       string          `json:"dataLicense"`
		SPDXID            string          `json:"SPDXID"`
		Name              string          `json:"name"`
		DocumentNamespace string          `json:"documentNamespace"`
		CreationInfo      spdxCreation    `json:"creationInfo"`
		Packages          []spdxPackage   `json:"packages"`
		Relationships     []spdxRelation  `json:"relationships"`
		Extracted         []spdxExtracted `json:"hasExtractedLicensingInfos,omitempty"`
	}
	spdxCreation struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
	}
	spdxPackage struct {
		Name             string         `json:"name"`
		SPDXID           string         `json:"SPDXID"`
		VersionInfo      string         `json:"versionInfo,omitempty"`
		Supplier         string         `json:"supplier,omitempty"`
		DownloadLocation string         `json:"downloadLocation"`
		FilesAnalyzed    bool           `json:"filesAnalyzed"`
		Checksums        []spdxChecksum `json:"checksums,omitempty"`
		LicenseConcluded string         `json:"licenseConcluded"`
		LicenseDeclared  string         `json:"licenseDeclared"`
		CopyrightText    string         `json:"copyrightText"`
		ExternalRefs     []spdxRef      `json:"externalRefs,omitempty"`
		Purpose          string         `json:"primaryPackagePurpose,omitempty"`
	}
	spdxChecksum struct {
		Algorithm string `json:"algorithm"`
		Value     string `json:"checksumValue"`
	}
	spdxRef struct {
		Category string `json:"referenceCategory"`
		Type     string `json:"referenceType"`
		Locator  string `json:"referenceLocator"`
	}
	spdxRelation struct {
		Element string `json:"spdxElementId"`
		Type    string `json:"relationshipType"`
		Related string `json:"relatedSpdxElement"`
	}
	spdxExtracted struct {
		LicenseID string `json:"licenseId"`
		Text      string `json:"extractedText"`
		Name      string `json:"name"`
	}
)

// SPDX writes the document as SPDX 2.3 JSON. A licence that is not an
// SPDX expression is declared as LicenseRef-<its words>, with its text in
// hasExtractedLicensingInfos; no licence is NOASSERTION.
func (d *Document) SPDX() ([]byte, error) {
	doc := spdxDocument{
		SPDXVersion:  "SPDX-2.3",
		DataLicense:  "CC0-1.0",
		SPDXID:       "SPDXRef-DOCUMENT",
		Name:         d.Name,
		CreationInfo: spdxCreation{Created: d.Created.UTC().Format(time.RFC3339), Creators: []string{Creator}},
	}
	refs := map[string]string{} // licence text -> LicenseRef
	taken := map[string]bool{}
	for _, c := range append([]Component{d.Root}, d.Components...) {
		doc.Packages = append(doc.Packages, d.spdxPackage(c, refs, taken, &doc.Extracted))
	}
	doc.Relationships = append(doc.Relationships, spdxRelation{"SPDXRef-DOCUMENT", "DESCRIBES", d.Root.ID})
	for _, c := range d.Components {
		doc.Relationships = append(doc.Relationships, spdxRelation{d.Root.ID, "CONTAINS", c.ID})
	}
	for _, c := range d.Components {
		for _, dep := range c.DependsOn {
			doc.Relationships = append(doc.Relationships, spdxRelation{c.ID, "DEPENDS_ON", dep})
		}
	}
	// The namespace names this very content: the document without it,
	// hashed.
	body, err := marshal(doc)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	doc.DocumentNamespace = NamespacePrefix + idPart(d.Name) + "-" + hex.EncodeToString(sum[:])
	return marshal(doc)
}

func (d *Document) spdxPackage(c Component, refs map[string]string, taken map[string]bool, extracted *[]spdxExtracted) spdxPackage {
	p := spdxPackage{
		Name: c.Name, SPDXID: c.ID, VersionInfo: c.Version,
		DownloadLocation: noAssertion, LicenseConcluded: noAssertion, LicenseDeclared: noAssertion, CopyrightText: noAssertion,
	}
	if c.URL != "" {
		p.DownloadLocation = c.URL
	}
	if c.Supplier != "" {
		p.Supplier = "Organization: " + c.Supplier
	}
	if c.SHA256 != "" {
		p.Checksums = append(p.Checksums, spdxChecksum{"SHA256", c.SHA256})
	}
	if c.MD5 != "" {
		p.Checksums = append(p.Checksums, spdxChecksum{"MD5", c.MD5})
	}
	switch {
	case c.License != "":
		p.LicenseDeclared = c.License
	case c.LicenseText != "":
		ref, ok := refs[c.LicenseText]
		if !ok {
			part := idPart(c.LicenseText)
			if part == "" {
				part = "unnamed"
			}
			ref = uniqueID(taken, "LicenseRef-"+part)
			refs[c.LicenseText] = ref
			*extracted = append(*extracted, spdxExtracted{LicenseID: ref, Text: c.LicenseText, Name: c.LicenseText})
		}
		p.LicenseDeclared = ref
	}
	if c.PURL != "" {
		p.ExternalRefs = []spdxRef{{"PACKAGE-MANAGER", "purl", c.PURL}}
	}
	switch c.Kind {
	case KindEnvironment, KindImage:
		p.Purpose = "CONTAINER"
	case KindConda, KindPyPI:
		p.Purpose = "LIBRARY"
	}
	return p
}

// marshal is json.Marshal, indented, without HTML escaping, newline-ended.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return slices.Clip(b.Bytes()), nil
}

package sbom

import (
	"crypto/sha256"
	"fmt"
	"time"
)

// CycloneDX 1.5 JSON, the fields envkit writes.
type (
	cdxBOM struct {
		Format       string          `json:"bomFormat"`
		SpecVersion  string          `json:"specVersion"`
		SerialNumber string          `json:"serialNumber,omitempty"`
		Version      int             `json:"version"`
		Metadata     cdxMetadata     `json:"metadata"`
		Components   []cdxComponent  `json:"components"`
		Dependencies []cdxDependency `json:"dependencies"`
	}
	cdxMetadata struct {
		Timestamp string       `json:"timestamp"`
		Tools     cdxTools     `json:"tools"`
		Component cdxComponent `json:"component"`
	}
	cdxTools struct {
		Components []cdxComponent `json:"components"`
	}
	cdxComponent struct {
		Type         string       `json:"type"`
		BOMRef       string       `json:"bom-ref,omitempty"`
		Supplier     *cdxSupplier `json:"supplier,omitempty"`
		Name         string       `json:"name"`
		Version      string       `json:"version,omitempty"`
		Hashes       []cdxHash    `json:"hashes,omitempty"`
		Licenses     []cdxLicense `json:"licenses,omitempty"`
		PURL         string       `json:"purl,omitempty"`
		ExternalRefs []cdxExtRef  `json:"externalReferences,omitempty"`
	}
	cdxSupplier struct {
		Name string `json:"name"`
	}
	cdxHash struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	}
	cdxLicense struct {
		Expression string          `json:"expression,omitempty"`
		License    *cdxLicenseName `json:"license,omitempty"`
	}
	cdxLicenseName struct {
		Name string `json:"name"`
	}
	cdxExtRef struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	}
	cdxDependency struct {
		Ref       string   `json:"ref"`
		DependsOn []string `json:"dependsOn"`
	}
)

// CycloneDX writes the document as CycloneDX 1.5 JSON: the environment as
// the metadata's component, the base image as a container component, the
// packages as libraries, and every component's dependencies (the
// environment depends on all the others).
func (d *Document) CycloneDX() ([]byte, error) {
	bom := cdxBOM{
		Format: "CycloneDX", SpecVersion: "1.5", Version: 1,
		Metadata: cdxMetadata{
			Timestamp: d.Created.UTC().Format(time.RFC3339),
			Tools:     cdxTools{Components: []cdxComponent{{Type: "application", Name: "envkit"}}},
			Component: cdxFrom(d.Root),
		},
		Components:   []cdxComponent{},
		Dependencies: []cdxDependency{},
	}
	root := cdxDependency{Ref: d.Root.ID, DependsOn: []string{}}
	for _, c := range d.Components {
		bom.Components = append(bom.Components, cdxFrom(c))
		root.DependsOn = append(root.DependsOn, c.ID)
	}
	bom.Dependencies = append(bom.Dependencies, root)
	for _, c := range d.Components {
		deps := c.DependsOn
		if deps == nil {
			deps = []string{}
		}
		bom.Dependencies = append(bom.Dependencies, cdxDependency{Ref: c.ID, DependsOn: deps})
	}
	// The serial number names this very content: a name-based UUID of
	// the document without it.
	body, err := marshal(bom)
	if err != nil {
		return nil, err
	}
	bom.SerialNumber = "urn:uuid:" + contentUUID(body)
	return marshal(bom)
}

func cdxFrom(c Component) cdxComponent {
	out := cdxComponent{BOMRef: c.ID, Name: c.Name, Version: c.Version, PURL: c.PURL}
	switch c.Kind {
	case KindEnvironment, KindImage:
		out.Type = "container"
	default:
		out.Type = "library"
	}
	if c.Supplier != "" {
		out.Supplier = &cdxSupplier{Name: c.Supplier}
	}
	if c.SHA256 != "" {
		out.Hashes = append(out.Hashes, cdxHash{"SHA-256", c.SHA256})
	}
	if c.MD5 != "" {
		out.Hashes = append(out.Hashes, cdxHash{"MD5", c.MD5})
	}
	switch {
	case c.License != "":
		out.Licenses = []cdxLicense{{Expression: c.License}}
	case c.LicenseText != "":
		out.Licenses = []cdxLicense{{License: &cdxLicenseName{Name: c.LicenseText}}}
	}
	if c.URL != "" {
		out.ExternalRefs = []cdxExtRef{{"distribution", c.URL}}
	}
	return out
}

// contentUUID is a version 5 (name-based) UUID made from the sha256 of b.
func contentUUID(b []byte) string {
	s := sha256.Sum256(b)
	s[6] = s[6]&0x0f | 0x50
	s[8] = s[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// Package examples holds example environments; the quickstart is embedded
// in the envkit CLI as the environment `envkit build` makes when given none.
package examples

import "embed"

// Quickstart is the examples/quickstart directory.
//
//go:embed quickstart
var Quickstart embed.FS

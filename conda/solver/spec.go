package solver

// This file is the solver's only contact with match specs. conda/matchspec is
// being written in parallel; until it lands, MatchSpec is the small stopgap
// in stopgap_matchspec.go, with the contract's field and method names. The
// switch is: make MatchSpec an alias of matchspec.MatchSpec, point parseSpec
// at matchspec.Parse, and delete stopgap_matchspec.go.

// parseSpec parses a repodata depends/constrains entry (strict form).
var parseSpec = parseStopgap

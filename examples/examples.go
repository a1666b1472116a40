// Package examples embeds the bundled example data (a credit-scoring model's
// reference and current samples, made by gen.go) so `driftwatch demo` runs
// from any directory. It holds data only.
package examples

import _ "embed"

// ReferenceCSV is the training sample; CurrentCSV a drifted production sample.
var (
	//go:embed reference.csv
	ReferenceCSV []byte
	//go:embed current.csv
	CurrentCSV []byte
)

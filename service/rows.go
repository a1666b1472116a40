package service

import (
	"driftwatch/config"
	"driftwatch/events"
	"driftwatch/ingest"
)

// decoding is what one partition worker keeps between fetches: its
// decoder and, per model version, the current fetch's events as columns.
// Only that worker touches it, so it needs no lock.
type decoding struct {
	dec     *events.JSONDecoder
	rows    map[*version]*ingest.Rows
	touched []*version // versions with rows in the current fetch, in first-seen order

	// format: arrow
	arrowDec *events.ArrowDecoder
	cols     events.Columns
	views    map[*version]*ingest.ArrowView
	ts       []int64 // record timestamps for messages without a ts column
}

// rowsFor returns the version's columns of the current fetch.
func (d *decoding) rowsFor(v *version, f *config.Fields) *ingest.Rows {
	r := d.rows[v]
	if r == nil {
		r = ingest.NewRows(v.eval.Numeric(), v.eval.Categorical(), f)
		d.rows[v] = r
	}
	if r.N == 0 {
		d.touched = append(d.touched, v)
	}
	return r
}

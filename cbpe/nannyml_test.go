package cbpe

import (
	"bufio"
	"driftwatch/internal/testutil/shared"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"driftwatch/chunk"
)

// readColumns reads the named numeric columns of a CSV file; empty cells are
// NaN.
func readColumns(t *testing.T, path string, names ...string) [][]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, len(names))
	for k, name := range names {
		idx[k] = -1
		for j, h := range recs[0] {
			if h == name {
				idx[k] = j
			}
		}
		if idx[k] < 0 {
			t.Fatalf("%s: no column %q", path, name)
		}
	}
	out := make([][]float64, len(names))
	for _, rec := range recs[1:] {
		for k, j := range idx {
			v := math.NaN()
			if rec[j] != "" {
				if v, err = strconv.ParseFloat(rec[j], 64); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
			}
			out[k] = append(out[k], v)
		}
	}
	return out
}

// nannymlTable parses the first Markdown table of the README: NannyML's CBPE
// results per chunk, keyed by column header.
func nannymlTable(t *testing.T, path string) []map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var header []string
	var rows []map[string]string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "|") {
			if header != nil {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case header == nil:
			header = cells
		case strings.HasPrefix(cells[0], "---"):
		default:
			row := map[string]string{}
			for i, c := range cells {
				row[header[i]] = c
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// TestNannyMLCalifornia holds CBPE to NannyML 0.13.1's own numbers on its
// California housing data with chunk_size=5000 (README of the data).
func TestNannyMLCalifornia(t *testing.T) {
	dir := shared.Dir(t, shared.California)
	ref := readColumns(t, filepath.Join(dir, "california_housing_reference.csv"), "y_pred_proba", "clf_target", "y_pred")
	ana := readColumns(t, filepath.Join(dir, "california_housing_analysis.csv"), "y_pred_proba", "y_pred")
	want := nannymlTable(t, filepath.Join(dir, "README.md"))
	if len(want) != 2 {
		t.Fatalf("README table has %d rows, want 2", len(want))
	}

	r, err := Fit(ref[0], ref[1], ref[2], CalibrationAuto)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Calibrated {
		t.Fatal("auto did not calibrate; NannyML did on this reference")
	}
	chunks, err := chunk.BySize(len(ana[0]), 5000)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != len(want) {
		t.Fatalf("%d chunks, want %d", len(chunks), len(want))
	}
	cols := map[string]func(Metrics) float64{
		"est. roc_auc":   func(m Metrics) float64 { return m.ROCAUC },
		"est. accuracy":  func(m Metrics) float64 { return m.Accuracy },
		"est. f1":        func(m Metrics) float64 { return m.F1 },
		"est. precision": func(m Metrics) float64 { return m.Precision },
		"est. recall":    func(m Metrics) float64 { return m.Recall },
		"est. TP":        func(m Metrics) float64 { return m.TruePositive },
		"est. FP":        func(m Metrics) float64 { return m.FalsePositive },
		"est. FN":        func(m Metrics) float64 { return m.FalseNegative },
		"est. TN":        func(m Metrics) float64 { return m.TrueNegative },
	}
	for i, rg := range chunks {
		w := want[i]
		if w["chunk"] != rg.String() || w["rows"] != strconv.Itoa(rg.Rows()) {
			t.Fatalf("chunk %d is %s of %d rows, NannyML's %s of %s", i, rg, rg.Rows(), w["chunk"], w["rows"])
		}
		c := r.Estimate(ana[0][rg.Start:rg.End+1], ana[1][rg.Start:rg.End+1])
		if c.Invalid != 0 {
			t.Errorf("chunk %s: %d invalid rows", rg, c.Invalid)
		}
		for col, get := range cols {
			exp, err := strconv.ParseFloat(w[col], 64)
			if err != nil {
				t.Fatalf("README %s %q: %v", col, w[col], err)
			}
			got := get(c.Estimated)
			if rel := math.Abs(got-exp) / math.Abs(exp); !(rel <= 1e-6) {
				t.Errorf("chunk %s %s = %.17g, NannyML %.17g (relative error %.2g)", rg, col, got, exp, rel)
			}
		}
	}
}

package cbpe

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
)

// decodeRows turns fuzz bytes into scores, labels and predictions: 10 bytes
// a row, a float64 score from 8 (any bit pattern: NaN, ±Inf, outside [0,
// 1]) and a class byte each for label and prediction (0, 1 or missing).
func decodeRows(data []byte) (s, y, p []float64) {
	class := func(b byte) float64 {
		switch b % 3 {
		case 0:
			return 0
		case 1:
			return 1
		}
		return math.NaN()
	}
	for len(data) >= 10 {
		v := math.Float64frombits(binary.LittleEndian.Uint64(data))
		if data[8]&0x80 != 0 { // half the rows get a score in [0, 1]
			v = float64(data[9]) / 255
		}
		s, y, p = append(s, v), append(y, class(data[8])), append(p, class(data[9]))
		data = data[10:]
	}
	return s, y, p
}

// FuzzEstimate feeds any scores, labels and predictions to Fit, Estimate
// and Realized: no panic, invalid rows counted, the expected confusion
// matrix adds up to the valid rows, estimates in [0, 1] or NaN, and the
// fitted reference survives a JSON round trip with the same estimate.
func FuzzEstimate(f *testing.F) {
	row := func(score float64, label, pred byte) []byte {
		b := binary.LittleEndian.AppendUint64(nil, math.Float64bits(score))
		return append(b, label, pred)
	}
	var seed []byte
	for i := range 40 {
		seed = append(seed, row(float64(i)/40, byte(i%2), byte((i/3)%2))...)
	}
	f.Add(seed)
	f.Add(append(row(math.NaN(), 1, 1), row(2, 0, 0)...))
	f.Add(append(append(row(0.5, 1, 1), row(0.5, 0, 0)...), row(math.Inf(-1), 2, 2)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mode := range []Calibration{CalibrationAuto, CalibrationAlways, CalibrationNever} {
			s, y, p := decodeRows(data)
			ref, err := Fit(s, y, p, mode)
			if err != nil {
				continue // no valid rows or one class: a clear error
			}
			if ref.Rows+ref.Invalid != len(s) {
				t.Fatalf("rows %d + invalid %d != %d", ref.Rows, ref.Invalid, len(s))
			}
			c := ref.Estimate(s, p)
			valid := 0
			for i := range s {
				if ValidScore(s[i]) && isClass(p[i]) {
					valid++
				}
			}
			if c.Rows != valid || c.Invalid != len(s)-valid {
				t.Fatalf("chunk rows %d invalid %d, want %d valid of %d", c.Rows, c.Invalid, valid, len(s))
			}
			m := c.Estimated
			if sum := m.TruePositive + m.FalsePositive + m.FalseNegative + m.TrueNegative; math.Abs(sum-float64(valid)) > 1e-9*float64(valid+1) {
				t.Fatalf("expected matrix sums to %v, want %d", sum, valid)
			}
			for i, v := range m.Values()[:7] {
				if !math.IsNaN(v) && (v < -1e-12 || v > 1+1e-12) {
					t.Fatalf("%s = %v outside [0, 1]", Names[i], v)
				}
			}
			Realized(s, p, y)
			js, err := json.Marshal(ref)
			if err != nil {
				t.Fatal(err)
			}
			var back Reference
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatal(err)
			}
			if err := back.Validate(); err != nil {
				t.Fatal(err)
			}
			c2 := back.Estimate(s, p)
			for i, v := range c2.Estimated.Values() {
				w := c.Estimated.Values()[i]
				if v != w && !(math.IsNaN(v) && math.IsNaN(w)) {
					t.Fatalf("%s after JSON round trip %v, before %v", Names[i], v, w)
				}
			}
		}
	})
}

// FuzzEstimateMulti: any three-class scores, labels and predictions (5
// bytes a row: three scores, 255 meaning 1.5, and label and prediction
// modulo 4, 3 meaning missing) never panic; invalid rows are counted and
// the estimates stay in [0, 1] or NaN.
func FuzzEstimateMulti(f *testing.F) {
	f.Add([]byte{200, 30, 25, 0, 0, 20, 210, 25, 1, 1, 10, 20, 225, 2, 2, 100, 100, 55, 0, 1, 255, 0, 0, 3, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		scores := make([][]float64, 3)
		var y, p []float64
		for ; len(data) >= 5; data = data[5:] {
			for k := range 3 {
				v := float64(data[k]) / 254
				if data[k] == 255 {
					v = 1.5
				}
				scores[k] = append(scores[k], v)
			}
			cl := func(b byte) float64 {
				if b%4 == 3 {
					return math.NaN()
				}
				return float64(b % 4)
			}
			y, p = append(y, cl(data[3])), append(p, cl(data[4]))
		}
		for _, mode := range []Calibration{CalibrationAuto, CalibrationAlways, CalibrationNever} {
			r, err := FitMulti(scores, y, p, mode)
			if err != nil {
				continue
			}
			c := r.Estimate(scores, p)
			if c.Rows+c.Invalid != len(p) {
				t.Fatalf("rows %d + invalid %d != %d", c.Rows, c.Invalid, len(p))
			}
			for i, v := range c.Estimated.Values()[:7] {
				if !math.IsNaN(v) && (v < -1e-12 || v > 1+1e-12) {
					t.Fatalf("%s = %v outside [0, 1]", Names[i], v)
				}
			}
			RealizedMulti(scores, p, y)
		}
	})
}

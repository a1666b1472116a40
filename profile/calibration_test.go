package profile

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"driftwatch/vocab"
)

// A calibration round-trips through the file; a profile without one encodes
// as before (no new key, same format version), so files from older
// versions load and older versions load new uncalibrated files.
func TestCalibrationRoundTrip(t *testing.T) {
	p, err := Build(testTable(2000, 6), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if err := p.Encode(&plain); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain.Bytes(), []byte("calibration")) {
		t.Fatal("an uncalibrated profile writes a calibration key")
	}
	p.Calibration = &Calibration{Rate: 50, Window: time.Hour, Pane: time.Minute, EvaluateEvery: 30 * time.Second,
		MinSamples: 500, PSIEpsilon: 1e-4, Null: "population", Statistics: []vocab.Statistic{vocab.PSI, vocab.KS}, Simulated: 5040 * time.Hour, Seed: 1,
		Levels: []Level{{Alerts: 1, Per: 168 * time.Hour, Alpha: 1.5e-5, SimulatedAlerts: 30, StdErr: 0.3,
			Thresholds: map[vocab.Statistic]map[string]float64{vocab.PSI: {"x": 0.00041186, "c": 0.0003}, vocab.KS: {"x": 0.0084}}}}}
	path := filepath.Join(t.TempDir(), "p.dwprof")
	if err := p.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	q, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip differs:\n%+v\n%+v", p.Calibration, q.Calibration)
	}
	if l := q.Calibration.Level(7, 1176*time.Hour); l == nil || l.Thresholds["ks"]["x"] != 0.0084 {
		t.Fatalf("level 7/1176h (= 1/168h): %+v", l)
	}
	if q.Calibration.Level(1, 24*time.Hour) != nil {
		t.Fatal("found a level for a budget that was not calibrated")
	}

	p.Calibration.Pane = 0
	var bad bytes.Buffer
	if err := p.Encode(&bad); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(bad.Bytes()); err == nil || !strings.Contains(err.Error(), "calibration has a bad rate, window, pane") {
		t.Fatalf("bad calibration: %v", err)
	}
}

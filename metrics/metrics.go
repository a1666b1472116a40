// Package metrics declares every metric family `driftwatch serve` exposes,
// each with its name, type and help text side by side (families.go), and
// writes the Prometheus text exposition with a HELP and TYPE line before
// each family. Series a fetch touches are handles created once (Topic,
// Version); what is measured, and when, is the service's and the alerting
// engine's business. The series themselves are VictoriaMetrics/metrics
// counters, gauges and histograms, one set per family.
package metrics

import (
	"bytes"
	"io"
	rtmetrics "runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"

	vm "github.com/VictoriaMetrics/metrics"
)

// Type is a family's Prometheus type.
type Type string

// The family types.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// Family is one metric family: name, type and help, and its series.
type Family struct {
	Name string
	Type Type
	Help string
	// Buckets are a histogram's upper bounds.
	Buckets []float64
	set     *vm.Set
}

func (f *Family) series(labels string) string {
	if labels == "" {
		return f.Name
	}
	return f.Name + "{" + labels + "}"
}

// Counter returns the counter of the series with labels (Labels builds
// them), creating it on first use.
func (f *Family) Counter(labels string) *vm.Counter {
	return f.set.GetOrCreateCounter(f.series(labels))
}

// Gauge returns the gauge of the series with labels, creating it on first
// use.
func (f *Family) Gauge(labels string) *vm.Gauge {
	return f.set.GetOrCreateGauge(f.series(labels), nil)
}

// Histogram returns the histogram of the series with labels, creating it
// on first use.
func (f *Family) Histogram(labels string) *vm.PrometheusHistogram {
	return f.set.GetOrCreatePrometheusHistogramExt(f.series(labels), f.Buckets)
}

// Set is the family's own set of series, for a package that registers its
// series itself (the alerting engine's notifications).
func (f *Family) Set() *vm.Set { return f.set }

// Labels formats label pairs (name, value, name, value, ...) as a series'
// label list, the values quoted.
func Labels(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(pairs[i])
		b.WriteByte('=')
		b.WriteString(strconv.Quote(pairs[i+1]))
	}
	return b.String()
}

// Registry holds the families.
type Registry struct {
	mu       sync.Mutex
	families []*Family // sorted by name
}

func (r *Registry) add(f *Family) *Family {
	f.set = vm.NewSet()
	r.mu.Lock()
	defer r.mu.Unlock()
	i, found := slices.BinarySearchFunc(r.families, f.Name, func(a *Family, name string) int { return strings.Compare(a.Name, name) })
	if found {
		panic("metrics: family " + f.Name + " declared twice")
	}
	r.families = slices.Insert(r.families, i, f)
	return f
}

// WritePrometheus writes every family with series, by name, each after
// its HELP and TYPE lines.
func (r *Registry) WritePrometheus(w io.Writer) {
	r.mu.Lock()
	families := slices.Clone(r.families)
	r.mu.Unlock()
	var out, buf bytes.Buffer
	for _, f := range families {
		buf.Reset()
		f.set.WritePrometheus(&buf)
		if buf.Len() == 0 {
			continue
		}
		out.WriteString("# HELP " + f.Name + " " + f.Help + "\n# TYPE " + f.Name + " " + string(f.Type) + "\n")
		out.Write(buf.Bytes())
	}
	w.Write(out.Bytes())
}

// runtimeGauge is a Go runtime gauge read from runtime/metrics at scrape
// time.
func (r *Registry) runtimeGauge(name string, typ Type, help, sample string) {
	f := r.add(&Family{Name: name, Type: typ, Help: help})
	f.set.NewGauge(name, func() float64 {
		s := []rtmetrics.Sample{{Name: sample}}
		rtmetrics.Read(s)
		switch s[0].Value.Kind() {
		case rtmetrics.KindUint64:
			return float64(s[0].Value.Uint64())
		case rtmetrics.KindFloat64:
			return s[0].Value.Float64()
		}
		return 0
	})
}

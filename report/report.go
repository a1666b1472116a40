// Package report renders a drift report (detectors.Report) for people and
// machines: JSON, the public contract documented in README, and Markdown fit
// for a pull-request comment, and a self-contained HTML page with charts
// (drawn by package charts). It computes nothing; numbers come from package
// detectors.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"driftwatch/detectors"
	"driftwatch/profile"
)

// Formats lists the supported output formats.
var Formats = []string{"json", "markdown", "html"}

// Write renders r in the given format.
func Write(w io.Writer, r *detectors.Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "markdown", "md":
		return Markdown(w, r)
	case "html":
		return HTML(w, r)
	}
	return fmt.Errorf("report: unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// Markdown writes a summary: verdict first, then a table with drifted
// features on top, then quality and gates.
func Markdown(w io.Writer, r *detectors.Report) error {
	var b strings.Builder
	verdict := "✅ No drift detected"
	if r.DriftDetected {
		verdict = "❌ Drift detected"
	}
	fmt.Fprintf(&b, "## driftwatch: %s\n\n", verdict)
	fmt.Fprintf(&b, "%d of %d features drifted (reference %d rows, current %d rows).\n\n",
		r.DriftedFeatures, len(r.Features), r.ReferenceRows, r.CurrentRows)
	b.WriteString("| feature | kind | drift | test | value | threshold | null rate | out of range |\n")
	b.WriteString("|---|---|---|---|---:|---:|---:|---:|\n")
	ordered := make([]detectors.FeatureResult, 0, len(r.Features))
	for _, drift := range []bool{true, false} {
		for _, f := range r.Features {
			if f.Drift == drift {
				ordered = append(ordered, f)
			}
		}
	}
	for _, f := range ordered {
		mark := "no"
		if f.Drift {
			mark = "**yes**"
		}
		v, t := Deciding(&f)
		out := "–" // categorical features have no range (as on the HTML page)
		if f.Kind == string(profile.Numeric) {
			out = pct(float64(f.DataQuality.OutOfRangeRate))
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(f.Name), f.Kind, mark, f.Test,
			num(v), num(t), pct(float64(f.DataQuality.NullRate)), out)
	}
	unseenHeader := false
	for _, f := range ordered {
		u := f.DataQuality.UnseenCategories
		if len(u) == 0 {
			continue
		}
		if !unseenHeader {
			b.WriteString("\n### Unseen categories\n\nCurrent categories the reference never had.\n\n")
			unseenHeader = true
		}
		shown := u[:min(len(u), maxUnseenShown)]
		names := make([]string, len(shown))
		for i, c := range shown {
			names[i] = "`" + mdEscape(c) + "`"
		}
		more := ""
		if len(u) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(u)-len(shown))
		}
		fmt.Fprintf(&b, "- `%s`: %s%s\n", mdEscape(f.Name), strings.Join(names, ", "), more)
	}
	if q := r.Quality; q != nil {
		fmt.Fprintf(&b, "\n### Quality (%s, %d rows)\n\n| metric | value |\n|---|---:|\n", q.Task, q.Rows)
		for _, name := range []string{"accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc", "log_loss",
			"brier", "ece", "mae", "rmse", "mape", "mean_error", "r2"} {
			if v, ok := q.Metrics()[name]; ok {
				fmt.Fprintf(&b, "| %s | %s |\n", name, num(v))
			}
		}
		estimatedMarkdown(&b, q)
	}
	if len(r.Gates) > 0 {
		b.WriteString("\n### Gates\n\n| gate | value | result |\n|---|---:|---|\n")
		for _, g := range r.Gates {
			res := "pass"
			if !g.Pass {
				res = "**fail**"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", mdEscape(g.Expr), num(float64(g.Value)), res)
		}
	}
	markdownMultivariate(&b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

// Deciding returns the deciding test's value (the p-value for p-value tests,
// the normalized distance for Wasserstein) and its threshold.
func Deciding(f *detectors.FeatureResult) (value, threshold float64) {
	s := &f.Statistics
	switch {
	case f.Test == detectors.TestPSI && s.PSI != nil:
		return float64(s.PSI.Value), float64(s.PSI.Threshold)
	case f.Test == detectors.TestKS && s.KS != nil:
		return float64(s.KS.PValue), float64(s.KS.Threshold)
	case f.Test == detectors.TestWasserstein && s.Wasserstein != nil:
		return float64(s.Wasserstein.Normalized), float64(s.Wasserstein.Threshold)
	case f.Test == detectors.TestJS && s.JensenShannon != nil:
		return float64(s.JensenShannon.Value), float64(s.JensenShannon.Threshold)
	case f.Test == detectors.TestHellinger && s.Hellinger != nil:
		return float64(s.Hellinger.Value), float64(s.Hellinger.Threshold)
	case f.Test == detectors.TestChiSquare && s.ChiSquare != nil:
		return float64(s.ChiSquare.PValue), float64(s.ChiSquare.Threshold)
	case f.Test == detectors.TestZ && s.Z != nil:
		return float64(s.Z.PValue), float64(s.Z.Threshold)
	}
	return math.NaN(), math.NaN()
}

func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	if v != 0 && (math.Abs(v) < 1e-3 || math.Abs(v) >= 1e6) {
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.4f", v)
}

func pct(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) }

// mdEscape keeps data-provided names from breaking the table or the code span.
func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "`", "'", "\n", " ", "\r", " ").Replace(s)
}

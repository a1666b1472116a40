package cli

import (
	"driftwatch/internal/testutil/shared"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// labelledCurrent writes the analysis rows with their labels joined by id.
func labelledCurrent(t *testing.T, dir string) string {
	t.Helper()
	read := func(name string) [][]string {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	ana, gt := read("california_housing_analysis.csv"), read("california_housing_analysis_gt.csv")
	labels := map[string]string{}
	for _, r := range gt[1:] {
		labels[r[0]] = r[1]
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(append(ana[0], "clf_target"))
	for _, r := range ana[1:] {
		w.Write(append(r, labels[r[0]]))
	}
	w.Flush()
	return writeFile(t, "current.csv", b.String())
}

type estimateJSON struct {
	Method        string `json:"method"`
	Calibrated    bool   `json:"calibrated"`
	Positive      string `json:"positive"`
	ReferenceRows int    `json:"reference_rows"`
	CurrentRows   int    `json:"current_rows"`
	Chunks        []struct {
		Index         int                 `json:"index"`
		Start         int                 `json:"start"`
		End           int                 `json:"end"`
		Rows          int                 `json:"rows"`
		Invalid       int                 `json:"invalid"`
		Estimated     map[string]*float64 `json:"estimated"`
		SamplingError map[string]*float64 `json:"sampling_error"`
		Realized      map[string]*float64 `json:"realized"`
		Labelled      *int                `json:"labelled"`
	} `json:"chunks"`
	Gates []struct {
		Expr  string   `json:"expr"`
		Value *float64 `json:"value"`
		Chunk int      `json:"chunk"`
		Pass  bool     `json:"pass"`
	} `json:"gates"`
}

func runEstimateJSON(t *testing.T, wantCode int, args ...string) estimateJSON {
	t.Helper()
	code, out, errOut := run(t, append([]string{"estimate"}, args...)...)
	if code != wantCode {
		t.Fatalf("exit %d, want %d; stderr: %s", code, wantCode, errOut)
	}
	var r estimateJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

func relClose(got *float64, want float64) bool {
	return got != nil && math.Abs(*got-want) <= 1e-6*math.Abs(want)
}

// TestEstimateCalifornia runs `estimate` on NannyML's California data with
// chunk_size 5000: estimates equal to NannyML's (README of the data), the
// realized ROC AUC and accuracy too, and a profile as REF gives the same
// report as the raw reference.
func TestEstimateCalifornia(t *testing.T) {
	dir := shared.Dir(t, shared.California)
	ref := filepath.Join(dir, "california_housing_reference.csv")
	cur := labelledCurrent(t, dir)
	args := []string{"--current", cur, "--label", "clf_target", "--score", "y_pred_proba", "--prediction", "y_pred", "--chunk-size", "5000"}
	r := runEstimateJSON(t, ExitOK, append([]string{"--reference", ref}, args...)...)
	if r.Method != "cbpe" || !r.Calibrated || r.Positive != "1" || r.ReferenceRows != 5832 || r.CurrentRows != 8232 || len(r.Chunks) != 2 {
		t.Fatalf("header %+v", r)
	}
	want := []struct {
		start, end, rows          int
		estAUC, estAcc, estTP     float64
		realAUC, realAcc, realLab float64
	}{
		{0, 4999, 5000, 0.8243982305087647, 0.6393427820070862, 360.82226235047636, 0.7704679367034745, 0.5872, 5000},
		{5000, 8231, 3232, 0.9064738485307434, 0.6618295349505534, 569.812655245185, 0.9195950743113187, 0.5909653465346535, 3232},
	}
	for i, w := range want {
		c := r.Chunks[i]
		if c.Index != i || c.Start != w.start || c.End != w.end || c.Rows != w.rows || c.Invalid != 0 {
			t.Errorf("chunk %d: %d [%d:%d] %d rows %d invalid", i, c.Index, c.Start, c.End, c.Rows, c.Invalid)
		}
		if !relClose(c.Estimated["roc_auc"], w.estAUC) || !relClose(c.Estimated["accuracy"], w.estAcc) || !relClose(c.Estimated["true_positive"], w.estTP) {
			t.Errorf("chunk %d estimated %v %v %v, NannyML %v %v %v", i, *c.Estimated["roc_auc"], *c.Estimated["accuracy"], *c.Estimated["true_positive"], w.estAUC, w.estAcc, w.estTP)
		}
		if c.Realized == nil || !relClose(c.Realized["roc_auc"], w.realAUC) || !relClose(c.Realized["accuracy"], w.realAcc) {
			t.Errorf("chunk %d realized %v, NannyML roc_auc %v accuracy %v", i, c.Realized, w.realAUC, w.realAcc)
		}
		if c.Labelled == nil || float64(*c.Labelled) != w.realLab {
			t.Errorf("chunk %d labelled %v", i, c.Labelled)
		}
		for _, name := range []string{"roc_auc", "accuracy", "f1", "precision", "recall", "specificity", "average_precision",
			"true_positive", "false_positive", "false_negative", "true_negative"} {
			if se := c.SamplingError[name]; se == nil || !(*se > 0) {
				t.Errorf("chunk %d sampling error %s = %v", i, name, se)
			}
		}
	}

	prof := filepath.Join(t.TempDir(), "ref.prof")
	if code, _, errOut := run(t, "profile", "build", "--input", ref, "--out", prof, "--label", "clf_target", "--score", "y_pred_proba", "--prediction", "y_pred"); code != ExitOK {
		t.Fatalf("profile build: %s", errOut)
	}
	_, a, _ := run(t, append([]string{"estimate", "--reference", ref}, args...)...)
	_, b, _ := run(t, "estimate", "--reference", prof, "--current", cur, "--chunk-size", "5000")
	if a != b {
		t.Errorf("profile REF differs from raw REF:\n%s\n%s", a, b)
	}
}

// TestEstimateChunksAndGates: --chunks K gives K chunks of ⌊n/K⌋ plus the
// remainder; gates hold in every chunk or exit 1.
func TestEstimateChunksAndGates(t *testing.T) {
	dir := shared.Dir(t, shared.California)
	base := []string{"--reference", filepath.Join(dir, "california_housing_reference.csv"), "--current",
		filepath.Join(dir, "california_housing_analysis.csv"), "--label", "clf_target", "--score", "y_pred_proba", "--prediction", "y_pred"}
	r := runEstimateJSON(t, ExitOK, append(base, "--chunks", "10", "--require", "estimated.roc_auc>=0.5")...)
	if len(r.Chunks) != 11 || r.Chunks[10].Rows != 2 || r.Chunks[0].Rows != 823 || r.Chunks[10].Start != 8230 {
		t.Fatalf("chunks: %d, last %+v", len(r.Chunks), r.Chunks[len(r.Chunks)-1])
	}
	if r.Chunks[0].Realized != nil {
		t.Error("realized metrics without a label column")
	}
	if len(r.Gates) != 1 || !r.Gates[0].Pass {
		t.Errorf("gates %+v", r.Gates)
	}
	r = runEstimateJSON(t, ExitDrift, append(base, "--chunk-size", "5000", "--require", "estimated.roc_auc>=0.85", "--require", "estimated.accuracy>0.5")...)
	if g := r.Gates[0]; g.Pass || g.Chunk != 0 || !relClose(g.Value, 0.8243982305087647) {
		t.Errorf("failing gate %+v", g)
	}
	if !r.Gates[1].Pass {
		t.Errorf("passing gate %+v", r.Gates[1])
	}
	r = runEstimateJSON(t, ExitOK, base...)
	if len(r.Chunks) != 1 || r.Chunks[0].Rows != 8232 {
		t.Errorf("no chunk flag: %d chunks", len(r.Chunks))
	}

	for _, format := range []string{"markdown", "html"} {
		args := append([]string{"estimate"}, base...)
		code, out, errOut := run(t, append(args, "--chunk-size", "5000", "--format", format)...)
		if code != ExitOK {
			t.Fatalf("%s: exit %d: %s", format, code, errOut)
		}
		if !strings.Contains(out, "0.8244") || !strings.Contains(out, "[5000:8231]") {
			t.Errorf("%s lacks the first chunk's ROC AUC or the second chunk:\n%s", format, out)
		}
		if format == "html" && (strings.Count(out, `class="band"`) != 7 || strings.Contains(out, `class="realized"`)) {
			t.Errorf("html: want 7 band charts and no realized line")
		}
	}
}

// TestEstimateBadInput: every input error exits 2 with a message naming the
// problem, and invalid scores are counted per chunk, never a panic.
func TestEstimateBadInput(t *testing.T) {
	good := "score,pred,y\n0.9,1,1\n0.2,0,0\n0.7,1,0\n0.4,0,1\n0.8,1,1\n0.1,0,0\n0.6,1,1\n0.3,0,0\n"
	ref := writeFile(t, "ref.csv", good)
	oneClass := writeFile(t, "one.csv", "score,pred,y\n0.9,1,1\n0.2,0,1\n")
	multi := writeFile(t, "multi.csv", "score,pred,y\n0.9,1,1\n0.2,0,0\n0.5,2,2\n")
	textScore := writeFile(t, "text.csv", "score,pred,y\nhigh,1,1\nlow,0,0\n")
	cur := writeFile(t, "cur.csv", "score,pred\n0.9,1\n1.5,1\n-0.1,0\n,1\nNaN,0\n0.3,\n0.4,7\n0.2,0\n")
	prof := filepath.Join(t.TempDir(), "plain.prof")
	if code, _, errOut := run(t, "profile", "build", "--input", ref, "--out", prof); code != ExitOK {
		t.Fatal(errOut)
	}
	cols := []string{"--label", "y", "--score", "score", "--prediction", "pred"}
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"missing score column", []string{"--reference", ref, "--current", cur, "--label", "y", "--score", "nope", "--prediction", "pred"}, `score column "nope" not found`},
		{"missing label column", []string{"--reference", ref, "--current", cur, "--label", "nope", "--score", "score", "--prediction", "pred"}, `label column "nope" not found`},
		{"missing prediction in current", []string{"--reference", ref, "--current", writeFile(t, "c.csv", "score\n0.5\n"), "--label", "y", "--score", "score", "--prediction", "pred"}, `prediction column "pred" not found`},
		{"one class", append([]string{"--reference", oneClass, "--current", cur}, cols...), `holds one class only ("1")`},
		{"multiclass", append([]string{"--reference", multi, "--current", cur}, cols...), "has 3 classes"},
		{"unknown positive", append([]string{"--reference", ref, "--current", cur, "--positive", "yes"}, cols...), `positive class "yes" is not a class`},
		{"text scores", append([]string{"--reference", textScore, "--current", cur}, cols...), "is not numeric"},
		{"both chunk flags", append([]string{"--reference", ref, "--current", cur, "--chunks", "2", "--chunk-size", "3"}, cols...), "at most one of --chunk-size and --chunks"},
		{"too many chunks", append([]string{"--reference", ref, "--current", cur, "--chunks", "100"}, cols...), "cannot make 100 chunks"},
		{"calibration", append([]string{"--reference", ref, "--current", cur, "--calibration", "sometimes"}, cols...), `unknown calibration "sometimes"`},
		{"format", append([]string{"--reference", ref, "--current", cur, "--format", "pdf"}, cols...), `unknown --format "pdf"`},
		{"gate metric", append([]string{"--reference", ref, "--current", cur, "--require", "accuracy>=0.5"}, cols...), "estimate gates name an estimated metric"},
		{"gate syntax", append([]string{"--reference", ref, "--current", cur, "--require", "estimated.nope>=0.5"}, cols...), `unknown metric "estimated.nope"`},
		{"no columns", []string{"--reference", ref, "--current", cur}, "--label, --score and --prediction are required"},
		{"profile without estimator", []string{"--reference", prof, "--current", cur}, "holds no estimator"},
		{"missing file", append([]string{"--reference", ref + ".gone", "--current", cur}, cols...), "gone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := run(t, append([]string{"estimate"}, c.args...)...)
			if code != ExitUsage || !strings.Contains(errOut, c.msg) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, c.msg)
			}
		})
	}

	r := runEstimateJSON(t, ExitOK, append([]string{"--reference", ref, "--current", cur, "--chunk-size", "4", "--calibration", "never"}, cols...)...)
	// Rows 1..4: 1.5, -0.1 and the empty score are invalid; rows 5..8: NaN,
	// a missing and an unknown prediction are.
	if len(r.Chunks) != 2 || r.Chunks[0].Invalid != 3 || r.Chunks[1].Invalid != 3 {
		t.Fatalf("invalid per chunk: %+v", r.Chunks)
	}
	c := r.Chunks[0]
	if !relClose(c.Estimated["true_positive"], 0.9) || !relClose(c.Estimated["false_positive"], 0.1) || *c.Estimated["false_negative"] != 0 {
		t.Errorf("chunk 0 expected matrix from its one valid row: %v", c.Estimated)
	}
	// One row: the expected ROC curve is the diagonal (NannyML's too).
	if !relClose(c.Estimated["roc_auc"], 0.5) {
		t.Errorf("ROC AUC of one row: %v, want 0.5", c.Estimated["roc_auc"])
	}
}

// TestCheckEstimatedQuality: `check` with scores and predictions, a
// labelled reference and an unlabelled current adds quality.estimated.
func TestCheckEstimatedQuality(t *testing.T) {
	dir := shared.Dir(t, shared.California)
	ref := filepath.Join(dir, "california_housing_reference.csv")
	cur := filepath.Join(dir, "california_housing_analysis.csv")
	prof := filepath.Join(t.TempDir(), "ref.prof")
	if code, _, errOut := run(t, "profile", "build", "--input", ref, "--out", prof, "--label", "clf_target", "--score", "y_pred_proba", "--prediction", "y_pred"); code != ExitOK {
		t.Fatal(errOut)
	}
	// The whole file as one chunk, from `estimate`.
	whole := runEstimateJSON(t, ExitOK, "--reference", prof, "--current", cur)
	for _, reference := range []string{ref, prof} {
		code, out, errOut := run(t, "check", "--reference", reference, "--current", cur, "--label", "clf_target",
			"--score", "y_pred_proba", "--prediction", "y_pred", "--require", "estimated.accuracy>=0.6", "--require", "estimated.roc_auc>0.9")
		if code != ExitDrift {
			t.Fatalf("%s: exit %d: %s", reference, code, errOut)
		}
		var r struct {
			Quality struct {
				Task      string         `json:"task"`
				Estimated map[string]any `json:"estimated"`
				Accuracy  *float64       `json:"accuracy"`
			} `json:"quality"`
			Gates []struct {
				Pass bool `json:"pass"`
			} `json:"gates"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		est := r.Quality.Estimated
		if r.Quality.Task != "classification" || est == nil || r.Quality.Accuracy != nil {
			t.Fatalf("%s: quality %+v", reference, r.Quality)
		}
		for _, name := range []string{"roc_auc", "accuracy", "f1", "true_negative"} {
			if v, ok := est[name].(float64); !ok || !relClose(whole.Chunks[0].Estimated[name], v) {
				t.Errorf("%s: quality.estimated.%s = %v, estimate's whole-file %v", reference, name, est[name], *whole.Chunks[0].Estimated[name])
			}
		}
		if est["calibrated"] != true || est["rows"] != float64(8232) || est["sampling_error"] == nil {
			t.Errorf("%s: estimated %v", reference, est)
		}
		if len(r.Gates) != 2 || !r.Gates[0].Pass || r.Gates[1].Pass {
			t.Errorf("%s: gates %+v", reference, r.Gates)
		}
	}
}

// TestEstimateParquet: NannyML's California files as Parquet (label and
// prediction int64, score float64; a NaN score null) give the same report
// as the CSV files.
func TestEstimateParquet(t *testing.T) {
	dir := shared.Dir(t, shared.California)
	type refRow struct {
		Score float64 `parquet:"y_pred_proba"`
		Pred  int64   `parquet:"y_pred"`
		Label int64   `parquet:"clf_target"`
	}
	type curRow struct {
		Score float64 `parquet:"y_pred_proba"`
		Pred  int64   `parquet:"y_pred"`
	}
	cols := func(name string, names ...string) [][]string {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		idx := map[string]int{}
		for i, h := range recs[0] {
			idx[h] = i
		}
		out := make([][]string, len(recs)-1)
		for r, rec := range recs[1:] {
			for _, n := range names {
				out[r] = append(out[r], rec[idx[n]])
			}
		}
		return out
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var refRows []refRow
	for _, r := range cols("california_housing_reference.csv", "y_pred_proba", "y_pred", "clf_target") {
		refRows = append(refRows, refRow{num(r[0]), int64(num(r[1])), int64(num(r[2]))})
	}
	var curRows []curRow
	for _, r := range cols("california_housing_analysis.csv", "y_pred_proba", "y_pred") {
		curRows = append(curRows, curRow{num(r[0]), int64(num(r[1]))})
	}
	tmp := t.TempDir()
	refPQ, curPQ := filepath.Join(tmp, "ref.parquet"), filepath.Join(tmp, "cur.pq") // NannyML names its Parquet files .pq
	if err := parquet.WriteFile(refPQ, refRows); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(curPQ, curRows); err != nil {
		t.Fatal(err)
	}
	args := []string{"--label", "clf_target", "--score", "y_pred_proba", "--prediction", "y_pred", "--chunk-size", "5000"}
	_, fromCSV, _ := run(t, append([]string{"estimate", "--reference", filepath.Join(dir, "california_housing_reference.csv"),
		"--current", filepath.Join(dir, "california_housing_analysis.csv")}, args...)...)
	code, fromPQ, errOut := run(t, append([]string{"estimate", "--reference", refPQ, "--current", curPQ}, args...)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if fromCSV != fromPQ {
		t.Errorf("Parquet report differs from CSV:\n%s\n%s", fromPQ, fromCSV)
	}
}

// TestCheckEstimatedBadInput: `check` on an unlabelled current file exits 2
// with the reason when estimation is impossible.
func TestCheckEstimatedBadInput(t *testing.T) {
	ref := writeFile(t, "ref.csv", "x,score,pred,y\n1,0.9,1,1\n2,0.2,0,0\n3,0.7,1,0\n4,0.4,0,1\n5,0.8,1,1\n6,0.1,0,0\n")
	one := writeFile(t, "one.csv", "x,score,pred,y\n1,0.9,1,1\n2,0.2,0,1\n")
	cur := writeFile(t, "cur.csv", "x,score,pred\n1,0.9,1\n2,0.3,0\n")
	plain := filepath.Join(t.TempDir(), "plain.prof")
	if code, _, errOut := run(t, "profile", "build", "--input", ref, "--out", plain); code != ExitOK {
		t.Fatal(errOut)
	}
	est := filepath.Join(t.TempDir(), "est.prof")
	if code, _, errOut := run(t, "profile", "build", "--input", ref, "--out", est, "--label", "y", "--score", "score", "--prediction", "pred"); code != ExitOK {
		t.Fatal(errOut)
	}
	cols := []string{"--current", cur, "--label", "y", "--score", "score", "--prediction", "pred"}
	for _, c := range []struct {
		name string
		args []string
		msg  string
	}{
		{"profile without estimator", append([]string{"--reference", plain}, cols...), "holds no estimator"},
		{"one-class reference", append([]string{"--reference", one}, cols...), "holds one class only"},
		{"other score column", []string{"--reference", est, "--current", cur, "--label", "y", "--score", "x", "--prediction", "pred"}, `fitted on score "score"`},
		{"profile build half the columns", nil, "--score needs --label and --prediction"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"check"}, c.args...)
			if c.args == nil {
				args = []string{"profile", "build", "--input", ref, "--out", filepath.Join(t.TempDir(), "p"), "--label", "y", "--score", "score"}
			}
			code, _, errOut := run(t, args...)
			if code != ExitUsage || !strings.Contains(errOut, c.msg) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, c.msg)
			}
		})
	}
}

// TestEstimateMulticlass runs `estimate` with --score CLASS=COLUMN,... on
// the multiclass goldens (NannyML's multiclass code, transcribed into
// cbpe/testdata/goldens.py), classes named by letters: the report equals
// the goldens, from a raw reference and from a profile; bad class specs
// exit 2.
func TestEstimateMulticlass(t *testing.T) {
	data, err := os.ReadFile("../cbpe/testdata/goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Multiclass []struct {
			RefScore  [][]float64         `json:"ref_score"`
			RefLabel  []int               `json:"ref_label"`
			RefPred   []int               `json:"ref_pred"`
			CurScore  [][]float64         `json:"cur_score"`
			CurPred   []int               `json:"cur_pred"`
			CurLabel  []int               `json:"cur_label"`
			Estimated map[string]float64  `json:"estimated"`
			Realized  map[string]*float64 `json:"realized"`
		} `json:"multiclass"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	c := g.Multiclass[0]
	names := []string{"cat", "dog", "eel"}
	write := func(name string, scores [][]float64, preds, labels []int) string {
		var b strings.Builder
		b.WriteString("p_cat,p_dog,p_eel,pred,y\n")
		for i := range preds {
			for k := range scores {
				b.WriteString(strconv.FormatFloat(scores[k][i], 'g', -1, 64) + ",")
			}
			b.WriteString(names[preds[i]] + "," + names[labels[i]] + "\n")
		}
		return writeFile(t, name, b.String())
	}
	ref := write("ref.csv", c.RefScore, c.RefPred, c.RefLabel)
	cur := write("cur.csv", c.CurScore, c.CurPred, c.CurLabel)
	spec := "eel=p_eel,cat=p_cat,dog=p_dog"
	r := runEstimateJSON(t, ExitOK, "--reference", ref, "--current", cur, "--label", "y", "--score", spec, "--prediction", "pred")
	if len(r.Chunks) != 1 || r.Positive != "" || !r.Calibrated {
		t.Fatalf("report %+v", r)
	}
	ch := r.Chunks[0]
	for name, want := range c.Estimated {
		if !relClose(ch.Estimated[name], want) {
			t.Errorf("estimated %s = %v, golden %v", name, ch.Estimated[name], want)
		}
	}
	if ch.Estimated["true_positive"] != nil {
		t.Error("multiclass true_positive should be null")
	}
	for name, want := range c.Realized {
		got := ch.Realized[name]
		if want == nil && got != nil || want != nil && !relClose(got, *want) {
			t.Errorf("realized %s = %v, golden %v", name, got, want)
		}
	}
	prof := filepath.Join(t.TempDir(), "mc.prof")
	if code, _, errOut := run(t, "profile", "build", "--input", ref, "--out", prof, "--label", "y", "--score", spec, "--prediction", "pred"); code != ExitOK {
		t.Fatal(errOut)
	}
	if code, out, _ := run(t, "check", "--reference", prof, "--current", ref); code == ExitUsage || strings.Contains(out, `"p_cat"`) {
		t.Errorf("profile holds the score columns as features (exit %d)", code)
	}
	_, a, _ := run(t, "estimate", "--reference", ref, "--current", cur, "--label", "y", "--score", spec, "--prediction", "pred", "--chunks", "3", "--format", "markdown")
	_, b, _ := run(t, "estimate", "--reference", prof, "--current", cur, "--chunks", "3", "--format", "markdown", "--score", "dog=p_dog, cat=p_cat,eel=p_eel")
	if a != b || !strings.Contains(a, "classes cat, dog, eel") {
		t.Errorf("profile REF differs or classes missing:\n%s\n%s", a, b)
	}
	code, html, errOut := run(t, "estimate", "--reference", prof, "--current", cur, "--chunks", "3", "--format", "html")
	// Realized ROC AUC is null here (the drifted scores do not sum to 1), so
	// six of the seven charts have a realized line.
	if code != ExitOK || strings.Count(html, `class="band"`) != 7 || strings.Count(html, `<path class="realized"`) != 6 || !strings.Contains(html, "3 (macro)") {
		t.Errorf("multiclass html: exit %d %s: bands %d realized %d macro %v", code, errOut, strings.Count(html, `class="band"`), strings.Count(html, `<path class="realized"`), strings.Contains(html, "3 (macro)"))
	}
	// check on the unlabelled current file: quality.estimated as estimate's
	// whole-file chunk, and the score columns are not features.
	code, out, errOut := run(t, "check", "--reference", ref, "--current", stripLastColumn(t, cur), "--label", "y", "--score", spec, "--prediction", "pred")
	if code == ExitUsage {
		t.Fatalf("check: %s", errOut)
	}
	var chk struct {
		Features []struct{ Name string } `json:"features"`
		Quality  struct {
			Estimated map[string]any `json:"estimated"`
		} `json:"quality"`
	}
	if err := json.Unmarshal([]byte(out), &chk); err != nil {
		t.Fatal(err)
	}
	if len(chk.Features) != 0 {
		t.Errorf("score, prediction or label columns checked as features: %+v", chk.Features)
	}
	if v, ok := chk.Quality.Estimated["f1"].(float64); !ok || !relClose(&v, c.Estimated["f1"]) {
		t.Errorf("check quality.estimated.f1 = %v, golden %v", chk.Quality.Estimated["f1"], c.Estimated["f1"])
	}
	for _, bad := range []struct{ spec, msg string }{
		{"cat=p_cat,dog=p_dog", `--score names classes ["cat" "dog"] but label column "y"`},
		{"cat=p_cat,dog=p_dog,eel=nope", `score column "nope" not found`},
		{"cat=p_cat,cat=p_dog,eel=p_eel", `names class "cat" twice`},
		{"cat=p_cat,dog,eel=p_eel", `"dog" is not CLASS=COLUMN`},
	} {
		code, _, errOut := run(t, "estimate", "--reference", ref, "--current", cur, "--label", "y", "--score", bad.spec, "--prediction", "pred")
		if code != ExitUsage || !strings.Contains(errOut, bad.msg) {
			t.Errorf("--score %q: exit %d, %q; want 2 and %q", bad.spec, code, errOut, bad.msg)
		}
	}
}

// stripLastColumn writes a copy of a CSV file without its last column.
func stripLastColumn(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		b.WriteString(line[:strings.LastIndex(line, ",")] + "\n")
	}
	return writeFile(t, "stripped.csv", b.String())
}

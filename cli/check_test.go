package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"driftwatch/profile"
)

// run runs the CLI in-process and returns exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, Env{Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// genCSV writes n rows of x (normal, mean shift), c (categorical) and y/score.
func genCSV(t *testing.T, name string, n int, shift float64, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("x,z,c,y,score\n")
	for range n {
		x := r.NormFloat64() + shift
		c := []string{"a", "b", "c"}[r.IntN(3)]
		score := 1 / (1 + math.Exp(-x))
		y := 0
		if r.Float64() < score {
			y = 1
		}
		fmt.Fprintf(&b, "%.6f,%.6f,%s,%d,%.6f\n", x, r.ExpFloat64(), c, y, score)
	}
	return writeFile(t, name, b.String())
}

type jsonReport struct {
	ReferenceRows   int  `json:"reference_rows"`
	CurrentRows     int  `json:"current_rows"`
	DriftDetected   bool `json:"drift_detected"`
	DriftedFeatures int  `json:"drifted_features"`
	Features        []struct {
		Name        string                     `json:"name"`
		Kind        string                     `json:"kind"`
		Drift       bool                       `json:"drift"`
		Test        string                     `json:"test"`
		Statistics  map[string]json.RawMessage `json:"statistics"`
		DataQuality struct {
			NullRate         float64  `json:"null_rate"`
			Invalid          int      `json:"invalid"`
			OutOfRangeRate   float64  `json:"out_of_range_rate"`
			UnseenCategories []string `json:"unseen_categories"`
		} `json:"data_quality"`
	} `json:"features"`
	Quality map[string]any `json:"quality"`
	Gates   []struct {
		Expr string `json:"expr"`
		Pass bool   `json:"pass"`
	} `json:"gates"`
}

func decode(t *testing.T, s string) jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, s)
	}
	return r
}

func TestCheckExitCodes(t *testing.T) {
	ref := genCSV(t, "ref.csv", 3000, 0, 1)
	same := genCSV(t, "same.csv", 2000, 0, 2)
	shifted := genCSV(t, "shift.csv", 2000, 0.5, 3)

	code, out, errs := run(t, "check", "--reference", ref, "--current", same)
	if code != ExitOK {
		t.Fatalf("no drift: exit %d, stderr %s, out %s", code, errs, out)
	}
	r := decode(t, out)
	if r.ReferenceRows != 3000 || r.CurrentRows != 2000 || r.DriftDetected || len(r.Features) != 5 {
		t.Fatalf("unexpected report: %+v", r)
	}

	code, out, _ = run(t, "check", "--reference", ref, "--current", shifted, "--label", "y", "--score", "score")
	if code != ExitDrift {
		t.Fatalf("shifted: exit %d, want 1", code)
	}
	r = decode(t, out)
	if len(r.Features) != 3 {
		t.Fatalf("label and score must not be features: %d features", len(r.Features))
	}
	byName := map[string]bool{}
	for _, f := range r.Features {
		byName[f.Name] = f.Drift
		if f.Name == "x" && (f.Kind != "numeric" || f.Test != "wasserstein") {
			t.Fatalf("x: kind %s test %s", f.Kind, f.Test)
		}
		if f.Name == "c" && (f.Kind != "categorical" || f.Test != "jensen_shannon") {
			t.Fatalf("c: kind %s test %s", f.Kind, f.Test)
		}
	}
	if !byName["x"] || byName["z"] || byName["c"] {
		t.Fatalf("drift flags: %v", byName)
	}
	for _, k := range []string{"accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc", "log_loss", "brier", "ece"} {
		if _, ok := r.Quality[k]; !ok {
			t.Fatalf("quality lacks %s: %v", k, r.Quality)
		}
	}

	// Gates decide alone when there is no drift.
	code, out, _ = run(t, "check", "--reference", ref, "--current", same, "--label", "y", "--score", "score",
		"--require", "roc_auc>=0.6", "--require", "accuracy>=0.99")
	r = decode(t, out)
	if code != ExitDrift || len(r.Gates) != 2 || !r.Gates[0].Pass || r.Gates[1].Pass {
		t.Fatalf("gates: exit %d %+v", code, r.Gates)
	}
	code, _, _ = run(t, "check", "--reference", ref, "--current", same, "--label", "y", "--score", "score", "--require", "roc_auc>=0.6")
	if code != ExitOK {
		t.Fatalf("passing gate: exit %d", code)
	}
}

func TestCheckStatisticsKeys(t *testing.T) {
	ref := genCSV(t, "ref.csv", 500, 0, 1)
	cur := genCSV(t, "cur.csv", 400, 0, 2)
	_, out, _ := run(t, "check", "--reference", ref, "--current", cur)
	r := decode(t, out)
	for _, f := range r.Features {
		var want []string
		if f.Kind == "numeric" {
			want = []string{"psi", "ks", "wasserstein", "jensen_shannon", "hellinger"}
			if f.Test != "ks" {
				t.Fatalf("%s: small reference must decide by ks, got %s", f.Name, f.Test)
			}
		} else {
			want = []string{"psi", "chi_square", "jensen_shannon"}
			if f.Test != "chi_square" {
				t.Fatalf("%s: small reference must decide by chi_square, got %s", f.Name, f.Test)
			}
		}
		if len(f.Statistics) != len(want) {
			t.Fatalf("%s: statistics %v, want %v", f.Name, keys(f.Statistics), want)
		}
		for _, k := range want {
			if _, ok := f.Statistics[k]; !ok {
				t.Fatalf("%s: missing %s", f.Name, k)
			}
		}
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCheckBinaryCategoricalUsesZ(t *testing.T) {
	ref := writeFile(t, "ref.csv", "flag\n"+strings.Repeat("yes\nno\n", 200))
	cur := writeFile(t, "cur.csv", "flag\n"+strings.Repeat("yes\nyes\nno\n", 100))
	code, out, _ := run(t, "check", "--reference", ref, "--current", cur)
	r := decode(t, out)
	f := r.Features[0]
	if f.Test != "z" || !f.Drift || code != ExitDrift {
		t.Fatalf("binary feature: test %s drift %v exit %d", f.Test, f.Drift, code)
	}
}

func TestCheckDataQuality(t *testing.T) {
	ref := writeFile(t, "ref.csv", "x,c\n1,a\n2,b\n3,a\n4,b\n5,a\n")
	cur := writeFile(t, "cur.csv", "x,c\n1,a\noops,b\n,zzz\nNaN,<script>\ninf,a\n-inf,a\n3,\n10,b\n")
	_, out, errs := run(t, "check", "--reference", ref, "--current", cur)
	r := decode(t, out)
	if len(r.Features) != 2 {
		t.Fatalf("features: %s %s", out, errs)
	}
	x, c := r.Features[0], r.Features[1]
	// Rows: 8. x: "oops" invalid; "" and NaN null; inf, -inf, 10 out of range of [1,5].
	if x.DataQuality.Invalid != 1 || x.DataQuality.NullRate != 2.0/8 || x.DataQuality.OutOfRangeRate != 3.0/5 {
		t.Fatalf("x quality: %+v", x.DataQuality)
	}
	if got := strings.Join(c.DataQuality.UnseenCategories, ","); got != "<script>,zzz" || c.DataQuality.NullRate != 1.0/8 {
		t.Fatalf("c quality: %+v", c.DataQuality)
	}
}

func TestCheckMissingFeatureIsSchemaDrift(t *testing.T) {
	ref := writeFile(t, "ref.csv", "x,y\n1,2\n2,3\n3,4\n")
	cur := writeFile(t, "cur.csv", "x\n1\n2\n3\n")
	code, out, _ := run(t, "check", "--reference", ref, "--current", cur)
	r := decode(t, out)
	if code != ExitDrift || r.Features[1].Name != "y" || r.Features[1].Test != "missing" || !r.Features[1].Drift {
		t.Fatalf("exit %d, %+v", code, r.Features)
	}
}

func TestCheckBadInput(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, "good.csv", "x\n1\n2\n")
	empty := writeFile(t, "empty.csv", "")
	ragged := writeFile(t, "ragged.csv", "x,y\n1,2\n3\n")
	unknown := writeFile(t, "data.xlsx", "x\n1\n")
	missing := filepath.Join(dir, "nope.csv")
	f := func(args []string, want string) {
		t.Helper()
		code, out, errs := run(t, args...)
		if code != ExitUsage {
			t.Fatalf("%v: exit %d, want 2 (stdout %q)", args, code, out)
		}
		if got := strings.TrimSpace(errs); got != want {
			t.Fatalf("%v:\n got %q\nwant %q", args, got, want)
		}
	}
	f([]string{"check", "--reference", missing, "--current", good},
		fmt.Sprintf(`driftwatch: dataset: cannot open %q: open %s: no such file or directory`, missing, missing))
	f([]string{"check", "--reference", good, "--current", empty}, fmt.Sprintf(`driftwatch: dataset: %q is empty`, empty))
	f([]string{"check", "--reference", ragged, "--current", good}, fmt.Sprintf(`driftwatch: dataset: %q line 3: expected 2 fields, got 1`, ragged))
	f([]string{"check", "--reference", unknown, "--current", good},
		fmt.Sprintf(`driftwatch: dataset: %q: unknown input format "xlsx" (want csv, parquet, arrow or jsonl)`, unknown))
	f([]string{"check", "--reference", good}, "driftwatch: check: --reference and --current are required")
	f([]string{"check", "--reference", good, "--current", good, "--format", "xml"}, `driftwatch: check: unknown --format "xml" (want json, markdown or html)`)
	f([]string{"check", "--reference", good, "--current", good, "--require", "f2>=1"},
		`driftwatch: detectors: gate "f2>=1": unknown metric "f2" (want one of accuracy, precision_macro, recall_macro, f1_macro, roc_auc, log_loss, brier, ece, mae, rmse, mape, mean_error, r2, drifted_features, drift_share, multivariate, or estimated.METRIC with METRIC one of roc_auc, accuracy, f1, precision, recall, specificity, average_precision, true_positive, false_positive, false_negative, true_negative)`)
	f([]string{"frobnicate"}, "driftwatch: unknown command \"frobnicate\"\n\n"+strings.TrimSpace(usage))
	// An LZ4-compressed stream written by arrow-js 21.2.0 (the compressed
	// length in each buffer's prefix; interop/node/producer.mjs lz4).
	js := "../testdata/arrowjs/lz4_21.2.0.arrows"
	f([]string{"check", "--reference", js, "--current", js}, fmt.Sprintf(`driftwatch: dataset: %q: cannot read arrow: `+
		`lz4-compressed buffer 4 of the message at offset 1672 declares 29 uncompressed bytes in its 8-byte prefix but decompresses to 800: `+
		`the writer put another length there (arrow-js up to 21.2.0 writes the compressed length); `+
		`write Arrow IPC without body compression and compress on the Kafka producer instead`, js))
}

func TestProfileMatchesRawReference(t *testing.T) {
	ref := genCSV(t, "ref.csv", 4000, 0, 7)
	cur := genCSV(t, "cur.csv", 3000, 0.05, 8)
	prof := filepath.Join(t.TempDir(), "ref.dwprof")
	// The outcome columns are excluded from the profile as --label and
	// --score exclude them from the raw reference: the multivariate model
	// is fitted on the profile's features.
	if code, _, errs := run(t, "profile", "build", "--input", ref, "--out", prof, "--exclude", "y,score"); code != ExitOK {
		t.Fatalf("profile build: %d %s", code, errs)
	}
	_, raw, _ := run(t, "check", "--reference", ref, "--current", cur, "--label", "y", "--score", "score")
	if !strings.Contains(raw, `"method": "pca_reconstruction"`) {
		t.Fatalf("no multivariate section:\n%s", raw)
	}
	_, fromProfile, _ := run(t, "check", "--reference", prof, "--current", cur, "--label", "y", "--score", "score")
	if raw != fromProfile {
		t.Fatalf("profile and raw reference differ:\n%s\n---\n%s", raw, fromProfile)
	}
}

func TestMarkdownReport(t *testing.T) {
	ref := genCSV(t, "ref.csv", 2000, 0, 1)
	cur := genCSV(t, "cur.csv", 2000, 1, 2)
	code, out, _ := run(t, "check", "--reference", ref, "--current", cur, "--format", "markdown")
	if code != ExitDrift || !strings.Contains(out, "Drift detected") || !strings.Contains(out, "| `x` | numeric | **yes** | wasserstein |") {
		t.Fatalf("markdown:\n%s", out)
	}
}

func TestDemo(t *testing.T) {
	code, out, errs := run(t, "demo", "--batch")
	if code != ExitOK {
		t.Fatalf("demo: exit %d: %s", code, errs)
	}
	for _, want := range []string{"Drift detected", "`income`", "`utilization`", "roc_auc"} {
		if !strings.Contains(out, want) {
			t.Fatalf("demo output lacks %q:\n%s", want, out)
		}
	}
}

func TestConfigCommands(t *testing.T) {
	code, example, _ := run(t, "config", "example")
	if code != ExitOK || !strings.Contains(example, "embedded_addr: 127.0.0.1:9092") {
		t.Fatalf("config example: %d", code)
	}
	p := writeFile(t, "dw.yaml", example)
	if code, out, errs := run(t, "config", "check", p); code != ExitOK || out != p+": valid, 1 model\n" {
		t.Fatalf("config check: %d %q %q", code, out, errs)
	}
	two := writeFile(t, "two.yaml", strings.Replace(example, "models:\n", "models:\n  - {name: second, task: regression, versions: [{name: v1, reference: credit.dwprof}]}\n", 1))
	if code, out, errs := run(t, "config", "check", two); code != ExitOK || out != two+": valid, 2 models\n" {
		t.Fatalf("config check of two models: %d %q %q", code, out, errs)
	}
	bad := writeFile(t, "bad.yaml", "models: []\nkafka:\n  group: g\n  brokrs: [x]\n")
	if code, _, errs := run(t, "config", "check", bad); code != ExitUsage || errs != fmt.Sprintf("driftwatch: config: %q: line 4: unknown key \"brokrs\"\n", bad) {
		t.Fatalf("config check bad: %d %q", code, errs)
	}
}

// A 0/1 prediction or label column is profiled as a class (serve compares
// it with the class text of events), with a note; --numeric keeps it a
// number; other numeric columns, and a prediction with more values, stay
// numeric.
func TestProfileBuildBinaryOutputs(t *testing.T) {
	var b strings.Builder
	b.WriteString("income,prediction,label,score,flag,pred3\n")
	for i := range 200 {
		fmt.Fprintf(&b, "%d.5,%d,%d,0.%02d,%d,%d\n", 40+i%30, i%2, (i/3)%2, i%100, i%2, i%3)
	}
	in := writeFile(t, "ref.csv", b.String())
	kinds := func(args ...string) (map[string]profile.Kind, string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "p.dwprof")
		code, _, errs := run(t, append([]string{"profile", "build", "--input", in, "--out", out}, args...)...)
		if code != ExitOK {
			t.Fatalf("profile build %v: exit %d: %s", args, code, errs)
		}
		p, err := profile.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		k := map[string]profile.Kind{}
		for _, f := range p.Features {
			k[f.Name] = f.Kind
		}
		return k, errs
	}
	k, errs := kinds()
	if k["prediction"] != profile.Categorical || k["label"] != profile.Categorical || k["flag"] != profile.Numeric ||
		k["income"] != profile.Numeric || k["score"] != profile.Numeric {
		t.Fatalf("kinds %v", k)
	}
	for _, c := range []string{"prediction", "label"} {
		if want := fmt.Sprintf("driftwatch: profile build: column %q holds two integer values at most: profiled as categorical (a class); --numeric %s keeps it numeric", c, c); !strings.Contains(errs, want) {
			t.Fatalf("stderr %q lacks %q", errs, want)
		}
	}
	if k, _ = kinds("--numeric", "prediction"); k["prediction"] != profile.Numeric || k["label"] != profile.Categorical {
		t.Fatalf("--numeric prediction: kinds %v", k)
	}
	if k, _ = kinds("--prediction", "pred3", "--label", "flag"); k["pred3"] != profile.Numeric || k["flag"] != profile.Categorical || k["prediction"] != profile.Numeric {
		t.Fatalf("--prediction pred3 --label flag: kinds %v", k)
	}
	// An excluded column is no feature: nothing to say about it.
	if _, errs = kinds("--exclude", "prediction"); strings.Contains(errs, `column "prediction"`) || !strings.Contains(errs, `column "label"`) {
		t.Fatalf("--exclude prediction: stderr %q", errs)
	}
}

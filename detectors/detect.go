package detectors

import (
	"math"
	"sort"

	"driftwatch/dataset"
	"driftwatch/profile"
	"driftwatch/stats"
)

// maxUnseenListed bounds the unseen categories listed per feature; the
// share of unseen values is in the histogram regardless.
const maxUnseenListed = 100

// Compare tests every feature of ref against cur and decides drift.
// Features the config marks ignore (label, prediction, score) are skipped.
// Features are evaluated in parallel, one per core at a time.
func Compare(ref *profile.Profile, cur *dataset.Table, cfg Config) *Report {
	r := &Report{ReferenceRows: ref.Rows, CurrentRows: cur.Rows}
	var feats []*profile.Feature
	for _, f := range ref.Features {
		if !cfg.Features[f.Name].Ignore {
			feats = append(feats, f)
		}
	}
	r.Features = make([]FeatureResult, len(feats))
	stats.Parallel(len(feats), func(i int) {
		r.Features[i] = evaluate(feats[i], cur.Column(feats[i].Name), cur.Rows, &cfg)
	})
	for _, f := range r.Features {
		if f.Drift {
			r.DriftedFeatures++
		}
	}
	share := 0.0
	if len(r.Features) > 0 {
		share = float64(r.DriftedFeatures) / float64(len(r.Features))
	}
	r.DriftShare = Float(share)
	if cfg.DriftShare > 0 {
		r.DriftDetected = r.DriftedFeatures > 0 && share >= cfg.DriftShare
	} else {
		r.DriftDetected = r.DriftedFeatures > 0
	}
	return r
}

func evaluate(ref *profile.Feature, cur *dataset.Column, rows int, cfg *Config) FeatureResult {
	res := FeatureResult{Name: ref.Name, Kind: string(ref.Kind)}
	if cur == nil {
		res.Drift, res.Test = true, TestMissing
		res.DataQuality = DataQuality{NullRate: 1, OutOfRangeRate: 0, UnseenCategories: []string{}}
		return res
	}
	th := cfg.thresholds(ref.Name)
	if ref.Kind == profile.Numeric {
		evaluateNumeric(&res, ref, cur, rows, cfg, th)
	} else {
		evaluateCategorical(&res, ref, cur, rows, cfg, th)
	}
	return res
}

func above(v, t float64) bool  { return v >= t } // NaN never drifts on a distance
func pBelow(p, t float64) bool { return p < t }

func evaluateNumeric(res *FeatureResult, ref *profile.Feature, cur *dataset.Column, rows int, cfg *Config, th Thresholds) {
	vals := profile.NonNull(cur.Num, nil)
	nulls := len(cur.Num) - len(vals) - cur.Invalid
	res.DataQuality = DataQuality{
		NullRate:         Float(rate(nulls, rows)),
		Invalid:          cur.Invalid,
		OutOfRangeRate:   Float(outOfRange(vals, ref)),
		UnseenCategories: []string{},
	}
	res.Edges = ref.Edges
	res.RefCounts = ref.Counts
	res.CurCounts = make([]float64, len(ref.Counts))

	nRef, nCur := float64(ref.Values), float64(len(vals))
	psiT := th.PSI
	if cfg.PSIAuto {
		psiT = stats.PSIThreshold(cfg.PSIAlpha, len(ref.Counts), nRef, nCur)
	}
	nan := math.NaN()
	psi, js, hel := nan, nan, nan
	d, p, w, wn := nan, nan, nan, nan
	if ref.Values > 0 && len(vals) > 0 {
		// From a sample the statistic is within 1/(len−1) of the exact
		// one; the p-value uses the true n either way. The histogram comes
		// from the same bucketing pass over the current values.
		d, w = stats.KSWassersteinHistogram(ref.Sample, vals, ref.Edges, res.CurCounts)
		d, p = stats.KS2SampPValue(d, ref.Values, len(vals))
		wn = stats.NormalizedWasserstein(w, ref.Summary.Std)
		psi = stats.PSI(ref.Counts, res.CurCounts, cfg.PSIEpsilon)
		js = stats.JensenShannon(ref.Counts, res.CurCounts)
		hel = stats.Hellinger(ref.Counts, res.CurCounts)
	} else if len(ref.Edges) > 0 {
		stats.Histogram(res.CurCounts, ref.Edges, vals)
	}
	s := &res.Statistics
	s.PSI = &ValueStat{Value: Float(psi), Threshold: Float(psiT), Drift: above(psi, psiT)}
	s.KS = &PValueStat{Statistic: Float(d), PValue: Float(p), Threshold: Float(th.KS), Drift: pBelow(p, th.KS)}
	s.Wasserstein = &WassersteinStat{Value: Float(w), Normalized: Float(wn), Threshold: Float(th.Wasserstein), Drift: above(wn, th.Wasserstein)}
	s.JensenShannon = &ValueStat{Value: Float(js), Threshold: Float(th.JS), Drift: above(js, th.JS)}
	s.Hellinger = &ValueStat{Value: Float(hel), Threshold: Float(th.Hellinger), Drift: above(hel, th.Hellinger)}

	res.Test = cfg.DecidingTest(ref.Name, ref.Kind, ref.Rows, false)
	res.Drift = decide(res)
	if ref.Values > 0 && len(vals) == 0 {
		// Every current value is null: nothing to compare, and that is
		// itself a change the gate must not pass.
		res.Drift = true
	}
}

func evaluateCategorical(res *FeatureResult, ref *profile.Feature, cur *dataset.Column, rows int, cfg *Config, th Thresholds) {
	k := len(ref.Categories)
	index := make(map[string]int, k)
	for i, c := range ref.Categories {
		index[c] = i
	}
	// Counts over the reference categories plus one unseen bucket.
	refCounts := append(append(make([]float64, 0, k+1), ref.CatCounts...), 0)
	curCounts := make([]float64, k+1)
	unseen := map[string]float64{}
	nulls := 0
	for i, v := range cur.Str {
		if cur.Null != nil && cur.Null[i] {
			nulls++
			continue
		}
		if j, ok := index[v]; ok {
			curCounts[j]++
		} else {
			curCounts[k]++
			unseen[v]++
		}
	}
	list := make([]string, 0, len(unseen))
	for v := range unseen {
		list = append(list, v)
	}
	sort.Strings(list)
	// Chi-square gives every unseen category its own column, in name
	// order (the stream builds the same table, so the two agree bit for bit).
	unseenCounts := make([]float64, len(list))
	for i, v := range list {
		unseenCounts[i] = unseen[v]
	}
	if len(list) > maxUnseenListed {
		list = list[:maxUnseenListed]
	}
	res.DataQuality = DataQuality{NullRate: Float(rate(nulls, rows)), Invalid: cur.Invalid, UnseenCategories: list}
	res.Categories = ref.Categories
	res.RefCounts, res.CurCounts = refCounts, curCounts

	nRef, nCur := sum(refCounts), sum(curCounts)
	nan := math.NaN()
	psi, js, chi, pchi := nan, nan, nan, nan
	dof := 0
	if nRef > 0 && nCur > 0 {
		psi = stats.PSI(refCounts, curCounts, cfg.PSIEpsilon)
		js = stats.JensenShannon(refCounts, curCounts)
		chi, dof, pchi = stats.ChiSquareUnseen(ref.CatCounts, curCounts, unseenCounts)
	}
	psiT := th.PSI
	if cfg.PSIAuto {
		psiT = stats.PSIThreshold(cfg.PSIAlpha, len(refCounts), nRef, nCur)
	}
	s := &res.Statistics
	s.PSI = &ValueStat{Value: Float(psi), Threshold: Float(psiT), Drift: above(psi, psiT)}
	s.JensenShannon = &ValueStat{Value: Float(js), Threshold: Float(th.JS), Drift: above(js, th.JS)}
	s.ChiSquare = &ChiSquareStat{Statistic: Float(chi), DOF: dof, PValue: Float(pchi), Threshold: Float(th.ChiSquare), Drift: pBelow(pchi, th.ChiSquare)}
	binary := k == 2
	if binary {
		// The share of the second category (by name: "1", "true", "yes")
		// is compared, current minus reference: z > 0 when the share rose.
		// |z| and p depend on neither choice.
		z, pz := nan, nan
		if nRef > 0 && nCur > 0 {
			z, pz = stats.TwoProportionZ(curCounts[1], nCur, refCounts[1], nRef)
		}
		s.Z = &PValueStat{Statistic: Float(z), PValue: Float(pz), Threshold: Float(th.Z), Drift: pBelow(pz, th.Z)}
	}

	res.Test = cfg.DecidingTest(ref.Name, ref.Kind, ref.Rows, binary)
	res.Drift = decide(res)
	if nRef > 0 && nCur == 0 {
		res.Drift = true
	}
}

// decide returns the drift flag of the deciding test.
func decide(res *FeatureResult) bool {
	s := &res.Statistics
	switch res.Test {
	case TestPSI:
		return s.PSI.Drift
	case TestKS:
		return s.KS.Drift
	case TestWasserstein:
		return s.Wasserstein.Drift
	case TestJS:
		return s.JensenShannon.Drift
	case TestHellinger:
		return s.Hellinger.Drift
	case TestChiSquare:
		return s.ChiSquare.Drift
	case TestZ:
		return s.Z.Drift
	}
	return false
}

func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// outOfRange is the share of non-null current values outside the
// reference's finite [min, max].
func outOfRange(vals []float64, ref *profile.Feature) float64 {
	if len(vals) == 0 || ref.Summary.N == 0 {
		return 0
	}
	out := 0
	for _, x := range vals {
		if x < ref.Summary.Min || x > ref.Summary.Max {
			out++
		}
	}
	return float64(out) / float64(len(vals))
}

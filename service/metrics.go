package service

import (
	"math"
	"strconv"
	"time"

	"driftwatch/metrics"
	"driftwatch/monitor"
	"driftwatch/profile"
)

// observeBatch records how long handling a fetch took since start.
func (s *Service) observeBatch(topic string, start time.Time) {
	s.topics[topic].Batch().Update(s.opt.Now().Sub(start).Seconds())
}

// versionMetrics exports a version's evaluation. A statistic that is NaN
// (not computable yet) leaves its series as it was, or absent.
func (s *Service) versionMetrics(v *version, ev *monitor.Evaluation, verdicts []verdict, lastEvent time.Time) {
	mt, lbl := s.metrics, metrics.Labels("model", v.model.name, "version", v.name)
	set := func(f *metrics.Family, labels string, x float64) {
		if !math.IsNaN(x) {
			f.Gauge(labels).Set(x)
		}
	}
	mt.WindowEvents.Gauge(lbl).Set(ev.Events)
	mt.WindowOutcomes.Gauge(lbl).Set(ev.Joined)
	if !lastEvent.IsZero() {
		mt.ModelLastEventTimestampSeconds.Gauge(lbl).Set(float64(lastEvent.UnixMilli()) / 1e3)
	}
	if ev.Scored > 0 {
		mt.ModelHighConfidenceShare.Gauge(lbl).Set(ev.HighConfidenceShare)
	}
	if ev.Joined > 0 {
		if v.model.regression {
			mt.ModelMAE.Gauge(lbl).Set(ev.MAE)
			mt.ModelRMSE.Gauge(lbl).Set(ev.RMSE)
		} else {
			mt.ModelAccuracy.Gauge(lbl).Set(ev.Accuracy)
			set(mt.ModelF1, lbl, ev.F1)
			set(mt.ModelAUC, lbl, ev.AUC)
			set(mt.ModelECE, lbl, ev.ECE)
		}
	}
	for i := range ev.Features {
		f := &ev.Features[i]
		fl := lbl + "," + metrics.Labels("feature", f.Name)
		set(mt.FeaturePSI, fl, f.PSI)
		set(mt.FeatureJensenShannon, fl, f.JS)
		set(mt.FeatureNullRate, fl, f.NullRate)
		set(mt.FeatureMissingRate, fl, f.MissingRate)
		set(mt.FeatureInvalidRate, fl, f.InvalidRate)
		drift := 0.0
		if verdicts[i].drift() {
			drift = 1
		}
		set(mt.FeatureDrift, fl, drift)
		set(mt.FeatureValues, fl, f.Values)
		if f.Name == s.cfg.Fields.Score && f.Kind == profile.Numeric {
			setScoreShares(mt.WindowScoreShare, lbl, f)
		}
		if f.Kind == profile.Numeric {
			set(mt.FeatureKS, fl, f.KS)
			set(mt.FeatureWasserstein, fl, f.Wasserstein)
			set(mt.FeatureOutOfRangeRate, fl, f.OutOfRangeRate)
		} else {
			set(mt.FeatureUnseenShare, fl, f.UnseenShare)
		}
	}
}

// setScoreShares exports the window's score distribution as cumulative
// shares below the upper edges of the reference's PSI bins (bin i is
// [e(i−1), e(i))). The label is lt, not le: promtool reserves le for
// histograms; a dashboard renames it for Grafana's heatmap.
func setScoreShares(fam *metrics.Family, lbl string, f *monitor.FeatureStats) {
	var n float64
	for _, c := range f.Current {
		n += c
	}
	if n == 0 || len(f.Current) != len(f.Edges)+1 {
		return
	}
	var cum float64
	for i, c := range f.Current {
		cum += c
		lt := "+Inf"
		if i < len(f.Edges) {
			lt = strconv.FormatFloat(f.Edges[i], 'g', -1, 64)
		}
		// Repeated edges (ties) name one gauge; the last, largest share is
		// the share below that edge.
		fam.Gauge(lbl + "," + metrics.Labels("lt", lt)).Set(cum / n)
	}
}

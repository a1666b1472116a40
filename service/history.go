package service

import (
	"time"

	"driftwatch/monitor"
	"driftwatch/statuspage"
)

// historyLen is how many evaluations a version remembers for the charts of
// recent windows: two hours at the default 30 s interval, ~30 KB per
// version of 20 features.
const historyLen = 240

// Point is one past evaluation of a model version, compact enough to keep
// many; VersionStatus is what a status page shows of one version. They are
// the status page's own types, so a snapshot needs no conversion.
type (
	Point         = statuspage.Point
	VersionStatus = statuspage.Version
)

// record appends ev to the version's history, dropping the oldest point
// once full. The caller holds v.mu.
func (v *version) record(at time.Time, ev *monitor.Evaluation, verdicts []verdict) {
	p := Point{At: at, Events: ev.Events, Accuracy: ev.Accuracy, MAE: ev.MAE, RMSE: ev.RMSE, PSI: make([]float64, len(ev.Features))}
	for i, f := range ev.Features {
		p.PSI[i] = f.PSI
		if verdicts[i].drift() {
			p.Drifted++
		}
	}
	if len(v.history) == historyLen {
		copy(v.history, v.history[1:])
		v.history = v.history[:historyLen-1]
	}
	v.history = append(v.history, p)
}

// Status returns every model version's latest evaluation, verdicts and
// history, sorted by model and version. The slices are copies.
func (s *Service) Status() []VersionStatus {
	var out []VersionStatus
	firing := firingAlerts(s.alerts, s.opt.Now())
	for _, name := range sortedKeys(s.models) {
		m := s.models[name]
		for _, vn := range sortedKeys(m.versions) {
			v := m.versions[vn]
			v.mu.Lock()
			st := VersionStatus{Model: name, Version: vn, Task: v.cfg.Task, Latest: v.last, LastEvent: v.lastEvent,
				EventsTotal: v.events.Get(), History: append([]Point(nil), v.history...), MinSamples: v.cfg.MinSamples,
				Firing: firing[name+"/"+vn]}
			for _, d := range v.lastVerdicts {
				st.Drift = append(st.Drift, d.drift())
				st.State = append(st.State, string(d.State))
				st.Verdict = append(st.Verdict, d.Verdict)
				st.PSIThreshold = append(st.PSIThreshold, d.PSIThreshold)
			}
			v.mu.Unlock()
			if ro := m.ro; ro != nil {
				switch v {
				case ro.stable:
					st.Role = "stable"
				case ro.cand:
					st.Role = string(ro.cfg.Mode)
					st.Rollout = ro.status()
				}
			}
			out = append(out, st)
		}
	}
	return out
}

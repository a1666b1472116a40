package rollout

import "driftwatch/stats"

// DefaultPSIEpsilon is the floor on bin shares of the output drift
// Compare reports, the drift section's default.
const DefaultPSIEpsilon = 1e-4

// DriftCheck compares the distribution of one quantity between the arms:
// information beside the criteria, never part of the decision.
type DriftCheck struct {
	Name                string  // "output" (scores), or an input feature's name
	PSI                 float64 // stable as the reference
	ChiSquare           float64 // homogeneity of the two histograms
	ChiSquareP          float64
	StableN, CandidateN float64
}

// Drift compares two histograms over the same bins (an input feature's
// bins in each version's window, say): PSI with shares floored at eps,
// and the chi-square homogeneity test.
func Drift(name string, stable, candidate []float64, eps float64) DriftCheck {
	d := DriftCheck{Name: name}
	for i := range stable {
		d.StableN += stable[i]
		d.CandidateN += candidate[i]
	}
	d.PSI = stats.PSI(stable, candidate, eps)
	d.ChiSquare, _, d.ChiSquareP = stats.ChiSquareHomogeneity(stable, candidate)
	return d
}

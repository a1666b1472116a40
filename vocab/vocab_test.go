package vocab

import "testing"

func TestRolloutDecision(t *testing.T) {
	for s, want := range map[Statistic]string{RolloutRollback: "rollback", RolloutPromote: "promote",
		RolloutInconclusive: "inconclusive", PSI: "", Statistic("rollout_other"): ""} {
		if got := s.RolloutDecision(); got != want {
			t.Errorf("%q.RolloutDecision() = %q, want %q", s, got, want)
		}
	}
}

func TestJoin(t *testing.T) {
	if got := Join([]Statistic{PSI, KS, ChiSquareP}, ", "); got != "psi, ks, chi_square_p" {
		t.Errorf("Join = %q", got)
	}
	if got := Join(nil, ","); got != "" {
		t.Errorf("Join(nil) = %q", got)
	}
}

package profile

import (
	"fmt"

	"driftwatch/cbpe"
)

// Estimation is what `driftwatch estimate` (and `check` on unlabelled
// data) needs from a labelled reference, so a profile can stand in for it:
// the columns it was fitted on, the classes, and package cbpe's fitted
// reference (calibrator and sampling-error components). It lives in the
// JSON header under "estimation": profiles without it load as before, and
// older driftwatch versions ignore the key.
type Estimation struct {
	Label      string          `json:"label"`
	Score      string          `json:"score"`
	Prediction string          `json:"prediction"`
	Positive   string          `json:"positive"`
	Negative   string          `json:"negative"`
	Model      *cbpe.Reference `json:"model"`
}

// Validate checks an estimation section read from a file.
func (e *Estimation) Validate() error {
	if e.Score == "" || e.Prediction == "" || e.Positive == "" || e.Negative == "" || e.Model == nil {
		return fmt.Errorf("profile: estimation section is incomplete (score %q, prediction %q, positive %q, negative %q)",
			e.Score, e.Prediction, e.Positive, e.Negative)
	}
	if err := e.Model.Validate(); err != nil {
		return fmt.Errorf("profile: estimation section: %w", err)
	}
	return nil
}

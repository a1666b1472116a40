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
	Label      string `json:"label"`
	Score      string `json:"score"` // the --score value: a column, or CLASS=COLUMN,... (multiclass)
	Prediction string `json:"prediction"`
	// Binary: the two classes and the fitted reference.
	Positive string          `json:"positive,omitempty"`
	Negative string          `json:"negative,omitempty"`
	Model    *cbpe.Reference `json:"model,omitempty"`
	// Multiclass: the classes (sorted; class k is number k), their score
	// columns and the fitted reference.
	Classes []string             `json:"classes,omitempty"`
	Scores  []string             `json:"scores,omitempty"`
	Multi   *cbpe.MultiReference `json:"multi,omitempty"`
}

// Validate checks an estimation section read from a file.
func (e *Estimation) Validate() error {
	if e.Score == "" || e.Prediction == "" {
		return fmt.Errorf("profile: estimation section is incomplete (score %q, prediction %q)", e.Score, e.Prediction)
	}
	switch {
	case e.Model != nil && e.Multi == nil:
		if e.Positive == "" || e.Negative == "" {
			return fmt.Errorf("profile: estimation section lacks its classes (positive %q, negative %q)", e.Positive, e.Negative)
		}
		if err := e.Model.Validate(); err != nil {
			return fmt.Errorf("profile: estimation section: %w", err)
		}
	case e.Multi != nil && e.Model == nil:
		if len(e.Classes) != e.Multi.Classes || len(e.Scores) != e.Multi.Classes {
			return fmt.Errorf("profile: estimation section has %d classes and %d score columns for %d", len(e.Classes), len(e.Scores), e.Multi.Classes)
		}
		if err := e.Multi.Validate(); err != nil {
			return fmt.Errorf("profile: estimation section: %w", err)
		}
	default:
		return fmt.Errorf("profile: estimation section needs exactly one of a binary and a multiclass model")
	}
	return nil
}

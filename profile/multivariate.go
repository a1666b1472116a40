package profile

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"driftwatch/dataset"
	"driftwatch/multivariate"
)

// Multivariate is what multivariate (PCA reconstruction) drift needs from the
// reference: the fitted model (imputation values, count encodings, scaler,
// components) and every reference row's reconstruction error in file order.
// Thresholds for any chunk or window size are computed from the row errors
// (package detectors), so `check` with a profile gives the same report as
// with the raw reference, whatever the chunking.
//
// In the file the model sits in the JSON header under "multivariate" and the
// row errors follow the features' values as raw float64 (Rows of them). The
// key is optional: profiles without it load as before.
type Multivariate struct {
	Model *multivariate.Model `json:"model,omitempty"`
	// Skipped says why there is no model (fewer than two numeric features,
	// or fewer than two left once constant ones are set aside).
	Skipped string `json:"skipped,omitempty"`
	// Rows is the number of row errors stored.
	Rows   int       `json:"rows"`
	Errors []float64 `json:"-"`
}

// MultivariateColumns returns the columns of t that are features of p, in
// p's order, as package multivariate takes them.
func MultivariateColumns(p *Profile, t *dataset.Table) []multivariate.Column {
	var cols []multivariate.Column
	for _, f := range p.Features {
		c := t.Column(f.Name)
		if c == nil {
			continue
		}
		mc := multivariate.Column{Name: c.Name}
		if c.Kind == dataset.KindNumeric {
			mc.Kind, mc.Num = multivariate.Numeric, c.Num
		} else {
			mc.Kind, mc.Cat, mc.Null = multivariate.Categorical, c.Str, c.Null
		}
		cols = append(cols, mc)
	}
	return cols
}

// buildMultivariate fits the model on the profile's features of t.
func buildMultivariate(p *Profile, t *dataset.Table, variance float64) *Multivariate {
	numeric := 0
	for _, f := range p.Features {
		if f.Kind == Numeric {
			numeric++
		}
	}
	if numeric < 2 {
		return &Multivariate{Skipped: fmt.Sprintf("fewer than two numeric features (%d)", numeric)}
	}
	cols := MultivariateColumns(p, t)
	m, err := multivariate.Fit(cols, variance)
	if errors.Is(err, multivariate.ErrTooFewFeatures) {
		var constant []string
		for _, c := range cols {
			if isConstantColumn(c) {
				constant = append(constant, c.Name)
			}
		}
		return &Multivariate{Skipped: fmt.Sprintf("fewer than two non-constant features (constant: %s)", strings.Join(constant, ", "))}
	}
	if err != nil {
		return &Multivariate{Skipped: err.Error()}
	}
	errs, _, err := m.Errors(cols)
	if err != nil {
		return &Multivariate{Skipped: err.Error()}
	}
	return &Multivariate{Model: m, Rows: len(errs), Errors: errs}
}

// isConstantColumn is for naming constant columns when too few are left;
// multivariate.Fit decides which it leaves out.
func isConstantColumn(c multivariate.Column) bool {
	if c.Kind == multivariate.Numeric {
		first := math.NaN()
		for _, x := range c.Num {
			if math.IsNaN(x) {
				continue
			}
			if math.IsNaN(first) {
				first = x
			} else if x != first {
				return false
			}
		}
		return true
	}
	seen := map[string]bool{}
	for i, s := range c.Cat {
		if c.Null == nil || !c.Null[i] {
			seen[s] = true
		}
	}
	return len(seen) <= 1
}

func (mv *Multivariate) validate(rows int) error {
	if mv.Model == nil {
		if mv.Rows != 0 {
			return fmt.Errorf("multivariate section has %d row errors and no model", mv.Rows)
		}
		return nil
	}
	if err := mv.Model.Validate(); err != nil {
		return err
	}
	if mv.Rows != rows {
		return fmt.Errorf("multivariate section has %d row errors for %d rows", mv.Rows, rows)
	}
	return nil
}

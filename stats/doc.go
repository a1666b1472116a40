// Package stats is the pure math of driftwatch: quantile bin edges and
// histograms, the drift statistics (PSI, two-sample KS with scipy's exact and
// asymptotic p-values, Wasserstein-1, Jensen–Shannon, Hellinger, chi-square
// homogeneity, two-proportion Z), model-quality metrics, the same KS and
// Wasserstein plus quantile edges on unsorted columns by bucketing (no
// sort), statistics from histograms for the streaming monitor, and an O(n)
// radix sort for float64 columns. Results match scipy/scikit-learn (see
// testdata/golden). It does no I/O and makes no drift decisions: thresholds
// and decisions live in package detectors.
package stats

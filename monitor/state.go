// Package monitor holds the streaming state of one monitored model version:
// an event-time window of per-feature histograms on the reference profile's
// fine bins plus data-quality counters, and its evaluation against the
// reference with the statistics `driftwatch check` uses. Decoding messages
// is left to package events, consuming Kafka to package consumer, and acting
// on the verdicts to the alerting code.
package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"driftwatch/profile"
	"driftwatch/stats"
	"driftwatch/window"
	"driftwatch/wire"
)

// The first counters of every pane: events, then quality over the outcomes
// joined to the pane's predictions.
const (
	counterEvents = iota
	counterJoined
	counterCorrect  // classification: predicted class == label
	counterAbsError // regression: Σ|prediction − value|
	counterSqError  // regression: Σ(prediction − value)²
	counterScored   // events with a score (output drift)
	counterHighConf // of those, confidence max(s, 1 − s) ≥ the model's high_confidence
	// Binary classification over joined outcomes: the positive class's
	// confusion counts, and for scored predictions score histograms by
	// label (AUC) and per calibration bin the sum of scores (ECE; the bin's
	// count and positives are sums of the histograms).
	counterTP
	counterFP
	counterFN
	counterScoreHist                                     // scoreBins counters for negatives, then scoreBins for positives
	counterScoreSum     = counterScoreHist + 2*scoreBins // calBins counters
	firstFeatureCounter = counterScoreSum + calBins
)

// Score bins: AUC from 100 equal-width bins over [0, 1] counts pairs that
// share a bin as half concordant, so it is within the share of such pairs
// of the exact AUC; ECE uses 10 equal-width bins, as `check` does.
const (
	scoreBins = 100
	calBins   = 10
)

// Flags tell, for a NaN numeric value or a null categorical one, why it has
// no value; a nil flag column means every such value is a plain null.
const (
	FlagNull    uint8 = iota // null in the message
	FlagMissing              // the field was absent
	FlagInvalid              // present with the wrong type (e.g. a string for a numeric feature)
)

// MaxUnseen is how many categories the reference never had a categorical
// feature keeps apart in a window, each in a counter of its own, so that
// chi-square gives each its own column as `check` does. The first MaxUnseen
// distinct unseen categories take the slots; a slot is freed once its
// category has left the window (every pane's count is 0) and a new one
// needs it. Further unseen categories share one overflow column, which
// chi-square counts as one category: the statistic is unchanged (an
// unseen column adds count × n_ref/n_cur whether alone or pooled), the
// degrees of freedom are fewer than scipy's by (distinct categories in the
// overflow − 1), so the p-value is then smaller than scipy's
// (FeatureStats.UnseenOverflow says when). Memory: MaxUnseen + 1 counters
// per categorical feature and pane.
const MaxUnseen = 32

// feature is where one feature's counters sit in a pane.
type feature struct {
	ref     *profile.Feature
	off     int // first bin counter
	bins    int // fine bins (numeric) or categories + MaxUnseen unseen slots + overflow (categorical)
	cats    int // categorical: reference categories (the first counters)
	nulls   int // counter of nulls, missing and invalid values (all of them have no value)
	missing int // counter of the nulls whose field was absent
	invalid int // counter of the nulls whose field had the wrong type
	outOfR  int // numeric: counter of values outside the reference [min, max]
	binner  *stats.Binner
	index   map[string]int // categorical: category → bin
	recent  *[16]recentCat // categorical: index entries met lately (see bin)
	unseen  *unseenTable   // categorical: the unseen categories' slots
}

// unseenTable assigns unseen categories to the MaxUnseen slots after a
// categorical feature's reference categories.
type unseenTable struct {
	names [MaxUnseen]string
	used  [MaxUnseen]bool
	slot  map[string]int
	// The ring's head at the last reclaim that freed nothing: counts only
	// leave the window when the head moves, so until then the next unseen
	// category goes to the overflow without scanning the panes again.
	stuckAt int64
	stuck   bool
}

func (u *unseenTable) reset() {
	*u = unseenTable{slot: make(map[string]int)}
}

func (u *unseenTable) free() int {
	for i, used := range u.used {
		if !used {
			return i
		}
	}
	return -1
}

type recentCat struct {
	s   string
	bin int
	ok  bool
}

// bin returns the counter of category s, unseen included (see
// unseenBin). Decoders intern category values, so the same category
// arrives as the same string data again and again: a small cache keyed by
// the data's address answers most lookups with one comparison that the
// equal pointers cut short, instead of hashing s. Holding s keeps its
// memory from being reused while cached; the comparison checks the bytes
// anyway.
func (f *feature) bin(s string, r *window.Ring) int {
	// Fibonacci hashing of the address: small strings share 16-byte
	// blocks, so its low bits alone would collide.
	c := &f.recent[uint64(uintptr(unsafe.Pointer(unsafe.StringData(s))))*0x9e3779b97f4a7c15>>60]
	if c.ok && c.s == s {
		return c.bin
	}
	j, ok := f.index[s]
	if !ok {
		j = f.unseenBin(s, r)
	}
	*c = recentCat{s: s, bin: j, ok: true}
	return j
}

// unseenBin is the counter of a category the reference never had: its
// slot, a free slot (freeing those whose category left the window when
// none is), or the overflow.
func (f *feature) unseenBin(s string, r *window.Ring) int {
	u := f.unseen
	if i, ok := u.slot[s]; ok {
		return f.cats + i
	}
	i := u.free()
	if i < 0 && f.reclaim(r) {
		i = u.free()
	}
	if i < 0 {
		return f.cats + MaxUnseen
	}
	s = strings.Clone(s) // the table outlives the batch
	u.names[i], u.used[i], u.slot[s] = s, true, i
	return f.cats + i
}

// reclaim frees the slots whose category has no count left in the window
// and reports whether it freed any. The recent cache is cleared with them:
// it may hold a freed slot, or send to the overflow a category that could
// now have a slot.
func (f *feature) reclaim(r *window.Ring) bool {
	u := f.unseen
	head, _ := r.Head()
	if u.stuck && u.stuckAt == head {
		return false
	}
	freed := false
	for i, used := range u.used {
		if used && r.Zero(f.off+f.cats+i) {
			delete(u.slot, u.names[i])
			u.names[i], u.used[i] = "", false
			freed = true
		}
	}
	if freed {
		*f.recent = [16]recentCat{}
	}
	u.stuck, u.stuckAt = !freed, head
	return freed
}

// Window is the windowed state of one model version. It is not safe for
// concurrent use: one partition worker owns it.
type Window struct {
	Profile  *profile.Profile
	numeric  []feature
	category []feature
	ring     *window.Ring
	totals   []float64
	late     uint64 // events dropped as late
	count    int    // > 0: a count window of about this many events
	seq      int64  // count window: events added so far

	// HighConfidence is the confidence at or above which a prediction
	// counts as high-confidence (default 0.9).
	HighConfidence float64
}

// countPanes is how many panes a count window has: it holds the last
// count to count + count/(countPanes−1) events.
const countPanes = 11

// NewWindow lays out the counters for the profile's features and creates
// the window.
func NewWindow(p *profile.Profile, length, pane, lateness time.Duration) (*Window, error) {
	return newWindow(p, length, pane, lateness, 0)
}

// NewCountWindow is NewWindow with a count window: the last count events
// (up to count/10 more, the granularity of its panes) whatever their time.
func NewCountWindow(p *profile.Profile, count int) (*Window, error) {
	if count <= 0 {
		return nil, fmt.Errorf("monitor: count window of %d events", count)
	}
	per := time.Duration((count+countPanes-2)/(countPanes-1)) * time.Millisecond // one "ms" per event
	// Lateness spans the window: outcomes are credited to any live pane.
	return newWindow(p, per*countPanes, per, per*countPanes, count)
}

func newWindow(p *profile.Profile, length, pane, lateness time.Duration, count int) (*Window, error) {
	v := &Window{Profile: p, count: count, HighConfidence: 0.9}
	next := firstFeatureCounter
	for _, f := range p.Features {
		ft := feature{ref: f, off: next}
		switch f.Kind {
		case profile.Numeric:
			ft.bins = len(f.FineCounts)
			if ft.bins == 0 {
				ft.bins = 1 // a feature without reference values: everything in one bin
			}
			ft.binner = stats.NewBinner(f.FineEdges)
			ft.nulls, ft.outOfR, ft.missing, ft.invalid = next+ft.bins, next+ft.bins+1, next+ft.bins+2, next+ft.bins+3
			next += ft.bins + 4
			v.numeric = append(v.numeric, ft)
		default:
			ft.cats = len(f.Categories)
			ft.bins = ft.cats + MaxUnseen + 1 // + unseen slots + overflow
			ft.index, ft.recent, ft.unseen = make(map[string]int, len(f.Categories)), new([16]recentCat), new(unseenTable)
			ft.unseen.reset()
			for i, c := range f.Categories {
				ft.index[c] = i
			}
			ft.nulls, ft.missing, ft.invalid = next+ft.bins, next+ft.bins+1, next+ft.bins+2
			next += ft.bins + 3
			v.category = append(v.category, ft)
		}
	}
	r, err := window.New(length, pane, lateness, next)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	v.ring = r
	return v, nil
}

// PaneCounters is the number of counters in each pane (8 bytes each): the
// memory formula in bench/stream holds itself to it.
func (v *Window) PaneCounters() int { return v.ring.Width() }

// Numeric and Categorical name the features in the column order AddBatch
// expects.
func (v *Window) Numeric() []string     { return names(v.numeric) }
func (v *Window) Categorical() []string { return names(v.category) }

func names(fs []feature) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ref.Name
	}
	return out
}

// Batch is a run of events as columns: Num[f][i] is numeric feature f of
// event i (NaN for null, missing or invalid), Cat[f][i] categorical feature
// f, with CatNull[f][i] marking nulls (CatNull[f] may be nil). The optional
// columns may be nil as a whole or per feature: NumFlags and CatFlags say
// why a value is absent (Flag*), Confidence is the model's confidence in
// each prediction (NaN when it has none).
type Batch struct {
	TS         []int64 // event time, Unix ms; ignored by count windows
	Num        [][]float64
	Cat        [][]string
	CatNull    [][]bool
	NumFlags   [][]uint8
	CatFlags   [][]uint8
	Confidence []float64
}

// AddBatch adds the events of b to their panes and returns how many were
// late. Events are grouped into runs that share a pane, so the pane lookup
// happens once per run and the per-value work is binning and an increment.
// It allocates only for an unseen category that takes a slot.
func (v *Window) AddBatch(b *Batch) (late int) {
	rows := len(b.TS)
	if v.count > 0 && len(b.Num) > 0 {
		rows = len(b.Num[0])
	} else if v.count > 0 && len(b.Cat) > 0 {
		rows = len(b.Cat[0])
	}
	// key is the event's position on the window's axis: event time, or its
	// sequence number in a count window.
	key := func(i int) int64 {
		if v.count > 0 {
			return v.seq + int64(i)
		}
		return b.TS[i]
	}
	defer func() {
		if v.count > 0 {
			v.seq += int64(rows)
		}
	}()
	for start := 0; start < rows; {
		idx := v.ring.PaneIndex(key(start))
		end := start + 1
		for end < rows && v.ring.PaneIndex(key(end)) == idx {
			end++
		}
		pane := v.ring.Pane(key(start))
		if pane == nil {
			late += end - start
			v.late += uint64(end - start)
			start = end
			continue
		}
		pane[counterEvents] += float64(end - start)
		for fi := range v.numeric {
			f := &v.numeric[fi]
			bins := pane[f.off : f.off+f.bins]
			lo, hi := f.ref.Summary.Min, f.ref.Summary.Max
			nulls, out := f.binner.AddColumn(bins, b.Num[fi][start:end], lo, hi)
			pane[f.nulls] += float64(nulls)
			pane[f.outOfR] += float64(out)
		}
		for fi := range v.category {
			f := &v.category[fi]
			nulls := b.CatNull[fi]
			for i, s := range b.Cat[fi][start:end] {
				if nulls != nil && nulls[start+i] {
					pane[f.nulls]++
					continue
				}
				pane[f.off+f.bin(s, v.ring)]++
			}
		}
		v.addFlags(pane, b, start, end)
		start = end
	}
	return late
}

// addFlags moves the run's missing and invalid values from the nulls
// counters to their own and counts confident predictions. Only the columns
// that carry flags are walked, so plain columns cost nothing here.
func (v *Window) addFlags(pane []float64, b *Batch, start, end int) {
	for fi := range v.numeric {
		if fi >= len(b.NumFlags) || b.NumFlags[fi] == nil {
			continue
		}
		f := &v.numeric[fi]
		flags := b.NumFlags[fi][start:end]
		for i, x := range b.Num[fi][start:end] {
			if x != x && flags[i] != FlagNull {
				pane[f.missing] += float64(flags[i] & FlagMissing)
				pane[f.invalid] += float64((flags[i] & FlagInvalid) >> 1)
			}
		}
	}
	for fi := range v.category {
		if fi >= len(b.CatFlags) || b.CatFlags[fi] == nil || b.CatNull[fi] == nil {
			continue
		}
		f := &v.category[fi]
		flags, nulls := b.CatFlags[fi][start:end], b.CatNull[fi][start:end]
		for i, null := range nulls {
			if null && flags[i] != FlagNull {
				pane[f.missing] += float64(flags[i] & FlagMissing)
				pane[f.invalid] += float64((flags[i] & FlagInvalid) >> 1)
			}
		}
	}
	if b.Confidence != nil {
		for _, c := range b.Confidence[start:end] {
			if c == c {
				pane[counterScored]++
				if c >= v.HighConfidence {
					pane[counterHighConf]++
				}
			}
		}
	}
}

// Next is the key AddBatch gives the next event: its event time, or in a
// count window its sequence number. A joined outcome is credited by the
// key its prediction had (AddOutcome).
func (v *Window) Next(ts int64) int64 {
	if v.count > 0 {
		return v.seq
	}
	return ts
}

// Outcome is a joined outcome as the window counts it.
type Outcome struct {
	Correct bool    // classification: predicted class == label
	Err     float64 // regression: prediction − value; NaN otherwise
	// Binary classification: whether the label and the predicted class are
	// the positive class, and the prediction's score (NaN without).
	Positive, PredictedPositive bool
	Score                       float64
}

// AddOutcome credits one joined outcome to the pane of its prediction's
// key (event time, or sequence number in a count window; see Next). It
// reports false when that pane has left the window.
func (v *Window) AddOutcome(predTS int64, o Outcome) bool {
	pane := v.ring.Live(predTS)
	if pane == nil {
		v.late++
		return false
	}
	pane[counterJoined]++
	if o.Correct {
		pane[counterCorrect]++
	}
	if e := o.Err; e == e {
		pane[counterAbsError] += math.Abs(e)
		pane[counterSqError] += e * e
	}
	switch {
	case o.Positive && o.PredictedPositive:
		pane[counterTP]++
	case o.PredictedPositive:
		pane[counterFP]++
	case o.Positive:
		pane[counterFN]++
	}
	if s := o.Score; s == s {
		b := stats.EqualWidthBin(s, scoreBins)
		pane[counterScoreSum+b/(scoreBins/calBins)] += s
		if o.Positive {
			b += scoreBins
		}
		pane[counterScoreHist+b]++
	}
	return true
}

// scoreQuality computes AUC and ECE from the score histograms by label
// (negatives then positives) and the score sums per calibration bin.
func scoreQuality(hist, sums []float64) (auc, ece float64) {
	neg, pos := hist[:scoreBins], hist[scoreBins:]
	var below, concordant, n, p float64
	for b := range scoreBins {
		concordant += pos[b] * (below + neg[b]/2)
		below += neg[b]
		n, p = n+neg[b], p+pos[b]
	}
	auc, ece = math.NaN(), math.NaN()
	if n > 0 && p > 0 {
		auc = concordant / (n * p)
	}
	if n+p > 0 {
		ece = 0
		per := scoreBins / calBins
		for c := range calBins {
			positives := 0.0
			for b := c * per; b < (c+1)*per; b++ {
				positives += pos[b]
			}
			ece += math.Abs(positives - sums[c])
		}
		ece /= n + p
	}
	return auc, ece
}

// FeatureStats is one feature's evaluation over the window.
type FeatureStats struct {
	Name   string
	Kind   profile.Kind
	Values float64 // non-null values in the window
	PSI    float64
	JS     float64
	// Numeric only: Hellinger on the PSI bins; KS and Wasserstein from the
	// fine bins, with KS within [KS, KS + KSBound] of the exact statistic.
	Hellinger, KS, KSBound, Wasserstein float64
	// WassersteinNormalized is Wasserstein in units of the reference's
	// standard deviation (stats.NormalizedWasserstein), as `check` reports it.
	WassersteinNormalized float64
	// NullRate counts every event without a value (null, missing or
	// invalid); MissingRate and InvalidRate the parts whose field was absent
	// or had the wrong type.
	NullRate, MissingRate, InvalidRate float64
	OutOfRangeRate                     float64
	// Categorical only: chi-square on the category counts, each unseen
	// category its own column up to MaxUnseen of them (the rest pooled in
	// one), its degrees of freedom, and the share of unseen values.
	ChiSquare, ChiSquareP, UnseenShare float64
	ChiSquareDOF                       int
	// Categorical only: the unseen categories kept apart in the window, and
	// the values in the overflow column (unseen categories beyond
	// MaxUnseen; > 0 means dof is below scipy's, see MaxUnseen).
	UnseenCategories []string
	UnseenOverflow   float64
	// The histograms PSI compares, for display: Reference and Current counts
	// per PSI bin; numeric bins are split at Edges (bin i = [e(i−1), e(i))),
	// categorical bins are Categories plus a last "unseen" bin.
	Edges              []float64
	Categories         []string
	Reference, Current []float64
}

// Evaluation is the state of the window at one evaluation.
type Evaluation struct {
	Start, End time.Time // event-time bounds; zero for a count window
	Events     float64
	Late       uint64
	// Output: predictions with a confidence (score) and the share of them at
	// or above HighConfidence (NaN without any).
	Scored, HighConfidenceShare float64
	Features                    []FeatureStats
	// Quality over the outcomes joined so far to the window's predictions
	// (NaN without outcomes): accuracy for classification, MAE and RMSE for
	// regression; binary classification adds the positive class's F1, and
	// with scores AUC and ECE (see scoreBins).
	Joined, Accuracy, MAE, RMSE float64
	F1, AUC, ECE                float64
}

// Evaluate sums the live panes and compares them with the reference. PSI,
// JS and Hellinger use the PSI bins, whose counts are sums of fine bins:
// they equal `check`'s values on the same events exactly.
func (v *Window) Evaluate(eps float64) Evaluation { return Merge([]*Window{v}, eps) }

// Merge evaluates the union of several states of one model version — the
// partitions of its stream, each with its own window — as one window:
// event-time windows end at the newest pane among them (a lagging
// partition's panes that the merged window has left do not count); count
// windows add each partition's last events. Counters are additive, so the
// merge of a stream's partitions equals one window over all its events
// whenever no partition lags by more than the lateness.
func Merge(parts []*Window, eps float64) Evaluation {
	v := parts[0]
	v.totals = append(v.totals[:0], make([]float64, v.ring.Width())...)
	head, started := int64(math.MinInt64), false
	var late uint64
	for _, p := range parts {
		if h, ok := p.ring.Head(); ok {
			head, started = max(head, h), true
		}
		late += p.late
	}
	for _, p := range parts {
		if h, ok := p.ring.Head(); ok {
			if v.count == 0 {
				h = head
			}
			p.ring.AddTotals(v.totals, h)
		}
	}
	t := v.totals
	var ev Evaluation
	nan := math.NaN()
	if started && v.count == 0 {
		s, e := v.ring.BoundsAt(head)
		ev.Start, ev.End = time.UnixMilli(s).UTC(), time.UnixMilli(e).UTC()
	}
	ev.Events, ev.Late = t[counterEvents], late
	ev.Scored, ev.HighConfidenceShare = t[counterScored], nan
	if ev.Scored > 0 {
		ev.HighConfidenceShare = t[counterHighConf] / ev.Scored
	}
	ev.Joined, ev.Accuracy, ev.MAE, ev.RMSE = t[counterJoined], nan, nan, nan
	ev.F1, ev.AUC, ev.ECE = nan, nan, nan
	if j := t[counterJoined]; j > 0 {
		ev.Accuracy = t[counterCorrect] / j
		ev.MAE, ev.RMSE = t[counterAbsError]/j, math.Sqrt(t[counterSqError]/j)
		if d := 2*t[counterTP] + t[counterFP] + t[counterFN]; d > 0 {
			ev.F1 = 2 * t[counterTP] / d
		}
		ev.AUC, ev.ECE = scoreQuality(t[counterScoreHist:counterScoreSum], t[counterScoreSum:counterScoreSum+calBins])
	}
	for _, f := range v.numeric {
		fine := t[f.off : f.off+f.bins]
		fs := FeatureStats{Name: f.ref.Name, Kind: profile.Numeric, PSI: nan, JS: nan, Hellinger: nan, KS: nan, KSBound: nan, Wasserstein: nan, WassersteinNormalized: nan}
		for _, c := range fine {
			fs.Values += c
		}
		if ev.Events > 0 {
			fs.NullRate, fs.MissingRate, fs.InvalidRate = t[f.nulls]/ev.Events, t[f.missing]/ev.Events, t[f.invalid]/ev.Events
		}
		if fs.Values > 0 {
			fs.OutOfRangeRate = t[f.outOfR] / fs.Values
		}
		if fs.Values > 0 && f.ref.Values > 0 {
			coarse := make([]float64, len(f.ref.Counts))
			per := len(fine) / len(coarse)
			for i, c := range fine {
				coarse[i/per] += c
			}
			fs.Edges, fs.Reference, fs.Current = f.ref.Edges, f.ref.Counts, coarse
			fs.PSI = stats.PSI(f.ref.Counts, coarse, eps)
			fs.JS = stats.JensenShannon(f.ref.Counts, coarse)
			fs.Hellinger = stats.Hellinger(f.ref.Counts, coarse)
			fs.KS, fs.KSBound = stats.KSBinned(f.ref.FineCounts, fine)
			fs.Wasserstein = stats.WassersteinBinned(f.ref.FineEdges, f.ref.FineCounts, fine, f.ref.Summary.Min, f.ref.Summary.Max)
			fs.WassersteinNormalized = stats.NormalizedWasserstein(fs.Wasserstein, f.ref.Summary.Std)
		}
		ev.Features = append(ev.Features, fs)
	}
	for fi, f := range v.category {
		counts := t[f.off : f.off+f.bins]
		fs := FeatureStats{Name: f.ref.Name, Kind: profile.Categorical, PSI: nan, JS: nan, ChiSquare: nan, ChiSquareP: nan}
		// PSI and JS compare the reference categories plus one unseen bin.
		pooled := make([]float64, f.cats+1)
		copy(pooled, counts[:f.cats])
		for _, c := range counts[f.cats:] {
			pooled[f.cats] += c
		}
		for _, c := range pooled {
			fs.Values += c
		}
		if ev.Events > 0 {
			fs.NullRate, fs.MissingRate, fs.InvalidRate = t[f.nulls]/ev.Events, t[f.missing]/ev.Events, t[f.invalid]/ev.Events
		}
		if fs.Values > 0 {
			ref := append(append([]float64(nil), f.ref.CatCounts...), 0)
			fs.Categories, fs.Reference, fs.Current = f.ref.Categories, ref, pooled
			fs.PSI = stats.PSI(ref, pooled, eps)
			fs.JS = stats.JensenShannon(ref, pooled)
			names, unseen := mergeUnseen(parts, fi, counts[f.cats:f.cats+MaxUnseen], head)
			fs.UnseenCategories, fs.UnseenOverflow = names, counts[f.cats+MaxUnseen]
			if fs.UnseenOverflow > 0 {
				unseen = append(unseen, fs.UnseenOverflow)
			}
			fs.ChiSquare, fs.ChiSquareDOF, fs.ChiSquareP = stats.ChiSquareUnseen(f.ref.CatCounts, pooled, unseen)
			fs.UnseenShare = pooled[f.cats] / fs.Values
		}
		ev.Features = append(ev.Features, fs)
	}
	return ev
}

// mergeUnseen returns the unseen categories in the window of categorical
// feature fi sorted by name, as `check` orders its columns, and their
// counts. Each partition numbers its slots its own way, so with several
// the slots are summed per partition and added by name; one partition's
// are its totals (slots).
func mergeUnseen(parts []*Window, fi int, slots []float64, head int64) ([]string, []float64) {
	byName := map[string]float64{}
	add := func(u *unseenTable, counts []float64) {
		for i, c := range counts {
			if c > 0 && u.used[i] {
				byName[u.names[i]] += c
			}
		}
	}
	if len(parts) == 1 {
		add(parts[0].category[fi].unseen, slots)
	} else {
		part := make([]float64, MaxUnseen)
		for _, p := range parts {
			h, ok := p.ring.Head()
			if !ok {
				continue
			}
			if p.count == 0 {
				h = head
			}
			clear(part)
			f := &p.category[fi]
			p.ring.AddCounters(part, h, f.off+f.cats)
			add(f.unseen, part)
		}
	}
	names := make([]string, 0, len(byName))
	for s := range byName {
		names = append(names, s)
	}
	slices.Sort(names)
	counts := make([]float64, len(names))
	for i, s := range names {
		counts[i] = byName[s]
	}
	return names, counts
}

// AppendState appends the version's window and counters of late events,
// for count windows the sequence, and per categorical feature the unseen
// categories' slots (count, then slot and name of each), so that
// RestoreState on a version built from the same profile and window
// continues exactly where this one stood.
func (v *Window) AppendState(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, v.late)
	dst = binary.AppendVarint(dst, v.seq)
	dst = v.ring.AppendState(dst)
	for _, f := range v.category {
		u := f.unseen
		dst = binary.AppendUvarint(dst, uint64(len(u.slot)))
		for i, used := range u.used {
			if used {
				dst = wire.AppendString(binary.AppendUvarint(dst, uint64(i)), u.names[i])
			}
		}
	}
	return dst
}

// RestoreState replaces the state with one AppendState wrote and returns
// the bytes after it. A state written before unseen categories had slots
// (one unseen counter per categorical feature, recognised by its pane
// width) is read too: its unseen counts go to the overflow column, their
// names being unknown.
func (v *Window) RestoreState(src []byte) ([]byte, error) {
	late, n := binary.Uvarint(src)
	if n <= 0 {
		return nil, errors.New("monitor: state truncated")
	}
	seq, m := binary.Varint(src[n:])
	if m <= 0 {
		return nil, errors.New("monitor: state truncated")
	}
	for _, f := range v.category {
		f.unseen.reset()
		*f.recent = [16]recentCat{}
	}
	src = src[n+m:]
	if w := v.legacyWidth(); w != v.ring.Width() && window.StateWidth(src) == w {
		rest, err := v.ring.RestoreStateFrom(src, w, v.fromLegacy)
		if err != nil {
			return nil, fmt.Errorf("monitor: %w", err)
		}
		v.late, v.seq = late, seq
		return rest, nil
	}
	rest, err := v.ring.RestoreState(src)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	r := wire.Reader{B: rest}
	for _, f := range v.category {
		u := f.unseen
		k := r.Uvarint()
		if k > MaxUnseen {
			return nil, fmt.Errorf("monitor: feature %q: state has %d unseen categories, at most %d", f.ref.Name, k, MaxUnseen)
		}
		for range k {
			i, name := r.Uvarint(), r.String()
			if r.Err != nil {
				break
			}
			if _, dup := u.slot[name]; i >= MaxUnseen || u.used[i] || dup {
				return nil, fmt.Errorf("monitor: feature %q: state has unseen slot %d (%q) twice or out of range", f.ref.Name, i, name)
			}
			if _, seen := f.index[name]; seen {
				return nil, fmt.Errorf("monitor: feature %q: state has reference category %q as unseen", f.ref.Name, name)
			}
			u.names[i], u.used[i], u.slot[name] = name, true, int(i)
		}
	}
	if r.Err != nil {
		return nil, fmt.Errorf("monitor: state truncated: %w", r.Err)
	}
	v.late, v.seq = late, seq
	return r.B, nil
}

// legacyWidth is the pane width of the layout before unseen slots: one
// unseen counter per categorical feature.
func (v *Window) legacyWidth() int {
	return v.ring.Width() - len(v.category)*MaxUnseen
}

// fromLegacy moves a pane of the layout before unseen slots into the
// current one: the first counters, numeric features and reference
// categories as they were, the one unseen counter to the overflow.
func (v *Window) fromLegacy(dst, old []float64) {
	copy(dst[:firstFeatureCounter], old)
	o := firstFeatureCounter
	ni, ci := 0, 0
	for _, pf := range v.Profile.Features {
		if pf.Kind == profile.Numeric {
			f := &v.numeric[ni]
			ni++
			o += copy(dst[f.off:f.off+f.bins+4], old[o:])
			continue
		}
		f := &v.category[ci]
		ci++
		o += copy(dst[f.off:f.off+f.cats], old[o:])
		dst[f.off+f.cats+MaxUnseen] = old[o]
		o++
		o += copy(dst[f.nulls:f.nulls+3], old[o:])
	}
}

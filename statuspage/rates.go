package statuspage

import (
	"math"
	"sync"
	"time"
)

// rateSpan is how far back events/s looks: the rise of a version's event
// counter (VersionStatus.EventsTotal, every event accepted since start)
// between the oldest snapshot of the last minute and now. The page sees a
// snapshot whenever it renders; it reloads itself every few seconds, so the
// rate is a one-minute average while someone watches, and unknown ("–")
// after a pause until two renders a second apart.
const rateSpan = time.Minute

type sample struct {
	at    time.Time
	total uint64
}

// rates keeps recent counter samples per model version. Versions come from
// the config, so the map is bounded; each holds at most one sample per
// second of rateSpan.
type rates struct {
	mu      sync.Mutex
	samples map[string][]sample
}

// observe records total at now for key and returns events per second since
// the oldest sample within rateSpan, NaN when there is none a second old.
func (r *rates) observe(key string, now time.Time, total uint64) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.samples == nil {
		r.samples = map[string][]sample{}
	}
	s := r.samples[key]
	drop := 0
	for drop < len(s) && now.Sub(s[drop].at) > rateSpan {
		drop++
	}
	s = s[drop:]
	rate := math.NaN()
	if len(s) > 0 {
		if dt := now.Sub(s[0].at); dt >= time.Second && total >= s[0].total {
			rate = float64(total-s[0].total) / dt.Seconds()
		}
	}
	if len(s) == 0 || now.Sub(s[len(s)-1].at) >= time.Second {
		s = append(s, sample{now, total})
	}
	r.samples[key] = s
	return rate
}

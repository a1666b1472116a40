package alerting

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// Matcher matches one label: equal to Value, or with IsRegex the whole value
// matching Value as a regular expression (as Alertmanager's matchers).
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"is_regex,omitempty"`

	re *regexp.Regexp
}

// Silence mutes the notifications of alerts whose labels match every
// matcher, between StartsAt and EndsAt. Alerts keep their states while
// muted; a firing alert is notified when its silence ends.
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	CreatedBy string    `json:"created_by,omitempty"`
	Comment   string    `json:"comment,omitempty"`
}

// compile checks and prepares the matchers.
func (s *Silence) compile() error {
	if len(s.Matchers) == 0 {
		return fmt.Errorf("alerting: a silence needs at least one matcher")
	}
	for i := range s.Matchers {
		m := &s.Matchers[i]
		if m.Name == "" {
			return fmt.Errorf("alerting: matcher %d has no label name", i)
		}
		if m.IsRegex {
			re, err := regexp.Compile("^(?:" + m.Value + ")$")
			if err != nil {
				return fmt.Errorf("alerting: matcher %q: %w", m.Name, err)
			}
			m.re = re
		}
	}
	if !s.EndsAt.After(s.StartsAt) {
		return fmt.Errorf("alerting: silence ends at %s, not after it starts at %s", s.EndsAt.Format(time.RFC3339), s.StartsAt.Format(time.RFC3339))
	}
	return nil
}

func (s *Silence) active(now time.Time) bool { return !now.Before(s.StartsAt) && now.Before(s.EndsAt) }

func (s *Silence) mutes(labels map[string]string, now time.Time) bool {
	if !s.active(now) {
		return false
	}
	for _, m := range s.Matchers {
		v := labels[m.Name]
		if m.re != nil && !m.re.MatchString(v) || m.re == nil && v != m.Value {
			return false
		}
	}
	return true
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

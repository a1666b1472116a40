package notify

import (
	"cmp"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Redaction removes a notifier's credentials from text a receiver sent back
// (an error body that echoes the request) before it reaches an error or
// the log: its URLs' queries, query values, user info and token-like path
// segments, its header values and secrets, and anything that reads as a
// credential assignment ("token=…", `"secret": "…"`, "Bearer …").
type Redaction struct {
	secrets []string // longest first
}

// redacted replaces what is removed.
const redacted = "<redacted>"

// minSecret is the shortest value replaced wherever it appears; shorter
// ones would blank out ordinary words.
const minSecret = 4

var (
	assignment = regexp.MustCompile(`(?i)((?:token|secret|password|passwd|pwd|api_?key|apikey|access_?key|routing_?key|signature|authorization|credentials?)["']?\s*[:=]\s*["']?)(?:(?:bearer|basic)\s+)?[^\s"'&,;}\]<>]+`)
	authScheme = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}`)
)

// NewRedaction knows the credentials in a notifier's urls (queries, user
// info, token-like path segments) and the secret values (header values,
// tokens; "Bearer x" also adds x). Values shorter than 4 bytes are left
// to the patterns: replacing them everywhere would blank out words.
func NewRedaction(urls []string, values ...string) *Redaction {
	r := &Redaction{}
	add := func(s string) {
		if len(s) >= minSecret && !slices.Contains(r.secrets, s) {
			r.secrets = append(r.secrets, s)
		}
	}
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			add(s)
			continue
		}
		if u.RawQuery != "" || u.User != nil || tokenPath(u.Path) {
			add(s)
		}
		add(u.RawQuery)
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v)
				add(url.QueryEscape(v))
			}
		}
		if u.User != nil {
			add(u.User.String())
			if p, ok := u.User.Password(); ok {
				add(p)
			}
		}
		for seg := range strings.SplitSeq(u.Path, "/") {
			if tokenLike(seg) {
				add(seg)
			}
		}
	}
	for _, v := range values {
		add(v)
		if scheme, rest, ok := strings.Cut(v, " "); ok && (strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "basic")) {
			add(strings.TrimSpace(rest))
		}
	}
	slices.SortFunc(r.secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return r
}

// tokenLike reports whether a URL path segment looks like a credential
// (Slack's /services/T…/B…/secret): long, or mixing letters and digits.
func tokenLike(seg string) bool {
	if len(seg) >= 20 {
		return true
	}
	if len(seg) < 8 {
		return false
	}
	digits, letters := false, false
	for _, c := range seg {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters = true
		}
	}
	return digits && letters
}

func tokenPath(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if tokenLike(seg) {
			return true
		}
	}
	return false
}

// Redact returns s without the credentials r knows and without anything
// that reads as one. A nil Redaction applies the patterns only.
func (r *Redaction) Redact(s string) string {
	if r != nil {
		for _, v := range r.secrets {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	s = assignment.ReplaceAllString(s, "${1}"+redacted)
	return authScheme.ReplaceAllString(s, "${1} "+redacted)
}

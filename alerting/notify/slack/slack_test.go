package slack

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"driftwatch/alerting/notify"
	"driftwatch/alerting/notify/notifytest"
)

// slackServer fakes an incoming webhook (/hook) and chat.postMessage
// (/api/chat.postMessage), keeping each message's text and blocks.
type slackServer struct {
	mu       sync.Mutex
	messages []slackMessageSeen
	// answer, when set, replaces the success answer.
	answer func(w http.ResponseWriter) bool
}

type slackMessageSeen struct {
	path, token, channel, text string
	blocks                     []map[string]any
}

func (s *slackServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m slackMessageSeen
	m.path = r.URL.Path
	switch r.URL.Path {
	case "/hook":
		var msg struct {
			Text   string           `json:"text"`
			Blocks []map[string]any `json:"blocks"`
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		m.text, m.blocks = msg.Text, msg.Blocks
	case "/api/chat.postMessage":
		form, err := url.ParseQuery(string(body))
		if err != nil || json.Unmarshal([]byte(form.Get("blocks")), &m.blocks) != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		m.token, m.channel, m.text = form.Get("token"), form.Get("channel"), form.Get("text")
	default:
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	answer := s.answer
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	if answer != nil && answer(w) {
		return
	}
	if m.path == "/hook" {
		_, _ = io.WriteString(w, "ok")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true,"channel":"C123","ts":"1700000000.000100"}`)
}

func (s *slackServer) seen() []slackMessageSeen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slackMessageSeen(nil), s.messages...)
}

func newSlackServer(t *testing.T) (*slackServer, *httptest.Server) {
	s := &slackServer{}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func TestSlackMessages(t *testing.T) {
	s, srv := newSlackServer(t)
	t.Setenv("DRIFTWATCH_TEST_SLACK_TOKEN", "xoxb-test-token")
	webhook, err := New(Config{WebhookURL: notify.Secret(srv.URL + "/hook")}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	bot, err := New(Config{TokenEnv: "DRIFTWATCH_TEST_SLACK_TOKEN", Channel: "#ml-alerts", APIURL: srv.URL + "/api"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	a := notifytest.Alert("income")
	end := a.StartsAt.Add(90 * time.Minute)
	for _, n := range []*Notifier{webhook, bot} {
		if retry, err := n.Notify(notifytest.Context(t), []notify.Alert{a, notifytest.Resolved(a, end)}); err != nil {
			t.Fatalf("retry=%v: %v", retry, err)
		}
	}

	msgs := s.seen()
	if len(msgs) != 4 {
		t.Fatalf("%d messages, want 4", len(msgs))
	}
	for i, m := range msgs {
		wantPath, status, header := "/hook", "Firing", "Firing (critical): psi_drift on credit/v3"
		summary, value := "credit/v3: psi of income is 0.313 (&gt;= 0.25)", "*Value*\n0.3127 &gt;= 0.25 (critical)"
		if i >= 2 {
			wantPath = "/api/chat.postMessage"
			if m.token != "xoxb-test-token" || m.channel != "#ml-alerts" {
				t.Errorf("message %d: token %q channel %q", i, m.token, m.channel)
			}
		}
		if i%2 == 1 {
			status, header = "Resolved", "Resolved: psi_drift on credit/v3"
			summary, value = "credit/v3: psi of income is 0.04, back below 0.1", "*Value*\n0.04, back below 0.1"
		}
		if m.path != wantPath {
			t.Errorf("message %d: path %s, want %s", i, m.path, wantPath)
		}
		if want := status + ": " + summary; m.text != want {
			t.Errorf("message %d: text %q, want %q", i, m.text, want)
		}
		var types []string
		for _, b := range m.blocks {
			types = append(types, b["type"].(string))
		}
		if got := strings.Join(types, ","); got != "header,section,context,context" {
			t.Fatalf("message %d: blocks %s, want header,section,context,context", i, got)
		}
		if got := m.blocks[0]["text"].(map[string]any)["text"]; got != header {
			t.Errorf("message %d: header %q, want %q", i, got, header)
		}
		section := m.blocks[1]
		if got := section["text"].(map[string]any)["text"]; got != summary {
			t.Errorf("message %d: section text %q", i, got)
		}
		var fields []string
		for _, f := range section["fields"].([]any) {
			fields = append(fields, f.(map[string]any)["text"].(string))
		}
		want := []string{"*Model*\ncredit", "*Version*\nv3", "*Feature*\nincome", "*Statistic*\npsi",
			value, "*Window*\n2025-03-01T11:00:00Z to 2025-03-01T12:00:00Z",
			"*Samples*\n12000", "*Since*\n2025-03-01T12:00:00Z"}
		if i%2 == 1 {
			want[len(want)-1] = "*Resolved at*\n2025-03-01T13:30:00Z"
		}
		if strings.Join(fields, "|") != strings.Join(want, "|") {
			t.Errorf("message %d: fields\n got %q\nwant %q", i, fields, want)
		}
		links := m.blocks[3]["elements"].([]any)[0].(map[string]any)["text"]
		if links != "<http://127.0.0.1:8080/models/credit/v3|Status page> · <http://127.0.0.1:3000/d/driftwatch?var-model=credit|Dashboard>" {
			t.Errorf("message %d: links %q", i, links)
		}
	}
}

func TestSlackErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		bot      bool
		status   int
		header   map[string]string
		body     string
		retry    bool
		contains string
	}{
		{name: "webhook 500", status: 500, body: "oops", retry: true, contains: "500"},
		{name: "webhook 404 channel_not_found", status: 404, body: "channel_not_found", contains: "404"},
		{name: "webhook 400 invalid_payload", status: 400, body: "invalid_payload", contains: "400"},
		{name: "webhook 429", status: 429, header: map[string]string{"Retry-After": "3"}, retry: true, contains: "retry after 3s"},
		{name: "bot channel_not_found", bot: true, status: 200, body: `{"ok":false,"error":"channel_not_found"}`, contains: "channel_not_found"},
		{name: "bot invalid_auth", bot: true, status: 200, body: `{"ok":false,"error":"invalid_auth"}`, contains: "invalid_auth"},
		{name: "bot internal_error", bot: true, status: 200, body: `{"ok":false,"error":"internal_error"}`, retry: true, contains: "internal_error"},
		{name: "bot 503", bot: true, status: 503, retry: true, contains: "503"},
	} {
		s, srv := newSlackServer(t)
		s.answer = func(w http.ResponseWriter) bool {
			for k, v := range tc.header {
				w.Header().Set(k, v)
			}
			if strings.HasPrefix(tc.body, "{") {
				w.Header().Set("Content-Type", "application/json")
			}
			w.WriteHeader(tc.status)
			_, _ = io.WriteString(w, tc.body)
			return true
		}
		cfg := Config{WebhookURL: notify.Secret(srv.URL + "/hook")}
		if tc.bot {
			cfg = Config{Token: "xoxb-secret", Channel: "C1", APIURL: srv.URL + "/api/"}
		}
		n, err := New(cfg, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		retry, err := n.Notify(notifytest.Context(t), []notify.Alert{notifytest.Alert("income")})
		if err == nil || retry != tc.retry || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("%s: retry=%v err=%v, want retry=%v and an error with %q", tc.name, retry, err, tc.retry, tc.contains)
		}
	}

	// The webhook URL is a credential: a network error must not show it.
	srv := httptest.NewServer(http.NotFoundHandler())
	hook := srv.URL + "/services/T000/B000/XXXXSECRET"
	srv.Close()
	n, err := New(Config{WebhookURL: notify.Secret(hook)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	retry, err := n.Notify(notifytest.Context(t), []notify.Alert{notifytest.Alert("income")})
	if err == nil || !retry || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "/services") {
		t.Errorf("network error: retry=%v err=%v, want retryable without the webhook URL", retry, err)
	}
}

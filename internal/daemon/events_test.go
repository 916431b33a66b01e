package daemon

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/clocktest"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/secret"
	"github.com/syncd-io/syncd/internal/store"
)

const eventsToken = "s3cret-events-token"

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseNotification(t *testing.T) {
	tests := []struct {
		fixture string
		want    Notification
	}{
		{"ids.json", Notification{Format: FormatIDs, Keys: []string{"00u1a2b3c4", "00u5d6e7f8"}}},
		{"scim-user.json", Notification{Format: FormatSCIM, Keys: []string{"2819c223-7f76-453a-919d-413861904646"}}},
		{"scim-list.json", Notification{Format: FormatSCIM, Keys: []string{"2819c223", "c75ad752"}}},
		{"scim-bulk.json", Notification{Format: FormatSCIM,
			Keys: []string{"alice@example.com", "b7c14771-226c-4d05-8860-134711653041", "c75ad752"}}},
		{"okta.json", Notification{Format: FormatOkta,
			Keys: []string{"00u1a2b3c4", "leaver@acme.example.com", "00u5d6e7f8", "hire@acme.example.com"}}},
		{"graph.json", Notification{Format: FormatGraph,
			Keys:         []string{"ad81ee2f-0c4e-4c1b-9a5e-5b4ee7a3e1d0", "5b4ee7a3-0c4e-4c1b-9a5e-ad81ee2fe1d0"},
			ClientStates: []string{eventsToken, eventsToken}}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := ParseNotification([]byte(fixture(t, tt.fixture)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseNotificationRefusesWhatItCannotRead(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not JSON", `ids=1`, "not a JSON object"},
		{"an unknown shape", `{"people": ["E1"]}`, `want {"ids": [...]}`},
		{"empty ids", `{"ids": []}`, "empty"},
		{"a blank id", `{"ids": ["E1", " "]}`, "ids[1] is blank"},
		{"a SCIM user without id or userName", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}`, "names no user"},
		{"two documents", `{"ids": ["E1"]} {"ids": ["E2"]}`, "after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseNotification([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// eventsEnv is the admin server with a Notify that records what it is given.
type eventsEnv struct {
	*apiEnv
	mu       sync.Mutex
	notified []Notification
}

func newEventsAPI(t *testing.T, adminToken, evToken string) *eventsEnv {
	t.Helper()
	e := &eventsEnv{apiEnv: &apiEnv{st: newLeaseStore(t).Store}}
	api := &API{
		Store: e.st, Trigger: func(context.Context) error { return nil }, Ready: func(context.Context) error { return nil },
		Token:       func() secret.Secret { return secret.New(adminToken) },
		EventsToken: func() secret.Secret { return secret.New(evToken) },
		Notify: func(_ context.Context, n Notification) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.notified = append(e.notified, n)
			return nil
		},
		Gatherer: prometheus.NewRegistry(), Logger: zap.NewNop(),
	}
	e.srv = httptest.NewServer(api.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// TestEventsEndpoint posts each accepted shape and the requests that must be refused:
// without the token, with the admin token where an events token is configured, too
// large, malformed. It answers Okta's and Graph's handshakes.
func TestEventsEndpoint(t *testing.T) {
	big := `{"ids": ["` + strings.Repeat("x", MaxEventBodyBytes) + `"]}`
	tests := []struct {
		name         string
		method, path string
		token        string
		header       map[string]string
		body         string
		wantStatus   int
		wantBody     string // a substring of the answer
		wantNotified int
	}{
		{name: "ids with the events token", method: "POST", path: "/v1/events", token: eventsToken, body: fixture(t, "ids.json"),
			wantStatus: http.StatusAccepted, wantBody: `"00u5d6e7f8"`, wantNotified: 1},
		{name: "a SCIM user", method: "POST", path: "/v1/events", token: eventsToken, body: fixture(t, "scim-user.json"),
			wantStatus: http.StatusAccepted, wantBody: `"format": "scim"`, wantNotified: 1},
		{name: "an Okta delivery", method: "POST", path: "/v1/events", token: eventsToken, body: fixture(t, "okta.json"),
			wantStatus: http.StatusAccepted, wantBody: `"leaver@acme.example.com"`, wantNotified: 1},
		{name: "an Okta delivery about groups only queues no one", method: "POST", path: "/v1/events", token: eventsToken,
			body:       `{"data": {"events": [{"target": [{"id": "00g1", "type": "UserGroup"}]}]}}`,
			wantStatus: http.StatusAccepted, wantBody: `"queued": []`},
		{name: "a Graph notification authenticated by its clientState", method: "POST", path: "/v1/events", body: fixture(t, "graph.json"),
			wantStatus: http.StatusAccepted, wantBody: `"format": "graph"`, wantNotified: 1},
		{name: "a Graph notification with another clientState", method: "POST", path: "/v1/events",
			body:       strings.ReplaceAll(fixture(t, "graph.json"), eventsToken, "guess"),
			wantStatus: http.StatusUnauthorized},
		{name: "no token", method: "POST", path: "/v1/events", body: fixture(t, "ids.json"), wantStatus: http.StatusUnauthorized},
		{name: "a wrong token", method: "POST", path: "/v1/events", token: "guess", body: fixture(t, "ids.json"),
			wantStatus: http.StatusUnauthorized},
		{name: "the admin token where an events token is configured", method: "POST", path: "/v1/events", token: testToken,
			body: fixture(t, "ids.json"), wantStatus: http.StatusUnauthorized},
		{name: "too large", method: "POST", path: "/v1/events", token: eventsToken, body: big,
			wantStatus: http.StatusRequestEntityTooLarge},
		{name: "an unknown shape", method: "POST", path: "/v1/events", token: eventsToken, body: `{"who": "E1"}`,
			wantStatus: http.StatusBadRequest, wantBody: "Okta event hook"},
		{name: "Graph's validation handshake echoes the token as text", method: "POST", path: "/v1/events?validationToken=Validation%3A+Testing",
			wantStatus: http.StatusOK, wantBody: "Validation: Testing"},
		{name: "Okta's verification", method: "GET", path: "/v1/events", token: eventsToken,
			header: map[string]string{"X-Okta-Verification-Challenge": "Me_rShK8JHsTnbyYrWXCEoMGbM"}, wantStatus: http.StatusOK,
			wantBody: `"verification": "Me_rShK8JHsTnbyYrWXCEoMGbM"`},
		{name: "Okta's verification needs the token", method: "GET", path: "/v1/events",
			header:     map[string]string{"X-Okta-Verification-Challenge": "Me_rShK8JHsTnbyYrWXCEoMGbM"},
			wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEventsAPI(t, testToken, eventsToken)
			req, err := http.NewRequest(tt.method, e.srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) {
				t.Errorf("%s %s: %d %s; want %d with %q", tt.method, tt.path, resp.StatusCode, b, tt.wantStatus, tt.wantBody)
			}
			if len(e.notified) != tt.wantNotified {
				t.Errorf("%d notifications queued, want %d", len(e.notified), tt.wantNotified)
			}
		})
	}
}

// TestEventsUseTheAdminTokenWithoutTheirOwn: without server.events_token_file the
// admin token serves /v1/events; without either, /v1/events is refused.
func TestEventsUseTheAdminTokenWithoutTheirOwn(t *testing.T) {
	e := newEventsAPI(t, testToken, "")
	if status, body := e.do(t, "POST", "/v1/events", testToken, `{"ids": ["E1"]}`); status != http.StatusAccepted {
		t.Errorf("POST with the admin token: %d %s", status, body)
	}
	none := newEventsAPI(t, "", "")
	if status, body := none.do(t, "POST", "/v1/events", "", `{"ids": ["E1"]}`); status != http.StatusForbidden || len(none.notified) != 0 {
		t.Errorf("POST without any token configured: %d %s; want 403", status, body)
	}
}

func TestEventsCoalesceWithinTheWindow(t *testing.T) {
	q := NewEvents(time.Second)
	if _, pending := q.Wait(t0); pending || q.Due(t0) {
		t.Fatal("an empty queue is pending")
	}
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	steps := []struct {
		at        time.Time
		keys      []string
		coalesced bool
	}{
		{ms(0), []string{"E1", "E2"}, false},
		{ms(300), []string{"E2", "E3"}, true},
		{ms(900), []string{"E4"}, true},
	}
	for i, st := range steps {
		if got := q.Add(st.keys, st.at); got != st.coalesced {
			t.Errorf("notification %d coalesced = %v, want %v", i, got, st.coalesced)
		}
	}
	if wait, _ := q.Wait(ms(900)); wait != 100*time.Millisecond || q.Due(ms(999)) || !q.Due(ms(1000)) {
		t.Errorf("wait %v at +900ms, due at +999ms %v, at +1s %v; want the run due one window after the first", wait, q.Due(ms(999)), q.Due(ms(1000)))
	}
	keys, received := q.Take()
	if diff := cmp.Diff([]string{"E1", "E2", "E3", "E4"}, keys); diff != "" {
		t.Errorf("one run of the union (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Time{ms(0), ms(0), ms(300), ms(900)}, received); diff != "" {
		t.Errorf("first arrivals (-want +got):\n%s", diff)
	}
	if q.Due(ms(5000)) {
		t.Error("due after Take")
	}
	// The next notification starts a new window.
	if q.Add([]string{"E5"}, ms(5000)) || q.Due(ms(5999)) || !q.Due(ms(6000)) {
		t.Error("a notification after Take must start a new window")
	}
}

// targetedRecorder records targeted runs; each plans the deactivations it is given.
type targetedRecorder struct {
	mu      sync.Mutex
	targets []reconcile.Target
	plan    int   // deactivations each run plans
	firstID int64 // the first run's id, when set (a run the store holds)
}

func (r *targetedRecorder) run(_ context.Context, _ store.Lease, target reconcile.Target) (reconcile.Summary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.targets = append(r.targets, target)
	id := int64(1000 + len(r.targets))
	if len(r.targets) == 1 && r.firstID != 0 {
		id = r.firstID
	}
	return reconcile.Summary{RunID: id, Status: reconcile.RunSucceeded,
		Planned: map[reconcile.Kind]int{reconcile.KindDeactivate: r.plan}}, nil
}

// TestNotificationsBecomeOneTargetedRun notifies three times within a window on the
// leader: one targeted run reconciles the union, the latency of each person is
// observed from their first notification, and the deactivations targeted runs plan
// count against the next one until a full cycle starts.
func TestNotificationsBecomeOneTargetedRun(t *testing.T) {
	st := newLeaseStore(t)
	seeded := seedRun(t, st.Store) // the first targeted run's journal: a planned create, a held deactivation
	st.grant(&fakeLease{lost: make(chan struct{})})
	clk := clocktest.New(t0)
	clock, advance := clk.Now, clk.Advance
	m, reg := newTestMetrics(t)
	tr := &targetedRecorder{plan: 1, firstID: seeded}
	d := newDaemon(t, st, &recorder{}, func(c *Config) {
		c.Events, c.Targeted, c.Metrics, c.Now = NewEvents(time.Second), tr.run, m, clock
	})
	ctx := context.Background()
	d.tryLead(ctx)

	for _, ids := range [][]string{{"E1"}, {"E2", "E1"}, {"E3"}} {
		if err := d.Notify(ctx, Notification{Format: FormatIDs, Keys: ids}); err != nil {
			t.Fatal(err)
		}
		advance(400 * time.Millisecond)
	}
	if !d.eventsDue(clock()) {
		t.Fatal("no targeted run due one window after the first notification")
	}
	d.runTargeted(ctx)
	d.Notify(ctx, Notification{Format: FormatOkta, Keys: []string{"E4"}})
	advance(time.Second)
	d.runTargeted(ctx)
	_ = d.RunOnce(ctx) // a full cycle: the cap starts afresh
	d.Notify(ctx, Notification{Format: FormatIDs, Keys: []string{"E5"}})
	d.runTargeted(ctx)

	want := []reconcile.Target{
		{Keys: []string{"E1", "E2", "E3"}},
		{Keys: []string{"E4"}, Deactivated: 1},
		{Keys: []string{"E5"}},
	}
	if diff := cmp.Diff(want, tr.targets); diff != "" {
		t.Errorf("targeted runs (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(m.eventsReceived.WithLabelValues(FormatIDs)); got != 4 {
		t.Errorf("ids notifications received = %v, want 4", got)
	}
	for _, c := range []struct{ kind, status string }{{"create", "planned"}, {"deactivate", "held"}} {
		if got := testutil.ToFloat64(m.actions.WithLabelValues(c.kind, c.status)); got != 1 {
			t.Errorf("actions %s %s = %v, want the targeted run's 1", c.kind, c.status, got)
		}
	}
	if got := testutil.ToFloat64(m.eventsCoalesced); got != 2 {
		t.Errorf("coalesced = %v, want 2", got)
	}
	if n, err := testutil.GatherAndCount(reg, "syncd_event_to_applied_seconds"); err != nil || n != 1 {
		t.Fatalf("latency histogram: %d series, %v", n, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "syncd_event_to_applied_seconds" {
			hist := mf.GetMetric()[0].GetHistogram()
			// E1 1.2 s, E2 0.8 s, E3 0.4 s, E4 1 s, E5 0 s.
			if hist.GetSampleCount() != 5 || hist.GetSampleSum() < 3.39 || hist.GetSampleSum() > 3.41 {
				t.Errorf("latency histogram %s; want 5 samples summing to 3.4 s", mf.String())
			}
		}
	}
}

// TestNotifyOnAStandbyAsksTheLeaderForACycle: a standby cannot write, so a
// notification it receives becomes a reconcile request through the store.
func TestNotifyOnAStandbyAsksTheLeaderForACycle(t *testing.T) {
	st := newLeaseStore(t)
	tr := &targetedRecorder{}
	d := newDaemon(t, st, &recorder{}, func(c *Config) { c.Events, c.Targeted = NewEvents(0), tr.run })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	requests := st.ReconcileRequests(ctx)
	if err := d.Notify(ctx, Notification{Format: FormatIDs, Keys: []string{"E1"}}); err != nil {
		t.Fatal(err)
	}
	<-requests
	if d.eventsDue(t0.Add(time.Hour)) {
		t.Error("a standby queued a targeted run")
	}
}

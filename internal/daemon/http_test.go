package daemon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/secret"
	"github.com/syncd-io/syncd/internal/store"
)

const testToken = "s3cret-admin-token"

// seedRun records a finished run with an applied create and a held deactivation.
func seedRun(t *testing.T, st store.Store) int64 {
	t.Helper()
	ctx := context.Background()
	lease, err := st.TryLeaderLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lease.Release(ctx) }()
	run, err := st.StartRun(ctx, store.NewRun{Trigger: TriggerSchedule, Mode: "sync", Epoch: lease.Epoch()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SavePlan(ctx, run.ID, []store.Action{
		{Kind: store.KindCreate, IdPID: "E1", Email: "ana@example.com", Status: store.ActionPlanned, Reason: "new"},
		{Kind: store.KindDeactivate, IdPID: "E2", SalesforceID: "005000000000002AAA", Status: store.ActionHeld, Reason: "cap"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishRun(ctx, run.ID, store.RunFinish{Status: store.RunSucceeded}); err != nil {
		t.Fatal(err)
	}
	return run.ID
}

type apiEnv struct {
	srv      *httptest.Server
	st       store.Store
	triggers int
	full     int
	fullErr  error
	ready    error
}

func newAPI(t *testing.T, token string) *apiEnv {
	t.Helper()
	e := &apiEnv{st: newLeaseStore(t).Store}
	seedRun(t, e.st)
	api := &API{
		Store:   e.st,
		Trigger: func(context.Context) error { e.triggers++; return nil },
		TriggerFull: func(context.Context) error {
			if e.fullErr == nil {
				e.full++
			}
			return e.fullErr
		},
		Ready:    func(context.Context) error { return e.ready },
		Token:    func() secret.Secret { return secret.New(token) },
		Gatherer: prometheus.NewRegistry(),
		Logger:   zap.NewNop(),
	}
	e.srv = httptest.NewServer(api.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *apiEnv) do(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestV1NeedsTheToken calls every /v1 route without a token, with a wrong one and
// with the right one: only the right one gets through, and a refusal names no
// person.
func TestV1NeedsTheToken(t *testing.T) {
	e := newAPI(t, testToken)
	routes := []struct{ method, path, body string }{
		{"POST", "/v1/reconcile", ""},
		{"GET", "/v1/runs", ""},
		{"GET", "/v1/runs/1", ""},
		{"POST", "/v1/runs/1/approve", `{"by":"ops"}`},
		{"GET", "/v1/explain/ana@example.com", ""},
	}
	for _, rt := range routes {
		for _, tc := range []struct {
			name, token string
			want        int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"wrong token", "guess", http.StatusUnauthorized},
			{"a prefix of the token", testToken[:5], http.StatusUnauthorized},
		} {
			t.Run(rt.method+" "+rt.path+" with "+tc.name, func(t *testing.T) {
				code, body := e.do(t, rt.method, rt.path, tc.token, rt.body)
				if code != tc.want {
					t.Errorf("status %d, want %d (%s)", code, tc.want, body)
				}
				if strings.Contains(body, "ana@") || strings.Contains(body, "E1") {
					t.Errorf("a refused call shows journal data: %s", body)
				}
			})
		}
	}
	if e.triggers != 0 {
		t.Errorf("refused calls triggered %d cycles", e.triggers)
	}
	// The same routes with the token succeed (the approval last: it changes the run).
	for _, rt := range routes {
		if code, body := e.do(t, rt.method, rt.path, testToken, rt.body); code >= 300 {
			t.Errorf("%s %s with the token: status %d (%s)", rt.method, rt.path, code, body)
		}
	}
	if e.triggers != 1 {
		t.Errorf("POST /v1/reconcile triggered %d cycles, want 1", e.triggers)
	}
}

func TestV1IsDisabledWithoutAConfiguredToken(t *testing.T) {
	e := newAPI(t, "")
	if code, _ := e.do(t, "GET", "/v1/runs", "anything", ""); code != http.StatusForbidden {
		t.Errorf("status %d, want 403", code)
	}
	if code, _ := e.do(t, "GET", "/v1/runs", "", ""); code != http.StatusForbidden {
		t.Errorf("with no token either: status %d, want 403", code)
	}
}

func TestOpenEndpoints(t *testing.T) {
	e := newAPI(t, testToken)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, body := e.do(t, "GET", path, "", ""); code != http.StatusOK {
			t.Errorf("GET %s: status %d (%s)", path, code, body)
		}
	}
	e.ready = errors.New("the store is unreachable")
	if code, body := e.do(t, "GET", "/readyz", "", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "unreachable") {
		t.Errorf("GET /readyz when not ready: status %d (%s), want 503 with the reason", code, body)
	}
	if code, _ := e.do(t, "GET", "/healthz", "", ""); code != http.StatusOK {
		t.Errorf("GET /healthz while not ready: status %d, want 200 (the process is alive)", code)
	}
}

func TestV1Requests(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		wantCode                 int
		wantBody                 string
	}{
		{"runs lists the run", "GET", "/v1/runs", "", 200, `"trigger": "schedule"`},
		{"a limit out of range is refused", "GET", "/v1/runs?limit=100000", "", 400, "limit"},
		{"a run shows its actions", "GET", "/v1/runs/1", "", 200, `"kind": "deactivate"`},
		{"an unknown run is not found", "GET", "/v1/runs/99", "", 404, "run 99: not found"},
		{"a run id must be a number", "GET", "/v1/runs/x", "", 400, "not a positive number"},
		{"explain finds a person by email", "GET", "/v1/explain/ana@example.com", "", 200, `"idp_id": "E1"`},
		{"an approval needs who approves", "POST", "/v1/runs/1/approve", `{}`, 400, "who approves"},
		{"an approval refuses unknown fields", "POST", "/v1/runs/1/approve", `{"by":"x","all":true}`, 400, "unknown field"},
		{"an oversized body is refused", "POST", "/v1/runs/1/approve", `{"by":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, 413, "larger than"},
		{"an approval records who approved", "POST", "/v1/runs/1/approve", `{"by":"ops@example.com","comment":"reviewed"}`, 200, `"by": "ops@example.com"`},
		{"a second approval conflicts", "POST", "/v1/runs/1/approve", `{"by":"ops"}`, 409, "run 1: its held actions were already approved"},
	}
	e := newAPI(t, testToken)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.do(t, tt.method, tt.path, testToken, tt.body)
			if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
				t.Errorf("status %d body %.300s; want %d containing %q", code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
	run, err := e.st.Run(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if run.Counts.Approved != 1 || run.Counts.Held != 0 {
		t.Errorf("after the approval, counts = %+v, want the held action approved", run.Counts)
	}
}

// TestReconcileFull asks for a full read with ?full=true: the leader schedules one,
// a standby refuses rather than ask for a delta cycle, and a bad value is refused.
func TestReconcileFull(t *testing.T) {
	tests := []struct {
		name, path string
		fullErr    error
		wantCode   int
		want       [2]int // plain triggers, full triggers
	}{
		{"full", "/v1/reconcile?full=true", nil, 202, [2]int{0, 1}},
		{"not full", "/v1/reconcile?full=false", nil, 202, [2]int{1, 0}},
		{"plain", "/v1/reconcile", nil, 202, [2]int{1, 0}},
		{"bad value", "/v1/reconcile?full=yes please", nil, 400, [2]int{0, 0}},
		{"on a standby", "/v1/reconcile?full=1", ErrFullOnStandby, 503, [2]int{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAPI(t, testToken)
			e.fullErr = tt.fullErr
			code, body := e.do(t, "POST", strings.ReplaceAll(tt.path, " ", "%20"), testToken, "")
			if code != tt.wantCode || [2]int{e.triggers, e.full} != tt.want {
				t.Errorf("status %d body %s, triggers %d plain %d full; want %d and %v", code, body, e.triggers, e.full, tt.wantCode, tt.want)
			}
		})
	}
}

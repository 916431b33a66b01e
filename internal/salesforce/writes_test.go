package salesforce

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/syncd-io/syncd/internal/sfsim"
)

// TestSimCreateMayHaveBeenAppliedIsNotResent: a create answered with any 5xx, or whose
// connection dropped after it was sent, is outcome-unknown and sent exactly once, by
// Create and by CreateRecords; the same faults on a Collections update are retried.
func TestSimCreateMayHaveBeenAppliedIsNotResent(t *testing.T) {
	faults := []struct {
		name  string
		fault sfsim.Fault
	}{
		{"500 UNABLE_TO_LOCK_ROW", sfsim.LockRowFault()},
		{"503 SERVER_UNAVAILABLE", sfsim.UnavailableFault()},
		{"502 HTML from a proxy", sfsim.RawFault(http.StatusBadGateway, "text/html", "<html>Bad Gateway</html>")},
		{"answer lost after the write", sfsim.LostAnswerFault()},
		{"connection dropped after sending", sfsim.DropFault()},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			env := newSimEnv(t, sfsim.Options{}, nil)
			ctx := context.Background()
			profile, _ := env.sim.ProfileID("Standard User")

			env.sim.InjectFault(sfsim.FaultRule{Endpoint: "collections.create", Count: 1, Fault: f.fault})
			results, err := env.client.CreateRecords(ctx, "User", []Fields{newUserFields("many@acme.example.com", profile)})
			var be *BatchError
			if ClassOf(err) != ClassOutcomeUnknown || !errors.As(err, &be) || be.Offset != 0 || len(results) != 0 {
				t.Errorf("CreateRecords: results %v, err = %v (class %v); want outcome_unknown at record 0", results, err, ClassOf(err))
			}
			if got := env.sim.Calls()["collections.create"]; got != 1 {
				t.Errorf("Collections creates sent = %d, want 1", got)
			}

			env.sim.InjectFault(sfsim.FaultRule{Endpoint: "sobject.create", Count: 1, Fault: f.fault})
			if _, err := env.client.Create(ctx, "User", newUserFields("one@acme.example.com", profile)); ClassOf(err) != ClassOutcomeUnknown {
				t.Errorf("Create: err = %v (class %v), want outcome_unknown", err, ClassOf(err))
			}
			if got := env.sim.Calls()["sobject.create"]; got != 1 {
				t.Errorf("single creates sent = %d, want 1", got)
			}

			// An update converges however often it is sent: retried and done.
			ids := addUsers(t, env.sim, 1)
			env.sim.InjectFault(sfsim.FaultRule{Endpoint: "collections.update", Count: 1, Fault: f.fault})
			results, err = env.client.UpdateRecords(ctx, "User", []RecordUpdate{{ID: ids[0], Fields: Fields{"Title": "Retried"}}})
			if err != nil || len(results) != 1 || !results[0].Success {
				t.Errorf("UpdateRecords: %v, %v; want it retried and done", results, err)
			}
			if got := env.sim.Calls()["collections.update"]; got != 2 {
				t.Errorf("Collections updates sent = %d, want 2", got)
			}
		})
	}
}

// TestSimLimiterRefusalIsRateLimited drives a real golang.org/x/time/rate limiter whose
// next token lies beyond the context's deadline: the request is not sent and the
// refusal is rate-limited, not permanent.
func TestSimLimiterRefusalIsRateLimited(t *testing.T) {
	lim := rate.NewLimiter(rate.Every(time.Hour), 1)
	env := newSimEnv(t, sfsim.Options{}, func(c *Config) { c.Limiter = lim })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := QueryAll[User](ctx, env.client, "SELECT Id FROM User"); err != nil {
		t.Fatalf("first query, within the burst: %v", err)
	}
	_, err := QueryAll[User](ctx, env.client, "SELECT Id FROM User")
	var le *LimiterError
	if !errors.As(err, &le) || ClassOf(err) != ClassRateLimited {
		t.Fatalf("err = %v (class %v), want a rate-limited *LimiterError", err, ClassOf(err))
	}
	if got := env.sim.Calls()["query"]; got != 1 {
		t.Errorf("queries sent = %d, want 1", got)
	}
	if n := countCalls(env.observer.get(), "query", ClassRateLimited); n != 1 {
		t.Errorf("observed refusals = %d, want 1", n)
	}

	// A caller that gives up is not a limiter refusal.
	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	_, err = QueryAll[User](cancelled, env.client, "SELECT Id FROM User")
	if !errors.Is(err, context.Canceled) || errors.As(err, &le) {
		t.Errorf("cancelled: err = %v, want context.Canceled and no *LimiterError", err)
	}
}

// TestSimLastAttemptErrorIsTyped: whether retries ran out by count, by elapsed time or
// not at all, the error returned is the last attempt's own *APIError, not a retry
// library's wrapper.
func TestSimLastAttemptErrorIsTyped(t *testing.T) {
	tests := []struct {
		name     string
		retry    RetryPolicy
		fault    sfsim.Fault
		wantSent int
	}{
		{"permanent error, one attempt allowed", RetryPolicy{MaxAttempts: 1}, sfsim.ErrorFault(400, "INVALID_FIELD", "No such column"), 1},
		{"retryable error, attempts run out", fastRetry, sfsim.UnavailableFault(), fastRetry.MaxAttempts},
		{"retryable error, one attempt allowed", RetryPolicy{MaxAttempts: 1}, sfsim.UnavailableFault(), 1},
		{"retryable error, elapsed time runs out", RetryPolicy{MaxAttempts: 100, InitialInterval: time.Hour, MaxElapsed: time.Minute}, sfsim.LockRowFault(), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newSimEnv(t, sfsim.Options{}, func(c *Config) { c.Retry = tt.retry })
			env.sim.InjectFault(sfsim.FaultRule{Endpoint: "sobject.get", Count: 100, Fault: tt.fault})
			err := env.client.Get(context.Background(), "User", env.sim.IntegrationUserID(), nil, &User{})
			apiErr, ok := err.(*APIError) //nolint:errorlint // the error must be the *APIError itself, not a wrapper
			if !ok || apiErr.StatusCode != tt.fault.Status || !apiErr.HasCode(tt.fault.ErrorCode) {
				t.Fatalf("err = %T %v, want the *APIError itself", err, err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "salesforce: GET ") {
				t.Errorf("message %q is not the client's own", msg)
			}
			if got := env.sim.Calls()["sobject.get"]; got != tt.wantSent {
				t.Errorf("requests = %d, want %d", got, tt.wantSent)
			}
		})
	}
}

// TestSimDeleteRecordsBatchesAndMapsResults deletes by Id through Collections: 200
// Ids per call, results in input order. Users cannot be deleted, so each fails on its
// own and nothing is lost; Ids that are not Ids are refused before any call.
func TestSimDeleteRecordsBatchesAndMapsResults(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	ids := addUsers(t, env.sim, 201)
	results, err := env.client.DeleteRecords(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if got := env.sim.Calls()["collections.delete"]; got != 2 {
		t.Errorf("calls = %d, want 2 for 201 Ids", got)
	}
	if len(results) != len(ids) {
		t.Fatalf("%d results for %d Ids", len(results), len(ids))
	}
	for i, r := range results {
		if r.Success || r.Index != i || r.ID != ids[i] || len(r.Errors) != 1 || r.Errors[0].StatusCode != "INVALID_TYPE_FOR_OPERATION" {
			t.Fatalf("result %d = %+v, want the user's own INVALID_TYPE_FOR_OPERATION", i, r)
		}
	}
	if _, ok := env.sim.User(ids[200]); !ok {
		t.Error("a user was deleted")
	}

	for _, bad := range []string{"", "005", "005Sm0000000001,x", "005Sm0000000001AA'"} {
		_, err := env.client.DeleteRecords(context.Background(), []string{ids[0], bad})
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "record 1") {
			t.Errorf("DeleteRecords(%q) = %v, want a ConfigError naming record 1", bad, err)
		}
	}
	if got := env.sim.Calls()["collections.delete"]; got != 2 {
		t.Errorf("calls = %d after refused Ids, want still 2", got)
	}
}

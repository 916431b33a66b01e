package salesforce

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/clocktest"
	"github.com/syncd-io/syncd/internal/sfsim"
)

// seedBulkUsers adds n users whose titles carry quotes, commas, newlines and CJK.
func seedBulkUsers(t *testing.T, sim *sfsim.Server, n int) {
	t.Helper()
	users := make([]sfsim.SeedUser, n)
	for i := range users {
		users[i] = sfsim.SeedUser{Username: fmt.Sprintf("bulk%05d@acme.example.com", i), LastName: fmt.Sprintf("山田%d", i),
			Title: fmt.Sprintf("Lead \"%d\", ops\nteam", i), FederationIdentifier: fmt.Sprintf("E%05d", i)}
		if i%3 == 0 {
			users[i].Title = "" // null
		}
	}
	if err := sim.SetSeats("Salesforce", int64(n+10)); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddUsers(users...); err != nil {
		t.Fatal(err)
	}
}

// endpointCounts counts the observed requests by endpoint.
func endpointCounts(calls []Call) map[string]int {
	out := map[string]int{}
	for _, c := range calls {
		out[c.Endpoint]++
	}
	return out
}

// collect drains a bulk query.
func collect(seq func(func(BulkRecord, error) bool)) ([]BulkRecord, error) {
	var out []BulkRecord
	for rec, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// TestSimBulkQueryMatchesSOQL reads 2500 users through Bulk API 2.0 in sets of 1000
// and through SOQL: the same records, value for value (null as ""), in three result
// sets after one create and two status reads.
func TestSimBulkQueryMatchesSOQL(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	seedBulkUsers(t, env.sim, 2500)
	const soql = "SELECT Id, Username, LastName, Title, IsActive, UserRole.Name FROM User WHERE Username LIKE 'bulk%'"
	recs, err := collect(env.client.BulkQuery(context.Background(), soql, BulkOptions{MaxRecords: 1000, Wait: func(context.Context, time.Duration) error { return nil }}))
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, r := range recs {
		got = append(got, r.Values)
	}
	rows, err := QueryAll[map[string]any](context.Background(), env.client, soql)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]string
	for _, r := range rows {
		title, _ := r["Title"].(string)
		want = append(want, []string{r["Id"].(string), r["Username"].(string), r["LastName"].(string), title,
			fmt.Sprint(r["IsActive"]), ""})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bulk records (-soql +bulk):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Id", "Username", "LastName", "Title", "IsActive", "UserRole.Name"}, recs[0].Columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if v, ok := recs[1].Value("Title"); !ok || v != "Lead \"1\", ops\nteam" {
		t.Errorf("Value(Title) = %q, %t", v, ok)
	}
	calls := endpointCounts(env.observer.get())
	for endpoint, want := range map[string]int{"jobs.query.create": 1, "jobs.query.get": 2, "jobs.query.results": 3, "jobs.query.delete": 0} {
		if calls[endpoint] != want {
			t.Errorf("%d %s requests, want %d (all: %v)", calls[endpoint], endpoint, want, calls)
		}
	}
	if _, ok := env.client.Usage(); !ok {
		t.Error("no Sforce-Limit-Info was read")
	}
}

// TestSimBulkQueryPollsWithBackoff: while the job runs, the waits between status
// reads double from PollInterval up to PollMaxInterval, on the injected clock.
func TestSimBulkQueryPollsWithBackoff(t *testing.T) {
	// The clock starts now, so that the JWT's expiry (on the real clock) is valid.
	clock := clocktest.New(time.Now())
	env := newSimEnv(t, sfsim.Options{Clock: clock.Now, BulkProcessingTime: 20 * time.Second}, func(c *Config) { c.Now = clock.Now })
	var waits []time.Duration
	opts := BulkOptions{PollInterval: 2 * time.Second, PollMaxInterval: 5 * time.Second, Wait: func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		clock.Advance(d)
		return nil
	}}
	if _, err := collect(env.client.BulkQuery(context.Background(), "SELECT Id FROM User", opts)); err != nil {
		t.Fatal(err)
	}
	// The first read starts the job at 0 s; reads at 2, 6, 11 and 16 s find it
	// running, the one at 21 s complete.
	want := []time.Duration{2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	if diff := cmp.Diff(want, waits); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

// TestSimBulkQueryFailures: each way a query job can go wrong gives its typed error,
// and the job does not linger: aborted if it still ran, then deleted.
func TestSimBulkQueryFailures(t *testing.T) {
	noWait := func(context.Context, time.Duration) error { return nil }
	tests := []struct {
		name  string
		opts  sfsim.Options
		setup func(*sfsim.Server)
		bulk  BulkOptions
		// cancelInWait ends the query's context in its first wait.
		cancelInWait bool
		wrap         func(http.Handler) http.Handler
		check        func(*testing.T, error)
		deleted      int // jobs.query.delete requests
		aborted      int // jobs.query.abort requests
	}{
		{
			name:  "Salesforce fails the job",
			setup: func(s *sfsim.Server) { s.FailBulkJobs("Query timed out: narrow the query") },
			bulk:  BulkOptions{Wait: noWait},
			check: func(t *testing.T, err error) {
				var be *BulkJobError
				if !errors.As(err, &be) || be.State != "Failed" || be.Message != "Query timed out: narrow the query" || ClassOf(err) != ClassPermanent {
					t.Errorf("err = %v, want a permanent *BulkJobError Failed with the message", err)
				}
			},
			deleted: 1,
		},
		{
			name: "the job outlasts MaxWait",
			opts: sfsim.Options{BulkProcessingTime: time.Hour},
			bulk: BulkOptions{MaxWait: time.Nanosecond, Wait: noWait},
			check: func(t *testing.T, err error) {
				var be *BulkJobError
				if !errors.As(err, &be) || be.State != "InProgress" {
					t.Errorf("err = %v, want a *BulkJobError InProgress", err)
				}
			},
			aborted: 1, deleted: 1,
		},
		{
			name:         "the context ends while waiting",
			opts:         sfsim.Options{BulkProcessingTime: time.Hour},
			cancelInWait: true,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want the context's cancellation", err)
				}
			},
			aborted: 1, deleted: 1,
		},
		{
			name: "Bulk API is not enabled",
			setup: func(s *sfsim.Server) {
				s.InjectFault(sfsim.FaultRule{Endpoint: "jobs.query.create",
					Fault: sfsim.ErrorFault(http.StatusBadRequest, "API_DISABLED_FOR_ORG", "API is not enabled for this Organization or Partner")})
			},
			bulk: BulkOptions{Wait: noWait},
			check: func(t *testing.T, err error) {
				var ae *APIError
				if !errors.As(err, &ae) || !ae.HasCode("API_DISABLED_FOR_ORG") {
					t.Errorf("err = %v, want an *APIError API_DISABLED_FOR_ORG", err)
				}
			},
		},
		{
			name: "the results are not CSV",
			setup: func(s *sfsim.Server) {
				s.InjectFault(sfsim.FaultRule{Endpoint: "jobs.query.results", Fault: sfsim.RawFault(http.StatusOK, "text/csv", "\"Id\"\n\"005")})
			},
			bulk: BulkOptions{Wait: noWait},
			check: func(t *testing.T, err error) {
				var pe *csv.ParseError
				if !errors.As(err, &pe) || ClassOf(err) != ClassPermanent || !strings.Contains(err.Error(), "result set 1") {
					t.Errorf("err = %v, want a permanent *csv.ParseError naming result set 1", err)
				}
			},
			deleted: 1,
		},
		{
			name: "the connection drops in the middle of the results",
			wrap: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.HasSuffix(r.URL.Path, "/results") {
						w = &cutWriter{ResponseWriter: w, left: 10}
					}
					next.ServeHTTP(w, r)
				})
			},
			bulk: BulkOptions{Wait: noWait},
			check: func(t *testing.T, err error) {
				var te *TransportError
				if !errors.As(err, &te) || ClassOf(err) != ClassRetryable {
					t.Errorf("err = %v, want a retryable *TransportError", err)
				}
			},
			deleted: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newWrappedSimEnv(t, tt.opts, tt.wrap, nil)
			if tt.setup != nil {
				tt.setup(env.sim)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelInWait {
				tt.bulk.Wait = func(ctx context.Context, _ time.Duration) error {
					cancel()
					return context.Cause(ctx)
				}
			}
			recs, err := collect(env.client.BulkQuery(ctx, "SELECT Id FROM User", tt.bulk))
			if err == nil {
				t.Fatalf("no error; %d records", len(recs))
			}
			tt.check(t, err)
			calls := endpointCounts(env.observer.get())
			if calls["jobs.query.abort"] != tt.aborted || calls["jobs.query.delete"] != tt.deleted {
				t.Errorf("%d aborts and %d deletes, want %d and %d", calls["jobs.query.abort"], calls["jobs.query.delete"], tt.aborted, tt.deleted)
			}
			if tt.deleted > 0 && len(env.sim.BulkJobStates()) != 0 {
				t.Errorf("jobs left in the org: %v", env.sim.BulkJobStates())
			}
		})
	}
}

// TestSimBulkQueryStopEarly: a caller that stops after the first record leaves no job.
func TestSimBulkQueryStopEarly(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	seedBulkUsers(t, env.sim, 10)
	n := 0
	for _, err := range env.client.BulkQuery(context.Background(), "SELECT Id FROM User", BulkOptions{Wait: func(context.Context, time.Duration) error { return nil }}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		break
	}
	if n != 1 || len(env.sim.BulkJobStates()) != 0 {
		t.Errorf("read %d records; jobs left: %v", n, env.sim.BulkJobStates())
	}
}

// TestSimBulkQueryCountsEachSet: a set shorter than its Sforce-NumberOfRecords is a
// *QueryCountError, not a short read taken for the whole org.
func TestSimBulkQueryCountsEachSet(t *testing.T) {
	short := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/results") {
				w = &headerRewriter{ResponseWriter: w, name: "Sforce-NumberOfRecords", value: "99"}
			}
			next.ServeHTTP(w, r)
		})
	}
	env := newWrappedSimEnv(t, sfsim.Options{}, short, nil)
	_, err := collect(env.client.BulkQuery(context.Background(), "SELECT Id FROM User", BulkOptions{Wait: func(context.Context, time.Duration) error { return nil }}))
	var qe *QueryCountError
	if !errors.As(err, &qe) || qe.TotalSize != 99 || qe.Records != 1 || ClassOf(err) != ClassRetryable {
		t.Errorf("err = %v, want a retryable *QueryCountError 99/1", err)
	}
}

// headerRewriter sets one header of an answer just before it is written.
type headerRewriter struct {
	http.ResponseWriter
	name, value string
}

func (h *headerRewriter) WriteHeader(status int) {
	h.Header().Set(h.name, h.value)
	h.ResponseWriter.WriteHeader(status)
}

// cutWriter writes the first left bytes of an answer and then drops the connection.
type cutWriter struct {
	http.ResponseWriter
	left int
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if len(p) > c.left {
		_, _ = c.ResponseWriter.Write(p[:c.left])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	c.left -= len(p)
	return c.ResponseWriter.Write(p)
}

package salesforce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

// fakeTokens is a token source handing out "tok1", "tok2", ... for an instance URL.
type fakeTokens struct {
	instance string
	n        atomic.Int32
	err      error
}

func (f *fakeTokens) Token() (*oauth2.Token, error) {
	if f.err != nil {
		return nil, f.err
	}
	n := f.n.Add(1)
	tok := &oauth2.Token{AccessToken: fmt.Sprintf("tok%d", n), TokenType: "Bearer"}
	return tok.WithExtra(map[string]any{"instance_url": f.instance}), nil
}

// recordingObserver keeps every call it is told about.
type recordingObserver struct {
	mu    sync.Mutex
	calls []Call
}

func (o *recordingObserver) ObserveCall(c Call) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c.Duration = 0
	o.calls = append(o.calls, c)
}

func (o *recordingObserver) get() []Call {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Call(nil), o.calls...)
}

// countingLimiter counts waits and can refuse.
type countingLimiter struct {
	waits atomic.Int32
	err   error
}

func (l *countingLimiter) Wait(context.Context) error {
	l.waits.Add(1)
	return l.err
}

// fastRetry keeps retry tests quick.
var fastRetry = RetryPolicy{MaxAttempts: 4, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}

// newHandlerClient serves h with httptest and returns a client wired to it.
func newHandlerClient(t *testing.T, h http.HandlerFunc, mod func(*Config)) (*Client, *fakeTokens) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tokens := &fakeTokens{instance: srv.URL}
	cfg := Config{TokenSource: tokens, HTTPClient: srv.Client(), Retry: fastRetry}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, tokens
}

// answer writes a canned answer.
func answer(w http.ResponseWriter, status int, contentType, body string) {
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func TestErrorAnswers(t *testing.T) {
	const jsonType = "application/json;charset=UTF-8"
	tests := []struct {
		name        string
		create      bool // POST a create instead of GET a record
		status      int
		contentType string
		body        string
		wantErr     error
		wantClass   Class
		wantSent    int32
	}{
		{
			name: "several errors all kept", create: true, status: 400, contentType: jsonType,
			body: `[{"message":"Required fields are missing: [LastName, Alias]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName","Alias"]},
			        {"message":"Email: invalid email address: x","errorCode":"INVALID_EMAIL_ADDRESS","fields":["Email"]}]`,
			wantErr: &APIError{Method: "POST", Path: "/services/data/v67.0/sobjects/User", StatusCode: 400, Details: []ErrorDetail{
				{Code: "REQUIRED_FIELD_MISSING", Message: "Required fields are missing: [LastName, Alias]", Fields: []string{"LastName", "Alias"}},
				{Code: "INVALID_EMAIL_ADDRESS", Message: "Email: invalid email address: x", Fields: []string{"Email"}},
			}},
			wantClass: ClassPermanent, wantSent: 1,
		},
		{
			name: "empty error array", status: 400, contentType: jsonType, body: `[]`,
			wantErr:   &APIError{Method: "GET", Path: "/services/data/v67.0/sobjects/User/005000000000001", StatusCode: 400, RawBody: "[]"},
			wantClass: ClassPermanent, wantSent: 1,
		},
		{
			name: "fields missing", status: 404, contentType: jsonType, body: `[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`,
			wantErr: &APIError{Method: "GET", Path: "/services/data/v67.0/sobjects/User/005000000000001", StatusCode: 404, Details: []ErrorDetail{
				{Code: "NOT_FOUND", Message: "The requested resource does not exist"}}},
			wantClass: ClassPermanent, wantSent: 1,
		},
		{
			name: "HTML from a proxy is retried, then kept", status: 502, contentType: "text/html",
			body:      "<html><body><h1>502 Bad Gateway</h1></body></html>\n",
			wantErr:   &APIError{Method: "GET", Path: "/services/data/v67.0/sobjects/User/005000000000001", StatusCode: 502, RawBody: "<html><body><h1>502 Bad Gateway</h1></body></html>"},
			wantClass: ClassRetryable, wantSent: int32(fastRetry.MaxAttempts),
		},
		{
			name: "HTML 502 on a create: may have been applied", create: true, status: 502, contentType: "text/html",
			body:      "<html>Bad Gateway</html>",
			wantErr:   &APIError{Method: "POST", Path: "/services/data/v67.0/sobjects/User", StatusCode: 502, RawBody: "<html>Bad Gateway</html>"},
			wantClass: ClassOutcomeUnknown, wantSent: 1,
		},
		{
			name: "empty body", status: 500, body: "",
			wantErr:   &APIError{Method: "GET", Path: "/services/data/v67.0/sobjects/User/005000000000001", StatusCode: 500},
			wantClass: ClassRetryable, wantSent: int32(fastRetry.MaxAttempts),
		},
		{
			name: "daily limit spent", status: 403, contentType: jsonType,
			body: `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`,
			wantErr: &APIError{Method: "GET", Path: "/services/data/v67.0/sobjects/User/005000000000001", StatusCode: 403, Details: []ErrorDetail{
				{Code: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded."}}},
			wantClass: ClassRateLimited, wantSent: 1,
		},
		{
			name: "lock on a create is safe to retry", create: true, status: 400, contentType: jsonType,
			body: `[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW"}]`,
			wantErr: &APIError{Method: "POST", Path: "/services/data/v67.0/sobjects/User", StatusCode: 400, Details: []ErrorDetail{
				{Code: "UNABLE_TO_LOCK_ROW", Message: "unable to obtain exclusive access to this record"}}},
			wantClass: ClassRetryable, wantSent: int32(fastRetry.MaxAttempts),
		},
		{
			name: "300 is not success", status: 300, contentType: jsonType,
			body:      `["/services/data/v67.0/sobjects/User/005A","/services/data/v67.0/sobjects/User/005B"]`,
			wantErr:   &MultipleChoicesError{Method: "GET", Path: "/services/data/v67.0/sobjects/User/005000000000001", URLs: []string{"/services/data/v67.0/sobjects/User/005A", "/services/data/v67.0/sobjects/User/005B"}},
			wantClass: ClassPermanent, wantSent: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent atomic.Int32
			c, _ := newHandlerClient(t, func(w http.ResponseWriter, r *http.Request) {
				sent.Add(1)
				answer(w, tt.status, tt.contentType, tt.body)
			}, nil)
			var err error
			if tt.create {
				_, err = c.Create(context.Background(), "User", Fields{"LastName": "Doe"})
			} else {
				err = c.Get(context.Background(), "User", "005000000000001", nil, &map[string]any{})
			}
			if diff := cmp.Diff(tt.wantErr, unwrapTyped(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s\nfull error: %v", diff, err)
			}
			if got := ClassOf(err); got != tt.wantClass {
				t.Errorf("ClassOf = %v, want %v", got, tt.wantClass)
			}
			if got := sent.Load(); got != tt.wantSent {
				t.Errorf("requests sent = %d, want %d", got, tt.wantSent)
			}
			if err != nil && !strings.Contains(err.Error(), fmt.Sprint(tt.status)) {
				t.Errorf("error %q does not name the status", err)
			}
		})
	}
}

// unwrapTyped finds the first of this package's error types in err's chain.
func unwrapTyped(err error) error {
	var apiErr *APIError
	var multi *MultipleChoicesError
	switch {
	case errors.As(err, &multi):
		return multi
	case errors.As(err, &apiErr):
		return apiErr
	}
	return err
}

func TestInvalidSessionRenewedOnce(t *testing.T) {
	const expired = `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`
	tests := []struct {
		name       string
		validToken string // the token the server accepts; "" accepts none
		status     int    // the status of the session error
		wantErr    bool
		wantSent   int32
		wantTokens int32
	}{
		{name: "401 then renewed", validToken: "tok2", status: 401, wantSent: 2, wantTokens: 2},
		{name: "403 variant then renewed", validToken: "tok2", status: 403, wantSent: 2, wantTokens: 2},
		{name: "still invalid after renewal: auth error, no loop", status: 401, wantErr: true, wantSent: 2, wantTokens: 2},
		{name: "valid from the start", validToken: "tok1", status: 401, wantSent: 1, wantTokens: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent atomic.Int32
			c, tokens := newHandlerClient(t, func(w http.ResponseWriter, r *http.Request) {
				sent.Add(1)
				if r.Header.Get("Authorization") != "Bearer "+tt.validToken {
					answer(w, tt.status, "application/json", expired)
					return
				}
				answer(w, 200, "application/json", `{"Id":"005000000000001"}`)
			}, nil)
			var rec map[string]any
			err := c.Get(context.Background(), "User", "005000000000001", nil, &rec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr && ClassOf(err) != ClassAuth {
				t.Errorf("ClassOf = %v, want auth", ClassOf(err))
			}
			if got := sent.Load(); got != tt.wantSent {
				t.Errorf("requests = %d, want %d", got, tt.wantSent)
			}
			if got := tokens.n.Load(); got != tt.wantTokens {
				t.Errorf("tokens fetched = %d, want %d", got, tt.wantTokens)
			}
		})
	}
}

// TestRenewalOncePerCallAcrossRetries: a session rejected again after a retried 503
// is not renewed a second time within the same call.
func TestRenewalOncePerCallAcrossRetries(t *testing.T) {
	var sent atomic.Int32
	c, tokens := newHandlerClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch sent.Add(1) {
		case 1, 3:
			answer(w, 401, "application/json", `[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]`)
		case 2:
			answer(w, 503, "", "")
		default:
			answer(w, 204, "", "")
		}
	}, nil)
	err := c.Update(context.Background(), "User", "005000000000001", Fields{"Title": "A"})
	if ClassOf(err) != ClassAuth {
		t.Fatalf("err = %v (class %v), want auth", err, ClassOf(err))
	}
	if sent.Load() != 3 || tokens.n.Load() != 2 {
		t.Errorf("requests = %d, tokens = %d; want 3 and 2", sent.Load(), tokens.n.Load())
	}
}

// TestRenewalSharedByConcurrentCalls: many calls see the expired token at once, and
// one renewal serves them all.
func TestRenewalSharedByConcurrentCalls(t *testing.T) {
	release := make(chan struct{})
	var waiting atomic.Int32
	c, tokens := newHandlerClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer tok1" {
			// Hold every first attempt until all callers hold the stale token.
			waiting.Add(1)
			<-release
			answer(w, 401, "application/json", `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
			return
		}
		answer(w, 200, "application/json", `{"Id":"005000000000001"}`)
	}, nil)
	const callers = 16
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			var rec map[string]any
			errs <- c.Get(context.Background(), "User", "005000000000001", nil, &rec)
		})
	}
	for waiting.Load() < callers {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := tokens.n.Load(); got != 2 {
		t.Errorf("tokens fetched = %d, want 2 (one initial, one shared renewal)", got)
	}
}

func TestRetryStormThenSuccess(t *testing.T) {
	var sent atomic.Int32
	c, _ := newHandlerClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch sent.Add(1) {
		case 1:
			answer(w, 503, "application/json", `[{"message":"Server is unavailable","errorCode":"SERVER_UNAVAILABLE"}]`)
		case 2:
			answer(w, 500, "application/json", `[{"message":"unable to obtain exclusive access","errorCode":"UNABLE_TO_LOCK_ROW"}]`)
		default:
			answer(w, 204, "", "")
		}
	}, nil)
	if err := c.Update(context.Background(), "User", "005000000000001", Fields{"Title": "CTO"}); err != nil {
		t.Fatal(err)
	}
	if got := sent.Load(); got != 3 {
		t.Errorf("requests = %d, want 3", got)
	}
}

func TestRetryHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var sent atomic.Int32
	c, _ := newHandlerClient(t, func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		answer(w, 503, "", "")
	}, func(cfg *Config) {
		cfg.Retry = RetryPolicy{MaxAttempts: 100, InitialInterval: time.Minute, MaxInterval: time.Minute}
		// Cancel while the client waits before its second attempt: once it has read
		// and closed the first answer, whatever the machine's load.
		inner := cfg.HTTPClient.Transport
		cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := inner.RoundTrip(r)
			if err == nil {
				resp.Body = closeHook{ReadCloser: resp.Body, onClose: cancel}
			}
			return resp, err
		})}
	})
	err := c.Update(ctx, "User", "005000000000001", Fields{"Title": "CTO"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
		t.Errorf("err = %v, want it to keep the last attempt's 503", err)
	}
	if got := sent.Load(); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// closeHook calls onClose after closing the body it wraps.
type closeHook struct {
	io.ReadCloser
	onClose func()
}

func (h closeHook) Close() error {
	err := h.ReadCloser.Close()
	h.onClose()
	return err
}

// dropFirst hijacks and closes the first n connections without answering.
func dropFirst(n int32, next http.HandlerFunc) (http.HandlerFunc, *atomic.Int32) {
	var seen atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) <= n {
			io.Copy(io.Discard, r.Body)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		next(w, r)
	}, &seen
}

func TestDroppedConnection(t *testing.T) {
	t.Run("GET is retried", func(t *testing.T) {
		h, seen := dropFirst(1, func(w http.ResponseWriter, r *http.Request) {
			answer(w, 200, "application/json", `{"Id":"005000000000001"}`)
		})
		c, _ := newHandlerClient(t, h, nil)
		var rec map[string]any
		if err := c.Get(context.Background(), "User", "005000000000001", nil, &rec); err != nil {
			t.Fatal(err)
		}
		if seen.Load() != 2 {
			t.Errorf("requests = %d, want 2", seen.Load())
		}
	})
	t.Run("POST create is outcome-unknown, not retried", func(t *testing.T) {
		h, seen := dropFirst(1, func(w http.ResponseWriter, r *http.Request) {
			answer(w, 201, "application/json", `{"id":"005000000000001","success":true,"errors":[]}`)
		})
		c, _ := newHandlerClient(t, h, nil)
		_, err := c.Create(context.Background(), "User", Fields{"LastName": "Doe"})
		if ClassOf(err) != ClassOutcomeUnknown {
			t.Fatalf("err = %v (class %v), want outcome_unknown", err, ClassOf(err))
		}
		if seen.Load() != 1 {
			t.Errorf("requests = %d, want 1", seen.Load())
		}
	})
	t.Run("nothing listening: connection refused is retryable even for a create", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		c, err := New(Config{TokenSource: &fakeTokens{instance: srv.URL}, Retry: RetryPolicy{MaxAttempts: 2, InitialInterval: time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Create(context.Background(), "User", Fields{"LastName": "Doe"})
		if ClassOf(err) != ClassRetryable {
			t.Fatalf("err = %v (class %v), want retryable", err, ClassOf(err))
		}
		_, err = QueryAll[User](context.Background(), c, "SELECT Id FROM User WHERE Email = 'secret@acme.com'")
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("err = %v; want an error that does not repeat the query's values", err)
		}
	})
}

func TestTimeoutPerAttempt(t *testing.T) {
	var sent atomic.Int32
	c, _ := newHandlerClient(t, func(w http.ResponseWriter, r *http.Request) {
		if sent.Add(1) == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		answer(w, 200, "application/json", `{"Id":"005000000000001"}`)
	}, func(cfg *Config) { cfg.Timeout = 50 * time.Millisecond })
	var rec map[string]any
	if err := c.Get(context.Background(), "User", "005000000000001", nil, &rec); err != nil {
		t.Fatal(err)
	}
	if sent.Load() != 2 {
		t.Errorf("requests = %d, want 2 (the slow one timed out and was retried)", sent.Load())
	}
}

func TestReserveRefusesBeforeSending(t *testing.T) {
	var sent atomic.Int32
	obs := &recordingObserver{}
	c, _ := newHandlerClient(t, func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		w.Header().Set("Sforce-Limit-Info", "api-usage=91/100; api-bursts=1/750")
		if strings.HasSuffix(r.URL.Path, "/limits") {
			answer(w, 200, "application/json", `{"DailyApiRequests":{"Max":100,"Remaining":9},"Nested":{"Max":1,"Remaining":1,"Sub":{}}}`)
			return
		}
		answer(w, 204, "", "")
	}, func(cfg *Config) { cfg.Reserve = 0.1; cfg.Observer = obs })

	ctx := context.Background()
	if err := c.Update(ctx, "User", "005000000000001", Fields{"Title": "A"}); err != nil {
		t.Fatalf("first call, usage unknown: %v", err)
	}
	if u, ok := c.Usage(); !ok || u.Used != 91 || u.Max != 100 {
		t.Errorf("Usage() = %+v, %v; want 91/100", u, ok)
	}
	err := c.Update(ctx, "User", "005000000000001", Fields{"Title": "B"})
	var reserve *ReserveError
	if !errors.As(err, &reserve) || ClassOf(err) != ClassRateLimited {
		t.Fatalf("second call: err = %v, want a rate-limited *ReserveError", err)
	}
	if sent.Load() != 1 {
		t.Errorf("requests sent = %d, want 1: the refused one must not be sent", sent.Load())
	}
	limits, err := c.Limits(ctx)
	if err != nil {
		t.Fatalf("Limits is exempt from the reserve: %v", err)
	}
	if diff := cmp.Diff(Limits{"DailyApiRequests": {Max: 100, Remaining: 9}, "Nested": {Max: 1, Remaining: 1}}, limits); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}
	want := []Call{
		{Endpoint: "oauth2.token", Method: "POST", StatusCode: 200},
		{Endpoint: "sobject.update", Method: "PATCH", StatusCode: 204},
		{Endpoint: "sobject.update", Method: "PATCH", Class: ClassRateLimited},
		{Endpoint: "limits", Method: "GET", StatusCode: 200},
	}
	if diff := cmp.Diff(want, obs.get()); diff != "" {
		t.Errorf("observed calls (-want +got):\n%s", diff)
	}
}

func TestLimiterGatesEveryRequest(t *testing.T) {
	var sent atomic.Int32
	lim := &countingLimiter{}
	c, _ := newHandlerClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch sent.Add(1) {
		case 1:
			answer(w, 401, "application/json", `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
		case 2:
			answer(w, 503, "", "")
		default:
			answer(w, 204, "", "")
		}
	}, func(cfg *Config) { cfg.Limiter = lim })
	if err := c.Update(context.Background(), "User", "005000000000001", Fields{"Title": "A"}); err != nil {
		t.Fatal(err)
	}
	if sent.Load() != 3 || lim.waits.Load() != 3 {
		t.Errorf("requests = %d, limiter waits = %d; want 3 and 3", sent.Load(), lim.waits.Load())
	}

	lim.err = errors.New("budget spent")
	err := c.Update(context.Background(), "User", "005000000000001", Fields{"Title": "A"})
	if err == nil || !strings.Contains(err.Error(), "budget spent") {
		t.Errorf("err = %v, want the limiter's error", err)
	}
	if sent.Load() != 3 {
		t.Errorf("a request was sent although the limiter refused")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tokens := &fakeTokens{instance: "http://127.0.0.1"}
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no token source", Config{}, "token_source"},
		{"bad version", Config{TokenSource: tokens, APIVersion: "67"}, "api_version"},
		{"reserve over 1", Config{TokenSource: tokens, Reserve: 1.5}, "reserve"},
		{"negative reserve recheck", Config{TokenSource: tokens, ReserveRecheck: -time.Second}, "reserve_recheck"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("%s: err = %v, want a ConfigError on %s", tt.name, err, tt.field)
		}
	}
	c, err := New(Config{TokenSource: tokens, APIVersion: "62.0"})
	if err != nil || c.APIVersion() != "v62.0" {
		t.Errorf("New with 62.0: %v, version %q", err, c.APIVersion())
	}
}

func TestQueryFollowsCursorVerbatim(t *testing.T) {
	var paths []string
	var batch []string
	c, _ := newHandlerClient(t, func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.RequestURI())
		batch = append(batch, r.Header.Get("Sforce-Query-Options"))
		switch r.URL.Path {
		case "/services/data/v67.0/query":
			answer(w, 200, "application/json", `{"totalSize":3,"done":false,"nextRecordsUrl":"/services/data/v99.0/query/01gX-1",
				"records":[{"attributes":{"type":"User","url":"/x"},"Id":"005A","Username":"a@x.com","IsActive":true,"LastLoginDate":null}]}`)
		case "/services/data/v99.0/query/01gX-1":
			answer(w, 200, "application/json", `{"totalSize":3,"done":true,
				"records":[{"Id":"005B","Username":"b@x.com","IsActive":false,"LastLoginDate":"2013-05-20T20:49:32.000+0000"},{"Id":"005C"}]}`)
		default:
			answer(w, 404, "application/json", `[{"errorCode":"NOT_FOUND","message":"no"}]`)
		}
	}, nil)
	users, err := QueryAll[User](context.Background(), c, "SELECT Id FROM User", WithBatchSize(200))
	if err != nil {
		t.Fatal(err)
	}
	want := []User{
		{ID: "005A", Username: "a@x.com", IsActive: true},
		{ID: "005B", Username: "b@x.com", LastLoginDate: Datetime{time.Date(2013, 5, 20, 20, 49, 32, 0, time.UTC)}},
		{ID: "005C"},
	}
	if diff := cmp.Diff(want, users, cmp.Comparer(func(a, b Datetime) bool { return a.Equal(b.Time) })); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/services/data/v67.0/query?q=SELECT+Id+FROM+User", "/services/data/v99.0/query/01gX-1"}, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"batchSize=200", "batchSize=200"}, batch); diff != "" {
		t.Errorf("Sforce-Query-Options (-want +got):\n%s", diff)
	}
}

func TestQueryRefusesBadCursors(t *testing.T) {
	tests := []struct{ name, page string }{
		{"absolute cursor elsewhere", `{"done":false,"nextRecordsUrl":"https://evil.example/services/data/v67.0/query/1","records":[]}`},
		{"not done without cursor", `{"done":false,"records":[]}`},
		{"cursor to itself", `{"done":false,"nextRecordsUrl":"/services/data/v67.0/query?q=SELECT+Id+FROM+User","records":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent atomic.Int32
			c, _ := newHandlerClient(t, func(w http.ResponseWriter, r *http.Request) {
				sent.Add(1)
				answer(w, 200, "application/json", tt.page)
			}, nil)
			if _, err := QueryAll[User](context.Background(), c, "SELECT Id FROM User"); err == nil {
				t.Error("bad cursor accepted")
			}
			if sent.Load() != 1 {
				t.Errorf("requests = %d, want 1", sent.Load())
			}
		})
	}
	c, _ := newHandlerClient(t, func(w http.ResponseWriter, r *http.Request) { t.Error("request sent") }, nil)
	if _, err := QueryAll[User](context.Background(), c, "SELECT Id FROM User", WithBatchSize(100)); ClassOf(err) != ClassPermanent {
		t.Errorf("batch size 100: err = %v, want a ConfigError", err)
	}
}

// endlessReader is an answer body that never ends.
type endlessReader struct{}

func (endlessReader) Read(p []byte) (int, error) { return len(p), nil }

func TestReadBodyIsBounded(t *testing.T) {
	_, err := readBody(&http.Response{Body: io.NopCloser(endlessReader{}), ContentLength: -1}, nil, true)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %v, want the answer refused as too large", err)
	}
	body, err := readBody(&http.Response{Body: io.NopCloser(endlessReader{}), ContentLength: -1}, nil, false)
	if err != nil || len(body) != maxErrorBytes {
		t.Errorf("error body: %d bytes, err %v; want it cut at %d", len(body), err, maxErrorBytes)
	}
}

package salesforce

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/syncd-io/syncd/internal/secret"
	"github.com/syncd-io/syncd/internal/sfsim"
)

// BenchmarkQueryUsers100k pages through 100,000 users of an in-process sfsim (over
// loopback HTTP) with the User fields syncd reads. The numbers include the simulator's
// own work (evaluating the query, rendering every page), which dominates them.
func BenchmarkQueryUsers100k(b *testing.B) {
	env := newSimEnv(b, sfsim.Options{}, nil)
	seed100k(b, env.sim)
	benchmarkQuery(b, env.client)
}

// BenchmarkQueryUsers100kClientOnly pages through the same 100,000 users, but the
// pages, recorded once from sfsim, are replayed from memory over loopback HTTP: the
// numbers are the client's own (HTTP, reading bodies, decoding into User).
func BenchmarkQueryUsers100kClientOnly(b *testing.B) {
	pages := recordPages(b)
	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.RequestURI()]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Sforce-Limit-Info", "api-usage=100/100000")
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Write(body)
	}))
	b.Cleanup(replay.Close)
	c, err := New(Config{TokenSource: &fakeTokens{instance: replay.URL}, HTTPClient: replay.Client()})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkQuery(b, c)
}

// recordPages reads the 100,000 users from an sfsim served in-process (no listener)
// and returns every answer body by request URI. The simulator is unreachable once it
// returns, so it does not weigh on the measurement.
func recordPages(b *testing.B) map[string][]byte {
	sim, err := sfsim.New(sfsim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	seed100k(b, sim)
	rec := &recordingTransport{handler: sim, pages: map[string][]byte{}}
	c := inProcessClient(b, rec)
	q, _ := UsersQuery()
	if _, err := QueryAll[User](context.Background(), c, q); err != nil {
		b.Fatal(err)
	}
	return rec.pages
}

// inProcessClient returns a client whose requests, the token's included, go through
// the transport t (one that serves sfsim in-process).
func inProcessClient(b *testing.B, t http.RoundTripper) *Client {
	hc := &http.Client{Transport: t}
	src, err := NewClientCredentialsSource(ClientCredentialsConfig{LoginURL: "http://localhost", ClientID: sfsim.DefaultClientID,
		ClientSecret: secret.New(sfsim.DefaultClientSecret), HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(Config{TokenSource: src, HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// recordingTransport serves requests with a handler in-process and keeps every
// answer body by request URI.
type recordingTransport struct {
	handler http.Handler
	pages   map[string][]byte
}

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.handler.ServeHTTP(w, r)
	resp := w.Result()
	t.pages[r.URL.RequestURI()] = w.Body.Bytes()
	return resp, nil
}

const benchUsers = 100_000

// heapAfterGC returns the heap that stays live: HeapAlloc right after a GC.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func seed100k(b *testing.B, sim *sfsim.Server) {
	if err := sim.SetSeats("Salesforce", benchUsers+10); err != nil {
		b.Fatal(err)
	}
	addUsers(b, sim, benchUsers)
}

// benchmarkQuery reads every Standard user with UserFields. Before timing, one
// untimed pass measures live-MB: the most heap that stays live while a page is held
// (a GC runs after each page), which is what bounds memory however large the org.
func benchmarkQuery(b *testing.B, c *Client) {
	q, err := UsersQuery()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	heap := heapAfterGC
	base := heap()
	var peak uint64
	for page, err := range Query[User](ctx, c, q) {
		if err != nil {
			b.Fatal(err)
		}
		if h := heap(); h > base && h-base > peak {
			peak = h - base
		}
		runtime.KeepAlive(page)
	}

	var pages, read int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for page, err := range Query[User](ctx, c, q) {
			if err != nil {
				b.Fatal(err)
			}
			pages++
			read += len(page.Records)
		}
	}
	b.StopTimer()
	if read != b.N*(benchUsers+1) {
		b.Fatalf("read %d users in %d runs, want %d each", read, b.N, benchUsers+1)
	}
	b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
	b.ReportMetric(float64(peak)/(1<<20), "live-MB")
}

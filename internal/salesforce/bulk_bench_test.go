//go:build unix

package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/sfsim"
)

// BenchmarkFullRead reads every Standard user with UserFields, at 100,000 and
// 1,000,000 users, by SOQL paging (Query) and through a Bulk API 2.0 query job
// (BulkQuery), and reports for each:
//
//   - calls/op: the API calls sfsim charged for one read;
//   - sim-s/op: the wall time of one read against sfsim served in-process (no
//     listener), the simulator's own work included;
//   - ns/op, cpu-s/op, B/op, allocs/op: the client alone, its answers replayed from
//     memory over loopback HTTP (cpu-s is the process's user+system time);
//   - live-MB: the most heap that stays live during a read beyond the replayed
//     answers (a GC runs every 50,000 records), which is what bounds the client's
//     memory however large the org.
//
// Run it with -benchtime 1x: the 1M setup alone holds the org, its rendered answers
// and their recording (several GiB) and takes minutes.
func BenchmarkFullRead(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			sim, err := sfsim.New(sfsim.Options{APIMax: 100_000_000})
			if err != nil {
				b.Fatal(err)
			}
			if err := sim.SetSeats("Salesforce", int64(n+10)); err != nil {
				b.Fatal(err)
			}
			addUsers(b, sim, n)
			readers := []struct {
				name string
				read func(context.Context, *Client, func()) error
			}{
				{"soql", readSOQL},
				{"bulk", readBulk},
			}
			for _, r := range readers {
				b.Run(r.name, func(b *testing.B) {
					rec, calls, simTime := recordRead(b, sim, r.read)
					benchmarkReplay(b, rec, n+1, r.read)
					b.ReportMetric(float64(calls), "calls/op")
					b.ReportMetric(simTime.Seconds(), "sim-s/op")
				})
			}
		})
	}
}

// readSOQL and readBulk read every Standard user, calling record once per user.
func readSOQL(ctx context.Context, c *Client, record func()) error {
	q, err := UsersQuery()
	if err != nil {
		return err
	}
	for page, err := range Query[User](ctx, c, q) {
		if err != nil {
			return err
		}
		for range page.Records {
			record()
		}
	}
	return nil
}

func readBulk(ctx context.Context, c *Client, record func()) error {
	q, err := UsersQuery()
	if err != nil {
		return err
	}
	for _, err := range c.BulkQuery(ctx, q, BulkOptions{Wait: func(context.Context, time.Duration) error { return nil }}) {
		if err != nil {
			return err
		}
		record()
	}
	return nil
}

// recordedAnswer is one answer of the simulator, kept for replay.
type recordedAnswer struct {
	status int
	header http.Header
	body   []byte
}

// answerRecorder serves requests with a handler in-process and keeps the last
// answer to each method and request URI.
type answerRecorder struct {
	handler http.Handler
	mu      sync.Mutex
	answers map[string]recordedAnswer
}

func (t *answerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.handler.ServeHTTP(w, r)
	t.mu.Lock()
	t.answers[r.Method+" "+r.URL.RequestURI()] = recordedAnswer{status: w.Code, header: w.Header().Clone(), body: w.Body.Bytes()}
	t.mu.Unlock()
	return w.Result(), nil
}

// recordRead runs one read against sim in-process and returns its answers, the API
// calls it was charged and how long it took.
func recordRead(b *testing.B, sim *sfsim.Server, read func(context.Context, *Client, func()) error) (map[string]recordedAnswer, int64, time.Duration) {
	rec := &answerRecorder{handler: sim, answers: map[string]recordedAnswer{}}
	c := inProcessClient(b, rec)
	before, _ := sim.APIUsage()
	start := time.Now()
	if err := read(context.Background(), c, func() {}); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	after, _ := sim.APIUsage()
	return rec.answers, after - before, took
}

// benchmarkReplay times reads of the recorded answers served over loopback HTTP,
// after one untimed read that measures live-MB.
func benchmarkReplay(b *testing.B, answers map[string]recordedAnswer, users int, read func(context.Context, *Client, func()) error) {
	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := answers[r.Method+" "+r.URL.RequestURI()]
		if !ok {
			http.NotFound(w, r)
			return
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	}))
	b.Cleanup(replay.Close)
	c, err := New(Config{TokenSource: &fakeTokens{instance: replay.URL}, HTTPClient: replay.Client()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	heap := heapAfterGC
	base := heap()
	var peak uint64
	read1 := 0
	if err := read(ctx, c, func() {
		read1++
		if read1%50_000 == 0 {
			if h := heap(); h > base && h-base > peak {
				peak = h - base
			}
		}
	}); err != nil {
		b.Fatal(err)
	}
	if read1 != users {
		b.Fatalf("read %d users, want %d", read1, users)
	}

	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := read(ctx, c, func() {}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(peak)/(1<<20), "live-MB")
}

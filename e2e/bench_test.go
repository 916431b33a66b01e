package e2e

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envBenchOut names the file BenchmarkCycles appends its Markdown table rows to
// (scripts/bench-e2e.sh sets it); unset, the rows are only logged.
const envBenchOut = "SYNCD_BENCH_E2E_OUT"

// benchConcurrency is the Salesforce requests syncd keeps in flight in the benchmarks:
// the most Salesforce allows an org (25 long-running requests).
const benchConcurrency = 25

// cycleFigures are one measured `syncd apply --once`.
type cycleFigures struct {
	calls, minimum, baseline int64
	wall, cpu                time.Duration
	maxRSSKiB                int64
	requests                 map[string]int // per endpoint
}

// measure runs one `syncd apply --once --full`, which must succeed, and returns what
// it cost: the API calls the org charged, the wall and CPU time of the process and
// its peak resident memory. The cycles read in full, the cost the minimums and the
// seed's baseline describe; a delta cycle's cost is measured in BENCHMARKS.md.
func measure(b *testing.B, org *sfsimProcess, d *deployment) cycleFigures {
	b.Helper()
	before := org.state(b)
	cmd := d.command(b, "apply", "--once", "--full")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if code := exitCodeOf(b, err); code != exitOK {
		b.Fatalf("syncd apply --once exited %d:\n%s", code, out.String())
	}
	after := org.state(b)
	f := cycleFigures{calls: charged(b, before, after), wall: wall, requests: callsSince(before, after),
		cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		f.maxRSSKiB = ru.Maxrss // kilobytes on Linux
	}
	return f
}

// fullReadCalls is the fewest calls a one-shot process's full read of an org of n
// Standard users can cost: SOQL pages of 2,000 below salesforce.bulk.min_users
// (50,000 by default), and above it the first page that tells the org's size, then a
// Bulk API 2.0 query job (its creation, the two status reads sfsim answers before it
// is done, and one result set per 50,000 users, sfsim's size as Salesforce's default).
func fullReadCalls(n int) int64 {
	if n < 50000 {
		return int64(ceilDiv(n, 2000))
	}
	return int64(1 + 1 + 2 + ceilDiv(n, 50000))
}

// seedBaseline is the API calls of the same work done the way the seed document
// describes: one SOQL query per person to find their user by FederationIdentifier,
// one REST call per user written (POST to create, PATCH to update or deactivate),
// and, to find leavers, a listing of the org's users in pages of 2,000.
func seedBaseline(people, usersListed int, writes ...int) int64 {
	n := people + ceilDiv(usersListed, 2000)
	for _, w := range writes {
		n += w
	}
	return int64(n)
}

// BenchmarkCycles measures syncd's cycles against sfsim as processes: a first sync, a
// cycle with nothing to do and one with 1 % churn (0.4 % joiners, 0.4 % movers, 0.2 %
// leavers), at 10,000 and 100,000 people, with no injected latency and with 100 ms a
// request. Run it once (-benchtime 1x): each iteration is a whole org's life.
func BenchmarkCycles(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		for _, latency := range []time.Duration{0, 100 * time.Millisecond} {
			b.Run(fmt.Sprintf("people=%d/latency=%v", n, latency), func(b *testing.B) {
				for range b.N {
					benchCycles(b, n, latency)
				}
			})
		}
	}
}

func benchCycles(b *testing.B, n int, latency time.Duration) {
	org := startSfsim(b, map[string]any{"licenses": []map[string]any{{"name": "Salesforce", "seats": 2 * n}}},
		"--latency", latency.String(), "--api-max", "1000000")
	d := deploy(b, org, settings{MaxDeactivations: n, MaxDeactivationPercent: 100, MaxShrinkPercent: 100,
		Concurrency: benchConcurrency, Share: 1})
	people := staff(1, n)
	d.write(b, people)
	first := measure(b, org, d)
	first.minimum = minimumCalls(1, n)
	first.baseline = seedBaseline(n, 0, n)

	same := measure(b, org, d)
	same.minimum = fullReadCalls(n+1) + 2
	same.baseline = seedBaseline(n, n+1)

	joiners, movers, leavers := n/250, n/250, n/500
	for i := range movers {
		people[i].Title = "Staff Engineer"
	}
	stay := append(people[:n-leavers:n-leavers], staff(n+1, joiners)...)
	d.write(b, stay)
	churn := measure(b, org, d)
	// A cycle that both creates and deactivates looks up the free license seats
	// once, to know whether the deactivations must go first: one look-up more. The
	// leavers are offboarded under the default policy: its reads (one query per
	// step for all of them) and one Collections call per 200 freezes; they own no
	// records and have no sessions, so nothing else is written.
	churn.minimum = fullReadCalls(n+1) + 2 + int64(ceilDiv(joiners, 200)+ceilDiv(movers, 200)+ceilDiv(leavers, 200)) +
		1 + offboardingReads + int64(ceilDiv(leavers, 200))
	churn.baseline = seedBaseline(len(stay), n+1, joiners, movers, leavers)
	checkSynced(b, org, d, stay, people[n-leavers:])

	for _, c := range []struct {
		name string
		f    cycleFigures
	}{{"first sync", first}, {"no change", same}, {"1 % churn", churn}} {
		f := c.f
		floor := time.Duration(f.calls) * latency / benchConcurrency
		baseFloor := time.Duration(f.baseline) * latency / benchConcurrency
		row := fmt.Sprintf("| %d | %v | %s | %d | %d | %.2f | %.2f s | %.2f s | %.2f | %.2f s | %d MiB | %d | %.2f s |",
			n, latency, c.name, f.calls, f.minimum, float64(f.calls)/float64(f.minimum),
			f.wall.Seconds(), floor.Seconds(), ratio(f.wall, floor), f.cpu.Seconds(), f.maxRSSKiB/1024,
			f.baseline, baseFloor.Seconds())
		b.Logf("%s requests %v", row, f.requests)
		appendRow(b, row)
	}
	b.ReportMetric(float64(first.calls)/float64(first.minimum), "first-calls/min")
	b.ReportMetric(float64(churn.calls)/float64(churn.minimum), "churn-calls/min")
	b.ReportMetric(first.wall.Seconds(), "first-wall-s")
}

// ratio is wall / floor, or 0 when there is no floor (no injected latency).
func ratio(wall, floor time.Duration) float64 {
	if floor == 0 {
		return 0
	}
	return float64(wall) / float64(floor)
}

// appendRow adds a table row to the file envBenchOut names, if any.
func appendRow(b *testing.B, row string) {
	b.Helper()
	path := os.Getenv(envBenchOut)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := fmt.Fprintln(f, row); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

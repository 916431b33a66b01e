package reconcile_test

import (
	"context"
	"testing"
)

// BenchmarkCycle measures a first sync of 10,000 people into a simulated org and
// the cycle after it, and reports the API calls each cost next to the minimum the
// work allows (⌈users read / 2000⌉ pages + 2 look-ups + ⌈creates / 200⌉).
func BenchmarkCycle(b *testing.B) {
	const n = 10000
	for b.Loop() {
		b.StopTimer()
		org := newSimOrg(b, nil)
		if err := org.Sim.SetSeats("Salesforce", n+10); err != nil {
			b.Fatal(err)
		}
		e := newEnv(b, org, people(0, n), nil)
		b.StartTimer()
		before := org.Used()
		if _, err := e.engine.RunOnce(context.Background(), "bench"); err != nil {
			b.Fatal(err)
		}
		first := org.Used() - before
		if _, err := e.engine.RunOnce(context.Background(), "bench"); err != nil {
			b.Fatal(err)
		}
		second := org.Used() - before - first
		b.ReportMetric(float64(first), "first-sync-calls")
		b.ReportMetric(float64(pages(1)+lookups+batches(n)), "first-sync-minimum")
		b.ReportMetric(float64(second), "second-cycle-calls")
		b.ReportMetric(float64(pages(n+1)+lookups), "second-cycle-minimum")
	}
}

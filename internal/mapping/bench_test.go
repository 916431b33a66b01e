//go:build unix

package mapping

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/benchkit"
	"github.com/syncd-io/syncd/internal/source"
)

// BenchmarkPullAndMap1M parses a 1,000,000-row CSV export (Entra column names, written
// into b.TempDir()) and maps every row with the default fields plus two templated ones
// and a profile rule, then resolves the profile names to Ids: the desired-state half of
// a cycle at the 1M-user target. It
// reports the heap's peak while it runs (sampled every 2ms from runtime/metrics) and
// the heap still live afterwards with the snapshot and the mapping result both held,
// the heap live with only the result held (what a caller that lets go of the records
// keeps for the plan), and the wall and CPU time (all threads, GC included) of the pull
// and of the mapping: wall time alone misleads on a shared machine.
func BenchmarkPullAndMap1M(b *testing.B) {
	benchmarkPullAndMap(b, 1_000_000)
}

func benchmarkPullAndMap(b *testing.B, rows int) {
	path := filepath.Join(b.TempDir(), "people.csv")
	size := writeBenchCSV(b, path, rows)
	src, err := source.New(source.Config{Type: source.TypeFile, Path: path, Format: source.FormatCSV}, source.Options{})
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(Config{
		Fields: map[string]FieldConfig{
			"Title":                {From: "{{ .Title }}"},
			"Department":           {From: "{{ .Department | default \"General\" }}"},
			"FederationIdentifier": {From: "{{ .UserName | lower }}"},
		},
		Profile: AssignmentConfig{
			Rules:   []Rule{{When: map[string]string{"department": "Dept 7"}, Profile: "Sales User"}},
			Default: "Standard User",
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var peak, live, result uint64
	var pullTime, mapTime, pullCPU, mapCPU time.Duration
	for b.Loop() {
		runtime.GC()
		stop := benchkit.PeakHeap(2 * time.Millisecond)
		cpu0, start := cpuUsed(b), time.Now()
		snap, err := src.Pull(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		cpu1, pulled := cpuUsed(b), time.Now()
		res := m.Map(snap.Records)
		if err := m.ResolveIDs(res.Desired, map[string]string{"Sales User": "00e000000000001AAA", "Standard User": "00e000000000002AAA"}, nil); err != nil {
			b.Fatal(err)
		}
		pullTime += pulled.Sub(start)
		mapTime += time.Since(pulled)
		pullCPU += cpu1 - cpu0
		mapCPU += cpuUsed(b) - cpu1
		peak = max(peak, stop())
		if len(res.Desired)+len(res.Inactive) != rows || len(res.Rejected) != 0 {
			b.Fatalf("desired %d inactive %d rejected %d", len(res.Desired), len(res.Inactive), len(res.Rejected))
		}
		live = liveHeap()
		runtime.KeepAlive(snap)
		snap = source.Snapshot{} // the caller lets go of the records once mapped
		result = liveHeap()
		runtime.KeepAlive(res)
	}
	n := float64(b.N)
	b.ReportMetric(pullTime.Seconds()/n, "pull-s")
	b.ReportMetric(mapTime.Seconds()/n, "map-s")
	b.ReportMetric(pullCPU.Seconds()/n, "pull-cpu-s")
	b.ReportMetric(mapCPU.Seconds()/n, "map-cpu-s")
	b.ReportMetric(float64(size)/(1<<20), "file-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(live)/(1<<20), "live-heap-MiB")
	b.ReportMetric(float64(live)/float64(rows), "live-B/user")
	b.ReportMetric(float64(result)/(1<<20), "result-heap-MiB")
}

// liveHeap returns the bytes of heap objects still reachable after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// cpuUsed returns the CPU time the process has used so far (benchkit.CPU).
func cpuUsed(b *testing.B) time.Duration {
	cpu, err := benchkit.CPU()
	if err != nil {
		b.Fatal(err)
	}
	return cpu
}

// writeBenchCSV writes n people in Entra's column names and returns the file's size.
func writeBenchCSV(tb testing.TB, path string, n int) int64 {
	tb.Helper()
	size, err := benchkit.WriteExport(path, n)
	if err != nil {
		tb.Fatal(err)
	}
	return size
}

// BenchmarkPullAndMap100k is the same at 100,000 rows, quick enough to profile.
func BenchmarkPullAndMap100k(b *testing.B) {
	benchmarkPullAndMap(b, 100_000)
}

//go:build unix

package reconcile

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/benchkit"
	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/source"
)

// BenchmarkOneShotCycle is the CPU side of a whole one-shot cycle of n people: pull a
// CSV export (benchkit.WriteExport), map it, resolve profile names, and plan against
// the org's users, which come from a prepared in-memory list (what the Salesforce
// read would have returned: every person's user, linked, 1 % with a drifted Title)
// so that the figure is syncd's own work, not the simulator's. Each cycle pulls
// through a new file source, as a one-shot process starts with one: a source that
// had read the export before would answer NotModified without parsing it. The pull
// and the mapping are the engine's (pullMapped, without a memo), and the source stays
// alive until the plan is made, as the engine's does.
//
// It reports cpu-s, the process's CPU time per cycle (GC included); peak-heap-MiB,
// the largest heap seen while the cycle ran, the org's list included since a real
// cycle holds it too; and cycle-peak-MiB, that peak less the heap measured after a
// collection just before the cycle (the org's list and the benchmark's own data),
// which is the part of the peak the cycle's code decides.
func BenchmarkOneShotCycle(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(benchName(n), func(b *testing.B) { benchmarkOneShotCycle(b, n) })
	}
}

func benchName(n int) string {
	if n >= 1_000_000 {
		return "1M"
	}
	return "100k"
}

func benchmarkOneShotCycle(b *testing.B, n int) {
	path := filepath.Join(b.TempDir(), "people.csv")
	if _, err := benchkit.WriteExport(path, n); err != nil {
		b.Fatal(err)
	}
	newSource := func() source.Source {
		src, err := source.New(source.Config{Type: source.TypeFile, Path: path, Format: source.FormatCSV}, source.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return src
	}
	m, err := mapping.New(mapping.Config{
		Fields:  map[string]mapping.FieldConfig{"Title": {From: "{{ .Title }}"}, "Department": {From: "{{ .Department }}"}},
		Profile: mapping.AssignmentConfig{Default: "Standard User"},
	})
	if err != nil {
		b.Fatal(err)
	}
	profiles := map[string]string{"Standard User": "00e000000000002AAA"}
	existing, links := orgOf(b, newSource(), m, profiles)
	pol := Policy{Mode: ModeSync, Guardrails: Guardrails{MaxDeactivations: 50, MaxDeactivationPercent: 5, MaxSourceShrinkPercent: 10}}
	var cpu time.Duration
	var peak, cyclePeak uint64
	var plan Plan
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		src := newSource()
		runtime.GC()
		before := benchkit.HeapObjects()
		stop := benchkit.PeakHeap(2 * time.Millisecond)
		start := processCPU(b)
		snap, res, _, err := pullMapped(context.Background(), src, m, nil) // as the engine pulls and maps
		if err != nil {
			b.Fatal(err)
		}
		pulled := Source{Complete: snap.Complete, Count: snap.Count, Baseline: snap.Count}
		snap = source.Snapshot{} // the engine lets go of the records once mapped
		if err := m.ResolveIDs(res.Desired, profiles, nil); err != nil {
			b.Fatal(err)
		}
		plan = Calculate(Input{
			Desired: res.Desired, Inactive: res.Inactive, Rejected: res.Rejected, Existing: existing, Links: links,
			Source: pulled,
		}, pol)
		cpu += processCPU(b) - start
		p := stop()
		runtime.KeepAlive(src)
		peak, cyclePeak = max(peak, p), max(cyclePeak, p-min(p, before))
	}
	b.StopTimer()
	if want := (len(existing) + 99) / 100; len(plan.Actions) < want {
		b.Fatalf("%d actions, want the %d drifted users updated at least", len(plan.Actions), want)
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(cyclePeak)/(1<<20), "cycle-peak-MiB")
	runtime.KeepAlive(existing)
}

// orgOf maps the export once and returns the users Salesforce would hold after a
// first sync, with their links: every active person's user with the desired values,
// every hundredth with a Title an admin changed since. Each user's values are packed
// into one string of its own by one FieldPacker, as the real read
// (internal/app/directory.go, userReader) packs them: were they substrings of the
// export's lines, the list would keep a second copy of those lines alive, and the
// cycle would compare values that share memory. Username, Email,
// FederationIdentifier and ProfileId are the packed values, as the reader's are.
func orgOf(b *testing.B, src source.Source, m *mapping.Mapper, profiles map[string]string) ([]Existing, []Link) {
	snap, err := src.Pull(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	res := m.Map(snap.Records)
	if err := m.ResolveIDs(res.Desired, profiles, nil); err != nil {
		b.Fatal(err)
	}
	existing := make([]Existing, len(res.Desired))
	links := make([]Link, len(res.Desired))
	var packer FieldPacker
	var fields []FieldValue
	for i := range res.Desired {
		d := &res.Desired[i]
		id := sfID(i)
		fields = fields[:0]
		for _, f := range d.Fields {
			v := f.Value
			if f.Name == "Title" && i%100 == 0 {
				v = "Changed by an admin"
			}
			fields = append(fields, FieldValue{Name: f.Name, Value: v})
		}
		existing[i] = withFields(Existing{ID: id, IsActive: true, UserType: "Standard"}, fields, &packer)
		links[i] = Link{IdPID: strings.Clone(d.ID), SalesforceID: id}
	}
	return existing, links
}

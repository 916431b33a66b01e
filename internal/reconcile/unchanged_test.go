package reconcile_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/source"
)

// fileSource returns a file source over a copy of testdata/three-people.csv (people
// 0 to 2), which answers every pull after the first NotModified without records.
func fileSource(t *testing.T) source.Source { return fileSourceOf(t, "three-people.csv") }

// fileSourceOf returns a file source over a copy of the named file of testdata.
func fileSourceOf(t *testing.T, name string) source.Source {
	t.Helper()
	src, _ := fileSourceAt(t, name)
	return src
}

// fileSourceAt is fileSourceOf, and the path of the copy it reads.
func fileSourceAt(t *testing.T, name string) (source.Source, string) {
	t.Helper()
	export, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(path, export, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := source.New(source.Config{Type: source.TypeFile, Path: path, Format: source.FormatCSV}, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return src, path
}

// drift changes a field of person n's user in the org, as an admin would.
func drift(t *testing.T, org *simOrg, n int, field, value string) {
	t.Helper()
	u, _ := org.Sim.User(person(n).Emails[0].Value)
	if err := org.Client.Update(context.Background(), "User", u.ID, salesforce.Fields{field: value}); err != nil {
		t.Fatal(err)
	}
}

// TestAnUnchangedExportWithoutRecordsPlansAsAFullPull: the file source answers an
// unchanged export with its count and digest but no records. With the memo the
// remembered mapping stands for them; without one the engine reads the export again
// whole. Either way the cycle plans what a full pull would (the drift reverted, no
// one deactivated), never as if the export were empty.
func TestAnUnchangedExportWithoutRecordsPlansAsAFullPull(t *testing.T) {
	tests := []struct {
		name     string
		memo     *reconcile.MapMemo
		wantHits int
	}{
		{name: "the memo's mapping stands for the records", memo: &reconcile.MapMemo{}, wantHits: 1},
		{name: "without a memo the export is read again", memo: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := newSimOrg(t, nil)
			src := fileSource(t)
			e := newEnv(t, org, nil, func(c *reconcile.Config) { c.Source, c.Memo, c.Plan = src, tt.memo, reconcile.Calculate })
			e.runOnce(t)
			drift(t, org, 1, "LastName", "Drifted")

			s, _ := e.runOnce(t)
			if !s.SourceUnchanged || s.Stats.SourceRecords != 3 {
				t.Errorf("SourceUnchanged %v, %d source records; want true and 3", s.SourceUnchanged, s.Stats.SourceRecords)
			}
			if tt.memo != nil && tt.memo.Hits() != tt.wantHits {
				t.Errorf("mapping re-used %d times, want %d", tt.memo.Hits(), tt.wantHits)
			}
			want := []outcome{{Kind: reconcile.KindUpdate, IdPID: "E0001", Status: "applied"}}
			if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
				t.Errorf("cycle over the unchanged export (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]bool{true, true, true}, activeIn(org, 3)); diff != "" {
				t.Errorf("active users (-want +got):\n%s", diff)
			}
		})
	}
}

// TestATargetedRunReadsAnUnchangedExport: picking the named people needs the records,
// which an unchanged file source no longer keeps; Lookup reads the export again, and
// the named person's drift is reverted.
func TestATargetedRunReadsAnUnchangedExport(t *testing.T) {
	org := newSimOrg(t, nil)
	src := fileSource(t)
	e := newEnv(t, org, nil, func(c *reconcile.Config) { c.Source, c.Memo, c.Plan = src, &reconcile.MapMemo{}, reconcile.Calculate })
	e.runOnce(t)
	drift(t, org, 1, "LastName", "Drifted")
	drift(t, org, 2, "LastName", "Drifted")

	e.reconcileOnce(t, reconcile.Target{Keys: []string{"p0001@acme.example.com"}})
	want := []outcome{{Kind: reconcile.KindUpdate, IdPID: "E0001", Status: "applied"}}
	if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
		t.Errorf("targeted run over the unchanged export (-want +got):\n%s", diff)
	}
}

// recordlessSource answers NotModified without records and cannot be read afresh.
type recordlessSource struct{ count int }

func (s recordlessSource) Pull(context.Context) (source.Snapshot, error) {
	return source.Snapshot{Complete: true, Count: s.count, Digest: "d", NotModified: true, FetchedAt: testNow}, nil
}

// TestAnUnchangedAnswerThatCannotBeReadAgainFailsTheCycle: with neither the memo's
// mapping nor a way to read the records again, the cycle fails instead of taking the
// snapshot for an empty source and deactivating everyone.
func TestAnUnchangedAnswerThatCannotBeReadAgainFailsTheCycle(t *testing.T) {
	org := newSimOrg(t, nil)
	e := newEnv(t, org, people(0, 3), func(c *reconcile.Config) { c.Plan = reconcile.Calculate })
	e.runOnce(t)
	e.engine = newEnv(t, org, nil, func(c *reconcile.Config) {
		c.Source, c.Journal, c.Plan = recordlessSource{count: 3}, e.journal, reconcile.Calculate
		c.Policy.Guardrails = reconcile.Guardrails{MaxDeactivations: -1, MaxDeactivationPercent: -1, MaxSourceShrinkPercent: -1}
	}).engine

	if s, err := e.engine.RunOnce(context.Background(), "manual"); err == nil {
		t.Errorf("RunOnce succeeded (summary %+v); want the pull's failure", s)
	}
	if diff := cmp.Diff([]bool{true, true, true}, activeIn(org, 3)); diff != "" {
		t.Errorf("active users (-want +got):\n%s", diff)
	}
}

// TestAStreamedExportIsPlannedAsAWholeOne: the file source hands its records to the
// mapping as it reads them. A cut-short export still creates the people read before
// the broken line and deactivates no one; an export whose ids repeat, which a stream
// learns only at its end, is read again and mapped whole, so that every record of the
// repeated id is rejected as before.
func TestAStreamedExportIsPlannedAsAWholeOne(t *testing.T) {
	tests := []struct {
		name         string
		export       string
		wantComplete bool
		want         []outcome
		wantRejected int
	}{
		{name: "cut short", export: "cut-short.csv", want: []outcome{
			{Kind: reconcile.KindCreate, IdPID: "E0000", Status: "applied"},
			{Kind: reconcile.KindCreate, IdPID: "E0001", Status: "applied"},
			{Kind: reconcile.KindCreate, IdPID: "E0002", Status: "applied"},
		}},
		{name: "a repeated id", export: "repeated-id.csv", wantComplete: true, wantRejected: 2, want: []outcome{
			{Kind: reconcile.KindCreate, IdPID: "E0000", Status: "applied"},
			{Kind: reconcile.KindCreate, IdPID: "E0002", Status: "applied"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := newSimOrg(t, nil)
			e := newEnv(t, org, nil, func(c *reconcile.Config) {
				c.Source, c.Memo, c.Plan = fileSourceOf(t, tt.export), &reconcile.MapMemo{}, reconcile.Calculate
			})
			s, err := e.engine.RunOnce(context.Background(), "manual")
			if err != nil || s.SourceComplete != tt.wantComplete || s.Stats.RejectedRecords != tt.wantRejected {
				t.Errorf("RunOnce: source complete %v, %d rejected, %v; want complete %v, %d rejected",
					s.SourceComplete, s.Stats.RejectedRecords, err, tt.wantComplete, tt.wantRejected)
			}
			if diff := cmp.Diff(tt.want, e.journal.outcomes(1)); diff != "" {
				t.Errorf("cycle (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTheMemoKeepsTheCyclesOwnMapping: the memo remembers the mapping the cycle
// planned with, once its profile Ids are resolved, instead of a copy made beside it
// (at a million people a second copy of every user's Fields, some 500 MB, for the
// whole cycle). Without a memo, nothing keeps it after the cycle.
func TestTheMemoKeepsTheCyclesOwnMapping(t *testing.T) {
	tests := []struct {
		name     string
		memo     *reconcile.MapMemo
		wantKept bool
	}{
		{name: "with a memo", memo: &reconcile.MapMemo{}, wantKept: true},
		{name: "without", memo: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := newSimOrg(t, nil)
			var planned weak.Pointer[mapping.Field]
			e := newEnv(t, org, people(0, 3), func(c *reconcile.Config) {
				c.Memo = tt.memo
				c.Plan = func(in reconcile.Input, pol reconcile.Policy) reconcile.Plan {
					planned = weak.Make(&in.Desired[0].Fields[0])
					return reconcile.Calculate(in, pol)
				}
			})
			e.runOnce(t)
			runtime.GC()
			if kept := planned.Value() != nil; kept != tt.wantKept {
				t.Errorf("the Fields the cycle planned with are kept: %v, want %v", kept, tt.wantKept)
			}
			runtime.KeepAlive(tt.memo)
		})
	}
}

// TestTheMemoStaysWholeAcrossTargetedRuns: a targeted run resolves the named people's
// Fields apart from the mapping it hands to the memo, so that a later full cycle
// re-using that mapping plans every person right: here the targeted run maps the
// export first and creates E0001, an admin then changes E0001's Username, and the
// full cycle after it creates the two others and puts E0001's Username back (the
// last of its Fields, which ProfileId pushed out of the memo's view when it was
// inserted in place).
func TestTheMemoStaysWholeAcrossTargetedRuns(t *testing.T) {
	org := newSimOrg(t, nil)
	memo := &reconcile.MapMemo{}
	e := newEnv(t, org, nil, func(c *reconcile.Config) { c.Source, c.Memo, c.Plan = fileSource(t), memo, reconcile.Calculate })
	e.reconcileOnce(t, reconcile.Target{Keys: []string{"E0001"}})
	drift(t, org, 1, "Username", "drifted@acme.example.com")
	s, _ := e.runOnce(t)

	want := []outcome{
		{Kind: reconcile.KindCreate, IdPID: "E0000", Status: "applied"},
		{Kind: reconcile.KindCreate, IdPID: "E0002", Status: "applied"},
		{Kind: reconcile.KindUpdate, IdPID: "E0001", Status: "applied"},
	}
	if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
		t.Errorf("full cycle after the targeted run (-want +got):\n%s", diff)
	}
	if memo.Hits() != 1 || !s.SourceUnchanged {
		t.Errorf("mapping re-used %d times, SourceUnchanged %v; want 1 and true", memo.Hits(), s.SourceUnchanged)
	}
}

// TestATouchedExportIsPlannedWithItsOwnMapping: a file rewritten with the same
// content (its time changed) is read and mapped again; the cycle plans with that
// mapping rather than a copy of the memo's, and still counts the export unchanged.
func TestATouchedExportIsPlannedWithItsOwnMapping(t *testing.T) {
	src, path := fileSourceAt(t, "three-people.csv")
	org := newSimOrg(t, nil)
	memo := &reconcile.MapMemo{}
	e := newEnv(t, org, nil, func(c *reconcile.Config) { c.Source, c.Memo, c.Plan = src, memo, reconcile.Calculate })
	e.runOnce(t)
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	s, _ := e.runOnce(t)
	if !s.SourceUnchanged || s.Stats.SourceRecords != 3 || s.Applied != 0 {
		t.Errorf("SourceUnchanged %v, %d source records, %d applied; want true, 3 and none", s.SourceUnchanged, s.Stats.SourceRecords, s.Applied)
	}
	if memo.Hits() != 0 {
		t.Errorf("the memo's mapping was copied %d times, want none: the cycle had mapped the export itself", memo.Hits())
	}
}

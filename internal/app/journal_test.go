package app

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/store"
)

// TestJournalOverTheStore runs three cycles' worth of journal calls through the
// adapter on a real (SQLite) store: plans with held and skipped entries, a paused
// run, back-offs derived from two failures and ended by a success, links, notes,
// approvals and snapshots.
func TestJournalOverTheStore(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	s := openSQLite(t, now)
	lease, err := s.TryLeaderLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lease.Release(ctx) })
	j := NewJournal(s, lease.Epoch())

	if _, ok, err := j.LastGoodSnapshot(ctx); ok || err != nil {
		t.Errorf("LastGoodSnapshot of an empty store = %v, %v", ok, err)
	}
	create := reconcile.Action{Kind: reconcile.KindCreate, IdPID: "E1", Username: "e1@acme.example.com",
		Changes: []reconcile.Change{{Field: "Username", After: "e1@acme.example.com"}}}
	deactivate := reconcile.Action{Kind: reconcile.KindDeactivate, IdPID: "E2", SalesforceID: "005000000000002AAA"}
	update := reconcile.Action{Kind: reconcile.KindUpdate, IdPID: "E3", SalesforceID: "005000000000003AAA"}

	// Run 1: the create fails and is backed off; the run pauses.
	run1 := startAndPlan(t, j, []reconcile.Entry{
		{Action: create, Status: reconcile.EntryPlanned, Reason: "new hire"},
		{Action: deactivate, Status: reconcile.EntryHeld, Reason: "incomplete pull"},
		{Action: update, Status: reconcile.EntrySkipped, Reason: "back-off"},
	})
	failed := func(runID int64, next time.Duration) []reconcile.Result {
		return []reconcile.Result{{Action: reconcile.ActionRef{RunID: runID, Seq: 1}, Status: reconcile.ResultFailed,
			ErrorCode: "DUPLICATE_USERNAME", ErrorMessage: "Duplicate Username.", NextAttemptAt: now.Add(next)}}
	}
	if err := j.RecordResults(ctx, failed(run1, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := j.FinishRun(ctx, run1, reconcile.Finish{Status: reconcile.RunPaused, Error: "paused: reserve", Stats: reconcile.Stats{SourceRecords: 3}}); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Run(ctx, run1); r.Status != store.RunPaused || r.Error != "paused: reserve" || r.Stats.SourceRecords != 3 || r.Counts.Held != 1 || r.Counts.Skipped != 1 {
		t.Errorf("run 1 = %+v, want paused with the plan's counts", r)
	}

	// Run 2: the create fails again.
	run2 := startAndPlan(t, j, []reconcile.Entry{{Action: create, Status: reconcile.EntryPlanned}})
	if err := j.RecordResults(ctx, failed(run2, 2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	backoffs, err := j.Backoffs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []reconcile.Backoff{{IdPID: "E1", Kind: reconcile.KindCreate, Attempts: 2, ErrorCode: "DUPLICATE_USERNAME", NextAttemptAt: now.Add(2 * time.Hour)}}
	if diff := cmp.Diff(want, backoffs); diff != "" {
		t.Errorf("back-offs (-want +got):\n%s", diff)
	}

	// Run 3: the create succeeds with its link and a note; the back-off ends.
	run3 := startAndPlan(t, j, []reconcile.Entry{{Action: create, Status: reconcile.EntryPlanned}})
	link := &reconcile.Link{IdPID: "E1", SalesforceID: "005000000000001AAA"}
	if err := j.RecordResults(ctx, []reconcile.Result{{Action: reconcile.ActionRef{RunID: run3, Seq: 1}, Status: reconcile.ResultApplied,
		SalesforceID: link.SalesforceID, Note: "found on re-read", Link: link, LinkOrigin: reconcile.OriginCreated}}); err != nil {
		t.Fatal(err)
	}
	if backoffs, err := j.Backoffs(ctx); err != nil || len(backoffs) != 0 {
		t.Errorf("back-offs after a success = %+v, %v", backoffs, err)
	}
	if links, err := j.Links(ctx); err != nil || len(links) != 1 || links[0] != *link {
		t.Errorf("links = %+v, %v", links, err)
	}
	if got, _ := s.LinkByIdPID(ctx, "E1"); got.Origin != store.OriginCreated {
		t.Errorf("link origin = %q", got.Origin)
	}
	if a, _ := s.Actions(ctx, store.ActionFilter{RunID: run3}); len(a) != 1 || a[0].ErrorMessage != "found on re-read" {
		t.Errorf("run 3 actions = %+v, want the note kept", a)
	}

	// An operator approves run 1's held deactivation.
	if _, err := s.Approve(ctx, run1, store.ApprovalRequest{By: "ops"}); err != nil {
		t.Fatal(err)
	}
	approved, err := j.Approved(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantApproved := []reconcile.Approved{{RunID: run1, Seq: 2, Kind: reconcile.KindDeactivate, IdPID: "E2", SalesforceID: "005000000000002AAA"}}
	if diff := cmp.Diff(wantApproved, approved); diff != "" {
		t.Errorf("approved (-want +got):\n%s", diff)
	}

	if err := j.SaveSnapshot(ctx, reconcile.Snapshot{Count: 3, Digest: "abc", Complete: true}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := j.LastGoodSnapshot(ctx); !ok || err != nil || got != (reconcile.Snapshot{Count: 3, Digest: "abc", Complete: true}) {
		t.Errorf("LastGoodSnapshot = %+v, %v, %v", got, ok, err)
	}
}

// startAndPlan starts a run and saves its plan.
func startAndPlan(t *testing.T, j *Journal, entries []reconcile.Entry) int64 {
	t.Helper()
	ctx := context.Background()
	id, err := j.StartRun(ctx, reconcile.RunStart{Trigger: "manual", Mode: reconcile.ModeSync})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.SavePlan(ctx, id, entries); err != nil {
		t.Fatal(err)
	}
	return id
}

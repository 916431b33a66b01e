package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/store"
)

// testRecordResultsLinkConflict records a batch in which one result links a
// Salesforce Id another IdP id holds, and another result links an Id an earlier
// result of the same batch took: both are recorded as failed with
// CodeLinkConflict and reported in a *ResultsError; every other result, with its
// link, is recorded as given.
func testRecordResultsLinkConflict(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s, epoch := e.leader()
	run := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
	plan := []store.Action{
		{Kind: store.KindCreate, IdPID: "u1", Status: store.ActionPlanned},
		{Kind: store.KindAdopt, IdPID: "u2", Status: store.ActionPlanned},
		{Kind: store.KindUpdate, IdPID: "u3", SalesforceID: "005000000000003AAA", Status: store.ActionPlanned},
		{Kind: store.KindCreate, IdPID: "u4", Status: store.ActionPlanned},
		{Kind: store.KindCreate, IdPID: "u5", Status: store.ActionPlanned},
	}
	noErr(t, "save plan", s.SavePlan(ctx, run.ID, plan))
	planned := e.at()
	other := must[store.Link](t, "link another user")(s.UpsertLink(ctx, epoch,
		store.Link{IdPID: "other", SalesforceID: "005000000000009AAA", Origin: store.OriginAdopted}))
	e.clock.Advance(time.Minute)
	at := e.at()

	link := func(idp, sf string, o store.LinkOrigin) *store.Link {
		return &store.Link{IdPID: idp, SalesforceID: sf, Origin: o}
	}
	ref := func(seq int) store.ActionRef { return store.ActionRef{RunID: run.ID, Seq: seq} }
	err := s.RecordResults(ctx, epoch, []store.ActionResult{
		{Action: ref(1), Status: store.ActionApplied, SalesforceID: "005000000000001AAA", Link: link("u1", "005000000000001AAA", store.OriginCreated)},
		{Action: ref(2), Status: store.ActionApplied, SalesforceID: "005000000000009AAA", Link: link("u2", "005000000000009AAA", store.OriginAdopted)},
		{Action: ref(3), Status: store.ActionFailed, ErrorCode: "UNABLE_TO_LOCK_ROW", ErrorMessage: "locked"},
		{Action: ref(4), Status: store.ActionApplied, SalesforceID: "005000000000004AAA", Link: link("u4", "005000000000004AAA", store.OriginCreated)},
		{Action: ref(5), Status: store.ActionApplied, SalesforceID: "005000000000004AAA", Link: link("u5", "005000000000004AAA", store.OriginCreated)},
	})
	wantErr(t, "batch with conflicting links", err, store.ErrConflict)
	var rerr *store.ResultsError
	if !errors.As(err, &rerr) {
		t.Fatalf("error %v is not a *ResultsError", err)
	}
	conflict2 := `Salesforce Id 005000000000009AAA is already linked to IdP id "other"; not linked to "u2"`
	conflict5 := `Salesforce Id 005000000000004AAA is already linked to IdP id "u4"; not linked to "u5"`
	diff(t, "rejected results", []store.RejectedResult{
		{Action: ref(2), Code: store.CodeLinkConflict, Message: conflict2},
		{Action: ref(5), Code: store.CodeLinkConflict, Message: conflict5},
	}, rerr.Rejected)

	want := stored(run.ID, planned, plan)
	for i := range want {
		want[i].Attempts, want[i].UpdatedAt = 1, at
	}
	want[0].Status, want[0].SalesforceID = store.ActionApplied, "005000000000001AAA"
	want[1].Status, want[1].SalesforceID, want[1].ErrorCode, want[1].ErrorMessage = store.ActionFailed, "005000000000009AAA", store.CodeLinkConflict, conflict2
	want[2].Status, want[2].ErrorCode, want[2].ErrorMessage = store.ActionFailed, "UNABLE_TO_LOCK_ROW", "locked"
	want[3].Status, want[3].SalesforceID = store.ActionApplied, "005000000000004AAA"
	want[4].Status, want[4].SalesforceID, want[4].ErrorCode, want[4].ErrorMessage = store.ActionFailed, "005000000000004AAA", store.CodeLinkConflict, conflict5
	diff(t, "actions", want, must[[]store.Action](t, "list actions")(s.Actions(ctx, store.ActionFilter{RunID: run.ID})))
	diff(t, "links", []store.Link{
		{IdPID: "other", SalesforceID: "005000000000009AAA", Origin: store.OriginAdopted, CreatedAt: other.CreatedAt, UpdatedAt: other.UpdatedAt},
		{IdPID: "u1", SalesforceID: "005000000000001AAA", Origin: store.OriginCreated, CreatedAt: at, UpdatedAt: at},
		{IdPID: "u4", SalesforceID: "005000000000004AAA", Origin: store.OriginCreated, CreatedAt: at, UpdatedAt: at},
	}, must[[]store.Link](t, "links")(s.Links(ctx)))

	// A conflict recorded as a failure can be retried like any failure.
	noErr(t, "retry after the conflict is resolved", s.RecordResults(ctx, epoch, []store.ActionResult{
		{Action: ref(5), Status: store.ActionApplied, SalesforceID: "005000000000005AAA", Link: link("u5", "005000000000005AAA", store.OriginCreated)}}))
}

// testBackoffs checks the per-user back-off RecordResults keeps: failures with a
// retry time count up per IdP id and kind, an applied result clears its own kind
// only, failures without a retry time and skips leave it alone, and ClearBackoff
// is the operator's "retry now".
func testBackoffs(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s, epoch := e.leader()
	if got := must[[]store.Backoff](t, "back-offs")(s.Backoffs(ctx)); len(got) != 0 {
		t.Fatalf("back-offs of an empty store: %+v", got)
	}
	// result records one batch of a fresh run whose plan has one action per result.
	type outcome struct {
		idp    string
		kind   store.ActionKind
		status store.ActionStatus
		code   string
		next   time.Duration // from now; zero schedules no retry
	}
	result := func(outcomes ...outcome) {
		t.Helper()
		run := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
		plan := make([]store.Action, len(outcomes))
		results := make([]store.ActionResult, len(outcomes))
		for i, o := range outcomes {
			plan[i] = store.Action{Kind: o.kind, IdPID: o.idp, Email: "x@acme.com", Status: store.ActionPlanned}
			results[i] = store.ActionResult{Action: store.ActionRef{RunID: run.ID, Seq: i + 1}, Status: o.status,
				ErrorCode: o.code, ErrorMessage: o.code + " message"}
			if o.next != 0 {
				results[i].NextAttemptAt = e.clock.Now().Add(o.next)
			}
		}
		noErr(t, "save plan", s.SavePlan(ctx, run.ID, plan))
		noErr(t, "record results", s.RecordResults(ctx, epoch, results))
		_, err := s.FinishRun(ctx, run.ID, store.RunFinish{Status: store.RunSucceeded})
		noErr(t, "finish run", err)
	}
	t0 := e.at()
	result(
		outcome{"u1", store.KindCreate, store.ActionFailed, "DUPLICATE_USERNAME", time.Hour},
		outcome{"u2", store.KindUpdate, store.ActionFailed, "UNABLE_TO_LOCK_ROW", 0},          // no retry time: no back-off
		outcome{"", store.KindUpdate, store.ActionFailed, "INVALID_EMAIL_ADDRESS", time.Hour}, // no IdP id: no back-off
		outcome{"u3", store.KindUpdate, store.ActionFailed, "FIELD_INTEGRITY_EXCEPTION", time.Minute},
		outcome{"u3", store.KindDeactivate, store.ActionFailed, "CANNOT_DEACTIVATE", time.Minute},
	)
	e.clock.Advance(time.Hour)
	t1 := e.at()
	result(
		outcome{"u1", store.KindCreate, store.ActionFailed, "DUPLICATE_USERNAME", 2 * time.Hour},
		outcome{"u1", store.KindUpdate, store.ActionSkipped, "", 0},
		outcome{"u3", store.KindUpdate, store.ActionApplied, "", 0}, // clears u3's update, not its deactivation
		outcome{"u2", store.KindUpdate, store.ActionFailed, "UNABLE_TO_LOCK_ROW", 0},
	)
	diff(t, "back-offs", []store.Backoff{
		{IdPID: "u1", Kind: store.KindCreate, Attempts: 2, ErrorCode: "DUPLICATE_USERNAME", ErrorMessage: "DUPLICATE_USERNAME message",
			NextAttemptAt: t1.Add(2 * time.Hour), UpdatedAt: t1},
		{IdPID: "u3", Kind: store.KindDeactivate, Attempts: 1, ErrorCode: "CANNOT_DEACTIVATE", ErrorMessage: "CANNOT_DEACTIVATE message",
			NextAttemptAt: t0.Add(time.Minute), UpdatedAt: t0},
	}, must[[]store.Backoff](t, "back-offs")(s.Backoffs(ctx)))

	noErr(t, "clear u1", s.ClearBackoff(ctx, "u1"))
	wantErr(t, "clear u1 again", s.ClearBackoff(ctx, "u1"), store.ErrNotFound)
	got := must[[]store.Backoff](t, "back-offs")(s.Backoffs(ctx))
	if len(got) != 1 || got[0].IdPID != "u3" {
		t.Errorf("back-offs after clearing u1: %+v, want only u3's", got)
	}
	// A batch that fails as a whole leaves the back-offs as they were.
	err := s.RecordResults(ctx, epoch, []store.ActionResult{{Action: store.ActionRef{RunID: 999, Seq: 1}, Status: store.ActionApplied}})
	wantErr(t, "result for a missing action", err, store.ErrNotFound)
	diff(t, "back-offs after a failed batch", got, must[[]store.Backoff](t, "back-offs")(s.Backoffs(ctx)))
}

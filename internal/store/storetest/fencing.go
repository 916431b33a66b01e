package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/store"
)

// testFencing hands leadership from one instance to another and checks that every
// leader write of the old one fails with ErrFenced and changes nothing, that the
// run it left running is closed as abandoned, and that operator actions are not
// fenced.
func testFencing(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	a, b := e.open(), e.open()

	old := must[store.Lease](t, "first leader")(a.TryLeaderLock(ctx))
	run := must[store.Run](t, "start run")(a.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: old.Epoch()}))
	noErr(t, "save plan", a.SavePlan(ctx, run.ID, samplePlan()))
	linked := store.Link{IdPID: "kept", SalesforceID: "005000000000007AAA", Origin: store.OriginAdopted}
	must[store.Link](t, "link")(a.UpsertLink(ctx, old.Epoch(), linked))
	before := must[[]store.Action](t, "list actions")(a.Actions(ctx, store.ActionFilter{RunID: run.ID}))
	noErr(t, "release", old.Release(ctx))

	e.clock.Advance(time.Minute)
	takeover := e.at()
	next := must[store.Lease](t, "next leader")(b.TryLeaderLock(ctx))
	defer func() { _ = next.Release(ctx) }()
	if next.Epoch() <= old.Epoch() {
		t.Fatalf("epochs: old %d, next %d; want the next one greater", old.Epoch(), next.Epoch())
	}

	abandoned := must[store.Run](t, "read run")(b.Run(ctx, run.ID))
	diff(t, "run left running by the old leader", store.Run{ID: run.ID, Trigger: "schedule", Mode: "sync",
		Epoch: old.Epoch(), Status: store.RunAborted, Error: store.AbandonedRunError, StartedAt: abandoned.StartedAt,
		PlannedAt: abandoned.PlannedAt, FinishedAt: takeover, Counts: store.ActionCounts{Planned: 2, Held: 1, Skipped: 1}},
		abandoned)

	ref := store.ActionRef{RunID: run.ID, Seq: 1}
	for _, tc := range []struct {
		name  string
		write func() error
	}{
		{"StartRun", func() error {
			_, err := a.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: old.Epoch()})
			return err
		}},
		{"SavePlan", func() error { return a.SavePlan(ctx, run.ID, samplePlan()) }},
		{"RecordResults", func() error {
			return a.RecordResults(ctx, old.Epoch(), []store.ActionResult{{Action: ref, Status: store.ActionApplied,
				Link: &store.Link{IdPID: "u1", SalesforceID: "005000000000001AAA", Origin: store.OriginCreated}}})
		}},
		{"FinishRun", func() error {
			_, err := a.FinishRun(ctx, run.ID, store.RunFinish{Status: store.RunSucceeded})
			return err
		}},
		{"UpsertLink", func() error {
			_, err := a.UpsertLink(ctx, old.Epoch(), store.Link{IdPID: "new", SalesforceID: "005N", Origin: store.OriginAdopted})
			return err
		}},
		{"DeleteLink", func() error { return a.DeleteLink(ctx, old.Epoch(), "kept") }},
	} {
		wantErr(t, "old leader's "+tc.name, tc.write(), store.ErrFenced)
	}
	diff(t, "actions after fenced writes", before, must[[]store.Action](t, "list actions")(b.Actions(ctx, store.ActionFilter{RunID: run.ID})))
	diff(t, "links after fenced writes", []store.Link{{IdPID: "kept", SalesforceID: "005000000000007AAA",
		Origin: store.OriginAdopted, CreatedAt: takeover.Add(-time.Minute), UpdatedAt: takeover.Add(-time.Minute)}},
		must[[]store.Link](t, "links")(b.Links(ctx)))
	if runs := must[[]store.Run](t, "list runs")(b.Runs(ctx, store.RunFilter{})); len(runs) != 1 {
		t.Errorf("runs after fenced writes: %d, want 1", len(runs))
	}

	// An operator's approval is not a leader's write: it is taken whoever leads.
	approval := must[store.Approval](t, "approve through the old leader's instance")(a.Approve(ctx, run.ID, store.ApprovalRequest{By: "ops"}))
	if approval.Actions != 1 {
		t.Errorf("approval released %d actions, want 1", approval.Actions)
	}
	// The new leader writes under its own epoch, and that includes the outcome of
	// the action approved in the old leader's run: the batch is fenced by the
	// writer's epoch, not by the run's.
	must[store.Run](t, "new leader starts a run")(b.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: next.Epoch()}))
	held := -1
	for _, act := range before {
		if act.Status == store.ActionHeld {
			held = act.Seq
		}
	}
	released := store.ActionRef{RunID: run.ID, Seq: held}
	noErr(t, "new leader records the approved action of the old leader's run",
		b.RecordResults(ctx, next.Epoch(), []store.ActionResult{{Action: released, Status: store.ActionApplied}}))
	wantErr(t, "a result under the old epoch, even for the new leader's instance",
		b.RecordResults(ctx, old.Epoch(), []store.ActionResult{{Action: ref, Status: store.ActionApplied}}), store.ErrFenced)
	got := must[[]store.Action](t, "list actions")(b.Actions(ctx, store.ActionFilter{RunID: run.ID}))
	for _, act := range got {
		if act.Seq == held && act.Status != store.ActionApplied {
			t.Errorf("approved action %d of the old run is %s, want applied", held, act.Status)
		}
	}
}

// testFencingWhenLockLost kills the leader's lock connection while the leader is
// recording results in a loop, as a network failure or a server restart would, and
// checks that none of its writes lands after another instance takes the lock: the
// count of its recorded results when the new leader has its epoch is the final one,
// and the old leader's next write fails with ErrFenced. It runs on backends whose
// lock connection can be killed (Harness.KillLeaderConnection).
func testFencingWhenLockLost(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	e.cfg.LeaderCheckInterval = 50 * time.Millisecond
	a, b := e.open(), e.open()
	old := must[store.Lease](t, "first leader")(a.TryLeaderLock(ctx))
	defer func() { _ = old.Release(ctx) }()
	run := must[store.Run](t, "start run")(a.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: old.Epoch()}))
	const actions = 5000
	plan := make([]store.Action, actions)
	for i := range plan {
		plan[i] = store.Action{Kind: store.KindUpdate, IdPID: fmt.Sprintf("u%d", i), Status: store.ActionPlanned}
	}
	noErr(t, "save plan", a.SavePlan(ctx, run.ID, plan))

	// The old leader does not watch Lost: it writes until a write fails.
	written := make(chan int, 1) // results recorded before the first failure
	failure := make(chan error, 1)
	go func() {
		for seq := 1; seq <= actions; seq++ {
			err := a.RecordResults(ctx, old.Epoch(), []store.ActionResult{{Action: store.ActionRef{RunID: run.ID, Seq: seq}, Status: store.ActionApplied}})
			if err != nil {
				written <- seq - 1
				failure <- err
				return
			}
		}
		written <- actions
		failure <- nil
	}()
	// Let it write a little first, so that the kill lands in the middle of the loop.
	eventually(t, "old leader recording results", 10*time.Second, func() bool {
		return must[store.Run](t, "read run")(b.Run(ctx, run.ID)).Counts.Applied > 10
	})
	h.KillLeaderConnection(t, e.cfg)
	next := takeOver(t, b)
	defer func() { _ = next.Release(ctx) }()
	atTakeover := must[store.Run](t, "read run")(b.Run(ctx, run.ID)).Counts.Applied
	must[store.Run](t, "new leader's first write")(b.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: next.Epoch()}))

	n, err := <-written, <-failure
	wantErr(t, "old leader's write after the takeover", err, store.ErrFenced)
	final := must[store.Run](t, "read run")(b.Run(ctx, run.ID))
	if final.Counts.Applied != atTakeover || final.Counts.Applied != n {
		t.Errorf("old leader's results: %d when the new leader took over, %d at the end, %d acknowledged to it; want all equal",
			atTakeover, final.Counts.Applied, n)
	}
	if final.Status != store.RunAborted || final.Error != store.AbandonedRunError {
		t.Errorf("old leader's run = %s %q, want aborted as abandoned", final.Status, final.Error)
	}
}

// Package storetest is the conformance suite every store backend passes: the same
// tests, run against SQLite and PostgreSQL, so the two cannot drift apart.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/syncd-io/syncd/internal/clocktest"
	"github.com/syncd-io/syncd/internal/store"
)

// Harness adapts a backend to the suite.
type Harness struct {
	// NewDatabase returns the Config of a fresh, empty, unmigrated database. The
	// suite sets AutoMigrate and Now itself.
	NewDatabase func(t *testing.T) store.Config
	// KillLeaderConnection ends, from outside, the connection that holds the leader
	// lock of cfg's database, as a network failure or an operator would. Nil for
	// backends whose lock can only end with its process.
	KillLeaderConnection func(t *testing.T, cfg store.Config)
	// SharedRequests says reconcile requests reach other instances on the same
	// database, not only the instance that made them.
	SharedRequests bool
}

// Clock is the conformance suite's clock (clocktest.Clock).
type Clock = clocktest.Clock

// NewClock returns a clock stopped at a fixed instant with sub-microsecond digits, so
// that the stores' truncation to microseconds is exercised.
func NewClock() *Clock {
	return clocktest.New(time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC))
}

// env is one test's database, clock and way to open stores on them.
type env struct {
	t     *testing.T
	cfg   store.Config
	clock *Clock
}

func newEnv(t *testing.T, h Harness) *env {
	clock := NewClock()
	cfg := h.NewDatabase(t)
	cfg.Now = clock.Now
	cfg.AutoMigrate = true
	return &env{t: t, cfg: cfg, clock: clock}
}

// open opens another store instance on the test's database, closed at cleanup.
func (e *env) open() store.Store {
	e.t.Helper()
	s, err := store.Open(context.Background(), e.cfg)
	if err != nil {
		e.t.Fatalf("open store: %v", err)
	}
	e.t.Cleanup(func() {
		if err := s.Close(); err != nil {
			e.t.Errorf("close store: %v", err)
		}
	})
	return s
}

// leader opens a store instance that holds the leader lock until cleanup, and
// returns it with its epoch, for tests of what a leader writes.
func (e *env) leader() (store.Store, int64) {
	e.t.Helper()
	s := e.open()
	lease, err := s.TryLeaderLock(context.Background())
	if err != nil {
		e.t.Fatalf("take the leader lock: %v", err)
	}
	e.t.Cleanup(func() {
		if err := lease.Release(context.Background()); err != nil {
			e.t.Errorf("release the leader lock: %v", err)
		}
	})
	return s, lease.Epoch()
}

// at is the time the clock shows, as the stores record it.
func (e *env) at() time.Time { return e.clock.Now().Truncate(time.Microsecond) }

// RunConformance runs every conformance test against the backend h adapts.
func RunConformance(t *testing.T, h Harness) {
	tests := []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"Migrations", testMigrations},
		{"RunLifecycle", testRunLifecycle},
		{"RecordResults", testRecordResults},
		{"RecordResultsAtomic", testRecordResultsAtomic},
		{"RecordResultsLinkConflict", testRecordResultsLinkConflict},
		{"Backoffs", testBackoffs},
		{"Fencing", testFencing},
		{"ListRuns", testListRuns},
		{"ActionsByKey", testActionsByKey},
		{"Approvals", testApprovals},
		{"Links", testLinks},
		{"Grants", testGrants},
		{"Snapshots", testSnapshots},
		{"Prune", testPrune},
		{"ConcurrentWriters", testConcurrentWriters},
		{"LeaderLock", testLeaderLock},
		{"ReconcileRequests", testReconcileRequests},
		{"InvalidInput", testInvalidInput},
		{"Mirror", testMirror},
		{"MirrorFencing", testMirrorFencing},
		{"Transfers", testTransfers},
	}
	if h.KillLeaderConnection != nil {
		tests = append(tests, struct {
			name string
			run  func(t *testing.T, h Harness)
		}{"FencingWhenLockLost", testFencingWhenLockLost})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, h) })
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func testMigrations(t *testing.T, h Harness) {
	ctx := context.Background()
	cfg := h.NewDatabase(t)

	_, err := store.Open(ctx, cfg)
	wantErr(t, "open an unmigrated database without AutoMigrate", err, store.ErrSchemaOutdated)

	first, err := store.Migrate(ctx, cfg)
	noErr(t, "first migrate", err)
	if len(first.Applied) == 0 || first.Version != first.Applied[len(first.Applied)-1] {
		t.Fatalf("first migrate = %+v, want migrations applied up to the reported version", first)
	}
	second, err := store.Migrate(ctx, cfg)
	noErr(t, "second migrate", err)
	diff(t, "second migrate", store.MigrationReport{Version: first.Version}, second)

	s, err := store.Open(ctx, cfg)
	noErr(t, "open a migrated database without AutoMigrate", err)
	noErr(t, "close", s.Close())
}

// samplePlan is a plan with one action of every plannable status.
func samplePlan() []store.Action {
	return []store.Action{
		{Kind: store.KindCreate, IdPID: "u1", Username: "ada@acme.com.sf", Email: "Ada@Acme.com",
			Changes: []store.FieldChange{{Field: "LastName", After: "Lovelace"}, {Field: "IsActive", After: "true"}},
			Reason:  "unmatched: no Salesforce user has this email", Status: store.ActionPlanned},
		{Kind: store.KindUpdate, IdPID: "u2", SalesforceID: "005000000000002AAA", Email: "bob@acme.com",
			Changes: []store.FieldChange{{Field: "Title", Before: "Engineer", After: "Manager"}},
			Reason:  "linked: Title differs", Status: store.ActionPlanned},
		{Kind: store.KindDeactivate, IdPID: "u3", SalesforceID: "005000000000003AAA",
			Reason: "gone: no longer in the source", Status: store.ActionHeld},
		{Kind: "dispute", Email: "twins@acme.com", Reason: "two Salesforce users have this email",
			Status: store.ActionSkipped},
	}
}

// stored is what the store should return for plan saved in run at time at.
func stored(run int64, at time.Time, plan []store.Action) []store.Action {
	out := make([]store.Action, len(plan))
	for i, a := range plan {
		a.RunID, a.Seq, a.UpdatedAt = run, i+1, at
		out[i] = a
	}
	return out
}

func testRunLifecycle(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s, epoch := e.leader()

	started := e.at()
	run := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
	diff(t, "started run", store.Run{ID: run.ID, Trigger: "schedule", Mode: "sync", Epoch: epoch, Status: store.RunRunning,
		StartedAt: started}, run)

	e.clock.Advance(time.Second)
	planned := e.at()
	plan := samplePlan()
	noErr(t, "save plan", s.SavePlan(ctx, run.ID, plan))
	wantErr(t, "save a second plan", s.SavePlan(ctx, run.ID, plan), store.ErrConflict)
	wantErr(t, "save a plan of a missing run", s.SavePlan(ctx, run.ID+100, plan), store.ErrNotFound)

	got := must[[]store.Action](t, "list actions")(s.Actions(ctx, store.ActionFilter{RunID: run.ID}))
	diff(t, "saved plan", stored(run.ID, planned, plan), got)

	e.clock.Advance(time.Second)
	finished := e.at()
	stats := store.RunStats{SourceRecords: 10, RejectedRecords: 1, SalesforceUsers: 12, UnmanagedUsers: 2, Disputed: 1}
	done := must[store.Run](t, "finish run")(s.FinishRun(ctx, run.ID, store.RunFinish{Status: store.RunSucceeded, Stats: stats}))
	want := store.Run{ID: run.ID, Trigger: "schedule", Mode: "sync", Epoch: epoch, Status: store.RunSucceeded, StartedAt: started,
		PlannedAt: planned, FinishedAt: finished, Stats: stats,
		Counts: store.ActionCounts{Planned: 2, Held: 1, Skipped: 1}}
	diff(t, "finished run", want, done)
	diff(t, "read run", want, must[store.Run](t, "read run")(s.Run(ctx, run.ID)))
	if done.Counts.Total() != 4 {
		t.Errorf("Counts.Total() = %d, want 4", done.Counts.Total())
	}

	_, err := s.FinishRun(ctx, run.ID, store.RunFinish{Status: store.RunFailed})
	wantErr(t, "finish a finished run", err, store.ErrConflict)
	_, err = s.FinishRun(ctx, run.ID+100, store.RunFinish{Status: store.RunFailed})
	wantErr(t, "finish a missing run", err, store.ErrNotFound)
	_, err = s.Run(ctx, run.ID+100)
	wantErr(t, "read a missing run", err, store.ErrNotFound)

	// A cycle that fails before planning is on record, with its reason.
	early := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "manual", Mode: "sync", Epoch: epoch}))
	failed := must[store.Run](t, "finish run")(s.FinishRun(ctx, early.ID,
		store.RunFinish{Status: store.RunFailed, Error: "source pull incomplete: page 3 returned 503"}))
	if failed.Status != store.RunFailed || failed.Error != "source pull incomplete: page 3 returned 503" || !failed.PlannedAt.IsZero() {
		t.Errorf("early failed run = %+v", failed)
	}
	wantErr(t, "save a plan of a finished run", s.SavePlan(ctx, early.ID, plan), store.ErrConflict)

	// A cycle the API reserve stopped is paused, not failed: nothing went wrong, and
	// a later cycle resumes.
	stopped := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
	paused := must[store.Run](t, "finish run")(s.FinishRun(ctx, stopped.ID,
		store.RunFinish{Status: store.RunPaused, Error: "paused: the org's remaining allowance is below the reserve"}))
	if got := must[store.Run](t, "read run")(s.Run(ctx, paused.ID)); got.Status != store.RunPaused {
		t.Errorf("paused run reads back as %q", got.Status)
	}
}

func testRecordResults(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s, epoch := e.leader()
	run := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
	plan := samplePlan()
	noErr(t, "save plan", s.SavePlan(ctx, run.ID, plan))
	planned := e.at()

	e.clock.Advance(time.Minute)
	at := e.at()
	retry := at.Add(5 * time.Minute)
	link := store.Link{IdPID: "u1", SalesforceID: "005000000000001AAA", Origin: store.OriginCreated}
	noErr(t, "record results", s.RecordResults(ctx, epoch, []store.ActionResult{
		{Action: store.ActionRef{RunID: run.ID, Seq: 1}, Status: store.ActionApplied,
			SalesforceID: "005000000000001AAA", Link: &link},
		{Action: store.ActionRef{RunID: run.ID, Seq: 2}, Status: store.ActionFailed,
			ErrorCode: "UNABLE_TO_LOCK_ROW", ErrorMessage: "unable to obtain exclusive access to this record",
			NextAttemptAt: retry.Add(999 * time.Nanosecond)},
	}))

	want := stored(run.ID, planned, plan)
	want[0].Status, want[0].SalesforceID, want[0].Attempts, want[0].UpdatedAt = store.ActionApplied, "005000000000001AAA", 1, at
	want[1].Status, want[1].ErrorCode, want[1].ErrorMessage = store.ActionFailed, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
	want[1].Attempts, want[1].NextAttemptAt, want[1].UpdatedAt = 1, retry, at
	diff(t, "actions after results", want, must[[]store.Action](t, "list actions")(s.Actions(ctx, store.ActionFilter{RunID: run.ID})))

	// The created user's link was written with the result.
	gotLink := must[store.Link](t, "link of created user")(s.LinkByIdPID(ctx, "u1"))
	diff(t, "link written with result", store.Link{IdPID: "u1", SalesforceID: "005000000000001AAA",
		Origin: store.OriginCreated, CreatedAt: at, UpdatedAt: at}, gotLink)
	// The created user's action is found by the Salesforce Id its result recorded.
	diff(t, "action by the Salesforce Id its result recorded", want[:1],
		must[[]store.Action](t, "actions by key")(s.Actions(ctx, store.ActionFilter{Key: "005000000000001AAA"})))

	// A failed action is retried and succeeds; its attempts count up and the error clears.
	e.clock.Advance(time.Minute)
	noErr(t, "record retry", s.RecordResults(ctx, epoch, []store.ActionResult{
		{Action: store.ActionRef{RunID: run.ID, Seq: 2}, Status: store.ActionApplied}}))
	got := must[[]store.Action](t, "list actions")(s.Actions(ctx, store.ActionFilter{RunID: run.ID}))
	want[1].Status, want[1].ErrorCode, want[1].ErrorMessage = store.ActionApplied, "", ""
	want[1].Attempts, want[1].NextAttemptAt, want[1].UpdatedAt = 2, time.Time{}, e.at()
	diff(t, "retried action", want[1], got[1])

	// Results for actions that cannot take one.
	for _, tc := range []struct {
		name string
		ref  store.ActionRef
		want error
	}{
		{"an applied action", store.ActionRef{RunID: run.ID, Seq: 1}, store.ErrConflict},
		{"a held action", store.ActionRef{RunID: run.ID, Seq: 3}, store.ErrConflict},
		{"a skipped action", store.ActionRef{RunID: run.ID, Seq: 4}, store.ErrConflict},
		{"a missing action", store.ActionRef{RunID: run.ID, Seq: 99}, store.ErrNotFound},
		{"an action of a missing run", store.ActionRef{RunID: run.ID + 1, Seq: 1}, store.ErrNotFound},
	} {
		err := s.RecordResults(ctx, epoch, []store.ActionResult{{Action: tc.ref, Status: store.ActionApplied}})
		wantErr(t, "result for "+tc.name, err, tc.want)
	}
	noErr(t, "record no results", s.RecordResults(ctx, epoch, nil))
}

// testRecordResultsAtomic checks that a batch naming an action that cannot take a
// result is written not at all.
func testRecordResultsAtomic(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s, epoch := e.leader()
	run := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
	plan := samplePlan()
	noErr(t, "save plan", s.SavePlan(ctx, run.ID, plan))
	noErr(t, "link another user", func() error {
		_, err := s.UpsertLink(ctx, epoch, store.Link{IdPID: "other", SalesforceID: "005000000000009AAA", Origin: store.OriginAdopted})
		return err
	}())
	before := must[[]store.Action](t, "list actions")(s.Actions(ctx, store.ActionFilter{RunID: run.ID}))

	ok := store.ActionResult{Action: store.ActionRef{RunID: run.ID, Seq: 1}, Status: store.ActionApplied,
		SalesforceID: "005000000000001AAA", Link: &store.Link{IdPID: "u1", SalesforceID: "005000000000001AAA", Origin: store.OriginCreated}}
	for _, tc := range []struct {
		name string
		bad  store.ActionResult
		want error
	}{
		{"held action last", store.ActionResult{Action: store.ActionRef{RunID: run.ID, Seq: 3}, Status: store.ActionApplied}, store.ErrConflict},
		{"missing action last", store.ActionResult{Action: store.ActionRef{RunID: run.ID, Seq: 42}, Status: store.ActionFailed}, store.ErrNotFound},
	} {
		err := s.RecordResults(ctx, epoch, []store.ActionResult{ok, tc.bad})
		wantErr(t, tc.name, err, tc.want)
		diff(t, tc.name+": actions untouched", before, must[[]store.Action](t, "list actions")(s.Actions(ctx, store.ActionFilter{RunID: run.ID})))
		_, err = s.LinkByIdPID(ctx, "u1")
		wantErr(t, tc.name+": link not written", err, store.ErrNotFound)
	}
}

func testListRuns(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s, epoch := e.leader()
	if runs := must[[]store.Run](t, "list runs")(s.Runs(ctx, store.RunFilter{})); len(runs) != 0 {
		t.Fatalf("runs of an empty store: %+v", runs)
	}
	var ids []int64
	for i := range 4 {
		r := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
		noErr(t, "save plan", s.SavePlan(ctx, r.ID, samplePlan()[:i]))
		ids = append(ids, r.ID)
		e.clock.Advance(time.Minute)
	}
	ids2 := func(runs []store.Run) (out []int64, totals []int) {
		for _, r := range runs {
			out = append(out, r.ID)
			totals = append(totals, r.Counts.Total())
		}
		return out, totals
	}
	page1, totals1 := ids2(must[[]store.Run](t, "list runs")(s.Runs(ctx, store.RunFilter{Limit: 3})))
	diff(t, "first page", []int64{ids[3], ids[2], ids[1]}, page1)
	diff(t, "first page action totals", []int{3, 2, 1}, totals1)
	page2, _ := ids2(must[[]store.Run](t, "list runs")(s.Runs(ctx, store.RunFilter{Limit: 3, BeforeID: ids[1]})))
	diff(t, "second page", []int64{ids[0]}, page2)
	all, _ := ids2(must[[]store.Run](t, "list runs")(s.Runs(ctx, store.RunFilter{})))
	diff(t, "default limit", []int64{ids[3], ids[2], ids[1], ids[0]}, all)
}

func testActionsByKey(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s, epoch := e.leader()
	var runs []int64
	for range 2 {
		r := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
		noErr(t, "save plan", s.SavePlan(ctx, r.ID, samplePlan()))
		runs = append(runs, r.ID)
	}
	refs := func(actions []store.Action) (out []store.ActionRef) {
		for _, a := range actions {
			out = append(out, store.ActionRef{RunID: a.RunID, Seq: a.Seq})
		}
		return out
	}
	both := func(seq int) []store.ActionRef {
		return []store.ActionRef{{RunID: runs[1], Seq: seq}, {RunID: runs[0], Seq: seq}}
	}
	for _, tc := range []struct {
		name   string
		filter store.ActionFilter
		want   []store.ActionRef
	}{
		{"IdP id", store.ActionFilter{Key: "u2"}, both(2)},
		{"Salesforce Id", store.ActionFilter{Key: "005000000000003AAA"}, both(3)},
		{"email ignoring case", store.ActionFilter{Key: "ada@ACME.com"}, both(1)},
		{"username ignoring case", store.ActionFilter{Key: "ADA@acme.com.sf"}, both(1)},
		{"email of a disputed key", store.ActionFilter{Key: "twins@acme.com"}, both(4)},
		{"unknown key", store.ActionFilter{Key: "nobody"}, nil},
		{"key and limit", store.ActionFilter{Key: "u2", Limit: 1}, both(2)[:1]},
		{"key in one run", store.ActionFilter{Key: "u2", RunID: runs[0]}, both(2)[1:]},
		{"held", store.ActionFilter{Statuses: []store.ActionStatus{store.ActionHeld}}, both(3)},
		{"held or skipped in one run", store.ActionFilter{RunID: runs[1],
			Statuses: []store.ActionStatus{store.ActionHeld, store.ActionSkipped}},
			[]store.ActionRef{{RunID: runs[1], Seq: 3}, {RunID: runs[1], Seq: 4}}},
	} {
		got := refs(must[[]store.Action](t, tc.name)(s.Actions(ctx, tc.filter)))
		diff(t, tc.name, tc.want, got)
	}
	_, err := s.Actions(ctx, store.ActionFilter{Statuses: []store.ActionStatus{"held'); DROP TABLE actions; --"}})
	wantErr(t, "unknown status", err, store.ErrInvalid)
}

func testApprovals(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s, epoch := e.leader()
	run := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
	plan := []store.Action{
		{Kind: store.KindDeactivate, IdPID: "a", Status: store.ActionHeld, Reason: "shrink gate"},
		{Kind: store.KindDeactivate, IdPID: "b", Status: store.ActionHeld, Reason: "shrink gate"},
		{Kind: store.KindDeactivate, IdPID: "c", Status: store.ActionHeld, Reason: "shrink gate"},
		{Kind: store.KindUpdate, IdPID: "d", Status: store.ActionPlanned},
	}
	noErr(t, "save plan", s.SavePlan(ctx, run.ID, plan))
	e.clock.Advance(time.Hour)
	at := e.at()

	for _, tc := range []struct {
		name string
		req  store.ApprovalRequest
		want error
	}{
		{"a planned action", store.ApprovalRequest{By: "ops", Seqs: []int{1, 4}}, store.ErrConflict},
		{"a missing action", store.ApprovalRequest{By: "ops", Seqs: []int{99}}, store.ErrNotFound},
		{"no approver", store.ApprovalRequest{Seqs: []int{1}}, store.ErrInvalid},
	} {
		_, err := s.Approve(ctx, run.ID, tc.req)
		wantErr(t, "approve "+tc.name, err, tc.want)
	}
	_, err := s.Approve(ctx, run.ID+100, store.ApprovalRequest{By: "ops"})
	wantErr(t, "approve a missing run", err, store.ErrNotFound)
	diff(t, "nothing approved by failed approvals", store.ActionCounts{Held: 3, Planned: 1},
		must[store.Run](t, "read run")(s.Run(ctx, run.ID)).Counts)

	first := must[store.Approval](t, "approve one")(s.Approve(ctx, run.ID, store.ApprovalRequest{By: "alice", Comment: "checked", Seqs: []int{2}}))
	diff(t, "first approval", store.Approval{ID: first.ID, RunID: run.ID, By: "alice", Comment: "checked", At: at, Actions: 1}, first)
	_, err = s.Approve(ctx, run.ID, store.ApprovalRequest{By: "bob", Seqs: []int{2}})
	wantErr(t, "approve the same action twice", err, store.ErrAlreadyApproved)

	rest := must[store.Approval](t, "approve the rest")(s.Approve(ctx, run.ID, store.ApprovalRequest{By: "bob"}))
	if rest.Actions != 2 || rest.ID == first.ID {
		t.Errorf("second approval = %+v, want 2 actions and a new id", rest)
	}
	_, err = s.Approve(ctx, run.ID, store.ApprovalRequest{By: "bob"})
	wantErr(t, "approve the run twice", err, store.ErrAlreadyApproved)

	approved := must[[]store.Action](t, "list approved")(s.Actions(ctx, store.ActionFilter{Statuses: []store.ActionStatus{store.ActionApproved}}))
	got := map[int]int64{}
	for _, a := range approved {
		got[a.Seq] = a.ApprovalID
		if !a.UpdatedAt.Equal(at) {
			t.Errorf("approved action %d updated at %v, want %v", a.Seq, a.UpdatedAt, at)
		}
	}
	diff(t, "approved actions and their approvals", map[int]int64{1: rest.ID, 2: first.ID, 3: rest.ID}, got)

	// Released actions are applied like any other.
	noErr(t, "apply an approved action", s.RecordResults(ctx, epoch, []store.ActionResult{
		{Action: store.ActionRef{RunID: run.ID, Seq: 1}, Status: store.ActionApplied}}))
	diff(t, "counts after approvals", store.ActionCounts{Planned: 1, Approved: 2, Applied: 1},
		must[store.Run](t, "read run")(s.Run(ctx, run.ID)).Counts)

	// Two operators approving at once, through two instances: exactly one wins.
	raced := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
	noErr(t, "save plan", s.SavePlan(ctx, raced.ID, plan))
	other := e.open()
	errs := make(chan error, 2)
	for _, st := range []store.Store{s, other} {
		go func() {
			_, err := st.Approve(ctx, raced.ID, store.ApprovalRequest{By: "ops"})
			errs <- err
		}()
	}
	won, lost := <-errs, <-errs
	if won != nil {
		won, lost = lost, won
	}
	noErr(t, "one of two concurrent approvals", won)
	wantErr(t, "the other concurrent approval", lost, store.ErrAlreadyApproved)
	diff(t, "counts after concurrent approvals", store.ActionCounts{Approved: 3, Planned: 1},
		must[store.Run](t, "read run")(s.Run(ctx, raced.ID)).Counts)

	plain := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
	noErr(t, "save plan", s.SavePlan(ctx, plain.ID, plan[3:]))
	_, err = s.Approve(ctx, plain.ID, store.ApprovalRequest{By: "ops"})
	wantErr(t, "approve a run that held nothing", err, store.ErrNothingToApprove)
}

func testLinks(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s, epoch := e.leader()
	if links := must[[]store.Link](t, "load links")(s.Links(ctx)); len(links) != 0 {
		t.Fatalf("links of an empty store: %+v", links)
	}
	t0 := e.at()
	for _, l := range []store.Link{
		{IdPID: "b", SalesforceID: "005B", Origin: store.OriginCreated},
		{IdPID: "a", SalesforceID: "005A", Origin: store.OriginAdopted},
	} {
		got := must[store.Link](t, "upsert link")(s.UpsertLink(ctx, epoch, l))
		l.CreatedAt, l.UpdatedAt = t0, t0
		diff(t, "upserted link", l, got)
	}
	e.clock.Advance(time.Hour)
	t1 := e.at()
	moved := must[store.Link](t, "relink")(s.UpsertLink(ctx, epoch, store.Link{IdPID: "b", SalesforceID: "005C", Origin: store.OriginAdopted}))
	wantB := store.Link{IdPID: "b", SalesforceID: "005C", Origin: store.OriginAdopted, CreatedAt: t0, UpdatedAt: t1}
	diff(t, "relinked", wantB, moved)

	wantA := store.Link{IdPID: "a", SalesforceID: "005A", Origin: store.OriginAdopted, CreatedAt: t0, UpdatedAt: t0}
	diff(t, "all links", []store.Link{wantA, wantB}, must[[]store.Link](t, "load links")(s.Links(ctx)))
	diff(t, "by IdP id", wantB, must[store.Link](t, "by IdP id")(s.LinkByIdPID(ctx, "b")))
	diff(t, "by Salesforce Id", wantB, must[store.Link](t, "by Salesforce Id")(s.LinkBySalesforceID(ctx, "005C")))
	_, err := s.LinkBySalesforceID(ctx, "005B")
	wantErr(t, "old Salesforce Id after relink", err, store.ErrNotFound)
	_, err = s.LinkByIdPID(ctx, "zz")
	wantErr(t, "missing IdP id", err, store.ErrNotFound)

	_, err = s.UpsertLink(ctx, epoch, store.Link{IdPID: "c", SalesforceID: "005A", Origin: store.OriginCreated})
	wantErr(t, "link a Salesforce Id twice", err, store.ErrConflict)
	_, err = s.UpsertLink(ctx, epoch, store.Link{IdPID: "c", SalesforceID: "005D", Origin: "guessed"})
	wantErr(t, "unknown origin", err, store.ErrInvalid)

	noErr(t, "delete link", s.DeleteLink(ctx, epoch, "a"))
	wantErr(t, "delete it again", s.DeleteLink(ctx, epoch, "a"), store.ErrNotFound)
	diff(t, "links after delete", []store.Link{wantB}, must[[]store.Link](t, "load links")(s.Links(ctx)))
}

func testSnapshots(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s := e.open()
	_, err := s.LastGoodSnapshot(ctx)
	wantErr(t, "last good snapshot of an empty store", err, store.ErrNotFound)

	good := must[store.Snapshot](t, "save")(s.SaveSnapshot(ctx, store.NewSnapshot{Count: 1000, Digest: "sha256:aa", Complete: true}))
	diff(t, "saved snapshot", store.Snapshot{ID: good.ID, TakenAt: e.at(), Count: 1000, Digest: "sha256:aa", Complete: true}, good)
	e.clock.Advance(time.Minute)
	partial := must[store.Snapshot](t, "save")(s.SaveSnapshot(ctx, store.NewSnapshot{Count: 12, Digest: "sha256:bb"}))
	if partial.Complete || partial.ID == good.ID {
		t.Errorf("incomplete snapshot = %+v", partial)
	}
	diff(t, "an incomplete pull is no baseline", good, must[store.Snapshot](t, "last good")(s.LastGoodSnapshot(ctx)))
	e.clock.Advance(time.Minute)
	newer := must[store.Snapshot](t, "save")(s.SaveSnapshot(ctx, store.NewSnapshot{Count: 990, Digest: "sha256:cc", Complete: true}))
	diff(t, "newest complete pull", newer, must[store.Snapshot](t, "last good")(s.LastGoodSnapshot(ctx)))
}

func testPrune(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s, epoch := e.leader()
	day := 24 * time.Hour

	old := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
	noErr(t, "save plan", s.SavePlan(ctx, old.ID, samplePlan()))
	must[store.Approval](t, "approve")(s.Approve(ctx, old.ID, store.ApprovalRequest{By: "ops"}))
	good := must[store.Snapshot](t, "save")(s.SaveSnapshot(ctx, store.NewSnapshot{Count: 10, Digest: "d1", Complete: true}))
	e.clock.Advance(time.Minute)
	must[store.Snapshot](t, "save")(s.SaveSnapshot(ctx, store.NewSnapshot{Count: 1, Digest: "d2"}))

	e.clock.Advance(40 * day)
	recent := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))
	noErr(t, "save plan", s.SavePlan(ctx, recent.ID, samplePlan()[:2]))
	must[store.Snapshot](t, "save")(s.SaveSnapshot(ctx, store.NewSnapshot{Count: 2, Digest: "d3"}))

	res := must[store.PruneResult](t, "prune")(s.Prune(ctx, e.clock.Now().Add(-30*day)))
	diff(t, "pruned", store.PruneResult{Runs: 1, Actions: 4, Snapshots: 1}, res)
	_, err := s.Run(ctx, old.ID)
	wantErr(t, "pruned run", err, store.ErrNotFound)
	if got := must[[]store.Action](t, "list actions")(s.Actions(ctx, store.ActionFilter{})); len(got) != 2 || got[0].RunID != recent.ID {
		t.Errorf("actions after prune: %+v", got)
	}
	// The last good snapshot survives any retention: the shrink gate needs it.
	diff(t, "last good snapshot kept", good, must[store.Snapshot](t, "last good")(s.LastGoodSnapshot(ctx)))

	e.clock.Advance(400 * day)
	res = must[store.PruneResult](t, "prune all")(s.Prune(ctx, e.clock.Now()))
	diff(t, "pruned everything else", store.PruneResult{Runs: 1, Actions: 2, Snapshots: 1}, res)
	diff(t, "last good snapshot still kept", good, must[store.Snapshot](t, "last good")(s.LastGoodSnapshot(ctx)))
}

// testConcurrentWriters runs two store instances writing whole cycles at the same
// time under one leader epoch, as one leader writing through two connections or
// processes would. Both must succeed.
func testConcurrentWriters(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	leader, epoch := e.leader()
	stores := []store.Store{leader, e.open()}
	const cycles = 15
	var wg sync.WaitGroup
	errs := make(chan error, len(stores))
	for w, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- writeCycles(ctx, s, epoch, w, cycles)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		noErr(t, "concurrent writer", err)
	}
	runs := must[[]store.Run](t, "list runs")(stores[0].Runs(ctx, store.RunFilter{Limit: 100}))
	if len(runs) != 2*cycles {
		t.Fatalf("runs = %d, want %d", len(runs), 2*cycles)
	}
	for _, r := range runs {
		if r.Status != store.RunSucceeded || r.Counts.Applied != 10 {
			t.Errorf("run %d = %+v, want succeeded with 10 applied", r.ID, r)
		}
	}
	if links := must[[]store.Link](t, "load links")(stores[1].Links(ctx)); len(links) != 2*cycles*10 {
		t.Errorf("links = %d, want %d", len(links), 2*cycles*10)
	}
}

func writeCycles(ctx context.Context, s store.Store, epoch int64, writer, cycles int) error {
	for c := range cycles {
		run, err := s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch})
		if err != nil {
			return err
		}
		plan := make([]store.Action, 10)
		results := make([]store.ActionResult, 10)
		for i := range plan {
			id := fmt.Sprintf("w%d-c%d-u%d", writer, c, i)
			plan[i] = store.Action{Kind: store.KindCreate, IdPID: id, Status: store.ActionPlanned}
			results[i] = store.ActionResult{Action: store.ActionRef{RunID: run.ID, Seq: i + 1}, Status: store.ActionApplied,
				Link: &store.Link{IdPID: id, SalesforceID: "005" + id, Origin: store.OriginCreated}}
		}
		if err := s.SavePlan(ctx, run.ID, plan); err != nil {
			return err
		}
		if err := s.RecordResults(ctx, epoch, results[:5]); err != nil {
			return err
		}
		if err := s.RecordResults(ctx, epoch, results[5:]); err != nil {
			return err
		}
		if _, err := s.FinishRun(ctx, run.ID, store.RunFinish{Status: store.RunSucceeded}); err != nil {
			return err
		}
	}
	return nil
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func testLeaderLock(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	e.cfg.LeaderCheckInterval = 50 * time.Millisecond
	a, b := e.open(), e.open()

	lease := must[store.Lease](t, "first lock")(a.TryLeaderLock(ctx))
	_, err := b.TryLeaderLock(ctx)
	wantErr(t, "second instance", err, store.ErrLocked)
	_, err = a.TryLeaderLock(ctx)
	wantErr(t, "same instance again", err, store.ErrLocked)
	if closed(lease.Lost()) {
		t.Fatal("lease lost while held")
	}

	noErr(t, "release", lease.Release(ctx))
	if !closed(lease.Lost()) {
		t.Error("Lost not closed after Release")
	}
	noErr(t, "release twice", lease.Release(ctx))
	lease = must[store.Lease](t, "take over after release")(b.TryLeaderLock(ctx))

	if h.KillLeaderConnection == nil {
		noErr(t, "release", lease.Release(ctx))
		return
	}
	// Handover: the holder's connection is killed; the holder is told within seconds
	// and another instance takes the lock.
	h.KillLeaderConnection(t, e.cfg)
	eventually(t, "old holder told its lease is lost", 5*time.Second, func() bool { return closed(lease.Lost()) })
	next := takeOver(t, a)
	noErr(t, "release the lost lease", lease.Release(ctx))
	if closed(next.Lost()) {
		t.Error("new lease lost")
	}
	noErr(t, "release", next.Release(ctx))
}

// takeOver takes the leader lock through s as soon as the server has ended the
// killed holder's session.
func takeOver(t *testing.T, s store.Store) store.Lease {
	t.Helper()
	var lease store.Lease
	eventually(t, "another instance holds the lock", 10*time.Second, func() bool {
		var err error
		lease, err = s.TryLeaderLock(context.Background())
		if err != nil && !errors.Is(err, store.ErrLocked) {
			t.Fatalf("lock after kill: %v", err)
		}
		return err == nil
	})
	return lease
}

func testReconcileRequests(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a := e.open()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	requests := a.ReconcileRequests(ctx)

	receive := func(what string) {
		t.Helper()
		select {
		case _, ok := <-requests:
			if !ok {
				t.Fatalf("%s: channel closed", what)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no request within 5s", what)
		}
	}
	noErr(t, "request", a.RequestReconcile(ctx))
	receive("request from the same instance")
	if h.SharedRequests {
		b := e.open()
		noErr(t, "request", b.RequestReconcile(ctx))
		receive("request from another instance")
	}
	cancel()
	eventually(t, "channel closed after cancel", 5*time.Second, func() bool {
		select {
		case _, ok := <-requests:
			return !ok
		default:
			return false
		}
	})
}

func testInvalidInput(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s, epoch := e.leader()
	_, err := s.StartRun(ctx, store.NewRun{Mode: "sync", Epoch: epoch})
	wantErr(t, "run without trigger", err, store.ErrInvalid)
	run := must[store.Run](t, "start run")(s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: epoch}))

	bad := samplePlan()
	bad[2].Status = store.ActionApplied
	wantErr(t, "plan with an applied action", s.SavePlan(ctx, run.ID, bad), store.ErrInvalid)
	bad = samplePlan()
	bad[1] = store.Action{Kind: store.KindUpdate, Status: store.ActionPlanned}
	wantErr(t, "plan with a keyless action", s.SavePlan(ctx, run.ID, bad), store.ErrInvalid)
	if got := must[[]store.Action](t, "list actions")(s.Actions(ctx, store.ActionFilter{RunID: run.ID})); len(got) != 0 {
		t.Errorf("a rejected plan left %d actions", len(got))
	}
	noErr(t, "the run can still be planned", s.SavePlan(ctx, run.ID, samplePlan()))

	ref := store.ActionRef{RunID: run.ID, Seq: 1}
	for _, tc := range []struct {
		name    string
		results []store.ActionResult
	}{
		{"result with status held", []store.ActionResult{{Action: ref, Status: store.ActionHeld}}},
		{"two results for one action", []store.ActionResult{{Action: ref, Status: store.ActionApplied}, {Action: ref, Status: store.ActionFailed}}},
		{"result naming no action", []store.ActionResult{{Status: store.ActionApplied}}},
		{"result with a bad link", []store.ActionResult{{Action: ref, Status: store.ActionApplied, Link: &store.Link{IdPID: "u1"}}}},
	} {
		wantErr(t, tc.name, s.RecordResults(ctx, epoch, tc.results), store.ErrInvalid)
	}
	_, err = s.FinishRun(ctx, run.ID, store.RunFinish{Status: store.RunRunning})
	wantErr(t, "finish as running", err, store.ErrInvalid)
	_, err = s.Approve(ctx, run.ID, store.ApprovalRequest{By: "ops", Seqs: []int{3, 3}})
	wantErr(t, "approve an action twice in one request", err, store.ErrInvalid)
	_, err = s.SaveSnapshot(ctx, store.NewSnapshot{Count: -1})
	wantErr(t, "negative snapshot", err, store.ErrInvalid)
}

package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/sfsim"
	"github.com/syncd-io/syncd/internal/source"
)

// pages is the number of query pages that reading n users costs.
func pages(n int) int64 { return int64((n + 1999) / 2000) }

// batches is the number of Collections calls that writing n records of one kind costs.
func batches(n int) int64 { return int64((n + 199) / 200) }

// lookups are the profile and role queries of every cycle.
const lookups = 2

// runOnce runs a cycle that must not fail and returns its summary and the API calls
// the org charged for it.
func (e *env) runOnce(t *testing.T) (reconcile.Summary, int64) {
	t.Helper()
	before := e.org.Used()
	s, err := e.engine.RunOnce(context.Background(), "manual")
	if err != nil {
		t.Fatalf("RunOnce: %v (summary %+v)", err, s)
	}
	return s, e.org.Used() - before
}

// TestSyncSpendsTheMinimumOfCalls syncs an org of 2100 unmanaged users with 450
// people: the first cycle creates and links them, the second writes nothing. Each
// cycle costs exactly ⌈users read / 2000⌉ query pages, the profile and role look-ups
// and ⌈records / 200⌉ Collections calls per kind, as the org counts them.
func TestSyncSpendsTheMinimumOfCalls(t *testing.T) {
	org := newSimOrg(t, nil)
	if err := org.Sim.SetSeats("Salesforce", 5000); err != nil {
		t.Fatal(err)
	}
	var seeded []sfsim.SeedUser
	for i := range 2100 {
		seeded = append(seeded, sfsim.SeedUser{Username: fmt.Sprintf("other%d@acme.example.com", i), LastName: "Other"})
	}
	if _, err := org.Sim.AddUsers(seeded...); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, org, people(0, 450), nil)

	s, calls := e.runOnce(t)
	if want := pages(2101) + lookups + batches(450); calls != want {
		t.Errorf("first cycle cost %d calls, want %d", calls, want)
	}
	if s.Status != reconcile.RunSucceeded || s.Applied != 450 || s.Failed != 0 || s.Pending != 0 {
		t.Errorf("first cycle = %+v, want 450 applied", s)
	}
	if got := org.Sim.UserCount(); got != 2101+450 {
		t.Errorf("org has %d users, want %d", got, 2101+450)
	}
	links, _ := e.journal.Links(context.Background())
	if len(links) != 450 || e.journal.origins["E0007"] != reconcile.OriginCreated {
		t.Errorf("%d links (E0007 %q), want 450 created", len(links), e.journal.origins["E0007"])
	}
	if u, ok := org.Sim.User("p0007@acme.example.com"); !ok || u.ID != e.journal.links["E0007"].SalesforceID {
		t.Errorf("E0007's link %+v does not name its user %+v", e.journal.links["E0007"], u)
	}
	if f := e.journal.run(1).finish; f == nil || f.Status != reconcile.RunSucceeded || f.Stats.SalesforceUsers != 2101 || f.Stats.SourceRecords != 450 {
		t.Errorf("run 1 finished as %+v", f)
	}

	s, calls = e.runOnce(t)
	if want := pages(2101+450) + lookups; calls != want {
		t.Errorf("second cycle cost %d calls, want %d (reads only)", calls, want)
	}
	if s.Applied != 0 || len(e.journal.run(2).entries) != 0 {
		t.Errorf("second cycle = %+v with %d entries, want nothing to do", s, len(e.journal.run(2).entries))
	}
}

// TestLeaversAreDeactivated removes a person from the source: their user is
// deactivated with one Collections call.
func TestLeaversAreDeactivated(t *testing.T) {
	org := newSimOrg(t, nil)
	e := newEnv(t, org, people(0, 3), nil)
	e.runOnce(t)
	e.src.set([]source.Record{person(0), person(2)})

	_, calls := e.runOnce(t)
	if want := pages(4) + lookups + batches(1); calls != want {
		t.Errorf("cycle cost %d calls, want %d", calls, want)
	}
	want := []outcome{{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "applied"}}
	if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
		t.Errorf("run 2 (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		username string
		active   bool
	}{{"p0000@acme.example.com", true}, {"p0001@acme.example.com", false}, {"p0002@acme.example.com", true}} {
		if u, _ := org.Sim.User(tc.username); u.IsActive != tc.active {
			t.Errorf("%s active = %v, want %v", tc.username, u.IsActive, tc.active)
		}
	}
}

// hookDirectory runs a hook before each write call and records the calls' order.
type hookDirectory struct {
	reconcile.Directory
	mu     sync.Mutex
	calls  []string
	before func(call string, n int)
}

func (h *hookDirectory) hook(call string, n int) {
	h.mu.Lock()
	h.calls = append(h.calls, call)
	h.mu.Unlock()
	if h.before != nil {
		h.before(call, n)
	}
}

func (h *hookDirectory) CreateUsers(ctx context.Context, us []reconcile.UserWrite) ([]reconcile.WriteResult, error) {
	h.hook("create", len(us))
	return h.Directory.CreateUsers(ctx, us)
}

func (h *hookDirectory) UpdateUsers(ctx context.Context, us []reconcile.UserWrite) ([]reconcile.WriteResult, error) {
	h.hook("update", len(us))
	return h.Directory.UpdateUsers(ctx, us)
}

func (h *hookDirectory) order() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

// TestDuplicateUsername creates a user whose Username is taken. Taken in another
// org, the failure is reported with the hint and backed off, so the next cycle
// does not try again; held by this person's own user in this org (a create that
// landed unseen), that user is linked instead.
func TestDuplicateUsername(t *testing.T) {
	tests := []struct {
		name string
		// prepare takes p0001's Username before the create is sent.
		prepare     func(t *testing.T, org *simOrg)
		want        outcome
		wantMessage string
		wantLink    bool
	}{
		{
			name:        "taken in another org is reported with the hint and backed off",
			prepare:     func(_ *testing.T, org *simOrg) { org.Sim.AddTakenUsernames("p0001@acme.example.com") },
			want:        outcome{Kind: reconcile.KindCreate, IdPID: "E0001", Status: "failed", Code: "DUPLICATE_USERNAME", Backoff: time.Hour},
			wantMessage: "set mapping.username_suffix",
		},
		{
			name: "held by another person of this org is reported and backed off",
			prepare: func(t *testing.T, org *simOrg) {
				addUser(t, org, sfsim.SeedUser{Username: "p0001@acme.example.com", LastName: "Else", FederationIdentifier: "X9"})
			},
			want:        outcome{Kind: reconcile.KindCreate, IdPID: "E0001", Status: "failed", Code: "DUPLICATE_USERNAME", Backoff: time.Hour},
			wantMessage: "is not this person",
		},
		{
			name: "held by this person's own user of this org is linked",
			prepare: func(t *testing.T, org *simOrg) {
				addUser(t, org, sfsim.SeedUser{Username: "p0001@acme.example.com", LastName: "Person1", FederationIdentifier: "E0001"})
			},
			want:     outcome{Kind: reconcile.KindCreate, IdPID: "E0001", Status: "applied"},
			wantLink: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := newSimOrg(t, nil)
			hd := &hookDirectory{Directory: org.Directory}
			hd.before = func(string, int) { tt.prepare(t, org); hd.before = nil }
			e := newEnv(t, org, []source.Record{person(1)}, func(c *reconcile.Config) { c.Directory = hd })
			e.runOnce(t)
			if diff := cmp.Diff([]outcome{tt.want}, e.journal.outcomes(1)); diff != "" {
				t.Errorf("run 1 (-want +got):\n%s", diff)
			}
			res := e.journal.result(t, 1, "E0001")
			if !strings.Contains(res.ErrorMessage, tt.wantMessage) {
				t.Errorf("message %q does not say %q", res.ErrorMessage, tt.wantMessage)
			}
			if got := e.journal.origins["E0001"] == reconcile.OriginAdopted; got != tt.wantLink {
				t.Errorf("linked as adopted = %v, want %v (result %+v)", got, tt.wantLink, res)
			}
			if tt.wantLink {
				u, _ := org.Sim.User("p0001@acme.example.com")
				if res.SalesforceID != u.ID || res.Note == "" {
					t.Errorf("result %+v, want the existing user %s with a note", res, u.ID)
				}
				return
			}
			// The next cycle skips the backed-off create without calling Salesforce.
			_, calls := e.runOnce(t)
			if want := pages(org.Sim.UserCount()) + lookups; calls != want {
				t.Errorf("second cycle cost %d calls, want %d", calls, want)
			}
			want := []outcome{{Kind: reconcile.KindCreate, IdPID: "E0001", Status: "skipped"}}
			if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
				t.Errorf("run 2 (-want +got):\n%s", diff)
			}
		})
	}
}

func addUser(t *testing.T, org *simOrg, u sfsim.SeedUser) {
	t.Helper()
	if _, err := org.Sim.AddUsers(u); err != nil {
		t.Fatal(err)
	}
}

// TestLostCreateAnswer loses the answer of a Collections create. When the request
// was applied, the re-read finds the users and links them: nobody gets two users,
// and the next cycle writes nothing. When it never arrived, the creates fail
// without back-off and the next cycle creates them.
func TestLostCreateAnswer(t *testing.T) {
	tests := []struct {
		name       string
		fault      sfsim.Fault
		wantFirst  string
		wantSecond []outcome
	}{
		{"applied, answer lost", sfsim.LostAnswerFault(), "applied", nil},
		{"connection dropped before it was handled", sfsim.DropFault(), "failed", []outcome{
			{Kind: reconcile.KindCreate, IdPID: "E0000", Status: "applied"},
			{Kind: reconcile.KindCreate, IdPID: "E0001", Status: "applied"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := newSimOrg(t, nil)
			org.Sim.InjectFault(sfsim.FaultRule{Endpoint: "collections.create", Fault: tt.fault})
			e := newEnv(t, org, people(0, 2), nil)
			e.runOnce(t)
			want := []outcome{
				{Kind: reconcile.KindCreate, IdPID: "E0000", Status: tt.wantFirst},
				{Kind: reconcile.KindCreate, IdPID: "E0001", Status: tt.wantFirst},
			}
			if diff := cmp.Diff(want, e.journal.outcomes(1)); diff != "" {
				t.Errorf("run 1 (-want +got):\n%s", diff)
			}
			e.runOnce(t)
			if diff := cmp.Diff(tt.wantSecond, e.journal.outcomes(2)); diff != "" {
				t.Errorf("run 2 (-want +got):\n%s", diff)
			}
			if got := org.Sim.UserCount(); got != 3 {
				t.Errorf("org has %d users, want the integration user and 2 people", got)
			}
			if u, _ := org.Sim.User("p0001@acme.example.com"); e.journal.links["E0001"].SalesforceID != u.ID {
				t.Errorf("E0001 linked to %q, want %q", e.journal.links["E0001"].SalesforceID, u.ID)
			}
		})
	}
}

// TestReservePausesTheCycle lets other integrations spend the org's allowance down
// to below the reserve while the first of two create batches is in flight: the
// second is never sent, stays planned, and the run pauses.
func TestReservePausesTheCycle(t *testing.T) {
	org := newSimOrg(t, func(c *salesforce.Config) { c.Reserve = 0.2 })
	hd := &hookDirectory{Directory: org.Directory}
	hd.before = func(string, int) { org.Sim.SetOtherUsage(sfsim.DefaultAPIMax * 9 / 10) }
	e := newEnv(t, org, people(0, 250), func(c *reconcile.Config) { c.Directory = hd; c.Concurrency = 1 })

	s, err := e.engine.RunOnce(context.Background(), "manual")
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if s.Status != reconcile.RunPaused || !strings.HasPrefix(s.Error, "paused: ") || s.Applied != 200 || s.Pending != 50 {
		t.Errorf("summary = %+v, want paused with 200 applied and 50 pending", s)
	}
	if f := e.journal.run(1).finish; f == nil || f.Status != reconcile.RunPaused || f.Error != s.Error {
		t.Errorf("run finished as %+v", f)
	}
	counts := map[string]int{}
	for _, o := range e.journal.outcomes(1) {
		counts[o.Status]++
	}
	if diff := cmp.Diff(map[string]int{"applied": 200, "planned": 50}, counts); diff != "" {
		t.Errorf("action statuses (-want +got):\n%s", diff)
	}
	if got := org.Sim.Calls()["collections.create"]; got != 1 {
		t.Errorf("the org received %d create calls, want 1 (the second refused by the client)", got)
	}
}

// TestCancelFinishesTheBatchInFlight cancels the cycle while its first create batch
// is being sent: that batch completes and is recorded, no other is sent, and the
// run is aborted.
func TestCancelFinishesTheBatchInFlight(t *testing.T) {
	org := newSimOrg(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hd := &hookDirectory{Directory: org.Directory, before: func(string, int) { cancel() }}
	e := newEnv(t, org, people(0, 250), func(c *reconcile.Config) { c.Directory = hd; c.Concurrency = 1 })

	s, err := e.engine.RunOnce(ctx, "manual")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if s.Status != reconcile.RunAborted || s.Applied != 200 || s.Pending != 50 {
		t.Errorf("summary = %+v, want aborted with 200 applied and 50 pending", s)
	}
	if f := e.journal.run(1).finish; f == nil || f.Status != reconcile.RunAborted {
		t.Errorf("run finished as %+v, want aborted", f)
	}
	if got := org.Sim.UserCount(); got != 201 {
		t.Errorf("org has %d users, want 1 + 200", got)
	}
	if got := len(e.journal.links); got != 200 {
		t.Errorf("%d links, want 200", got)
	}
}

// TestBlockedDeactivation removes a person whose user Salesforce will not
// deactivate: the refusal is recorded with Salesforce's code and backed off, and
// with on_blocked_deactivation freeze the user is frozen instead.
func TestBlockedDeactivation(t *testing.T) {
	for _, tt := range []struct {
		onBlocked   reconcile.OnBlocked
		wantFrozen  bool
		wantMessage string
	}{
		{reconcile.OnBlockedFreeze, true, "default owner of cases; blocker default_case_owner: remove the user as the default case owner and the Automated Case User in Setup > Support Settings; frozen instead"},
		{reconcile.OnBlockedReport, false, "default owner of cases; blocker default_case_owner: remove the user as the default case owner and the Automated Case User in Setup > Support Settings"},
	} {
		t.Run(string(tt.onBlocked), func(t *testing.T) {
			org := newSimOrg(t, nil)
			e := newEnv(t, org, people(0, 2), func(c *reconcile.Config) { c.OnBlocked = tt.onBlocked })
			e.runOnce(t)
			if err := org.Sim.AddBlocker("p0001@acme.example.com", sfsim.BlockerDefaultCaseOwner); err != nil {
				t.Fatal(err)
			}
			e.src.set([]source.Record{person(0)})
			e.runOnce(t)
			want := []outcome{{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "failed", Code: "FIELD_INTEGRITY_EXCEPTION", Backoff: reconcile.BlockedRetry}}
			if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
				t.Errorf("run 2 (-want +got):\n%s", diff)
			}
			if msg := e.journal.result(t, 2, "E0001").ErrorMessage; !strings.HasSuffix(msg, tt.wantMessage) {
				t.Errorf("message %q does not end %q", msg, tt.wantMessage)
			}
			u, _ := org.Sim.User("p0001@acme.example.com")
			if !u.IsActive || u.IsFrozen != tt.wantFrozen {
				t.Errorf("user active %v frozen %v, want active and frozen %v", u.IsActive, u.IsFrozen, tt.wantFrozen)
			}
		})
	}
}

// TestDeactivationsFreeSeatsFirst replaces a person with a new one: the new hire's
// create goes first, unless the license has no free seat, when the leaver's
// deactivation goes first to free one and both succeed.
func TestDeactivationsFreeSeatsFirst(t *testing.T) {
	for _, tt := range []struct {
		name      string
		freeSeats int64
		wantOrder []string
	}{
		{"a seat is free: creates first", 1, []string{"create", "update"}},
		{"no seat is free: deactivations first", 0, []string{"update", "create"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			org := newSimOrg(t, nil)
			hd := &hookDirectory{Directory: org.Directory}
			e := newEnv(t, org, people(0, 2), func(c *reconcile.Config) { c.Directory = hd })
			e.runOnce(t)
			used, _, _ := org.Sim.Seats("Salesforce")
			if err := org.Sim.SetSeats("Salesforce", used+tt.freeSeats); err != nil {
				t.Fatal(err)
			}
			e.src.set([]source.Record{person(0), person(2)})
			before := len(hd.order())
			s, _ := e.runOnce(t)
			if diff := cmp.Diff(tt.wantOrder, hd.order()[before:]); diff != "" {
				t.Errorf("write calls (-want +got):\n%s", diff)
			}
			if s.Applied != 2 || s.Failed != 0 {
				t.Errorf("summary = %+v, want both applied", s)
			}
		})
	}
}

// TestAdoptWithoutChangesCostsNoWrite forgets every link: the next cycle adopts the
// users it finds by FederationIdentifier, and as nothing differs it only records
// the links.
func TestAdoptWithoutChangesCostsNoWrite(t *testing.T) {
	org := newSimOrg(t, nil)
	e := newEnv(t, org, people(0, 3), nil)
	e.runOnce(t)
	e.journal.links = map[string]reconcile.Link{}

	_, calls := e.runOnce(t)
	if want := pages(4) + lookups; calls != want {
		t.Errorf("cycle cost %d calls, want %d (reads only)", calls, want)
	}
	for _, o := range e.journal.outcomes(2) {
		if o.Kind != reconcile.KindAdopt || o.Status != "applied" {
			t.Errorf("outcome %+v, want an applied adoption", o)
		}
	}
	if len(e.journal.links) != 3 || e.journal.origins["E0002"] != reconcile.OriginAdopted {
		t.Errorf("links %v, want 3 adopted", e.journal.links)
	}
}

// TestPullOutcomes runs cycles over pulls of each kind: an incomplete pull with
// records still creates; a failed pull with none fails the run before Salesforce is
// called; names the org does not know fail the run with an error naming them.
func TestPullOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		records   []source.Record
		reasons   []string
		mod       func(*reconcile.Config)
		wantErr   string // "" for success
		wantCalls int64
	}{
		{name: "incomplete pull with records creates", records: people(0, 1), reasons: []string{"page 3 timed out"},
			wantCalls: pages(1) + lookups + batches(1)},
		{name: "failed pull without records fails", reasons: []string{"connection refused"},
			wantErr: "pulling the source: source pull incomplete: connection refused"},
		{name: "unknown protected profile fails", records: people(0, 1),
			mod:     func(c *reconcile.Config) { c.ProtectedProfiles = []string{"System Administrator", "Nope"} },
			wantErr: `Salesforce has no profile named ["Nope"]`, wantCalls: lookups},
		{name: "unknown mapped profile fails", records: people(0, 1),
			mod:     func(c *reconcile.Config) { c.Mapper = mapperWithProfile(t, "Field Sales") },
			wantErr: `Salesforce has no profile named "Field Sales"`, wantCalls: lookups},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := newSimOrg(t, nil)
			e := newEnv(t, org, tt.records, tt.mod)
			e.src.reasons = tt.reasons
			before := org.Used()
			s, err := e.engine.RunOnce(context.Background(), "manual")
			if calls := org.Used() - before; calls != tt.wantCalls {
				t.Errorf("cycle cost %d calls, want %d", calls, tt.wantCalls)
			}
			f := e.journal.run(1).finish
			if tt.wantErr == "" {
				if err != nil || s.Applied != len(tt.records) || f.Status != reconcile.RunSucceeded {
					t.Errorf("RunOnce = %+v, %v; finished %+v", s, err, f)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one saying %q", err, tt.wantErr)
			}
			if f == nil || f.Status != reconcile.RunFailed || f.Error != err.Error() || e.journal.run(1).entries != nil {
				t.Errorf("run finished as %+v with a plan of %d, want failed without a plan", f, len(e.journal.run(1).entries))
			}
		})
	}
}

// TestPreviewWritesNothing plans a first sync without a run, a plan, a snapshot or
// a write.
func TestPreviewWritesNothing(t *testing.T) {
	org := newSimOrg(t, nil)
	e := newEnv(t, org, people(0, 3), nil)
	before := org.Used()
	plan, s, err := e.engine.Preview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Actions) != 3 || s.Planned[reconcile.KindCreate] != 3 || s.RunID != 0 {
		t.Errorf("preview = %d actions, %+v; want 3 creates", len(plan.Actions), s)
	}
	if calls := org.Used() - before; calls != pages(1)+lookups {
		t.Errorf("preview cost %d calls, want reads only", calls)
	}
	if len(e.journal.runs) != 0 || len(e.journal.snapshots) != 0 || org.Sim.UserCount() != 1 {
		t.Errorf("preview wrote: %d runs, %d snapshots, %d users", len(e.journal.runs), len(e.journal.snapshots), org.Sim.UserCount())
	}
}

// TestSnapshotsFeedTheBaseline saves each cycle's pull and hands the last complete
// one to the plan as the shrink gate's baseline.
func TestSnapshotsFeedTheBaseline(t *testing.T) {
	org := newSimOrg(t, nil)
	var baselines []int
	e := newEnv(t, org, people(0, 4), func(c *reconcile.Config) {
		c.Plan = func(in reconcile.Input, p reconcile.Policy) reconcile.Plan {
			baselines = append(baselines, in.Source.Baseline)
			return testPlan(in, p)
		}
	})
	e.runOnce(t)
	e.src.set(people(0, 2))
	e.src.reasons = []string{"truncated"}
	e.runOnce(t)
	e.src.reasons = nil
	e.runOnce(t)
	if diff := cmp.Diff([]int{0, 4, 4}, baselines); diff != "" {
		t.Errorf("baselines (-want +got):\n%s", diff)
	}
	want := []reconcile.Snapshot{
		{Count: 4, Digest: source.Digest(people(0, 4)), Complete: true},
		{Count: 2, Digest: source.Digest(people(0, 2))},
		{Count: 2, Digest: source.Digest(people(0, 2)), Complete: true},
	}
	if diff := cmp.Diff(want, e.journal.snapshots); diff != "" {
		t.Errorf("snapshots (-want +got):\n%s", diff)
	}
}

// TestAPullTheShrinkGateHeldIsNoBaseline: a pull over which the shrink gate held
// deactivations is saved as no baseline, so the next cycle over the same shrunken
// export compares it with the last good pull again and holds again; a cap holding
// does not stop a pull from being the baseline.
func TestAPullTheShrinkGateHeldIsNoBaseline(t *testing.T) {
	org := newSimOrg(t, nil)
	var baselines []int
	var guards []reconcile.GuardResult // the guard verdict of each cycle's plan
	e := newEnv(t, org, people(0, 4), func(c *reconcile.Config) {
		c.Plan = func(in reconcile.Input, p reconcile.Policy) reconcile.Plan {
			baselines = append(baselines, in.Source.Baseline)
			plan := testPlan(in, p)
			if g := guards[len(baselines)-1]; g.Name != "" {
				plan.Guards = append(plan.Guards, g)
			}
			return plan
		}
	})
	shrink := reconcile.GuardResult{Name: "shrink", Held: 2, Reason: "the source shrank"}
	capped := reconcile.GuardResult{Name: "cap", Held: 2, Reason: "too many"}
	guards = []reconcile.GuardResult{{}, shrink, shrink, capped, {}}
	e.runOnce(t)
	e.src.set(people(0, 2))
	for range 4 {
		e.runOnce(t)
	}
	if diff := cmp.Diff([]int{0, 4, 4, 4, 2}, baselines); diff != "" {
		t.Errorf("baselines (-want +got):\n%s", diff)
	}
	var complete []bool
	for _, s := range e.journal.snapshots {
		complete = append(complete, s.Complete)
	}
	if diff := cmp.Diff([]bool{true, false, false, true, true}, complete); diff != "" {
		t.Errorf("snapshots saved as baselines (-want +got):\n%s", diff)
	}
}

// TestProgress reports reading and applying.
func TestProgress(t *testing.T) {
	org := newSimOrg(t, nil)
	var got []reconcile.Progress
	e := newEnv(t, org, people(0, 201), func(c *reconcile.Config) {
		c.Concurrency = 1
		c.Progress = func(p reconcile.Progress) { got = append(got, p) }
	})
	e.runOnce(t)
	want := []reconcile.Progress{
		{Stage: reconcile.StageRead, Done: 1, Total: 1},
		{Stage: reconcile.StageApply, Done: 1, Total: 2},
		{Stage: reconcile.StageApply, Done: 2, Total: 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
}

// TestApprovedActions approves the deactivations an incomplete pull held. The next
// cycle applies the one its plan still contains, closing the approved action of the
// earlier run with the same result, and skips the one it no longer contains as stale.
func TestApprovedActions(t *testing.T) {
	org := newSimOrg(t, nil)
	e := newEnv(t, org, people(0, 3), nil)
	e.runOnce(t)
	e.src.set(people(0, 1))
	e.src.reasons = []string{"truncated"}
	e.runOnce(t)
	want := []outcome{
		{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "held"},
		{Kind: reconcile.KindDeactivate, IdPID: "E0002", Status: "held"},
	}
	if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
		t.Fatalf("run 2 (-want +got):\n%s", diff)
	}
	e.journal.approve(2)
	e.src.set([]source.Record{person(0), person(2)}) // E0002 is back: its approval is stale

	e.runOnce(t)
	want = []outcome{
		{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindDeactivate, IdPID: "E0002", Status: "skipped"},
	}
	if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
		t.Errorf("run 2 after approval (-want +got):\n%s", diff)
	}
	want = []outcome{{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "applied"}}
	if diff := cmp.Diff(want, e.journal.outcomes(3)); diff != "" {
		t.Errorf("run 3 (-want +got):\n%s", diff)
	}
	for username, active := range map[string]bool{"p0001@acme.example.com": false, "p0002@acme.example.com": true} {
		if u, _ := org.Sim.User(username); u.IsActive != active {
			t.Errorf("%s active = %v, want %v", username, u.IsActive, active)
		}
	}
}

// TestReserveReachedBeforeWriting pauses a cycle whose reads already find the org's
// remaining allowance below the reserve: no plan, nothing written.
func TestReserveReachedBeforeWriting(t *testing.T) {
	org := newSimOrg(t, func(c *salesforce.Config) { c.Reserve = 0.2 })
	org.Sim.SetOtherUsage(sfsim.DefaultAPIMax * 9 / 10)
	e := newEnv(t, org, people(0, 2), nil)
	s, err := e.engine.RunOnce(context.Background(), "schedule")
	if err != nil || s.Status != reconcile.RunPaused || !strings.HasPrefix(s.Error, "paused: ") {
		t.Errorf("RunOnce = %+v, %v; want paused", s, err)
	}
	if f := e.journal.run(1).finish; f == nil || f.Status != reconcile.RunPaused || e.journal.run(1).entries != nil {
		t.Errorf("run finished as %+v, want paused without a plan", f)
	}
}

// TestWholeCallFailureStopsTheCycle makes Salesforce answer 503 to every attempt of
// an update batch: its actions fail without back-off (the people are not at fault),
// no further batch is sent and the run fails.
func TestWholeCallFailureStopsTheCycle(t *testing.T) {
	org := newSimOrg(t, nil)
	e := newEnv(t, org, people(0, 2), nil)
	e.runOnce(t)
	renamed := people(0, 2)
	for i := range renamed {
		renamed[i].GivenName = "Sam"
	}
	e.src.set(renamed)
	org.Sim.InjectFault(sfsim.FaultRule{Endpoint: "collections.update", Count: 100, Fault: sfsim.UnavailableFault()})

	s, err := e.engine.RunOnce(context.Background(), "schedule")
	if err == nil || s.Status != reconcile.RunFailed || !strings.Contains(s.Error, "update batch of 2 failed") {
		t.Errorf("RunOnce = %+v, %v; want a failed run", s, err)
	}
	want := []outcome{
		{Kind: reconcile.KindUpdate, IdPID: "E0000", Status: "failed"},
		{Kind: reconcile.KindUpdate, IdPID: "E0001", Status: "failed"},
	}
	if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
		t.Errorf("run 2 (-want +got):\n%s", diff)
	}
}

// conflictingJournal records results and then reports err, as a store does when
// some links conflict (or fails outright).
type conflictingJournal struct {
	*memJournal
	err error
}

func (j *conflictingJournal) RecordResults(ctx context.Context, results []reconcile.Result) error {
	if err := j.memJournal.RecordResults(ctx, results); err != nil {
		return err
	}
	return j.err
}

// TestRecordingFailures carries on past link conflicts, which the journal reports
// after recording the other results, and stops on any other journal failure.
func TestRecordingFailures(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus reconcile.RunStatus
		wantSent   int
	}{
		{"a link conflict is reported and the cycle goes on", fmt.Errorf("run 1 action 3: %w", reconcile.ErrLinkConflict), reconcile.RunSucceeded, 2},
		{"any other failure stops the cycle", errors.New("disk full"), reconcile.RunFailed, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := newSimOrg(t, nil)
			var j *conflictingJournal
			e := newEnv(t, org, people(0, 201), func(c *reconcile.Config) {
				j = &conflictingJournal{memJournal: c.Journal.(*memJournal), err: tt.err}
				c.Journal, c.Concurrency = j, 1
			})
			s, _ := e.engine.RunOnce(context.Background(), "schedule")
			if s.Status != tt.wantStatus {
				t.Errorf("status = %s (%s), want %s", s.Status, s.Error, tt.wantStatus)
			}
			if got := org.Sim.Calls()["collections.create"]; got != tt.wantSent {
				t.Errorf("%d create calls, want %d", got, tt.wantSent)
			}
		})
	}
}

// TestBackoffGrows retries a create refused for a Username taken elsewhere once its
// back-off has passed; failing again doubles the wait.
func TestBackoffGrows(t *testing.T) {
	org := newSimOrg(t, nil)
	org.Sim.AddTakenUsernames("p0001@acme.example.com")
	e := newEnv(t, org, []source.Record{person(1)}, nil)
	e.runOnce(t)
	e.at = testNow.Add(time.Hour)
	e.runOnce(t)
	res := e.journal.result(t, 2, "E0001")
	if want := e.at.Add(2 * time.Hour); res.Status != reconcile.ResultFailed || !res.NextAttemptAt.Equal(want) {
		t.Errorf("second attempt = %+v, want failed and backed off until %v", res, want)
	}
}

// TestNewChecksConfig refuses a configuration that cannot run, saying what is wrong.
func TestNewChecksConfig(t *testing.T) {
	org := newSimOrg(t, nil)
	valid := func() reconcile.Config {
		return reconcile.Config{Source: &fakeSource{}, Mapper: newMapper(t), Directory: org.Directory, Journal: newJournal(), Plan: testPlan}
	}
	tests := []struct {
		name    string
		mod     func(*reconcile.Config)
		wantErr string
	}{
		{"missing parts are named", func(c *reconcile.Config) { c.Journal, c.Source = nil, nil }, "reconcile: Config needs [Journal Source]"},
		{"concurrency above Salesforce's 25", func(c *reconcile.Config) { c.Concurrency = 26 }, "reconcile: concurrency 26 is outside 1..25"},
		{"unknown blocked-deactivation policy", func(c *reconcile.Config) { c.OnBlocked = "delete" }, `reconcile: on_blocked_deactivation "delete" is neither freeze nor report`},
		{"back-off cap below its start", func(c *reconcile.Config) { c.BackoffInitial, c.BackoffMax = 2*time.Hour, time.Hour }, "reconcile: back-off max 1h0m0s is below its initial 2h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.mod(&cfg)
			if _, err := reconcile.New(cfg); err == nil || err.Error() != tt.wantErr {
				t.Errorf("New = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := reconcile.New(valid()); err != nil {
		t.Errorf("New(valid) = %v", err)
	}
}

// TestTheIntegrationUserIsProtectedByItsID gives syncd's own user a person in the
// export and a profile no list protects, with no username configured (as with the
// client-credentials flow): the Id its session runs as still keeps every action off
// it, and the plan says why; a targeted run for that person changes nothing either.
func TestTheIntegrationUserIsProtectedByItsID(t *testing.T) {
	ctx := context.Background()
	org := newSimOrg(t, nil)
	self := org.Sim.IntegrationUserID()
	standard, _ := org.Sim.ProfileID("Standard User")
	if _, err := org.Directory.UpdateUsers(ctx, []reconcile.UserWrite{{ID: self,
		Fields: []reconcile.FieldValue{{Name: "ProfileId", Value: standard}}}}); err != nil {
		t.Fatal(err)
	}
	info, _ := org.Sim.User(self)
	rec := person(0)
	rec.Emails = []source.Email{{Value: info.Fields["Email"].(string), Primary: true}}
	e := newEnv(t, org, []source.Record{rec}, func(c *reconcile.Config) { c.Plan = reconcile.Calculate })
	plan, _, err := e.engine.Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	isSelf := func(id string) bool { return id[:15] == self[:15] } // the session may name it by 15 characters or 18
	for _, a := range plan.Actions {
		if isSelf(a.SalesforceID) {
			t.Errorf("the plan acts on the integration user %s: %+v", self, a)
		}
	}
	if !slices.ContainsFunc(plan.Skipped, func(s reconcile.Skip) bool {
		return isSelf(s.Action.SalesforceID) && strings.Contains(s.Reason, "protected")
	}) {
		t.Errorf("the integration user %s is not reported protected; skipped: %+v", self, plan.Skipped)
	}

	if s := e.reconcileOnce(t, reconcile.Target{Keys: []string{rec.ID}}); s.Applied != 0 {
		t.Errorf("a targeted run applied %d actions, want none on the integration user", s.Applied)
	}
	if after, _ := org.Sim.User(self); after.Fields["FirstName"] != info.Fields["FirstName"] {
		t.Errorf("a targeted run renamed the integration user: FirstName %v, was %v", after.Fields["FirstName"], info.Fields["FirstName"])
	}
}

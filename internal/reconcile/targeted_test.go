package reconcile_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/source"
)

// withCalculate plans with the real Calculate and its guardrails.
func withCalculate(g reconcile.Guardrails) func(*reconcile.Config) {
	return func(c *reconcile.Config) {
		c.Plan = reconcile.Calculate
		c.Policy.Guardrails = g
	}
}

// renamed returns person n with another family name.
func renamed(n int, family string) source.Record {
	r := person(n)
	r.FamilyName = family
	return r
}

// reconcileOnce runs a targeted reconcile that must not fail.
func (e *env) reconcileOnce(t *testing.T, target reconcile.Target) reconcile.Summary {
	t.Helper()
	s, err := e.engine.Reconcile(context.Background(), reconcile.TriggerEvent, target)
	if err != nil {
		t.Fatalf("Reconcile: %v (summary %+v)", err, s)
	}
	return s
}

// activeIn returns whether each of the people 0..n-1 has an active user in the org.
func activeIn(org *simOrg, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		u, ok := org.Sim.User(person(i).Emails[0].Value)
		out[i] = ok && u.IsActive
	}
	return out
}

// TestReconcileActsOnlyOnTheNamedPeople syncs four people, then changes the source
// for all of them (a rename, two leavers, a new hire) but names only some in the
// event: the named ones are updated, deactivated and created; the leaver who is not
// named keeps an active user until a full cycle.
func TestReconcileActsOnlyOnTheNamedPeople(t *testing.T) {
	noCap := reconcile.Guardrails{MaxDeactivations: -1, MaxDeactivationPercent: -1, MaxSourceShrinkPercent: -1}
	tests := []struct {
		name string
		keys []string
		want []outcome
	}{
		{
			name: "ids",
			keys: []string{"E0000", "E0001", "E0004"},
			want: []outcome{
				{Kind: reconcile.KindCreate, IdPID: "E0004", Status: "applied"},
				{Kind: reconcile.KindUpdate, IdPID: "E0000", Status: "applied"},
				{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "applied"},
			},
		},
		{
			name: "emails in any case stand for the ids of their records",
			keys: []string{"P0000@ACME.example.com", "E0001", "p0004@acme.example.com"},
			want: []outcome{
				{Kind: reconcile.KindCreate, IdPID: "E0004", Status: "applied"},
				{Kind: reconcile.KindUpdate, IdPID: "E0000", Status: "applied"},
				{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "applied"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := newSimOrg(t, nil)
			e := newEnv(t, org, people(0, 4), withCalculate(noCap))
			e.runOnce(t)
			e.src.set([]source.Record{renamed(0, "Renamed"), person(3), person(4)}) // 1 and 2 left

			s := e.reconcileOnce(t, reconcile.Target{Keys: tt.keys})
			if s.Status != reconcile.RunSucceeded || s.Applied != 3 {
				t.Errorf("summary %+v, want 3 applied", s)
			}
			if diff := cmp.Diff(tt.want, e.journal.outcomes(2)); diff != "" {
				t.Errorf("targeted run (-want +got):\n%s", diff)
			}
			if got := e.journal.run(2).start.Trigger; got != reconcile.TriggerEvent {
				t.Errorf("trigger %q, want %q", got, reconcile.TriggerEvent)
			}
			if diff := cmp.Diff([]bool{true, false, true, true, true}, activeIn(org, 5)); diff != "" {
				t.Errorf("active users (-want +got):\n%s", diff)
			}
			if u, _ := org.Sim.User("p0000@acme.example.com"); u.Fields["LastName"] != "Renamed" {
				t.Errorf("E0000's LastName = %v, want Renamed", u.Fields["LastName"])
			}

			// The full cycle that follows deactivates the leaver no event named.
			e.runOnce(t)
			want := []outcome{{Kind: reconcile.KindDeactivate, IdPID: "E0002", Status: "applied"}}
			if diff := cmp.Diff(want, e.journal.outcomes(3)); diff != "" {
				t.Errorf("full cycle after the event (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReconcileKeepsTheGuardrails names leavers when a full cycle would not deactivate
// them or would hold them: an incomplete source read deactivates no one, and the cap
// counts the deactivations earlier events spent since the last full cycle.
func TestReconcileKeepsTheGuardrails(t *testing.T) {
	tests := []struct {
		name       string
		guardrails reconcile.Guardrails
		reasons    []string // the source read is incomplete when set
		spent      int
		remaining  []int // the people left in the export; default 0, 2 and 3
		want       []outcome
	}{
		{
			name:       "complete and under the cap: deactivated",
			guardrails: reconcile.Guardrails{MaxDeactivations: 2, MaxDeactivationPercent: -1, MaxSourceShrinkPercent: -1},
			spent:      1,
			want:       []outcome{{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "applied"}},
		},
		{
			name:       "incomplete read: skipped",
			guardrails: reconcile.Guardrails{MaxDeactivations: -1, MaxDeactivationPercent: -1, MaxSourceShrinkPercent: -1},
			reasons:    []string{"line 3: ragged row"},
			want:       []outcome{{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "skipped"}},
		},
		{
			name:       "absolute cap spent by earlier events: held",
			guardrails: reconcile.Guardrails{MaxDeactivations: 2, MaxDeactivationPercent: -1, MaxSourceShrinkPercent: -1},
			spent:      2,
			want:       []outcome{{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "held"}},
		},
		{
			// 1 of 4 managed users is 25 %, under the 30 % cap, but not with one spent.
			name:       "percent cap of all managed users, with earlier events: held",
			guardrails: reconcile.Guardrails{MaxDeactivations: -1, MaxDeactivationPercent: 30, MaxSourceShrinkPercent: -1},
			spent:      1,
			want:       []outcome{{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "held"}},
		},
		{
			// The export lost 2 of 4 (E0001 and E0003): 50 %, above the 10 % allowed.
			name:       "an export shrunk beyond the shrink gate: held",
			guardrails: reconcile.Guardrails{MaxDeactivations: -1, MaxDeactivationPercent: -1, MaxSourceShrinkPercent: 10},
			remaining:  []int{0, 2},
			want:       []outcome{{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "held"}},
		},
		{
			name:       "percent cap of all managed users, not of the named ones: deactivated",
			guardrails: reconcile.Guardrails{MaxDeactivations: -1, MaxDeactivationPercent: 30, MaxSourceShrinkPercent: -1},
			want:       []outcome{{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "applied"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := newSimOrg(t, nil)
			e := newEnv(t, org, people(0, 4), withCalculate(tt.guardrails))
			e.runOnce(t)
			if tt.remaining == nil {
				tt.remaining = []int{0, 2, 3}
			}
			var left []source.Record
			for _, n := range tt.remaining {
				left = append(left, person(n))
			}
			e.src.set(left)
			e.src.reasons = tt.reasons

			e.reconcileOnce(t, reconcile.Target{Keys: []string{"E0001"}, Deactivated: tt.spent})
			if diff := cmp.Diff(tt.want, e.journal.outcomes(2)); diff != "" {
				t.Errorf("targeted run (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReconcileLeavesUsersOfOtherPeopleAlone names a person whose email a user
// linked to someone else carries: that user is read (the email is a match key) but
// belongs to a person the event does not name, who must not be taken for a leaver.
func TestReconcileLeavesUsersOfOtherPeopleAlone(t *testing.T) {
	noCap := reconcile.Guardrails{MaxDeactivations: -1, MaxDeactivationPercent: -1, MaxSourceShrinkPercent: -1}
	org := newSimOrg(t, nil)
	e := newEnv(t, org, people(0, 2), withCalculate(noCap))
	e.runOnce(t)
	// E0000 leaves; E0009 joins with E0000's address (a reused mailbox).
	hire := person(9)
	hire.Emails = person(0).Emails
	e.src.set([]source.Record{person(1), hire})

	e.reconcileOnce(t, reconcile.Target{Keys: []string{"E0009"}})
	for _, o := range e.journal.outcomes(2) {
		if o.IdPID != "E0009" {
			t.Errorf("targeted run acted on %+v; only E0009 was named", o)
		}
	}
	if u, _ := org.Sim.User("p0000@acme.example.com"); !u.IsActive {
		t.Errorf("E0000's user was deactivated by an event that named E0009 only")
	}
}

// TestUnchangedSnapshotIsMappedOnceAndStillPlanned runs three cycles over the same
// source: the mapping is re-used (Memo hits), and a Salesforce-side edit made
// between them is still reverted, because an unchanged source re-plans against what
// the org holds.
func TestUnchangedSnapshotIsMappedOnceAndStillPlanned(t *testing.T) {
	memo := &reconcile.MapMemo{}
	org := newSimOrg(t, nil)
	e := newEnv(t, org, people(0, 3), func(c *reconcile.Config) { c.Memo = memo })
	e.runOnce(t)
	e.runOnce(t)
	u, _ := org.Sim.User("p0001@acme.example.com")
	if err := org.Client.Update(context.Background(), "User", u.ID, salesforce.Fields{"LastName": "Drifted"}); err != nil {
		t.Fatal(err)
	}

	s, _ := e.runOnce(t)
	if got := memo.Hits(); got != 2 || !s.SourceUnchanged {
		t.Errorf("mapping re-used %d times, SourceUnchanged %v; want 2 and true", got, s.SourceUnchanged)
	}
	want := []outcome{{Kind: reconcile.KindUpdate, IdPID: "E0001", Status: "applied"}}
	if diff := cmp.Diff(want, e.journal.outcomes(3)); diff != "" {
		t.Errorf("cycle over the unchanged source (-want +got):\n%s (summary %+v)", diff, s)
	}
	if u, _ := org.Sim.User("p0001@acme.example.com"); u.Fields["LastName"] != "Person1" {
		t.Errorf("LastName = %v after the cycle, want the drift reverted", u.Fields["LastName"])
	}

	// A changed source is mapped again.
	e.src.set([]source.Record{person(0), renamed(1, "Renamed"), person(2)})
	s, _ = e.runOnce(t)
	if u, _ := org.Sim.User("p0001@acme.example.com"); u.Fields["LastName"] != "Renamed" || memo.Hits() != 2 || s.SourceUnchanged {
		t.Errorf("LastName = %v, hits %d, SourceUnchanged %v after a change; want Renamed, no new hit, false",
			u.Fields["LastName"], memo.Hits(), s.SourceUnchanged)
	}
}

package reconcile

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// guardPlan is a plan with one create, one update and n deactivations (the first
// approved when approved is true), over managed linked users.
func guardPlan(n, managed int, approved bool) Plan {
	p := Plan{Managed: managed, Actions: []Action{
		{Kind: KindCreate, IdPID: "new"},
		{Kind: KindUpdate, IdPID: "kept", SalesforceID: sfID(1)},
	}}
	for i := range n {
		a := Action{Kind: KindDeactivate, IdPID: "gone", SalesforceID: sfID(100 + i)}
		if approved && i == 0 {
			a.Approval = &Approved{RunID: 1, Kind: KindDeactivate, IdPID: "gone", SalesforceID: sfID(100)}
		}
		p.Actions = append(p.Actions, a)
	}
	return p
}

// heldState is what a guardrail decided for each action: "" (goes ahead), the name
// of the guardrail holding it, or "skipped".
func heldState(p Plan) []string {
	out := []string{}
	for _, a := range p.Actions {
		out = append(out, string(a.Kind)+":"+a.HeldBy)
	}
	for _, s := range p.Skipped {
		out = append(out, string(s.Action.Kind)+":skipped")
	}
	return out
}

func TestAnIncompletePullPlansNoDeactivationButCreatesAndUpdatesGoAhead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		source Source
		want   []string
		result GuardResult
	}{
		{"complete", Source{Complete: true}, []string{"create:", "update:", "deactivate:", "deactivate:"}, GuardResult{Name: "completeness"}},
		{"incomplete", Source{Reasons: []string{"page 3: HTTP 502", "count mismatch"}},
			[]string{"create:", "update:", "deactivate:skipped", "deactivate:skipped"},
			GuardResult{Name: "completeness", Skipped: 2, Reason: "the source pull is incomplete: page 3: HTTP 502; count mismatch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := guardPlan(2, 10, true) // even an approved deactivation
			got, res := Completeness{}.Check(in, Input{Source: tc.source})
			if diff := cmp.Diff(tc.want, heldState(got)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.result, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			for _, s := range got.Skipped {
				if s.Reason != tc.result.Reason {
					t.Errorf("skip reason %q, want %q", s.Reason, tc.result.Reason)
				}
			}
			if len(in.Skipped) != 0 || in.Actions[2].Kind != KindDeactivate {
				t.Errorf("the guardrail changed its input plan")
			}
		})
	}
}

func TestAShrunkenSourceHoldsEveryDeactivation(t *testing.T) {
	for _, tc := range []struct {
		name            string
		count, baseline int
		maxPercent      float64
		held            int
		reason          string
	}{
		{"no baseline: first cycle", 0, 0, 10, 0, ""},
		{"grown", 1200, 1000, 10, 0, ""},
		{"shrunk exactly the limit", 900, 1000, 10, 0, ""},
		{"shrunk past the limit", 899, 1000, 10, 2, "the source has 899 records, 10.1% fewer than the last complete pull's 1000 (at most 10% allowed)"},
		{"empty export", 0, 1000, 10, 2, "the source has 0 records, 100% fewer than the last complete pull's 1000 (at most 10% allowed)"},
		{"disabled", 0, 1000, -1, 0, ""},
		{"zero tolerance", 999, 1000, 0, 2, "the source has 999 records, 0.1% fewer than the last complete pull's 1000 (at most 0% allowed)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, res := Shrink{MaxPercent: tc.maxPercent}.Check(guardPlan(2, 10, false), Input{Source: Source{Complete: true, Count: tc.count, Baseline: tc.baseline}})
			if diff := cmp.Diff(GuardResult{Name: "shrink", Held: tc.held, Reason: tc.reason}, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			want := []string{"create:", "update:", "deactivate:", "deactivate:"}
			if tc.held > 0 {
				want = []string{"create:", "update:", "deactivate:shrink", "deactivate:shrink"}
			}
			if diff := cmp.Diff(want, heldState(p)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTheCapHoldsEveryDeactivationOfACycleAboveIt(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n, managed int
		cap        Cap
		approved   bool
		want       []string
		reason     string
	}{
		{"at the absolute cap", 3, 100, Cap{Max: 3, MaxPercent: -1}, false, nil, ""},
		{"above the absolute cap: all held, not the excess", 4, 100, Cap{Max: 3, MaxPercent: -1}, false,
			[]string{"cap", "cap", "cap", "cap"}, "4 deactivations planned, above the cap of 3"},
		{"at the percentage", 5, 100, Cap{Max: -1, MaxPercent: 5}, false, nil, ""},
		{"above the percentage", 6, 100, Cap{Max: -1, MaxPercent: 5}, false,
			[]string{"cap", "cap", "cap", "cap", "cap", "cap"}, "6 deactivations planned, 6% of 100 managed users, above the cap of 5%"},
		{"zero allows none", 1, 100, Cap{Max: 0, MaxPercent: -1}, false, []string{"cap"}, "1 deactivation planned, above the cap of 0"},
		{"approved ones are neither held nor counted", 4, 100, Cap{Max: 3, MaxPercent: -1}, true, nil, ""},
		{"disabled", 100, 100, Cap{Max: -1, MaxPercent: -1}, false, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, res := tc.cap.Check(guardPlan(tc.n, tc.managed, tc.approved), Input{})
			want := []string{"create:", "update:"}
			for i := range tc.n {
				by := ""
				if tc.want != nil {
					by = tc.want[i]
				}
				want = append(want, "deactivate:"+by)
			}
			if diff := cmp.Diff(want, heldState(p)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(GuardResult{Name: "cap", Held: len(tc.want), Reason: tc.reason}, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			for _, a := range p.Actions {
				if a.Held && a.HeldReason != tc.reason {
					t.Errorf("held reason %q, want %q", a.HeldReason, tc.reason)
				}
			}
		})
	}
}

func TestGuardRecordsOnlyTheGuardrailsThatActed(t *testing.T) {
	pol := Policy{Guardrails: Guardrails{MaxDeactivations: 1, MaxDeactivationPercent: -1, MaxSourceShrinkPercent: 10}}
	in := Input{Source: Source{Complete: true, Count: 50, Baseline: 100}}
	got := Guard(guardPlan(3, 10, false), in, pol)
	want := []GuardResult{
		{Name: "shrink", Held: 3, Reason: "the source has 50 records, 50% fewer than the last complete pull's 100 (at most 10% allowed)"},
	}
	// The cap would hold them too, but they are held already: shrink keeps its name on them.
	if diff := cmp.Diff(want, got.Guards); diff != "" {
		t.Errorf("guards (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"create:", "update:", "deactivate:shrink", "deactivate:shrink", "deactivate:shrink"}, heldState(got)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if !got.HasChanges() {
		t.Errorf("a plan with a create and an update has changes")
	}
}

package main

import (
	"strings"
	"testing"

	"github.com/syncd-io/syncd/internal/reconcile"
)

func TestPending(t *testing.T) {
	tests := []struct {
		name string
		plan reconcile.Plan
		want bool
	}{
		{name: "an empty plan leaves nothing to do", plan: reconcile.Plan{}, want: false},
		{name: "an action to apply is pending", plan: reconcile.Plan{Actions: []reconcile.Action{{Kind: reconcile.KindCreate}}}, want: true},
		{name: "an action held for approval is pending", plan: reconcile.Plan{Actions: []reconcile.Action{{Kind: reconcile.KindDeactivate, Held: true}}}, want: true},
		{name: "skips alone leave nothing to do", plan: reconcile.Plan{Skipped: []reconcile.Skip{{Reason: "backed off"}}}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pending(tt.plan); got != tt.want {
				t.Errorf("pending = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSummaryReportsBlockersAndSeatsFreed(t *testing.T) {
	var b strings.Builder
	writeSummary(&b, reconcile.Summary{RunID: 7, Status: reconcile.RunSucceeded, Applied: 5, Failed: 1, Blocked: 1,
		SeatsFreed: map[string]int{"Salesforce": 3, "Salesforce Platform": 1}})
	want := "Run 7 succeeded: 5 applied, 1 failed, 0 held for approval, 0 skipped, 0 not sent.\n" +
		"  1 deactivations blocked by Salesforce (the users stay frozen; `syncd explain` names the blocker and its fix).\n" +
		"  License seats freed: 3 Salesforce, 1 Salesforce Platform.\n"
	if b.String() != want {
		t.Errorf("summary\n got %q\nwant %q", b.String(), want)
	}
}

func TestHeadlineCountsOffboardingSteps(t *testing.T) {
	var plan reconcile.Plan
	for _, k := range []reconcile.Kind{reconcile.KindFreeze, reconcile.KindEndSessions, reconcile.KindRevokeTokens,
		reconcile.KindTransfer, reconcile.KindDeactivate, reconcile.KindUnfreeze} {
		plan.Actions = append(plan.Actions, reconcile.Action{Kind: k})
	}
	want := "1 deactivate, 1 freeze, 1 end_sessions, 1 revoke_tokens, 1 transfer, 1 unfreeze"
	if got := headline(plan); got != want {
		t.Errorf("headline %q, want %q", got, want)
	}
}

package main

import (
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

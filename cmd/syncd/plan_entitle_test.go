package main

import (
	"strings"
	"testing"

	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/reconcile"
)

// TestPlanCountsAndShowsEntitlements counts assign and unassign actions in the
// headline and shows what each grants or removes.
func TestPlanCountsAndShowsEntitlements(t *testing.T) {
	plan := reconcile.Plan{Actions: []reconcile.Action{
		{Kind: reconcile.KindAssign, IdPID: "E1", Username: "ann@acme.com", Reason: "granted by rule",
			Changes:     []reconcile.Change{{Field: "permission_set", After: "Sales_User"}},
			Entitlement: &reconcile.EntitlementChange{Kind: mapping.PermissionSet, Name: "Sales_User"}},
		{Kind: reconcile.KindUnassign, IdPID: "E2", Username: "bob@acme.com",
			Changes:     []reconcile.Change{{Field: "public_group", Before: "All_Sales"}},
			Entitlement: &reconcile.EntitlementChange{Kind: mapping.PublicGroup, Name: "All_Sales"}},
	}}
	if got, want := headline(plan), "1 assign, 1 unassign"; got != want {
		t.Errorf("headline = %q, want %q", got, want)
	}
	var table strings.Builder
	if err := writePlanTable(&table, plan, reconcile.Summary{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`permission_set: "" → "Sales_User"`, `public_group: "All_Sales" → ""`} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, table.String())
		}
	}
}

package app

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/syncd-io/syncd/internal/app/apptest"
	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/sfsim"
)

func TestEntitlementsAgainstSim(t *testing.T) {
	ctx := context.Background()
	org := apptest.NewOrg(t, sfsim.Options{}, nil)
	err := org.Sim.ApplySeed(&sfsim.Seed{
		Entitlements: &sfsim.SeedEntitlements{
			PermissionSetLicenses: []sfsim.SeedPermissionSetLicense{{Name: "SalesLic", Seats: 5}},
			Groups:                []sfsim.SeedGroup{{Name: "All_Sales"}, {Name: "Tier1", Type: "Queue"}},
		},
		PermissionSets: []sfsim.SeedPermissionSet{{Name: "Sales_User", PermissionSetLicense: "SalesLic"}, {Name: "Reports"}},
		Users:          []sfsim.SeedUser{{Username: "ann@example.com", LastName: "Ann", PermissionSets: []string{"Reports"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ann := org.Sim.Users()[len(org.Sim.Users())-1].ID
	e := NewEntitlements(org.Client)

	_, err = e.ReadCatalog(ctx, map[mapping.EntitlementKind][]string{mapping.Queue: {"Tier2"}})
	if err == nil || !strings.Contains(err.Error(), `the org has no queue "Tier2" (it has: Tier1)`) {
		t.Errorf("an unknown queue: %v", err)
	}

	cat, err := e.ReadCatalog(ctx, map[mapping.EntitlementKind][]string{
		mapping.PermissionSet: {"Sales_User", "Reports"}, mapping.PublicGroup: {"All_Sales"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]reconcile.Entitlement{}
	for _, ent := range cat.Entitlements {
		got[ent.Name] = ent
	}
	if lic := got["SalesLic"]; lic.Kind != mapping.PermissionSetLicense || lic.FreeSeats != 5 || got["Sales_User"].PermissionSetLicenseID != lic.ID {
		t.Fatalf("the licence Sales_User needs was not found: %+v", cat.Entitlements)
	}

	org.Sim.ResetCalls()
	assign := func(as ...reconcile.Assignment) []reconcile.WriteResult {
		t.Helper()
		ws, err := e.Assign(ctx, as)
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	ok := []reconcile.WriteResult{{OK: true}}
	opt := cmpopts.IgnoreFields(reconcile.WriteResult{}, "ID")
	if ws := assign(reconcile.Assignment{Kind: mapping.PermissionSetLicense, EntitlementID: got["SalesLic"].ID, UserID: ann}); !cmp.Equal(ok, ws, opt) {
		t.Errorf("licence: %+v", ws)
	}
	if ws := assign(reconcile.Assignment{Kind: mapping.PermissionSet, EntitlementID: got["Sales_User"].ID, UserID: ann},
		reconcile.Assignment{Kind: mapping.PermissionSet, EntitlementID: got["Reports"].ID, UserID: ann}); !cmp.Equal(append(ok, ok...), ws, opt) {
		t.Errorf("a duplicate assignment is not a success: %+v", ws)
	}
	if ws := assign(reconcile.Assignment{Kind: mapping.PublicGroup, EntitlementID: got["All_Sales"].ID, UserID: ann}); !cmp.Equal(ok, ws, opt) {
		t.Errorf("group: %+v", ws)
	}

	as, err := e.ReadAssignments(ctx, cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 4 {
		t.Fatalf("assignments: %+v", as)
	}
	var groupMember string
	for _, a := range as {
		if a.Kind == mapping.PublicGroup {
			groupMember = a.ID
		}
	}
	if ws, err := e.Unassign(ctx, []string{groupMember}); err != nil || !ws[0].OK {
		t.Errorf("unassign: %+v %v", ws, err)
	}
	// Three creates, three assignment reads, one delete: one call each.
	calls := 0
	for _, n := range org.Sim.Calls() {
		calls += n
	}
	if calls != 7 {
		t.Errorf("API calls = %d (%v), want 7", calls, org.Sim.Calls())
	}
}

package reconcile_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/app"
	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/sfsim"
	"github.com/syncd-io/syncd/internal/source"
)

// memOwnership is an in-memory Ownership, as the store keeps it.
type memOwnership struct {
	mu    sync.Mutex
	owned map[[2]string]reconcile.Owned
}

func (m *memOwnership) Owned(context.Context) ([]reconcile.Owned, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []reconcile.Owned
	for _, o := range m.owned {
		out = append(out, o)
	}
	return out, nil
}

func (m *memOwnership) Own(_ context.Context, os []reconcile.Owned) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range os {
		m.owned[[2]string{o.UserID, o.EntitlementID}] = o
	}
	return nil
}

func (m *memOwnership) Disown(_ context.Context, os []reconcile.Owned) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range os {
		delete(m.owned, [2]string{o.UserID, o.EntitlementID})
	}
	return nil
}

// TestEntitlementCycles runs cycles over the simulator: joining a group grants its
// permission set with its licence and its public group; a second cycle changes
// nothing; leaving removes what syncd granted and leaves what an admin assigned.
func TestEntitlementCycles(t *testing.T) {
	org := newSimOrg(t, nil)
	if err := org.Sim.ApplySeed(&sfsim.Seed{
		Entitlements: &sfsim.SeedEntitlements{
			PermissionSetLicenses: []sfsim.SeedPermissionSetLicense{{Name: "SalesLic", Seats: 10}},
			Groups:                []sfsim.SeedGroup{{Name: "All_Sales"}},
		},
		PermissionSets: []sfsim.SeedPermissionSet{{Name: "Sales_User", PermissionSetLicense: "SalesLic"}, {Name: "Reports"}},
	}); err != nil {
		t.Fatal(err)
	}
	ent := mapping.EntitlementsConfig{Rules: []mapping.EntitlementRule{
		{When: map[string]string{"group": "Sales"}, PermissionSets: []string{"Sales_User"}, PublicGroups: []string{"All_Sales"}},
	}}
	m, err := mapping.New(mapping.Config{
		Fields:       map[string]mapping.FieldConfig{"FederationIdentifier": {From: "{{ .ID }}"}},
		Profile:      mapping.AssignmentConfig{Default: "Standard User"},
		Entitlements: ent,
	})
	if err != nil {
		t.Fatal(err)
	}
	own := &memOwnership{owned: map[[2]string]reconcile.Owned{}}
	seller := person(1)
	seller.Groups = []source.Group{{Name: "Sales"}}
	e := newEnv(t, org, []source.Record{seller, person(2)}, func(c *reconcile.Config) {
		c.Mapper, c.Plan = m, nil
		c.Entitle = &reconcile.EntitlementConfig{Entitlements: app.NewEntitlements(org.Client), Ownership: own,
			Names: ent.Names(), Policy: reconcile.EntitlementPolicy{MaxRemovals: -1}}
	})
	ctx := context.Background()
	planned := func() []string {
		t.Helper()
		var out []string
		plan, _, err := e.engine.Preview(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range plan.Actions {
			out = append(out, string(a.Kind)+" "+a.IdPID+" "+a.Entitlement.Name)
		}
		return out
	}

	s, err := e.engine.RunOnce(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if s.Planned[reconcile.KindAssign] != 3 || s.Failed != 0 {
		t.Fatalf("first cycle: %+v", s)
	}
	if got := planned(); len(got) != 0 {
		t.Errorf("the second cycle plans %v", got)
	}
	if len(own.owned) != 3 {
		t.Errorf("syncd owns %d assignments, want 3", len(own.owned))
	}

	// A run killed between recording ownership of Reports and creating it left a
	// record of an assignment the org does not hold; the next cycle forgets it. Then
	// an admin assigns Reports by hand, and the seller leaves Sales.
	u, _ := org.Sim.User("p0001@acme.example.com")
	reports := reconcile.Assignment{Kind: mapping.PermissionSet, UserID: u.ID}
	cat, err := app.NewEntitlements(org.Client).ReadCatalog(ctx, map[mapping.EntitlementKind][]string{mapping.PermissionSet: {"Reports"}})
	if err != nil {
		t.Fatal(err)
	}
	reports.EntitlementID = cat.Entitlements[0].ID
	if err := own.Own(ctx, []reconcile.Owned{{UserID: u.ID, EntitlementID: reports.EntitlementID, Kind: mapping.PermissionSet, IdPID: "E0001"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.RunOnce(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	if len(own.owned) != 3 {
		t.Errorf("after a cycle, syncd owns %v; want the stale record of Reports forgotten", own.owned)
	}
	if ws, err := app.NewEntitlements(org.Client).Assign(ctx, []reconcile.Assignment{reports}); err != nil || !ws[0].OK {
		t.Fatalf("manual assignment: %v %v", ws, err)
	}
	e.src.set([]source.Record{person(1), person(2)})
	// The licence went with the permission set that needed it, and goes with it too.
	want := []string{"unassign E0001 All_Sales", "unassign E0001 SalesLic", "unassign E0001 Sales_User"}
	if diff := cmp.Diff(want, planned(), cmp.Transformer("sort", func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s })); diff != "" {
		t.Errorf("leaving (-want +got):\n%s", diff)
	}
	if _, err := e.engine.RunOnce(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	if got := planned(); len(got) != 0 {
		t.Errorf("after leaving, a cycle still plans %v", got)
	}
	if len(own.owned) != 0 {
		t.Errorf("syncd still owns %v", own.owned)
	}
	// The admin's assignment stays.
	as, err := app.NewEntitlements(org.Client).ReadAssignments(ctx, cat)
	if err != nil || len(as) != 1 || as[0].UserID != u.ID {
		t.Errorf("the manual assignment of Reports: %+v %v", as, err)
	}
}

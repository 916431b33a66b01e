package reconcile

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/mapping"
)

// The test org's entitlements: a permission set that needs a permission set licence,
// a plain one, one tied to the Salesforce Platform user licence, a group and a queue.
const (
	psSales    = "0PS000000000001AAA"
	psReports  = "0PS000000000002AAA"
	psPlatform = "0PS000000000003AAA"
	pslSales   = "0PL000000000001AAA"
	grpSales   = "00G000000000001AAA"
	licFull    = "100000000000001AAA"
	licPlat    = "100000000000002AAA"
)

func testCatalog(freeSeats int) Catalog {
	return Catalog{
		Entitlements: []Entitlement{
			{Kind: mapping.PermissionSetLicense, Name: "SalesLic", ID: pslSales, FreeSeats: freeSeats},
			{Kind: mapping.PermissionSet, Name: "Sales_User", ID: psSales, PermissionSetLicenseID: pslSales},
			{Kind: mapping.PermissionSet, Name: "Reports", ID: psReports},
			{Kind: mapping.PermissionSet, Name: "Platform_App", ID: psPlatform, UserLicenseID: licPlat},
			{Kind: mapping.PublicGroup, Name: "All_Sales", ID: grpSales},
		},
		ProfileLicense: map[string]string{idKey(standardProfile): licFull, idKey(salesProfile): licFull},
	}
}

func grants(names ...string) func(*mapping.Desired) {
	kinds := map[string]mapping.EntitlementKind{"Sales_User": mapping.PermissionSet, "Reports": mapping.PermissionSet,
		"Platform_App": mapping.PermissionSet, "All_Sales": mapping.PublicGroup, "SalesLic": mapping.PermissionSetLicense}
	return func(d *mapping.Desired) {
		for _, n := range names {
			d.Grants = append(d.Grants, mapping.Grant{Kind: kinds[n], Name: n, Because: "rule"})
		}
	}
}

// entBrief is an entitlement action reduced to what the scenarios check.
type entBrief struct {
	Kind       Kind
	User       string
	Name       string
	Assignment string
	Refused    string // the code of a refusal syncd records without asking Salesforce
}

func briefEntitlements(actions []Action) []entBrief {
	var out []entBrief
	for _, a := range actions {
		if a.Entitlement != nil {
			b := entBrief{a.Kind, a.SalesforceID, a.Entitlement.Name, a.Entitlement.AssignmentID, ""}
			if r := a.Entitlement.Refusal; r != nil {
				b.Refused = r.Code
			}
			out = append(out, b)
		}
	}
	return out
}

func TestPlanEntitlements(t *testing.T) {
	ann := person("ann", grants("Sales_User", "All_Sales"))
	bob := person("bob")
	annU, bobU := userOf(ann, sfID(1)), userOf(bob, sfID(2))
	links := []Link{{IdPID: "ann", SalesforceID: sfID(1)}, {IdPID: "bob", SalesforceID: sfID(2)}}
	complete := Source{Complete: true}
	asg := func(id, user, ent string, kind mapping.EntitlementKind) Assignment {
		return Assignment{ID: id, Kind: kind, EntitlementID: ent, UserID: user}
	}
	own := func(user, ent string) Owned { return Owned{UserID: user, EntitlementID: ent} }
	tests := []struct {
		name   string
		mode   Mode
		in     Input
		ep     EntitlementPolicy
		st     EntitlementState
		want   []entBrief
		skips  []string
		guards []string
	}{
		{
			name: "joining a group grants the licence first, then the permission set and the public group",
			in:   Input{Desired: []mapping.Desired{ann}, Existing: []Existing{annU}, Links: links[:1], Source: complete},
			want: []entBrief{{KindAssign, sfID(1), "SalesLic", "", ""}, {KindAssign, sfID(1), "Sales_User", "", ""}, {KindAssign, sfID(1), "All_Sales", "", ""}},
		},
		{
			name: "a new hire's assignments wait for the user's Id",
			in:   Input{Desired: []mapping.Desired{person("cat", grants("Reports"))}, Source: complete},
			want: []entBrief{{KindAssign, "", "Reports", "", ""}},
		},
		{
			name: "what is held already is not assigned again",
			in:   Input{Desired: []mapping.Desired{ann}, Existing: []Existing{annU}, Links: links[:1], Source: complete},
			st: EntitlementState{Assignments: []Assignment{asg("0Pa1", sfID(1), psSales, mapping.PermissionSet),
				asg("2LA1", sfID(1), pslSales, mapping.PermissionSetLicense), asg("0111", sfID(1), grpSales, mapping.PublicGroup)}},
		},
		{
			name: "leaving removes what syncd granted and leaves what an admin assigned",
			in:   Input{Desired: []mapping.Desired{bob}, Existing: []Existing{bobU}, Links: links[1:], Source: complete},
			st: EntitlementState{
				Assignments: []Assignment{asg("0Pa1", sfID(2), psSales, mapping.PermissionSet), asg("0Pa2", sfID(2), psReports, mapping.PermissionSet)},
				Owned:       []Owned{own(sfID(2), psSales)},
			},
			want: []entBrief{{KindUnassign, sfID(2), "Sales_User", "0Pa1", ""}},
		},
		{
			name: "an exclusive permission set loses every assignment the rules do not give",
			in:   Input{Desired: []mapping.Desired{bob}, Existing: []Existing{bobU, userOf(person("zed"), sfID(9))}, Links: links[1:], Source: complete},
			ep:   EntitlementPolicy{Exclusive: []string{"Reports"}, MaxRemovals: -1},
			st: EntitlementState{Assignments: []Assignment{asg("0Pa2", sfID(2), psReports, mapping.PermissionSet),
				asg("0Pa9", sfID(9), psReports, mapping.PermissionSet), asg("0Pa8", sfID(9), psSales, mapping.PermissionSet)}},
			want: []entBrief{{KindUnassign, sfID(9), "Reports", "0Pa9", ""}, {KindUnassign, sfID(2), "Reports", "0Pa2", ""}},
		},
		{
			name: "an exclusive permission set spares protected users",
			in: Input{Desired: []mapping.Desired{bob}, Links: links[1:], Source: complete,
				Existing: []Existing{bobU, userOf(person("root"), sfID(9), field("ProfileId", adminProfile))}},
			ep:   EntitlementPolicy{Exclusive: []string{"Reports"}, MaxRemovals: -1},
			st:   EntitlementState{Assignments: []Assignment{asg("0Pa9", sfID(9), psReports, mapping.PermissionSet)}},
			want: nil,
		},
		{
			name:   "an incomplete pull removes nothing",
			in:     Input{Desired: []mapping.Desired{bob}, Existing: []Existing{bobU}, Links: links[1:]},
			st:     EntitlementState{Assignments: []Assignment{asg("0Pa1", sfID(2), psSales, mapping.PermissionSet)}, Owned: []Owned{own(sfID(2), psSales)}},
			skips:  []string{"the source pull was incomplete: nothing is removed"},
			guards: []string{"completeness"},
		},
		{
			name: "removals above the cap are all skipped",
			in:   Input{Desired: []mapping.Desired{bob}, Existing: []Existing{bobU}, Links: links[1:], Source: complete},
			ep:   EntitlementPolicy{MaxRemovals: 1},
			st: EntitlementState{
				Assignments: []Assignment{asg("0Pa1", sfID(2), psSales, mapping.PermissionSet), asg("0Pa2", sfID(2), psReports, mapping.PermissionSet)},
				Owned:       []Owned{own(sfID(2), psSales), own(sfID(2), psReports)},
			},
			skips: []string{
				"2 entitlement removals exceed the cap of 1 (policy.guardrails.max_entitlement_removals): none is made",
				"2 entitlement removals exceed the cap of 1 (policy.guardrails.max_entitlement_removals): none is made"},
			guards: []string{"entitlement_cap"},
		},
		{
			name: "a permission set the profile's licence cannot hold is refused by syncd itself",
			in:   Input{Desired: []mapping.Desired{person("ann", grants("Platform_App"))}, Existing: []Existing{annU}, Links: links[:1], Source: complete},
			want: []entBrief{{KindAssign, sfID(1), "Platform_App", "", CodeLicenceMismatch}},
		},
		{
			name: "a licence with no free seats is refused by syncd itself; the rest is assigned",
			in:   Input{Desired: []mapping.Desired{person("ann", grants("SalesLic", "Reports"))}, Existing: []Existing{annU}, Links: links[:1], Source: complete},
			st:   EntitlementState{Catalog: testCatalog(0)},
			want: []entBrief{{KindAssign, sfID(1), "SalesLic", "", CodeNoFreeSeats}, {KindAssign, sfID(1), "Reports", "", ""}},
		},
		{
			name: "a person whose record was rejected keeps what syncd granted",
			in: Input{Existing: []Existing{bobU}, Links: links[1:], Source: complete,
				Rejected: []mapping.Rejection{{ID: "bob", Reasons: []mapping.Reason{{Code: mapping.NoEmail}}}}},
			st: EntitlementState{Assignments: []Assignment{asg("0Pa1", sfID(2), psSales, mapping.PermissionSet)}, Owned: []Owned{own(sfID(2), psSales)}},
		},
		{
			name:  "upsert-only assigns and removes nothing",
			mode:  ModeUpsertOnly,
			in:    Input{Desired: []mapping.Desired{person("bob", grants("Reports"))}, Existing: []Existing{bobU}, Links: links[1:], Source: complete},
			st:    EntitlementState{Assignments: []Assignment{asg("0Pa1", sfID(2), psSales, mapping.PermissionSet)}, Owned: []Owned{own(sfID(2), psSales)}},
			want:  []entBrief{{KindAssign, sfID(2), "Reports", "", ""}},
			skips: []string{"policy upsert-only never removes"},
		},
		{
			name: "create-only assigns only to the users it creates",
			mode: ModeCreateOnly,
			in: Input{Desired: []mapping.Desired{person("ann", grants("Reports")), person("cat", grants("Reports"))},
				Existing: []Existing{userOf(person("ann"), sfID(1))}, Links: links[:1], Source: complete},
			want: []entBrief{{KindAssign, "", "Reports", "", ""}},
		},
		{
			name: "a deactivated user keeps what syncd granted",
			in:   Input{Desired: nil, Existing: []Existing{userOf(bob, sfID(2), inactive)}, Links: links[1:], Source: complete},
			st:   EntitlementState{Assignments: []Assignment{asg("0Pa1", sfID(2), psSales, mapping.PermissionSet)}, Owned: []Owned{own(sfID(2), psSales)}},
		},
		{
			name: "a deactivated user loses what syncd granted when so configured",
			in:   Input{Desired: nil, Existing: []Existing{userOf(bob, sfID(2), inactive)}, Links: links[1:], Source: complete},
			ep:   EntitlementPolicy{RemoveOnDeactivation: true, MaxRemovals: -1},
			st:   EntitlementState{Assignments: []Assignment{asg("0Pa1", sfID(2), psSales, mapping.PermissionSet)}, Owned: []Owned{own(sfID(2), psSales)}},
			want: []entBrief{{KindUnassign, sfID(2), "Sales_User", "0Pa1", ""}},
		},
		{
			name: "a returner gets exactly what the rules give",
			in: Input{Desired: []mapping.Desired{person("bob", grants("Reports"))}, Existing: []Existing{userOf(bob, sfID(2), inactive)},
				Links: links[1:], Source: complete},
			st:   EntitlementState{Assignments: []Assignment{asg("0Pa1", sfID(2), psSales, mapping.PermissionSet)}, Owned: []Owned{own(sfID(2), psSales)}},
			want: []entBrief{{KindAssign, sfID(2), "Reports", "", ""}, {KindUnassign, sfID(2), "Sales_User", "0Pa1", ""}},
		},
		{
			name: "after a failure Salesforce answered, the person's assignments wait",
			in: Input{Desired: []mapping.Desired{person("ann", grants("Reports"))}, Existing: []Existing{annU}, Links: links[:1], Source: complete,
				Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Backoffs: []Backoff{{IdPID: "ann", Kind: KindAssign, ErrorCode: "INVALID_CROSS_REFERENCE_KEY",
					Attempts: 1, NextAttemptAt: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)}}},
			skips: []string{"back-off after INVALID_CROSS_REFERENCE_KEY (attempt 1): next attempt at 2026-01-01T01:00:00Z"},
		},
		{
			name: "after syncd's own refusal, only what it still refuses waits: reported once",
			in: Input{Desired: []mapping.Desired{person("ann", grants("Platform_App", "Reports"))}, Existing: []Existing{annU}, Links: links[:1], Source: complete,
				Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Backoffs: []Backoff{{IdPID: "ann", Kind: KindAssign, ErrorCode: CodeLicenceMismatch,
					Attempts: 1, NextAttemptAt: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)}}},
			want: []entBrief{{KindAssign, sfID(1), "Reports", "", ""}},
			skips: []string{"back-off after LICENSE_MISMATCH (attempt 1): next attempt at 2026-01-01T01:00:00Z: " +
				"the permission set needs user licence " + licPlat + ", which the user's profile does not have"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.st.Catalog.Entitlements == nil {
				tt.st.Catalog = testCatalog(10)
			}
			if tt.ep.MaxRemovals == 0 && tt.ep.Exclusive == nil && !tt.ep.RemoveOnDeactivation {
				tt.ep.MaxRemovals = -1
			}
			p := syncAll()
			if tt.mode != "" {
				p.Mode = tt.mode
			}
			p.Protect.ProfileIDs = []string{adminProfile}
			plan := Calculate(tt.in, p)
			plan = PlanEntitlements(plan, tt.in, p, tt.ep, tt.st)
			if diff := cmp.Diff(tt.want, briefEntitlements(plan.Actions)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			var skips, guards []string
			for _, s := range plan.Skipped {
				if s.Action.Entitlement != nil {
					skips = append(skips, s.Reason)
				}
			}
			for _, g := range plan.Guards {
				if g.Name == "completeness" || g.Name == guardEntitlementCap {
					guards = append(guards, g.Name)
				}
			}
			if diff := cmp.Diff(tt.skips, skips); diff != "" {
				t.Errorf("skips (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.guards, guards); diff != "" {
				t.Errorf("guards (-want +got):\n%s", diff)
			}
		})
	}
}

package sfsim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// entitlementHarness seeds a licence with one seat, a permission set that needs it,
// one tied to the Salesforce Platform licence, a permission set group, a public group
// and a queue, and two users.
func entitlementHarness(t *testing.T) (h *harness, ids map[string]string) {
	t.Helper()
	h = newHarness(t, Options{})
	err := h.sim.ApplySeed(&Seed{
		Entitlements: &SeedEntitlements{
			PermissionSetLicenses: []SeedPermissionSetLicense{{Name: "SalesLic", Seats: 1}},
			PermissionSetGroups:   []string{"Support_Bundle"},
			Groups:                []SeedGroup{{Name: "All_Sales"}, {Name: "Tier1", Type: "Queue"}},
		},
		PermissionSets: []SeedPermissionSet{{Name: "Sales_User", PermissionSetLicense: "SalesLic"},
			{Name: "Platform_App", License: "Salesforce Platform"}, {Name: "Reports"}},
		Users: []SeedUser{{Username: "ann@example.com", LastName: "Ann"}, {Username: "bob@example.com", LastName: "Bob"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids = map[string]string{}
	for _, q := range []string{
		"SELECT Id, Name FROM PermissionSet WHERE IsOwnedByProfile = false",
		"SELECT Id, DeveloperName FROM PermissionSetGroup",
		"SELECT Id, DeveloperName FROM PermissionSetLicense",
		"SELECT Id, DeveloperName FROM Group WHERE Type IN ('Regular', 'Queue')",
		"SELECT Id, Username FROM User WHERE Username LIKE '%@example.com'",
	} {
		status, p, body := h.query(q)
		if status != 200 {
			t.Fatalf("%s: %d %s", q, status, body)
		}
		for _, r := range p.Records {
			for _, k := range []string{"Name", "DeveloperName", "Username"} {
				if v, ok := r[k].(string); ok {
					ids[v] = r["Id"].(string)
				}
			}
		}
	}
	return h, ids
}

func TestEntitlementWrites(t *testing.T) {
	h, ids := entitlementHarness(t)
	ann, bob := ids["ann@example.com"], ids["bob@example.com"]
	psa := func(user, field, target string) map[string]any {
		return typed(map[string]any{"AssigneeId": user, field: ids[target]}, "PermissionSetAssignment")
	}
	steps := []struct {
		name    string
		records []any
		want    []string // "" for success, else the first error's code and message
	}{
		{"a permission set that needs a licence the user lacks is refused",
			[]any{psa(ann, "PermissionSetId", "Sales_User")},
			[]string{"FIELD_INTEGRITY_EXCEPTION: Can't assign permission set Sales_User to user ann@example.com. The permission set contains an object that requires a license. Before continuing, assign the user to the related permission set license."}},
		{"a permission set on another user licence is refused",
			[]any{psa(ann, "PermissionSetId", "Platform_App")},
			[]string{"FIELD_INTEGRITY_EXCEPTION: Can't assign permission set Platform_App to user ann@example.com. The user license doesn't allow the permission: Platform_App"}},
		{"the licence takes a seat, then its permission set is accepted",
			[]any{typed(map[string]any{"AssigneeId": ann, "PermissionSetLicenseId": ids["SalesLic"]}, "PermissionSetLicenseAssign")},
			[]string{""}},
		{"no seat is left for a second user",
			[]any{typed(map[string]any{"AssigneeId": bob, "PermissionSetLicenseId": ids["SalesLic"]}, "PermissionSetLicenseAssign")},
			[]string{"LICENSE_LIMIT_EXCEEDED: License Limit Exceeded"}},
		{"permission sets and groups are assigned, a duplicate is refused",
			[]any{psa(ann, "PermissionSetId", "Sales_User"), psa(ann, "PermissionSetGroupId", "Support_Bundle"), psa(ann, "PermissionSetId", "Sales_User")},
			[]string{"", "", "DUPLICATE_VALUE: Duplicate PermissionSetAssignment"}},
		{"group members are added, and an existing one is returned as created",
			[]any{typed(map[string]any{"GroupId": ids["All_Sales"], "UserOrGroupId": ann}, "GroupMember"),
				typed(map[string]any{"GroupId": ids["Tier1"], "UserOrGroupId": ann}, "GroupMember"),
				typed(map[string]any{"GroupId": ids["All_Sales"], "UserOrGroupId": ann}, "GroupMember")},
			[]string{"", "", ""}},
	}
	var memberIDs []string
	for _, s := range steps {
		status, got, body := h.collection("POST", "/composite/sobjects", map[string]any{"records": s.records})
		if status != 200 {
			t.Fatalf("%s: %d %s", s.name, status, body)
		}
		var outcome []string
		for _, r := range got {
			if r.Success {
				outcome = append(outcome, "")
				continue
			}
			outcome = append(outcome, r.Errors[0].StatusCode+": "+r.Errors[0].Message)
		}
		if diff := cmp.Diff(s.want, outcome); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, diff)
		}
		if len(got) == 3 && got[0].ID != "" && got[0].ID[:3] == prefixGroupMember {
			memberIDs = []string{got[0].ID, got[2].ID}
		}
	}
	if len(memberIDs) != 2 || memberIDs[0] != memberIDs[1] {
		t.Errorf("an existing member was not returned as itself: %v", memberIDs)
	}

	// Reads: the managed assignments in one query each, semi-joins included.
	status, p, body := h.query("SELECT Id, AssigneeId, PermissionSetId, PermissionSetGroupId, IsActive FROM PermissionSetAssignment WHERE PermissionSetId = '" +
		ids["Sales_User"] + "' OR PermissionSetGroupId = '" + ids["Support_Bundle"] + "'")
	if status != 200 || p.TotalSize != 2 {
		t.Fatalf("assignments: %d %s", status, body)
	}
	status, p, body = h.query("SELECT Username FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = '" +
		ids["Sales_User"] + "')")
	if status != 200 || p.TotalSize != 1 || p.Records[0]["Username"] != "ann@example.com" {
		t.Fatalf("semi-join: %d %s", status, body)
	}
	status, p, body = h.query("SELECT Id, GroupId, UserOrGroupId FROM GroupMember WHERE GroupId IN ('" + ids["All_Sales"] + "', '" + ids["Tier1"] + "')")
	if status != 200 || p.TotalSize != 2 {
		t.Fatalf("members: %d %s", status, body)
	}
	status, p, body = h.query("SELECT Id, TotalLicenses, UsedLicenses FROM PermissionSetLicense WHERE DeveloperName = 'SalesLic'")
	if status != 200 || p.Records[0]["UsedLicenses"] != float64(1) {
		t.Fatalf("seats: %d %s", status, body)
	}

	// Deletes by Id free the seat.
	status, p, _ = h.query("SELECT Id FROM PermissionSetLicenseAssign")
	if status != 200 || len(p.Records) != 1 {
		t.Fatalf("licence assignments: %+v", p)
	}
	// GroupMember is a setup object: it is deleted in a call of its own.
	for _, id := range []string{p.Records[0]["Id"].(string), memberIDs[0]} {
		status, got, body := h.collection("DELETE", "/composite/sobjects?ids="+id, nil)
		if status != 200 || !got[0].Success {
			t.Fatalf("delete %s: %d %s", id, status, body)
		}
	}
	_, p, body = h.query("SELECT Id, UsedLicenses FROM PermissionSetLicense WHERE DeveloperName = 'SalesLic'")
	if p.Records[0]["UsedLicenses"] != float64(0) {
		t.Errorf("the seat was not freed: %s", body)
	}
}

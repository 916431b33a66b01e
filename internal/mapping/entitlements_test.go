package mapping

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/syncd-io/syncd/internal/source"
)

// loadEntitlements decodes testdata/entitlements.yaml strictly, as internal/config does.
func loadEntitlements(t *testing.T) EntitlementsConfig {
	t.Helper()
	b, err := os.ReadFile("testdata/entitlements.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c EntitlementsConfig
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	return c
}

func TestEntitlementGrants(t *testing.T) {
	m := mustNew(t, Config{Entitlements: loadEntitlements(t)})
	withGroups := func(id string, dept string, groups ...string) source.Record {
		r := person(id, "Ann", "Lee", id+"@example.com")
		r.Department = dept
		for _, g := range groups {
			r.Groups = append(r.Groups, source.Group{ID: "00g" + g, Name: g})
		}
		return r
	}
	const sales, support = "mapping.entitlements.rules[0] (group=Sales)", "mapping.entitlements.rules[1] (department=Service, group=Support)"
	tests := []struct {
		name   string
		record source.Record
		want   []Grant
	}{
		{"a member of no group gets nothing", withGroups("a", "Sales"), nil},
		{"a Sales member gets the licence first, then the permission sets and the group", withGroups("b", "", "Sales"), []Grant{
			{PermissionSetLicense, "SalesConsoleUser", sales}, {PermissionSet, "Reports", sales},
			{PermissionSet, "Sales_User", sales}, {PublicGroup, "All_Sales", sales}}},
		{"every condition of a rule must hold", withGroups("c", "Finance", "Support"), nil},
		{"a Support member in Service gets the second rule", withGroups("d", "Service", "Support"), []Grant{
			{PermissionSet, "Reports", support}, {PermissionSetGroup, "Support_Bundle", support}, {Queue, "Support_Tier1", support}}},
		{"two rules add up and a shared grant names the first rule", withGroups("e", "Service", "Support", "Sales"), []Grant{
			{PermissionSetLicense, "SalesConsoleUser", sales}, {PermissionSet, "Reports", sales},
			{PermissionSet, "Sales_User", sales}, {PermissionSetGroup, "Support_Bundle", support},
			{PublicGroup, "All_Sales", sales}, {Queue, "Support_Tier1", support}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := m.Map([]source.Record{tt.record})
			if len(res.Desired) != 1 {
				t.Fatalf("Map: %+v", res)
			}
			if diff := cmp.Diff(tt.want, res.Desired[0].Grants); diff != "" {
				t.Errorf("grants (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEntitlementGrantsShared(t *testing.T) {
	m := mustNew(t, Config{Entitlements: loadEntitlements(t)})
	a, b := person("a", "A", "A", "a@example.com"), person("b", "B", "B", "b@example.com")
	a.Groups, b.Groups = []source.Group{{Name: "Sales"}}, []source.Group{{Name: "Sales"}}
	res := m.Map([]source.Record{a, b})
	if &res.Desired[0].Grants[0] != &res.Desired[1].Grants[0] {
		t.Error("two users matching the same rules hold two copies of their grants")
	}
}

func TestEntitlementNames(t *testing.T) {
	c := loadEntitlements(t)
	want := map[EntitlementKind][]string{
		PermissionSet: {"Reports", "Sales_User"}, PermissionSetGroup: {"Support_Bundle"},
		PermissionSetLicense: {"SalesConsoleUser"}, PublicGroup: {"All_Sales"}, Queue: {"Support_Tier1"},
	}
	if diff := cmp.Diff(want, c.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
}

func TestEntitlementValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  EntitlementsConfig
		want []string // substrings of the error, in order; none: valid
	}{
		{"the sample is valid", loadEntitlements(t), nil},
		{"a rule without conditions", EntitlementsConfig{Rules: []EntitlementRule{{PermissionSets: []string{"X"}}}},
			[]string{"mapping.entitlements.rules[0].when: needs at least one condition"}},
		{"a rule that grants nothing", EntitlementsConfig{Rules: []EntitlementRule{{When: map[string]string{"group": "A"}}}},
			[]string{"mapping.entitlements.rules[0]: grants nothing"}},
		{"a label instead of an API name", EntitlementsConfig{Rules: []EntitlementRule{{When: map[string]string{"group": "A"}, Queues: []string{"Tier 1"}}}},
			[]string{`mapping.entitlements.rules[0].queues[0]: "Tier 1" is not a Salesforce API name`}},
		{"an unknown attribute", EntitlementsConfig{Rules: []EntitlementRule{{When: map[string]string{"departmnet": "A"}, Queues: []string{"Q"}}}},
			[]string{`mapping.entitlements.rules[0].when.departmnet: unknown attribute "departmnet"`, `did you mean "department"?`}},
		{"a bad on_deactivation", EntitlementsConfig{OnDeactivation: "drop", Rules: []EntitlementRule{{When: map[string]string{"group": "A"}, Queues: []string{"Q"}}}},
			[]string{`mapping.entitlements.on_deactivation: "drop" is not one of keep, remove`}},
		{"exclusive without rules", EntitlementsConfig{Exclusive: ExclusiveConfig{PermissionSets: []string{"X"}}},
			[]string{"mapping.entitlements.exclusive: needs rules"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Config{Profile: AssignmentConfig{Default: "Standard User"}, Entitlements: tt.cfg}).Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error %q lacks %q", msg, w)
				}
				msg = msg[i+len(w):]
			}
		})
	}
}

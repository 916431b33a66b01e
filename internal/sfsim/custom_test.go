package sfsim

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testCustomFields = []CustomField{
	{Object: "User", Name: "Cost_Center__c", Type: "text"},
	{Object: "user", Name: "Remote__c", Type: "checkbox"},
}

func TestCustomFieldsAreWrittenQueriedAndDescribed(t *testing.T) {
	h := newHarness(t, Options{CustomFields: testCustomFields})
	body := h.newUser("cc@acme.example.com")
	body["Cost_Center__c"] = "CC-7 \"north\""
	id := h.create(body)
	if _, err := h.sim.AddUsers(SeedUser{Username: "seeded@acme.example.com", LastName: "Seed",
		Custom: map[string]any{"cost_center__c": "CC-9", "Remote__c": true}}); err != nil {
		t.Fatal(err)
	}

	_, p, _ := h.query("SELECT Username, Cost_Center__c, Remote__c FROM User WHERE Username IN ('cc@acme.example.com', 'seeded@acme.example.com') ORDER BY Username")
	var got []map[string]any
	for _, r := range p.Records {
		delete(r, "attributes")
		got = append(got, r)
	}
	want := []map[string]any{
		{"Username": "cc@acme.example.com", "Cost_Center__c": "CC-7 \"north\"", "Remote__c": false},
		{"Username": "seeded@acme.example.com", "Cost_Center__c": "CC-9", "Remote__c": true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}

	if status, _, data := h.do("PATCH", testVersion+"/sobjects/User/"+id, map[string]any{"Cost_Center__c": nil, "Remote__c": true}); status != 204 {
		t.Fatalf("update: %d %s", status, data)
	}
	job := h.runJob(map[string]any{"operation": "query", "query": "SELECT Cost_Center__c, Remote__c FROM User WHERE Id = '" + id + "'"})
	_, _, data := h.do("GET", bulkPath+"/"+job+"/results", nil)
	if want := "\"Cost_Center__c\",\"Remote__c\"\n\"\",\"true\"\n"; string(data) != want {
		t.Errorf("bulk results %q, want %q", data, want)
	}

	_, _, data = h.do("GET", testVersion+"/sobjects/User/describe", nil)
	if !strings.Contains(string(data), `"name":"Cost_Center__c","label":"Cost Center","type":"string","length":255,"createable":true,"updateable":true`) {
		t.Errorf("describe does not list Cost_Center__c as a writable text field: %.300s", data)
	}
}

func TestCustomFieldsRefused(t *testing.T) {
	tests := []struct {
		name string
		cf   CustomField
		want string
	}{
		{"unknown object", CustomField{Object: "Quote", Name: "X__c", Type: "text"}, `no object "Quote"`},
		{"not a custom name", CustomField{Object: "User", Name: "CostCenter", Type: "text"}, "ending in __c"},
		{"a double underscore inside", CustomField{Object: "User", Name: "Cost__Center__c", Type: "text"}, "ending in __c"},
		{"twice", CustomField{Object: "User", Name: "Cost_Center__c", Type: "text"}, "already has that field"},
		{"unknown type", CustomField{Object: "User", Name: "Score__c", Type: "number"}, "is not text or checkbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{CustomFields: append(testCustomFields[:1:1], tt.cf)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
	sim, err := New(Options{CustomFields: testCustomFields})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddUsers(SeedUser{Username: "x@acme.example.com", LastName: "X", Custom: map[string]any{"Remote__c": "yes"}}); err == nil ||
		!strings.Contains(err.Error(), "give true or false") {
		t.Errorf("a text value for a checkbox: err = %v", err)
	}
}

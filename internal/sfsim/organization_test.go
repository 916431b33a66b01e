package sfsim

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOrganization reads the org's own record the ways clients do: the Salesforce
// CLI's query after a login, and a GET by the org's Id (18 or 15 characters). It is
// read-only, as on a real org.
func TestOrganization(t *testing.T) {
	h := newHarness(t, Options{})
	org := h.sim.OrgID()
	record := func(fields map[string]any) map[string]any {
		fields["attributes"] = map[string]any{"type": "Organization", "url": testVersion + "/sobjects/Organization/" + org}
		return fields
	}
	whole := record(map[string]any{"Id": org, "Name": "sfsim", "InstanceName": "SIM1", "IsSandbox": false,
		"OrganizationType": "Enterprise Edition", "NamespacePrefix": nil, "TrialExpirationDate": nil})
	cliQuery := "SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType FROM Organization"
	tests := []struct {
		name, path string
		want       any
	}{
		{"the CLI's query", "/query?q=" + url.QueryEscape(cliQuery), map[string]any{"totalSize": float64(1), "done": true,
			"records": []any{record(map[string]any{"Name": "sfsim", "InstanceName": "SIM1", "IsSandbox": false,
				"TrialExpirationDate": nil, "NamespacePrefix": nil, "OrganizationType": "Enterprise Edition"})}}},
		{"by Id", "/query?q=" + url.QueryEscape("SELECT Id FROM Organization WHERE Id = '"+org[:15]+"'"),
			map[string]any{"totalSize": float64(1), "done": true, "records": []any{record(map[string]any{"Id": org})}}},
		{"GET", "/sobjects/Organization/" + org, whole},
		{"GET by the 15-character Id", "/sobjects/organization/" + org[:15], whole},
		{"GET with fields", "/sobjects/Organization/" + org + "?fields=Name,IsSandbox",
			record(map[string]any{"Name": "sfsim", "IsSandbox": false})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := h.do("GET", testVersion+tt.path, nil)
			var got any
			if err := json.Unmarshal(body, &got); err != nil || status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	for _, tt := range []struct{ method, path, body string }{
		{"PATCH", "/sobjects/Organization/" + org, `{"Name":"renamed"}`},
		{"POST", "/sobjects/Organization", `{"Name":"another"}`},
	} {
		status, _, body := h.do(tt.method, testVersion+tt.path, tt.body)
		if diff := cmp.Diff([]string{"METHOD_NOT_ALLOWED"}, errorCodes(t, body)); status != 405 || diff != "" {
			t.Errorf("%s %s: %d (-want +got):\n%s", tt.method, tt.path, status, diff)
		}
	}
	status, _, body := h.do("GET", testVersion+"/sobjects/Organization/describe", nil)
	var d describeObject
	if err := json.Unmarshal(body, &d); err != nil || status != 200 {
		t.Fatalf("describe: %d %s", status, body)
	}
	if d.KeyPrefix != "00D" || d.Createable || d.Updateable || len(d.Fields) != 7 {
		t.Errorf("describe Organization: %+v", d)
	}
}

package sfsim

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestQueryColumns asks the query resource for columns=true, as the Salesforce CLI's
// `sf data query` does to lay out its table: a description of the columns instead of
// records, relationship fields nested in joinColumns (several fields of one parent
// under one column, paths of two relationships nested twice).
func TestQueryColumns(t *testing.T) {
	h := newHarness(t, Options{})
	decode := func(t *testing.T, data []byte) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		return m
	}
	tests := []struct {
		name, soql string
		want       map[string]any
	}{
		{"relationships", "SELECT Id, Username, IsActive, Profile.Name, Profile.UserLicense.TotalLicenses, LastLoginDate, " +
			"UserRole.Name, ProfileId FROM User WHERE IsActive = true",
			decode(t, mustRead(t, filepath.Join("testdata", "columns-user.json")))},
		{"no Id", "select name from organization", map[string]any{
			"columnMetadata": []any{map[string]any{"aggregate": false, "apexType": "String", "booleanType": false,
				"columnName": "Name", "custom": false, "displayName": "Name", "foreignKeyName": nil, "insertable": false,
				"joinColumns": []any{}, "numberType": false, "textType": true, "updatable": false}},
			"entityName": "Organization", "groupBy": false, "idSelected": false, "keyPrefix": "00D"}},
		{"count", "SELECT COUNT() FROM User", map[string]any{
			"columnMetadata": []any{}, "entityName": "User", "groupBy": false, "idSelected": false, "keyPrefix": "005"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := h.sim.APIUsage()
			status, _, body := h.do("GET", testVersion+"/query?columns=true&q="+url.QueryEscape(tt.soql), nil)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if diff := cmp.Diff(tt.want, decode(t, body)); diff != "" {
				t.Errorf("columns (-want +got):\n%s", diff)
			}
			if after, _ := h.sim.APIUsage(); after != before+1 {
				t.Errorf("columns=true spent %d API calls, want 1", after-before)
			}
		})
	}

	// A query that does not parse is refused as when its records are asked for.
	status, _, body := h.do("GET", testVersion+"/query?columns=true&q="+url.QueryEscape("SELECT Nope FROM User"), nil)
	if diff := cmp.Diff([]string{"INVALID_FIELD"}, errorCodes(t, body)); status != 400 || diff != "" {
		t.Errorf("bad query: %d (-want +got):\n%s", status, diff)
	}
	// columns=false, or any other value, runs the query.
	status, _, body = h.do("GET", testVersion+"/query?columns=false&q="+url.QueryEscape("SELECT Id FROM Organization"), nil)
	if got := decode(t, body); status != 200 || got["totalSize"] != float64(1) {
		t.Errorf("columns=false: %d %s", status, body)
	}
}

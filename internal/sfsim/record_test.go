package sfsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/sfsim/soql"
)

// getJSON decodes a control endpoint's 200 answer.
func getJSON(t *testing.T, h *harness, path string, out any) {
	t.Helper()
	resp, err := http.Get(h.http.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	status, _, data := readResponse(t, resp)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func TestQueriesRecordsEveryStatementReceivedParsedOrNot(t *testing.T) {
	h := newHarness(t, Options{})
	sent := []string{
		"SELECT Id FROM User WHERE FederationIdentifier IN ('a\\' OR Id != \\'x')",
		"SELECT Nope FROM User",
	}
	for _, q := range sent {
		h.do("GET", testVersion+"/query?q="+url.QueryEscape(q), nil)
	}
	var got struct {
		Queries []string `json:"queries"`
	}
	getJSON(t, h, "/__sim/queries", &got)
	if diff := cmp.Diff(sent, got.Queries); diff != "" {
		t.Fatalf("recorded queries (-sent +got):\n%s", diff)
	}
	q, err := soql.Parse(got.Queries[0], h.sim.SOQLSchema())
	if err != nil {
		t.Fatal(err)
	}
	want := []soql.Condition{{Field: soql.FieldRef{"FederationIdentifier"}, Operator: "IN", Values: []string{"a' OR Id != 'x"}}}
	if diff := cmp.Diff(want, q.Conditions); diff != "" {
		t.Errorf("conditions of the recorded query (-want +got):\n%s", diff)
	}
}

func TestUsersListsEveryUserWithoutSpendingAnAPICall(t *testing.T) {
	h := newHarness(t, Options{})
	ids, err := h.sim.AddUsers(SeedUser{Username: "ann@acme.example.com", LastName: "Ann",
		Email: "ann@acme.example.com", FederationIdentifier: "E1"})
	if err != nil {
		t.Fatal(err)
	}
	usedBefore, _ := h.sim.APIUsage()
	var got []UserSummary
	getJSON(t, h, "/__sim/users", &got)
	if usedAfter, _ := h.sim.APIUsage(); usedAfter != usedBefore {
		t.Errorf("listing the users spent %d API calls", usedAfter-usedBefore)
	}
	want := []UserSummary{
		{ID: h.sim.IntegrationUserID(), Username: DefaultUsername, Email: DefaultUsername, IsActive: true},
		{ID: ids[0], Username: "ann@acme.example.com", Email: "ann@acme.example.com", FederationIdentifier: "E1", IsActive: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
}

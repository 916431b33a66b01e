package reconcile

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixture is a cycle written down in testdata: the policy, the input, and the plan
// expected of it, reduced to what a reader checks.
type fixture struct {
	Policy Policy
	Input  Input
	Want   struct {
		Actions   []actionSummary
		Skipped   []skipBrief
		Disputed  []Dispute
		Unmanaged int
		Managed   int
	}
}

type actionSummary struct {
	Kind         Kind
	IdPID        string
	SalesforceID string
	MatchedBy    MatchKey
	Reason       string
}

func TestAMixedOrgIsPlannedAsItsFixtureSays(t *testing.T) {
	raw, err := os.ReadFile("testdata/mixed-org.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	for i := range f.Input.Existing { // the identity fields, as the SOQL pull fills them
		u := &f.Input.Existing[i]
		for name, value := range u.Fields.All() {
			setUserField(u, name, value)
		}
	}
	got := Calculate(f.Input, f.Policy)
	actions := []actionSummary{}
	for _, a := range got.Actions {
		actions = append(actions, actionSummary{a.Kind, a.IdPID, a.SalesforceID, a.MatchedBy, a.Reason})
	}
	if diff := cmp.Diff(f.Want.Actions, actions); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(f.Want.Skipped, skipBriefs(got.Skipped)); diff != "" {
		t.Errorf("skips (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(f.Want.Disputed, got.Disputed); diff != "" {
		t.Errorf("disputes (-want +got):\n%s", diff)
	}
	if got.Unmanaged != f.Want.Unmanaged || got.Managed != f.Want.Managed {
		t.Errorf("unmanaged %d managed %d, want %d and %d", got.Unmanaged, got.Managed, f.Want.Unmanaged, f.Want.Managed)
	}
}

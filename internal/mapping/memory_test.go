package mapping

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/source"
)

// TestMapAllocations holds Map to its allocation budget, which at a million records
// decides its cost more than anything else: per desired user one lower-cased Username
// and one generated Alias, with Fields, duplicate checks and the result slice costing
// a handful of allocations for the whole batch.
func TestMapAllocations(t *testing.T) {
	m := mustNew(t, Config{Fields: map[string]FieldConfig{
		"Title":                {From: "{{ .Title }}"},
		"Department":           {From: "{{ .Department | default \"General\" }}"},
		"FederationIdentifier": {From: "{{ .UserName | lower }}"},
	}})
	const n = 4096
	records := make([]source.Record, n)
	for i := range records {
		records[i] = person(fmt.Sprintf("00u%d", i), fmt.Sprintf("Given%d", i), fmt.Sprintf("Family%d", i), fmt.Sprintf("User%d@acme.example", i))
		records[i].UserName = fmt.Sprintf("user%d@acme.example", i)
		records[i].Title, records[i].Department = "Engineer", "Dept 7"
	}
	var res Result
	perRecord := testing.AllocsPerRun(3, func() { res = m.Map(records) }) / n
	if len(res.Desired) != n {
		t.Fatalf("%d desired users, want %d", len(res.Desired), n)
	}
	const budget = 2.1 // the Username and the Alias, and a little for the batch
	if perRecord > budget {
		t.Errorf("Map allocates %.2f times per record, budget %.1f", perRecord, budget)
	}
}

// TestUsersDoNotShareFields checks that each desired user owns its Fields although they
// are carved from shared chunks: ResolveIDs inserting ProfileId and UserRoleId, or a
// caller appending, never reaches a neighbour's fields.
func TestUsersDoNotShareFields(t *testing.T) {
	m := mustNew(t, Config{Role: AssignmentConfig{Default: "Staff"}})
	records := make([]source.Record, fieldChunkUsers+3) // more than one chunk
	for i := range records {
		records[i] = person(fmt.Sprint(i), "Given", fmt.Sprintf("Family%d", i), fmt.Sprintf("user%d@acme.example", i))
	}
	res := m.Map(records)
	if err := m.ResolveIDs(res.Desired, map[string]string{"Standard User": "00e1"}, map[string]string{"Staff": "00E1"}); err != nil {
		t.Fatal(err)
	}
	for i := range res.Desired[:len(res.Desired)-1] {
		_ = append(res.Desired[i].Fields, NewField("Zz__c", "spilled", Always))
	}
	for i, d := range res.Desired {
		alone := m.Map(records[i : i+1])
		if err := m.ResolveIDs(alone.Desired, map[string]string{"Standard User": "00e1"}, map[string]string{"Staff": "00E1"}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(alone.Desired[0], d); diff != "" {
			t.Fatalf("user %d differs from the same record mapped alone (-alone +together):\n%s", i, diff)
		}
	}
}

// TestMappedPeopleShareFieldSpecs checks what makes a Field 24 bytes: the people one
// Mapper maps share one FieldSpec per field, ProfileId's and UserRoleId's included,
// rather than each carrying a name and a mode of their own.
func TestMappedPeopleShareFieldSpecs(t *testing.T) {
	m := mustNew(t, Config{
		Fields:  map[string]FieldConfig{"Title": {From: "{{ .Title }}"}},
		Profile: AssignmentConfig{Default: "Standard User"},
		Role:    AssignmentConfig{Default: "Engineer"},
	})
	res := m.Map([]source.Record{
		person("00u1", "Ada", "Lovelace", "ada@acme.example"),
		person("00u2", "Alan", "Turing", "alan@acme.example"),
	})
	if err := m.ResolveIDs(res.Desired, map[string]string{"Standard User": "00e1"}, map[string]string{"Engineer": "00E1"}); err != nil {
		t.Fatal(err)
	}
	if len(res.Desired) != 2 {
		t.Fatalf("%d desired people, want 2", len(res.Desired))
	}
	a, b := res.Desired[0].Fields, res.Desired[1].Fields
	if len(a) != len(b) {
		t.Fatalf("%d and %d fields", len(a), len(b))
	}
	for k := range a {
		if a[k].FieldSpec != b[k].FieldSpec {
			t.Errorf("field %s: each person has a spec of their own", a[k].Name)
		}
	}
	if _, ok := res.Desired[0].Value("UserRoleId"); !ok {
		t.Error("no UserRoleId resolved")
	}
}

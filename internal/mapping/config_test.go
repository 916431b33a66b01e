package mapping

import (
	"bytes"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/syncd-io/syncd/internal/source"
)

// TestConfigYAML loads the configuration sketch's vocabulary strictly, as
// internal/config will, so a yaml tag that drifts from the documented keys fails here.
func TestConfigYAML(t *testing.T) {
	b, err := os.ReadFile("testdata/mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := Config{
		Match:          []string{"link", "federation_id", "email", "username"},
		UsernameSuffix: ".uat",
		Profile: AssignmentConfig{Rules: []Rule{{When: map[string]string{"department": "Sales"}, Profile: "Sales User"}},
			Default: "Standard User", Mode: "on_create"},
		Role:       AssignmentConfig{Rules: []Rule{{When: map[string]string{"group": "EMEA Sales"}, Role: "EMEA Sales Rep"}}, Mode: "always"},
		Attributes: []string{"costCenter"},
	}
	if diff := cmp.Diff(want, cfg, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Fields" }, cmp.Ignore())); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	if got := cfg.Fields["Cost_Center__c"]; got != (FieldConfig{From: `{{ .Attr "costCenter" }}`, MaxLength: 10}) {
		t.Errorf("Cost_Center__c = %+v", got)
	}

	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := source.Record{ID: "00u1", GivenName: "Ana", FamilyName: "Lima", Department: "Sales", Active: true,
		Emails: []source.Email{{Value: "Ana.Lima@Acme.example"}}, Groups: []source.Group{{Name: "EMEA Sales"}},
		Attributes: []source.Attribute{{Name: "costCenter", Value: "CC-7"}}}
	res := m.Map([]source.Record{rec})
	if len(res.Desired) != 1 {
		t.Fatalf("rejected: %+v", res.Rejected)
	}
	d := res.Desired[0]
	if u, _ := d.Value("Username"); u != "ana.lima@acme.example.uat" || d.Profile != "Sales User" || d.Role != "EMEA Sales Rep" {
		t.Errorf("Username %q, Profile %q, Role %q", u, d.Profile, d.Role)
	}
	if diff := cmp.Diff(DefaultMatch(), m.MatchKeys()); diff != "" {
		t.Errorf("MatchKeys (-want +got):\n%s", diff)
	}
}

func TestConfigYAMLUnknownKey(t *testing.T) {
	dec := yaml.NewDecoder(bytes.NewReader([]byte("fields:\n  Title: { form: \"{{ .Title }}\" }\n")))
	dec.KnownFields(true)
	var cfg Config
	if err := dec.Decode(&cfg); err == nil {
		t.Fatal("a misspelt key was accepted")
	}
}

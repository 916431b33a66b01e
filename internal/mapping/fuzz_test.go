package mapping

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/syncd-io/syncd/internal/source"
)

// FuzzMap maps records built from arbitrary values with templates that use every
// function and the text/template path: nothing panics, every record ends up desired,
// inactive or rejected exactly once, and what is desired meets Salesforce's rules.
func FuzzMap(f *testing.F) {
	f.Add("00u1", "Zoë", "Núñez", "zoe@acme.example", "Head of Sales", "Sales", true)
	f.Add("", "", "", "", "", "", false)
	f.Add("x", "李", "伟", "a@b.c", strings.Repeat("é", 90), "Sales", true)
	m, err := New(Config{
		UsernameSuffix: ".sbx",
		Fields: map[string]FieldConfig{
			"Title":         {From: "{{ .Title | trim | truncate 80 }}"},
			"Department":    {From: "{{ .Department | default \"General\" | upper }}"},
			"Nickname__c":   {From: "{{ .GivenName | asciifold | lower | replace \" \" \".\" }}"},
			"CostCenter__c": {From: "{{ .Attr \"costCenter\" }}{{ if .InGroup \"Sales\" }}-S{{ end }}"},
		},
		Profile: AssignmentConfig{Rules: []Rule{{When: map[string]string{"department": "Sales"}, Profile: "Sales User"}}, Default: "Standard User"},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, given, family, email, title, department string, active bool) {
		rec := source.Record{ID: id, GivenName: given, FamilyName: family, Title: title, Department: department, Active: active,
			Emails: []source.Email{{Value: email}}, Groups: []source.Group{{Name: department}},
			Attributes: []source.Attribute{{Name: "costCenter", Value: title}}}
		twin := rec
		twin.ID += "-twin"
		res := m.Map([]source.Record{rec, twin})
		if n := len(res.Desired) + len(res.Inactive) + len(res.Rejected); n != 2 {
			t.Fatalf("%d outcomes for 2 records: %+v", n, res)
		}
		if len(res.Desired) > 0 {
			t.Fatalf("two records with the same email were both desired: %+v", res.Desired)
		}
		single := m.Map([]source.Record{rec})
		for _, d := range single.Desired {
			for _, field := range d.Fields {
				if limit := fieldLength(field.Name); limit > 0 && utf8.RuneCountInString(field.Value) > limit {
					t.Errorf("%s is %d characters", field.Name, utf8.RuneCountInString(field.Value))
				}
			}
			for _, name := range []string{"Email", "Username"} {
				if v, _ := d.Value(name); emailProblem(v) != "" {
					t.Errorf("%s %q accepted", name, v)
				}
			}
			if alias, _ := d.Value("Alias"); alias == "" || len(alias) > 8 || alias != asciiFold(alias) {
				t.Errorf("alias %q", alias)
			}
		}
	})
}

package soql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConditionsListEveryComparisonWithItsDecodedLiterals(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  []Condition
	}{
		{name: "no WHERE clause has none", query: "SELECT Id FROM User"},
		{
			name:  "one comparison keeps its literal's case",
			query: "SELECT Id FROM User WHERE Email = 'Ann@Example.com'",
			want:  []Condition{{Field: FieldRef{"Email"}, Operator: "=", Values: []string{"Ann@Example.com"}}},
		},
		{
			name:  "an IN list with escaped quotes and backslashes is one comparison of decoded values",
			query: `SELECT Id FROM User WHERE FederationIdentifier IN ('a\' OR Id != \'x', 'b\\c')`,
			want: []Condition{{Field: FieldRef{"FederationIdentifier"}, Operator: "IN",
				Values: []string{`a' OR Id != 'x`, `b\c`}}},
		},
		{
			name:  "an unescaped quote ends the literal, and what follows is a second comparison",
			query: `SELECT Id FROM User WHERE FederationIdentifier = 'a' OR Id != 'x'`,
			want: []Condition{
				{Field: FieldRef{"FederationIdentifier"}, Operator: "=", Values: []string{"a"}},
				{Field: FieldRef{"Id"}, Operator: "!=", Values: []string{"x"}},
			},
		},
		{
			name:  "non-string literals are given as written, under NOT and AND",
			query: "SELECT Id FROM User WHERE NOT (IsActive = TRUE AND Profile.Name LIKE 'S%')",
			want: []Condition{
				{Field: FieldRef{"IsActive"}, Operator: "=", Values: []string{"TRUE"}},
				{Field: FieldRef{"Profile", "Name"}, Operator: "LIKE", Values: []string{"S%"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := mustParse(t, tc.query)
			if diff := cmp.Diff(tc.want, q.Conditions); diff != "" {
				t.Errorf("conditions of %s (-want +got):\n%s", tc.query, diff)
			}
		})
	}
}

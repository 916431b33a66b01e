package soql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustParse(t testing.TB, query string) *Query {
	t.Helper()
	q, err := Parse(query, testSchema{})
	if err != nil {
		t.Fatalf("Parse(%q): %v", query, err)
	}
	return q
}

// TestMatch runs WHERE clauses over testUsers and compares the ids that match,
// in input order.
func TestMatch(t *testing.T) {
	tests := []struct {
		where string
		want  []string
	}{
		// Strings: equality and IN ignore case.
		{"Username = 'ADA@example.COM'", []string{"u1"}},
		{"Email = 'dee@EXAMPLE.com'", []string{"u4"}},
		{"LastName = 'ünal'", []string{"u4"}},
		{"Username IN ('BOB@example.com', 'cy@EXAMPLE.org', 'nobody')", []string{"u2", "u3"}},
		{"Username NOT IN ('BOB@example.com', 'cy@EXAMPLE.org')", []string{"u1", "u4", "u5"}},
		{"Username = 'o\\'brien@example.com'", []string{"u5"}},
		{"FederationIdentifier = 'ob\\\\rien'", []string{"u5"}},
		// Ordering comparisons on strings ignore case too.
		{"LastName < 'c'", []string{"u2"}},
		{"LastName >= 'Lovelace'", []string{"u1", "u4", "u5"}},
		// null is a value of its own: = and != see it, ordering comparisons do not.
		{"Email = null", []string{"u3"}},
		{"Email != null", []string{"u1", "u2", "u4", "u5"}},
		{"Email != 'bob@example.com'", []string{"u1", "u3", "u4", "u5"}},
		{"FederationIdentifier < 'zzz'", []string{"u1", "u2", "u4", "u5"}},
		{"FederationIdentifier IN ('ada', null)", []string{"u1", "u3"}},
		{"FederationIdentifier NOT IN ('ada', null)", []string{"u2", "u4", "u5"}},
		{"FederationIdentifier NOT IN ('ada')", []string{"u2", "u3", "u4", "u5"}},
		// Booleans: a null boolean is false, and = null means = false.
		{"IsActive = true", []string{"u1", "u3", "u5"}},
		{"IsActive = false", []string{"u2", "u4"}},
		{"IsActive = null", []string{"u2", "u4"}},
		{"IsActive != null", []string{"u1", "u3", "u5"}},
		{"IsActive != TRUE", []string{"u2", "u4"}},
		{"IsActive IN (false)", []string{"u2", "u4"}},
		{"IsActive IN (null)", []string{"u2", "u4"}},
		{"IsActive NOT IN (null)", []string{"u1", "u3", "u5"}},
		// Numbers: ints and doubles, negative and decimal literals.
		{"FailedLogins__c > 2", []string{"u2", "u3"}},
		{"FailedLogins__c = 0", []string{"u1"}},
		{"FailedLogins__c <= 3.5", []string{"u1", "u2"}},
		{"FailedLogins__c IN (0, 10)", []string{"u1", "u3"}},
		{"Score__c < -1", []string{"u2"}},
		{"Score__c = 1.50", []string{"u1", "u5"}},
		{"Score__c != 1.5", []string{"u2", "u3", "u4"}},
		// Dates and datetimes; datetimes compare as instants across offsets.
		{"HireDate__c = 2020-03-01", []string{"u1", "u5"}},
		{"HireDate__c > 2020-03-01", []string{"u2"}},
		{"CreatedDate = 2024-01-01T01:00:00Z", []string{"u5"}},
		{"CreatedDate = 2024-01-01t01:00:00z", []string{"u5"}},
		{"CreatedDate >= 2024-03-01T10:00:00.000Z", []string{"u3", "u4"}},
		{"CreatedDate < 2024-01-01T11:00:00+01:00", []string{"u5"}},
		{"LastLoginDate > 2024-05-01T00:00:00Z", []string{"u1"}},
		{"LastLoginDate IN (2024-05-01T02:00:00+02:00)", []string{"u3"}},
		// LIKE: % and _, case-insensitive, escaped wildcards are literal.
		{"Username LIKE 'a%'", []string{"u1"}},
		{"Username LIKE '%EXAMPLE.ORG'", []string{"u3"}},
		{"Username LIKE '%@%.com'", []string{"u1", "u2", "u4", "u5"}},
		{"Username LIKE '_ob@example.com'", []string{"u2"}},
		{"Username LIKE '%\\%%'", []string{"u4"}},
		{"Username LIKE '%\\_%'", []string{"u4"}},
		{"Username LIKE 'dee_100%'", []string{"u4"}},
		{"Username LIKE 'ada'", nil},
		{"Username LIKE '%'", []string{"u1", "u2", "u3", "u4", "u5"}},
		{"Email LIKE '%'", []string{"u1", "u2", "u4", "u5"}},
		{"LastName LIKE '%n_l'", []string{"u4"}},
		{"LastName LIKE '%%%a%%%'", []string{"u1", "u2", "u4"}},
		// Parent fields; a missing parent reads as null.
		{"Profile.Name = 'system administrator'", []string{"u1", "u5"}},
		{"Profile.Name != 'System Administrator'", []string{"u2", "u3", "u4"}},
		{"Profile.Name = null", []string{"u4"}},
		{"Profile.Id = '00e000000000002'", []string{"u2", "u3"}},
		{"Profile.UserLicense.Name = 'Salesforce'", []string{"u1", "u5"}},
		{"UserRole.Name = null", []string{"u2", "u3", "u4", "u5"}},
		// Ids: case-sensitive, the 15- and 18-character forms are equal.
		{"ProfileId = '00e000000000001'", []string{"u1", "u5"}},
		{"ProfileId = '00e000000000001AAA'", []string{"u1", "u5"}},
		{"ProfileId = '00E000000000001'", nil},
		{"ProfileId IN ('00e000000000002xyz', '00e0000000000zz')", []string{"u2", "u3"}},
		{"ProfileId NOT IN ('00e000000000002IAA')", []string{"u1", "u4", "u5"}},
		{"ProfileId = null", []string{"u4"}},
		{"ProfileId > '00e000000000001ZZZ'", []string{"u2", "u3"}},
		// Logic.
		{"IsActive = true AND Profile.Name = 'Standard User'", []string{"u3"}},
		{"IsActive = true AND Profile.Name = 'Standard User' AND Email = null", []string{"u3"}},
		{"Username = 'ada@example.com' OR Username = 'bob@example.com' OR Email = null", []string{"u1", "u2", "u3"}},
		{"(IsActive = true AND Score__c = 1.5) OR (IsActive = false AND FailedLogins__c > 1)", []string{"u1", "u2", "u5"}},
		{"NOT Username LIKE '%.com'", []string{"u3"}},
		{"NOT (IsActive = true OR Email = null)", []string{"u2", "u4"}},
		{"IsActive = true AND (NOT Profile.Name = 'System Administrator')", []string{"u3"}},
		{"((((IsActive = true))))", []string{"u1", "u3", "u5"}},
	}
	users := testUsers()
	for _, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			q := mustParse(t, "SELECT Id FROM User WHERE "+tt.where)
			var got []string
			for _, u := range users {
				if q.Match(u) {
					got = append(got, id(u))
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("matches mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatchWithoutWhere(t *testing.T) {
	q := mustParse(t, "SELECT Id FROM User")
	for _, u := range testUsers() {
		if !q.Match(u) {
			t.Errorf("Match(%s) = false without a WHERE clause", id(u))
		}
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"input order without ORDER BY", "SELECT Id FROM User", []string{"u1", "u2", "u3", "u4", "u5"}},
		{"filter keeps input order", "SELECT Id FROM User WHERE IsActive = true", []string{"u1", "u3", "u5"}},
		{"strings sort ignoring case", "SELECT Id FROM User ORDER BY LastName", []string{"u2", "u3", "u1", "u5", "u4"}},
		{"descending", "SELECT Id FROM User ORDER BY LastName DESC", []string{"u4", "u5", "u1", "u3", "u2"}},
		{"nulls first ascending by default", "SELECT Id FROM User ORDER BY Email", []string{"u3", "u1", "u2", "u4", "u5"}},
		{"nulls last descending by default", "SELECT Id FROM User ORDER BY Email DESC", []string{"u5", "u4", "u2", "u1", "u3"}},
		{"NULLS LAST ascending", "SELECT Id FROM User ORDER BY Email ASC NULLS LAST", []string{"u1", "u2", "u4", "u5", "u3"}},
		{"NULLS FIRST descending", "SELECT Id FROM User ORDER BY Email DESC NULLS FIRST", []string{"u3", "u5", "u4", "u2", "u1"}},
		{"ties keep input order", "SELECT Id FROM User ORDER BY IsActive", []string{"u2", "u4", "u1", "u3", "u5"}},
		{"several items", "SELECT Id FROM User ORDER BY IsActive DESC, Score__c DESC NULLS LAST, Username", []string{"u1", "u5", "u3", "u2", "u4"}},
		{"numbers", "SELECT Id FROM User ORDER BY FailedLogins__c DESC", []string{"u3", "u2", "u1", "u4", "u5"}},
		{"dates", "SELECT Id FROM User ORDER BY HireDate__c NULLS LAST, Id DESC", []string{"u5", "u1", "u2", "u4", "u3"}},
		{"datetimes as instants", "SELECT Id FROM User ORDER BY CreatedDate, Id", []string{"u5", "u1", "u2", "u3", "u4"}},
		{"ids", "SELECT Id FROM User ORDER BY ProfileId DESC NULLS LAST", []string{"u2", "u3", "u1", "u5", "u4"}},
		{"parent field", "SELECT Id FROM User ORDER BY Profile.Name DESC, Id", []string{"u1", "u5", "u2", "u3", "u4"}},
		{"LIMIT", "SELECT Id FROM User ORDER BY Username LIMIT 2", []string{"u1", "u2"}},
		{"OFFSET", "SELECT Id FROM User ORDER BY Username OFFSET 3", []string{"u4", "u5"}},
		{"OFFSET then LIMIT", "SELECT Id FROM User ORDER BY Username LIMIT 2 OFFSET 1", []string{"u2", "u3"}},
		{"OFFSET past the end", "SELECT Id FROM User OFFSET 9", []string{}},
		{"LIMIT 0", "SELECT Id FROM User LIMIT 0", []string{}},
		{"filter, sort, offset and limit together", "SELECT Id FROM User WHERE Username LIKE '%.com' ORDER BY LastName DESC LIMIT 2 OFFSET 1", []string{"u5", "u1"}},
		{"COUNT() counts what Run returns", "SELECT COUNT() FROM User WHERE IsActive = true LIMIT 2", []string{"u1", "u3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users := testUsers()
			before := ids(users)
			got := ids(mustParse(t, tt.query).Run(users))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Run mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, ids(users)); diff != "" {
				t.Errorf("Run reordered its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestValue(t *testing.T) {
	u := testUsers()
	tests := []struct {
		rec  Record
		ref  FieldRef
		want any
	}{
		{u[0], FieldRef{"Username"}, "ada@example.com"},
		{u[0], FieldRef{"Profile", "Name"}, "System Administrator"},
		{u[0], FieldRef{"Profile", "UserLicense", "Name"}, "Salesforce"},
		{u[1], FieldRef{"Profile", "UserLicense", "Name"}, nil},
		{u[3], FieldRef{"Profile", "Name"}, nil},
	}
	for _, tt := range tests {
		if got := Value(tt.rec, tt.ref); got != tt.want {
			t.Errorf("Value(%s, %v) = %v, want %v", id(tt.rec), tt.ref, got, tt.want)
		}
	}
}

// TestRunHandBuiltQuery runs a Query that did not come from Parse, as a caller
// may build one: no recorded ORDER BY types, a negative OFFSET.
func TestRunHandBuiltQuery(t *testing.T) {
	q := &Query{Object: userObject, Fields: []FieldRef{{"Id"}}, OrderBy: []Order{{Field: FieldRef{"LastName"}}}, Limit: 2, Offset: -1}
	if diff := cmp.Diff([]string{"u2", "u3"}, ids(q.Run(testUsers()))); diff != "" {
		t.Errorf("Run mismatch (-want +got):\n%s", diff)
	}
}

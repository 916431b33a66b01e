package soql

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// parsed is the exported shape of a Query, for comparison.
type parsed struct {
	Object  string
	Fields  []FieldRef
	Count   bool
	OrderBy []Order
	Limit   int
	Offset  int
	Where   bool
}

func shape(q *Query) parsed {
	return parsed{Object: q.Object.Name, Fields: q.Fields, Count: q.Count, OrderBy: q.OrderBy, Limit: q.Limit, Offset: q.Offset, Where: q.where != nil}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  parsed
	}{
		{
			name:  "plain field list",
			query: "SELECT Id, Username FROM User",
			want:  parsed{Object: "User", Fields: []FieldRef{{"Id"}, {"Username"}}, Limit: -1},
		},
		{
			name:  "keywords and names in any case come back canonical",
			query: "select id, USERNAME, profile.NAME from user",
			want:  parsed{Object: "User", Fields: []FieldRef{{"Id"}, {"Username"}, {"Profile", "Name"}}, Limit: -1},
		},
		{
			name:  "parent fields one and two levels up, and a parent's Id",
			query: "SELECT Profile.Id, UserRole.Name, Profile.UserLicense.Name FROM User",
			want:  parsed{Object: "User", Fields: []FieldRef{{"Profile", "Id"}, {"UserRole", "Name"}, {"Profile", "UserLicense", "Name"}}, Limit: -1},
		},
		{
			name:  "COUNT()",
			query: "SELECT COUNT() FROM User WHERE IsActive = true",
			want:  parsed{Object: "User", Count: true, Limit: -1, Where: true},
		},
		{
			name:  "count in lower case with spaces",
			query: "select count ( ) from User",
			want:  parsed{Object: "User", Count: true, Limit: -1},
		},
		{
			name:  "ORDER BY defaults: nulls first ascending, last descending",
			query: "SELECT Id FROM User ORDER BY LastName, Email DESC, Profile.Name ASC",
			want: parsed{Object: "User", Fields: []FieldRef{{"Id"}}, Limit: -1, OrderBy: []Order{
				{Field: FieldRef{"LastName"}},
				{Field: FieldRef{"Email"}, Descending: true, NullsLast: true},
				{Field: FieldRef{"Profile", "Name"}},
			}},
		},
		{
			name:  "explicit NULLS FIRST / LAST",
			query: "SELECT Id FROM User ORDER BY LastName ASC NULLS LAST, Email DESC NULLS FIRST, Username nulls last",
			want: parsed{Object: "User", Fields: []FieldRef{{"Id"}}, Limit: -1, OrderBy: []Order{
				{Field: FieldRef{"LastName"}, NullsLast: true},
				{Field: FieldRef{"Email"}, Descending: true},
				{Field: FieldRef{"Username"}, NullsLast: true},
			}},
		},
		{
			name:  "LIMIT and OFFSET",
			query: "SELECT Id FROM User LIMIT 10 OFFSET 2000",
			want:  parsed{Object: "User", Fields: []FieldRef{{"Id"}}, Limit: 10, Offset: 2000},
		},
		{
			name:  "LIMIT 0 and OFFSET alone",
			query: "SELECT Id FROM User LIMIT 0",
			want:  parsed{Object: "User", Fields: []FieldRef{{"Id"}}, Limit: 0},
		},
		{
			name:  "OFFSET without LIMIT",
			query: "SELECT Id FROM User OFFSET 5",
			want:  parsed{Object: "User", Fields: []FieldRef{{"Id"}}, Limit: -1, Offset: 5},
		},
		{
			name:  "every clause, spread over lines with tabs",
			query: "SELECT Id,\n\tUsername\nFROM User\nWHERE (IsActive = true AND Profile.Name = 'x') OR Username LIKE 'a%'\nORDER BY Username\nLIMIT 5\nOFFSET 1",
			want:  parsed{Object: "User", Fields: []FieldRef{{"Id"}, {"Username"}}, Limit: 5, Offset: 1, Where: true, OrderBy: []Order{{Field: FieldRef{"Username"}}}},
		},
		{
			name:  "every comparison operator and literal type",
			query: "SELECT Id FROM User WHERE Username != 'a' AND Username <> 'b' AND FailedLogins__c < 3 AND FailedLogins__c <= -3 AND Score__c > 1.5 AND Score__c >= -0.25 AND HireDate__c = 2020-01-31 AND CreatedDate > 2024-01-01T00:00:00Z AND CreatedDate < 2024-01-01T00:00:00.123+05:30 AND LastLoginDate != 2024-01-01T00:00:00-08:00 AND IsActive = FALSE AND Email = NULL AND Username IN ('a', null) AND Username NOT IN ('b') AND Username LIKE 'c\\_%'",
			want:  parsed{Object: "User", Fields: []FieldRef{{"Id"}}, Limit: -1, Where: true},
		},
		{
			name:  "NOT at the top and inside parentheses",
			query: "SELECT Id FROM User WHERE NOT IsActive = true",
			want:  parsed{Object: "User", Fields: []FieldRef{{"Id"}}, Limit: -1, Where: true},
		},
		{
			name:  "NOT wrapped to combine it",
			query: "SELECT Id FROM User WHERE IsActive = true AND (NOT Username LIKE 'a%') AND (NOT (Email = null OR Email = 'x'))",
			want:  parsed{Object: "User", Fields: []FieldRef{{"Id"}}, Limit: -1, Where: true},
		},
		{
			name:  "an alias, and fields prefixed with it or with the object's name",
			query: "SELECT u.Id, U.Profile.Name, User.Email FROM User u WHERE u.IsActive = true ORDER BY u.Username",
			want: parsed{Object: "User", Fields: []FieldRef{{"Id"}, {"Profile", "Name"}, {"Email"}}, Limit: -1, Where: true,
				OrderBy: []Order{{Field: FieldRef{"Username"}}}},
		},
		{
			name:  "a whole query at the length limit",
			query: "SELECT Id FROM User WHERE Username = '" + strings.Repeat("x", MaxQueryLength-39) + "'",
			want:  parsed{Object: "User", Fields: []FieldRef{{"Id"}}, Limit: -1, Where: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.query, testSchema{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, shape(q), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// positioned splits Salesforce's positioned message into its parts.
type positioned struct {
	Window, Caret, Position, Detail string
}

func splitMessage(t *testing.T, msg string) positioned {
	t.Helper()
	parts := strings.SplitN(msg, "\n", 5)
	if len(parts) != 5 || parts[0] != "" {
		t.Fatalf("message %q is not positioned", msg)
	}
	return positioned{Window: parts[1], Caret: parts[2], Position: parts[3], Detail: parts[4]}
}

func TestParseErrorMessagesInFull(t *testing.T) {
	tests := []struct {
		query string
		want  *Error
	}{
		{
			query: "SELECT Bacon__c FROM User LIMIT 2",
			want: &Error{Code: "INVALID_FIELD", Message: "\nSELECT Bacon__c FROM User LIMIT 2\n       ^\nERROR at Row:1:Column:8\n" +
				"No such column 'Bacon__c' on entity 'User'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."},
		},
		{
			query: "SELECT Id FROM Foo WHERE Name like 'x%'",
			want: &Error{Code: "INVALID_TYPE", Message: "\nSELECT Id FROM Foo WHERE Name like 'x%'\n               ^\nERROR at Row:1:Column:16\n" +
				"sObject type 'Foo' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."},
		},
		{
			query: "SELECT Id FROM User WHERE",
			want:  &Error{Code: "MALFORMED_QUERY", Message: "\nSELECT Id FROM User WHERE\n                         ^\nERROR at Row:1:Column:26\nunexpected token: '<EOF>'"},
		},
		{
			query: "SELECT Id, FROM User",
			want:  &Error{Code: "MALFORMED_QUERY", Message: "\nSELECT Id, FROM User\n           ^\nERROR at Row:1:Column:12\nunexpected token: 'FROM'"},
		},
		{
			// The lexer's own message counts columns from 0, and so does the position line.
			query: "select Id from User where id = $sfid",
			want:  &Error{Code: "MALFORMED_QUERY", Message: "\nselect Id from User where id = $sfid\n                              ^\nERROR at Row:1:Column:31\nline 1:31 unexpected token: '$'"},
		},
		{
			query: "SELECT Id FROM User WHERE IsActive = 'true'",
			want: &Error{Code: "INVALID_FIELD", Message: "\nSELECT Id FROM User WHERE IsActive = 'true'\n                                     ^\nERROR at Row:1:Column:38\n" +
				"value of filter criterion for field 'IsActive' must be of type boolean and should not be enclosed in quotes"},
		},
		{
			query: "SELECT Id FROM User OFFSET 2001",
			want:  &Error{Code: "NUMBER_OUTSIDE_VALID_RANGE", Message: "Maximum SOQL offset allowed for apiName User is 2000"},
		},
		{
			query: "SELECT Id, id FROM User",
			want:  &Error{Code: "INVALID_FIELD", Message: "duplicate field selected: Id"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, err := Parse(tt.query, testSchema{})
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("Parse error = %v, want an *Error", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const noColumn = "No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
	noSuchColumn := func(field, object string) string {
		return strings.Replace(strings.Replace(noColumn, "%s", field, 1), "%s", object, 1)
	}
	const badRelationship = "Didn't understand relationship 'Manager' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
	tests := []struct {
		name       string
		query      string
		wantCode   string
		wantPos    string // "ERROR at Row:R:Column:C"
		wantDetail string
	}{
		// Syntax.
		{"empty query", "", "MALFORMED_QUERY", "ERROR at Row:1:Column:1", "unexpected token: '<EOF>'"},
		{"not a SELECT", "DELETE FROM User", "MALFORMED_QUERY", "ERROR at Row:1:Column:1", "unexpected token: 'DELETE'"},
		{"no FROM", "SELECT Id", "MALFORMED_QUERY", "ERROR at Row:1:Column:10", "unexpected token: '<EOF>'"},
		{"no fields", "SELECT FROM User", "MALFORMED_QUERY", "ERROR at Row:1:Column:1", "unexpected token: 'SELECT FROM'"},
		{"trailing comma", "SELECT Id, FROM User", "MALFORMED_QUERY", "ERROR at Row:1:Column:12", "unexpected token: 'FROM'"},
		{"no object", "SELECT Id FROM WHERE Id = 'x'", "MALFORMED_QUERY", "ERROR at Row:1:Column:16", "unexpected token: 'WHERE'"},
		{"clause out of order", "SELECT Id FROM User LIMIT 5 WHERE IsActive = true", "MALFORMED_QUERY", "ERROR at Row:1:Column:29", "unexpected token: 'WHERE'"},
		{"ORDER without BY", "SELECT Id FROM User ORDER Username", "MALFORMED_QUERY", "ERROR at Row:1:Column:27", "unexpected token: 'Username'"},
		{"ORDER BY nothing", "SELECT Id FROM User ORDER BY", "MALFORMED_QUERY", "ERROR at Row:1:Column:29", "unexpected token: '<EOF>'"},
		{"NULLS without FIRST or LAST", "SELECT Id FROM User ORDER BY Id NULLS", "MALFORMED_QUERY", "ERROR at Row:1:Column:38", "unexpected token: '<EOF>'"},
		{"AND then OR", "SELECT Id FROM User WHERE IsActive = true AND Username = 'a' OR Username = 'b'", "MALFORMED_QUERY", "ERROR at Row:1:Column:62", "unexpected token: 'OR'"},
		{"OR then AND", "SELECT Id FROM User WHERE IsActive = true OR Username = 'a' AND Username = 'b'", "MALFORMED_QUERY", "ERROR at Row:1:Column:61", "unexpected token: 'AND'"},
		{"AND NOT without parentheses", "SELECT Id FROM User WHERE IsActive = true AND NOT Username = 'a'", "MALFORMED_QUERY", "ERROR at Row:1:Column:47", "unexpected token: 'NOT'"},
		{"NOT then AND", "SELECT Id FROM User WHERE NOT IsActive = true AND Username = 'a'", "MALFORMED_QUERY", "ERROR at Row:1:Column:47", "unexpected token: 'AND'"},
		{"NOT NOT", "SELECT Id FROM User WHERE NOT NOT IsActive = true", "MALFORMED_QUERY", "ERROR at Row:1:Column:31", "unexpected token: 'NOT'"},
		{"unbalanced parenthesis", "SELECT Id FROM User WHERE (IsActive = true", "MALFORMED_QUERY", "ERROR at Row:1:Column:43", "unexpected token: '<EOF>'"},
		{"extra parenthesis", "SELECT Id FROM User WHERE IsActive = true)", "MALFORMED_QUERY", "ERROR at Row:1:Column:42", "unexpected token: ')'"},
		{"missing operator", "SELECT Id FROM User WHERE Username 'a'", "MALFORMED_QUERY", "ERROR at Row:1:Column:36", "unexpected token: ''a''"},
		{"missing value", "SELECT Id FROM User WHERE Username =", "MALFORMED_QUERY", "ERROR at Row:1:Column:37", "unexpected token: '<EOF>'"},
		{"field compared with field", "SELECT Id FROM User WHERE Username = Email", "MALFORMED_QUERY", "ERROR at Row:1:Column:38", "unexpected token: 'Email'"},
		{"empty IN list", "SELECT Id FROM User WHERE Username IN ()", "MALFORMED_QUERY", "ERROR at Row:1:Column:27", "unexpected token: 'Username IN ()'"},
		{"empty NOT IN list", "SELECT Id FROM User WHERE Username NOT IN ( )", "MALFORMED_QUERY", "ERROR at Row:1:Column:27", "unexpected token: 'Username NOT IN ( )'"},
		{"IN without parentheses", "SELECT Id FROM User WHERE Username IN 'a'", "MALFORMED_QUERY", "ERROR at Row:1:Column:39", "unexpected token: ''a''"},
		{"NOT LIKE is not SOQL", "SELECT Id FROM User WHERE Username NOT LIKE 'a'", "MALFORMED_QUERY", "ERROR at Row:1:Column:36", "unexpected token: 'NOT'"},
		{"double-quoted string", `SELECT Id FROM User WHERE Username = "a"`, "MALFORMED_QUERY", "ERROR at Row:1:Column:37", `line 1:37 unexpected token: '"'`},
		{"semicolon", "SELECT Id FROM User;", "MALFORMED_QUERY", "ERROR at Row:1:Column:19", "line 1:19 unexpected token: ';'"},
		{"bang alone", "SELECT Id FROM User WHERE Username ! 'a'", "MALFORMED_QUERY", "ERROR at Row:1:Column:35", "line 1:35 unexpected token: '!'"},
		{"unterminated string", "SELECT Id FROM User WHERE Username = 'abc", "MALFORMED_QUERY", "ERROR at Row:1:Column:38", "unexpected token: '''"},
		{"string ends in a backslash", `SELECT Id FROM User WHERE Username = 'abc\`, "MALFORMED_QUERY", "ERROR at Row:1:Column:38", "unexpected token: '''"},
		{"unknown escape", `SELECT Id FROM User WHERE Username = 'a\qb'`, "MALFORMED_QUERY", "ERROR at Row:1:Column:38", `Invalid string literal ''a\q'. Illegal character sequence '\q' in string literal.`},
		{"short unicode escape", `SELECT Id FROM User WHERE Username = 'a\u12'`, "MALFORMED_QUERY", "ERROR at Row:1:Column:38", `Invalid string literal ''a\u12''. Illegal character sequence '\u12'' in string literal.`},
		{"bad unicode escape", `SELECT Id FROM User WHERE Username = 'a\uZZZZ'`, "MALFORMED_QUERY", "ERROR at Row:1:Column:38", `Invalid string literal ''a\uZZZZ'. Illegal character sequence '\uZZZZ' in string literal.`},
		{"LIKE escape outside LIKE", `SELECT Id FROM User WHERE Username = 'a\_b'`, "MALFORMED_QUERY", "ERROR at Row:1:Column:38", `Invalid string literal ''a\_b''. Illegal character sequence '\_' in string literal.`},
		{"negative LIMIT", "SELECT Id FROM User LIMIT -1", "MALFORMED_QUERY", "ERROR at Row:1:Column:27", "unexpected token: '-1'"},
		{"decimal LIMIT", "SELECT Id FROM User LIMIT 1.5", "MALFORMED_QUERY", "ERROR at Row:1:Column:27", "unexpected token: '1.5'"},
		{"LIMIT beyond 32 bits", "SELECT Id FROM User LIMIT 2147483648", "MALFORMED_QUERY", "ERROR at Row:1:Column:27", "numeric value out of range: 2147483648"},
		{"negative OFFSET", "SELECT Id FROM User OFFSET -5", "MALFORMED_QUERY", "ERROR at Row:1:Column:28", "unexpected token: '-5'"},
		{"two LIMITs", "SELECT Id FROM User LIMIT 1 LIMIT 2", "MALFORMED_QUERY", "ERROR at Row:1:Column:29", "unexpected token: 'LIMIT'"},
		{"exponent", "SELECT Id FROM User WHERE Score__c = 1e5", "MALFORMED_QUERY", "ERROR at Row:1:Column:38", "unexpected token: '1e5'"},
		{"impossible date", "SELECT Id FROM User WHERE HireDate__c = 2024-02-30", "MALFORMED_QUERY", "ERROR at Row:1:Column:41", "Invalid date: 2024-02-30"},
		{"impossible datetime", "SELECT Id FROM User WHERE CreatedDate = 2024-01-01T25:00:00Z", "MALFORMED_QUERY", "ERROR at Row:1:Column:41", "Invalid datetime: 2024-01-01T25:00:00Z"},
		{"datetime offset out of range", "SELECT Id FROM User WHERE CreatedDate > 2020-12-12t12:12:00-25:00", "MALFORMED_QUERY", "ERROR at Row:1:Column:41", "Invalid datetime: 2020-12-12t12:12:00-25:00"},
		{"datetime month out of range", "SELECT Id FROM User WHERE CreatedDate > 2020-52-12t12:12:00-05:00", "MALFORMED_QUERY", "ERROR at Row:1:Column:41", "Invalid datetime: 2020-52-12t12:12:00-05:00"},
		{"datetime offset without colon", "SELECT Id FROM User WHERE CreatedDate = 2024-01-01T10:00:00+0100", "MALFORMED_QUERY", "ERROR at Row:1:Column:41", "unexpected token: '2024-01-01T10:00:00+0100'"},
		{"datetime with microseconds", "SELECT Id FROM User WHERE CreatedDate = 2024-01-01T10:00:00.1234Z", "MALFORMED_QUERY", "ERROR at Row:1:Column:41", "unexpected token: '2024-01-01T10:00:00.1234Z'"},
		{"datetime without zone", "SELECT Id FROM User WHERE CreatedDate = 2024-01-01T10:00:00", "MALFORMED_QUERY", "ERROR at Row:1:Column:41", "unexpected token: '2024-01-01T10:00:00'"},
		{"keyword as a field", "SELECT Id FROM User WHERE Select = 'a'", "MALFORMED_QUERY", "ERROR at Row:1:Column:27", "unexpected token: 'Select'"},
		{"alias used without a field", "SELECT u FROM User u", "INVALID_FIELD", "ERROR at Row:1:Column:8", noSuchColumn("u", "User")},
		{"unknown alias", "SELECT x.Id FROM User u", "INVALID_FIELD", "ERROR at Row:1:Column:8", strings.ReplaceAll(badRelationship, "Manager", "x")},
		{"a keyword is no alias", "SELECT Id FROM User Select", "MALFORMED_QUERY", "ERROR at Row:1:Column:21", "unexpected token: 'Select'"},
		{"two aliases", "SELECT Id FROM User u v", "MALFORMED_QUERY", "ERROR at Row:1:Column:23", "unexpected token: 'v'"},
		{"empty path segment", "SELECT Profile..Name FROM User", "MALFORMED_QUERY", "ERROR at Row:1:Column:8", "unexpected token: 'Profile..Name'"},
		{"error on a later row", "SELECT Id\nFROM User\nWHERE Username = = 'a'", "MALFORMED_QUERY", "ERROR at Row:3:Column:18", "unexpected token: '='"},
		{"too deep", "SELECT Id FROM User WHERE " + strings.Repeat("(", maxNesting+2) + "IsActive = true" + strings.Repeat(")", maxNesting+2), "MALFORMED_QUERY", "ERROR at Row:1:Column:128", "the WHERE clause nests parentheses more than 100 deep"},

		// Features the simulator does not serve.
		{"GROUP BY", "SELECT Id FROM User GROUP BY Id", "MALFORMED_QUERY", "ERROR at Row:1:Column:21", "unexpected token: 'GROUP' (GROUP is not supported by the simulator)"},
		{"HAVING", "SELECT Id FROM User HAVING Id = 'a'", "MALFORMED_QUERY", "ERROR at Row:1:Column:21", "unexpected token: 'HAVING' (HAVING is not supported by the simulator)"},
		{"WITH", "SELECT Id FROM User WITH SECURITY_ENFORCED", "MALFORMED_QUERY", "ERROR at Row:1:Column:21", "unexpected token: 'WITH' (WITH is not supported by the simulator)"},
		{"USING SCOPE", "SELECT Id FROM User USING SCOPE mine", "MALFORMED_QUERY", "ERROR at Row:1:Column:21", "unexpected token: 'USING' (USING is not supported by the simulator)"},
		{"FOR UPDATE", "SELECT Id FROM User LIMIT 1 FOR UPDATE", "MALFORMED_QUERY", "ERROR at Row:1:Column:29", "unexpected token: 'FOR' (FOR is not supported by the simulator)"},
		{"ALL ROWS", "SELECT Id FROM User ALL ROWS", "MALFORMED_QUERY", "ERROR at Row:1:Column:21", "unexpected token: 'ALL' (ALL is not supported by the simulator)"},
		{"subquery", "SELECT Id, (SELECT Id FROM Users) FROM Profile", "MALFORMED_QUERY", "ERROR at Row:1:Column:12", "unexpected token: '(' (a subquery is not supported by the simulator)"},
		{"nested semi-join", "SELECT Id FROM User WHERE ProfileId IN (SELECT Id FROM Profile WHERE UserLicenseId IN (SELECT Id FROM UserLicense))", "MALFORMED_QUERY", "ERROR at Row:1:Column:87", "Nesting of semi join sub-selects is not supported"},
		{"semi-join on a text field", "SELECT Id FROM User WHERE Username IN (SELECT Id FROM Profile)", "MALFORMED_QUERY", "ERROR at Row:1:Column:27", "semi join sub selects can only filter on Id or reference fields: Username"},
		{"semi-join selecting a text field", "SELECT Id FROM User WHERE ProfileId IN (SELECT Name FROM Profile)", "MALFORMED_QUERY", "ERROR at Row:1:Column:48", "semi join sub selects can only query id fields, cannot use: 'Name'"},
		{"COUNT of a field", "SELECT COUNT(Id) FROM User", "MALFORMED_QUERY", "ERROR at Row:1:Column:14", "unexpected token: 'Id' (COUNT with a field (an aggregate query) is not supported by the simulator)"},
		{"COUNT() with fields", "SELECT COUNT(), Id FROM User", "MALFORMED_QUERY", "ERROR at Row:1:Column:15", "unexpected token: ','"},
		{"other aggregate", "SELECT MAX(CreatedDate) FROM User", "MALFORMED_QUERY", "ERROR at Row:1:Column:8", "unexpected token: 'MAX' (the function MAX() is not supported by the simulator)"},
		{"FIELDS()", "SELECT FIELDS(ALL) FROM User LIMIT 200", "MALFORMED_QUERY", "ERROR at Row:1:Column:8", "unexpected token: 'FIELDS' (the function FIELDS() is not supported by the simulator)"},
		{"function in a list", "SELECT Id, toLabel(Username) FROM User", "MALFORMED_QUERY", "ERROR at Row:1:Column:12", "unexpected token: 'toLabel' (the function TOLABEL() is not supported by the simulator)"},
		{"function in WHERE", "SELECT Id FROM User WHERE CALENDAR_YEAR(CreatedDate) = 2024", "MALFORMED_QUERY", "ERROR at Row:1:Column:27", "unexpected token: 'CALENDAR_YEAR' (the function CALENDAR_YEAR() is not supported by the simulator)"},
		{"function in ORDER BY", "SELECT Id FROM User ORDER BY toLabel(Username)", "MALFORMED_QUERY", "ERROR at Row:1:Column:30", "unexpected token: 'toLabel' (the function TOLABEL() is not supported by the simulator)"},
		{"TYPEOF", "SELECT TYPEOF Owner WHEN User THEN Id END FROM User", "MALFORMED_QUERY", "ERROR at Row:1:Column:8", "unexpected token: 'TYPEOF' (TYPEOF is not supported by the simulator)"},
		{"date literal", "SELECT Id FROM User WHERE CreatedDate > today", "MALFORMED_QUERY", "ERROR at Row:1:Column:41", "unexpected token: 'today' (the date literal TODAY is not supported by the simulator)"},
		{"INCLUDES", "SELECT Id FROM User WHERE Username INCLUDES ('a')", "MALFORMED_QUERY", "ERROR at Row:1:Column:36", "unexpected token: 'INCLUDES' (INCLUDES is not supported by the simulator)"},

		// Schema.
		{"unknown object", "SELECT Id FROM Account", "INVALID_TYPE", "ERROR at Row:1:Column:16", "sObject type 'Account' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."},
		{"unknown field in WHERE", "SELECT Id FROM User WHERE Nickname = 'a'", "INVALID_FIELD", "ERROR at Row:1:Column:27", noSuchColumn("Nickname", "User")},
		{"unknown field in ORDER BY", "SELECT Id FROM User ORDER BY Nickname", "INVALID_FIELD", "ERROR at Row:1:Column:30", noSuchColumn("Nickname", "User")},
		{"unknown parent field", "SELECT Profile.Nickname FROM User", "INVALID_FIELD", "ERROR at Row:1:Column:8", noSuchColumn("Nickname", "Profile")},
		{"unknown relationship", "SELECT Manager.Name FROM User", "INVALID_FIELD", "ERROR at Row:1:Column:8", badRelationship},
		{"a relationship is not a column", "SELECT Profile FROM User", "INVALID_FIELD", "ERROR at Row:1:Column:8", noSuchColumn("Profile", "User")},
		{"an Id field is not a relationship", "SELECT ProfileId.Name FROM User", "INVALID_FIELD", "ERROR at Row:1:Column:8", strings.ReplaceAll(badRelationship, "Manager", "ProfileId")},
		{"object checked before fields", "SELECT Nope FROM Nope", "INVALID_TYPE", "ERROR at Row:1:Column:18", "sObject type 'Nope' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."},
		{"syntax checked before schema", "SELECT Nope FROM Nope WHERE", "MALFORMED_QUERY", "ERROR at Row:1:Column:28", "unexpected token: '<EOF>'"},

		// Literal types.
		{"string for a boolean", "SELECT Id FROM User WHERE IsActive = 'true'", "INVALID_FIELD", "ERROR at Row:1:Column:38", "value of filter criterion for field 'IsActive' must be of type boolean and should not be enclosed in quotes"},
		{"number for a boolean", "SELECT Id FROM User WHERE IsActive = 1", "INVALID_FIELD", "ERROR at Row:1:Column:38", "value of filter criterion for field 'IsActive' must be of type boolean and should not be enclosed in quotes"},
		{"string for a date", "SELECT Id FROM User WHERE HireDate__c = '2020-01-01'", "INVALID_FIELD", "ERROR at Row:1:Column:41", "value of filter criterion for field 'HireDate__c' must be of type date and should not be enclosed in quotes"},
		{"datetime for a date", "SELECT Id FROM User WHERE HireDate__c = 2020-01-01T00:00:00Z", "INVALID_FIELD", "ERROR at Row:1:Column:41", "value of filter criterion for field 'HireDate__c' must be of type date and should not be enclosed in quotes"},
		{"string for a datetime", "SELECT Id FROM User WHERE CreatedDate > '2024-01-01T00:00:00Z'", "INVALID_FIELD", "ERROR at Row:1:Column:41", "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"},
		{"date for a datetime", "SELECT Id FROM User WHERE CreatedDate > 2024-01-01", "INVALID_FIELD", "ERROR at Row:1:Column:41", "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"},
		{"string for a double", "SELECT Id FROM User WHERE Score__c = '1'", "INVALID_FIELD", "ERROR at Row:1:Column:38", "value of filter criterion for field 'Score__c' must be of type double and should not be enclosed in quotes"},
		{"string for an int", "SELECT Id FROM User WHERE FailedLogins__c IN (1, '2')", "INVALID_FIELD", "ERROR at Row:1:Column:50", "value of filter criterion for field 'FailedLogins__c' must be of type int and should not be enclosed in quotes"},
		{"number for a string", "SELECT Id FROM User WHERE Username = 5", "INVALID_FIELD", "ERROR at Row:1:Column:38", "value of filter criterion for field 'Username' must be of type string and should be enclosed in quotes"},
		{"boolean for a string", "SELECT Id FROM User WHERE Username IN ('a', true)", "INVALID_FIELD", "ERROR at Row:1:Column:45", "value of filter criterion for field 'Username' must be of type string and should be enclosed in quotes"},
		{"the field named is the last segment", "SELECT Id FROM User WHERE Profile.Name = 5", "INVALID_FIELD", "ERROR at Row:1:Column:42", "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"},
		{"LIKE on a number", "SELECT Id FROM User WHERE Score__c LIKE '1%'", "MALFORMED_QUERY", "ERROR at Row:1:Column:36", "invalid operator on field 'Score__c': LIKE applies to text fields only"},
		{"LIKE with a number", "SELECT Id FROM User WHERE Username LIKE 5", "INVALID_FIELD", "ERROR at Row:1:Column:41", "value of filter criterion for field 'Username' must be of type string and should be enclosed in quotes"},
		{"malformed id", "SELECT Id FROM User WHERE ProfileId = 'abc'", "MALFORMED_QUERY", "ERROR at Row:1:Column:39", "invalid ID field: abc"},
		{"id of 16 characters", "SELECT Id FROM User WHERE ProfileId IN ('00e000000000001', '00e0000000000012')", "MALFORMED_QUERY", "ERROR at Row:1:Column:60", "invalid ID field: 00e0000000000012"},
		{"id with punctuation", "SELECT Id FROM User WHERE Profile.Id = '00e00000000000-'", "MALFORMED_QUERY", "ERROR at Row:1:Column:40", "invalid ID field: 00e00000000000-"},
		{"number for an id", "SELECT Id FROM User WHERE ProfileId = 5", "INVALID_FIELD", "ERROR at Row:1:Column:39", "value of filter criterion for field 'ProfileId' must be of type id and should be enclosed in quotes"},
		{"LIKE on an id", "SELECT Id FROM User WHERE ProfileId LIKE '00e%'", "MALFORMED_QUERY", "ERROR at Row:1:Column:37", "invalid operator on field 'ProfileId': LIKE applies to text fields only"},
		{"ordering a boolean", "SELECT Id FROM User WHERE IsActive > false", "MALFORMED_QUERY", "ERROR at Row:1:Column:36", "invalid operator on field 'IsActive': a boolean can only be compared with = or !="},

		// Limits.
		{"OFFSET over 2000", "SELECT Id FROM Profile OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "", "Maximum SOQL offset allowed for apiName Profile is 2000"},
		{"duplicate parent field", "SELECT Profile.Name, PROFILE.name FROM User", "INVALID_FIELD", "", "duplicate field selected: Profile.Name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.query, testSchema{})
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.query, q)
			}
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("Parse error = %T %v, want an *Error", err, err)
			}
			if got.Code != tt.wantCode {
				t.Errorf("Code = %s, want %s (message %q)", got.Code, tt.wantCode, got.Message)
			}
			if tt.wantPos == "" {
				if got.Message != tt.wantDetail {
					t.Errorf("Message = %q, want %q", got.Message, tt.wantDetail)
				}
				return
			}
			m := splitMessage(t, got.Message)
			if diff := cmp.Diff(positioned{Position: tt.wantPos, Detail: tt.wantDetail}, positioned{Position: m.Position, Detail: m.Detail}); diff != "" {
				t.Errorf("message mismatch (-want +got):\n%s\nwhole message: %q", diff, got.Message)
			}
		})
	}
}

func TestParseRefusesOverlongQuery(t *testing.T) {
	q := "SELECT Id FROM User WHERE Username = '" + strings.Repeat("é", MaxQueryLength) + "'"
	_, err := Parse(q, testSchema{})
	var got *Error
	if !errors.As(err, &got) || got.Code != CodeMalformedQuery || !strings.Contains(got.Message, "cannot exceed 100000 characters") {
		t.Fatalf("Parse(overlong) error = %v, want MALFORMED_QUERY about the length", err)
	}
}

// TestErrorWindow checks how the quoted part of the query and the caret are
// placed: tokens up to 44 characters before the error and four after it.
func TestErrorWindow(t *testing.T) {
	long := "SELECT Id, Username, Email, LastName, FederationIdentifier, IsActive, ProfileId, UserRoleId, Nope, CreatedDate FROM User"
	tests := []struct {
		name  string
		query string
		want  positioned
	}{
		{
			name:  "short line quoted whole",
			query: "SELECT Id FROM User WHERE Nope = 1",
			want: positioned{
				Window:   "SELECT Id FROM User WHERE Nope = 1",
				Caret:    "                          ^",
				Position: "ERROR at Row:1:Column:27",
			},
		},
		{
			name:  "long line cut to tokens around the error, never starting on a comma",
			query: long,
			want: positioned{
				Window:   "IsActive, ProfileId, UserRoleId, Nope, CreatedDate FROM User",
				Caret:    strings.Repeat(" ", 33) + "^",
				Position: "ERROR at Row:1:Column:94",
			},
		},
		{
			name:  "at most four tokens after the error",
			query: "SELECT Id, Nope, Username, Email, LastName, IsActive FROM User",
			want: positioned{
				Window:   "SELECT Id, Nope, Username, Email",
				Caret:    strings.Repeat(" ", 11) + "^",
				Position: "ERROR at Row:1:Column:12",
			},
		},
		{
			name:  "a character no token starts with, far into a long line",
			query: strings.Repeat("SELECT Id FROM User WHERE ", 3) + "Username = #" + strings.Repeat("x", 200),
			want: positioned{
				Window:   "WHERE SELECT Id FROM User WHERE Username = #" + strings.Repeat("x", 43),
				Caret:    strings.Repeat(" ", 42) + "^",
				Position: "ERROR at Row:1:Column:89",
			},
		},
		{
			name:  "only the error's line of a multi-line query",
			query: "SELECT Id\r\nFROM User\r\nWHERE Nope = 1",
			want: positioned{
				Window:   "WHERE Nope = 1",
				Caret:    "      ^",
				Position: "ERROR at Row:3:Column:7",
			},
		},
		{
			name:  "columns count UTF-16 units, as Salesforce's Java does",
			query: "SELECT Id FROM User WHERE Username = '😀' AND Nope = 1",
			want: positioned{
				Window:   "Id FROM User WHERE Username = '😀' AND Nope = 1",
				Caret:    strings.Repeat(" ", 39) + "^",
				Position: "ERROR at Row:1:Column:47",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.query, testSchema{})
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("Parse error = %v, want an *Error", err)
			}
			m := splitMessage(t, got.Message)
			m.Detail = ""
			if diff := cmp.Diff(tt.want, m); diff != "" {
				t.Errorf("window mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

package soql

import (
	"errors"
	"strings"
	"testing"
)

// realisticQueries seed the fuzzers: what syncd and jsforce send, and near misses.
var realisticQueries = []string{
	"SELECT Id, Username, Email, IsActive, FederationIdentifier, Profile.Name, UserRole.Name FROM User WHERE IsActive = true ORDER BY Username LIMIT 2000",
	"SELECT COUNT() FROM User WHERE Profile.Name = 'System Administrator' AND IsActive = true",
	"SELECT Id FROM User WHERE FederationIdentifier IN ('a@x.com', 'b@x.com', null) AND (NOT Username LIKE '%\\_sandbox%')",
	"select id from user where (createddate > 2024-01-01T00:00:00Z or LastLoginDate < 2024-01-01T00:00:00.000+05:30) order by CreatedDate desc nulls last, Id offset 10",
	"SELECT Id FROM User WHERE HireDate__c >= 2020-01-01 AND Score__c != -1.5 AND FailedLogins__c NOT IN (1, 2, 3)",
	"SELECT Id FROM User WHERE Username = 'o\\'brien\\u00e9\\n' AND Email <> null",
	"SELECT Profile.UserLicense.Name FROM User WHERE NOT (IsActive = false OR Email = null)",
	"SELECT Id FROM User WHERE ((((IsActive = true))))",
	"SELECT Id, FROM User",
	"SELECT Id FROM User WHERE a = 1 AND b = 2 OR c = 3",
	"SELECT Id FROM User WHERE Username = 'unterminated",
	"SELECT Id FROM Nope WHERE Id = $x;",
	"SELECT COUNT(Id) FROM User GROUP BY Id",
	"SELECT Id FROM User OFFSET 2001",
	"SELECT Id FROM User WHERE CreatedDate > 2024-02-30T99:00:00Z",
	"",
}

func FuzzParse(f *testing.F) {
	for _, q := range realisticQueries {
		f.Add(q)
	}
	users := testUsers()
	f.Fuzz(func(t *testing.T, query string) {
		q, err := Parse(query, testSchema{})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %T is not an *Error", query, err)
			}
			switch e.Code {
			case CodeMalformedQuery, CodeInvalidField, CodeInvalidType, CodeNumberOutsideRange, CodeQueryTooComplicated:
			default:
				t.Fatalf("Parse(%q) error code %q is not one Salesforce sends for a query", query, e.Code)
			}
			if e.Message == "" {
				t.Fatalf("Parse(%q) error has no message", query)
			}
			return
		}
		if q.Object == nil || q.Count == (len(q.Fields) > 0) {
			t.Fatalf("Parse(%q) = %+v: needs an object and either COUNT() or fields", query, q)
		}
		got := q.Run(users)
		if q.Limit >= 0 && len(got) > q.Limit {
			t.Fatalf("Run returned %d records over LIMIT %d", len(got), q.Limit)
		}
		for _, r := range got {
			if !q.Match(r) {
				t.Fatalf("Run returned %s, which the WHERE clause does not match", id(r))
			}
		}
	})
}

func FuzzStringLiteral(f *testing.F) {
	for _, s := range []string{"", "o'brien", "a\\b", "\x00\n\u2028", "😀", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := roundTrip(s); err != nil {
			t.Fatal(err)
		}
		// Whatever follows a quote, decoding never panics and fails only as an *Error.
		if _, err := UnquoteString("'" + s); err != nil {
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(e.Code, "MALFORMED_QUERY") {
				t.Fatalf("UnquoteString error = %v, want MALFORMED_QUERY", err)
			}
		}
	})
}

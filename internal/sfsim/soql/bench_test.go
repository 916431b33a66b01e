package soql

import (
	"strconv"
	"testing"
	"time"
)

const benchQuery = "SELECT Id, Username, Email, IsActive, FederationIdentifier, Profile.Name, UserRole.Name FROM User " +
	"WHERE IsActive = true AND (Username LIKE '%@example.com' OR FederationIdentifier IN ('a', 'b', 'c')) " +
	"ORDER BY LastName DESC NULLS LAST, Username LIMIT 2000 OFFSET 100"

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchQuery, testSchema{}); err != nil {
			b.Fatal(err)
		}
	}
}

// orgOf builds n users over two profiles, two thirds of them active, with
// mixed-case names so folding is exercised.
func orgOf(n int) []Record {
	admin := &rec{fields: map[string]any{"Id": "00e1", "Name": "System Administrator"}}
	standard := &rec{fields: map[string]any{"Id": "00e2", "Name": "Standard User"}}
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]Record, n)
	for i := range rows {
		s := strconv.Itoa(i)
		profile := standard
		if i%10 == 0 {
			profile = admin
		}
		domain := "@example.com"
		if i%3 == 0 {
			domain = "@Example.ORG"
		}
		rows[i] = &rec{fields: map[string]any{
			"Id": "005" + s, "Username": "User" + s + domain, "Email": "user" + s + domain,
			"LastName": "Last" + strconv.Itoa(n-i), "FederationIdentifier": "fed" + s,
			"IsActive": i%3 != 1, "CreatedDate": created.Add(time.Duration(i) * time.Minute),
		}, parents: map[string]*rec{"Profile": profile}}
	}
	return rows
}

func benchmarkRun(b *testing.B, query string) {
	rows := orgOf(100_000)
	q, err := Parse(query, testSchema{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		q.Run(rows)
	}
}

// BenchmarkRun100k is the simulator's heaviest realistic query over 100k users:
// a filter with LIKE and IN, a two-key sort, OFFSET and LIMIT.
func BenchmarkRun100k(b *testing.B) { benchmarkRun(b, benchQuery) }

// BenchmarkRun100kFilterOnly is a paging query's shape: filter, no sort.
func BenchmarkRun100kFilterOnly(b *testing.B) {
	benchmarkRun(b, "SELECT Id FROM User WHERE Profile.Name = 'standard user' AND CreatedDate > 2024-01-15T00:00:00Z")
}

// BenchmarkRun100kLongIN is a lookup of 1000 usernames at once.
func BenchmarkRun100kLongIN(b *testing.B) {
	query := "SELECT Id FROM User WHERE Username IN ("
	for i := range 1000 {
		if i > 0 {
			query += ", "
		}
		query += "'user" + strconv.Itoa(i*97) + "@example.com'"
	}
	benchmarkRun(b, query+")")
}

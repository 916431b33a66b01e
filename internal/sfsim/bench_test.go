package sfsim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func benchUsers(n int) []SeedUser {
	users := make([]SeedUser, n)
	for i := range users {
		users[i] = SeedUser{Username: fmt.Sprintf("user%06d@acme.example.com", i), FirstName: "First", LastName: fmt.Sprintf("User%06d", i),
			FederationIdentifier: fmt.Sprintf("E%06d", i), Department: "Engineering"}
	}
	return users
}

// BenchmarkAddUsers100k measures seeding an org of 100,000 users, as the client's
// benchmarks do.
func BenchmarkAddUsers100k(b *testing.B) {
	users := benchUsers(100000)
	b.ReportAllocs()
	for b.Loop() {
		sim, err := New(Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := sim.SetSeats("Salesforce", 100010); err != nil {
			b.Fatal(err)
		}
		if _, err := sim.AddUsers(users...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFullRead100k measures reading every user of a 100,000-user org through
// query and nextRecordsUrl, the reconcile loop's full read.
func BenchmarkFullRead100k(b *testing.B) {
	sim, err := New(Options{APIMax: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	if err := sim.SetSeats("Salesforce", 100010); err != nil {
		b.Fatal(err)
	}
	if _, err := sim.AddUsers(benchUsers(100000)...); err != nil {
		b.Fatal(err)
	}
	sim.sessions["bench"] = session{userID: sim.IntegrationUserID(), expires: sim.now().AddDate(1, 0, 0)}
	q := testVersion + "/query?q=" + url.QueryEscape("SELECT Id, Username, FirstName, LastName, Email, IsActive, FederationIdentifier, Department, Profile.Name, SystemModstamp FROM User")
	get := func(target string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "http://sfsim.test"+target, nil)
		req.Header.Set("Authorization", "Bearer bench")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		return rec
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := get(q)
		pages := 1
		for next := nextURL(rec.Body.Bytes()); next != ""; next = nextURL(rec.Body.Bytes()) {
			rec = get(next)
			pages++
		}
		if pages != 51 {
			b.Fatalf("%d pages", pages)
		}
	}
}

// nextURL pulls nextRecordsUrl out of a page without decoding its records.
func nextURL(page []byte) string {
	const key = `"nextRecordsUrl":"`
	s := string(page[:min(len(page), 200)])
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	s = s[i+len(key):]
	return s[:strings.Index(s, `"`)]
}

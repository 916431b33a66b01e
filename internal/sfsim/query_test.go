package sfsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// page is one page of a query answer.
type page struct {
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl"`
	Records        []map[string]any `json:"records"`
}

func (h *harness) query(soql string, header ...string) (int, page, []byte) {
	h.t.Helper()
	status, _, body := h.do("GET", testVersion+"/query?q="+url.QueryEscape(soql), nil, header...)
	var p page
	if status == 200 {
		if err := json.Unmarshal(body, &p); err != nil {
			h.t.Fatalf("page %s: %v", body, err)
		}
	}
	return status, p, body
}

func (h *harness) next(p page, header ...string) (int, page, []byte) {
	h.t.Helper()
	status, _, body := h.do("GET", p.NextRecordsURL, nil, header...)
	var next page
	if status == 200 {
		if err := json.Unmarshal(body, &next); err != nil {
			h.t.Fatalf("page %s: %v", body, err)
		}
	}
	return status, next, body
}

func seedUsers(t *testing.T, sim *Server, n int) []string {
	t.Helper()
	users := make([]SeedUser, n)
	for i := range users {
		users[i] = SeedUser{Username: fmt.Sprintf("user%05d@acme.example.com", i), LastName: fmt.Sprintf("User%05d", i),
			FederationIdentifier: fmt.Sprintf("E%05d", i)}
	}
	if err := sim.SetSeats("Salesforce", int64(n+10)); err != nil {
		t.Fatal(err)
	}
	ids, err := sim.AddUsers(users...)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestQueryPaging(t *testing.T) {
	h := newHarness(t, Options{})
	seedUsers(t, h.sim, 4500)
	total := 4501 // and the integration user

	tests := []struct {
		name   string
		header []string
		pages  []int
	}{
		{"default batch", nil, []int{2000, 2000, 501}},
		{"batchSize 1000", []string{"Sforce-Query-Options", "batchSize=1000"}, []int{1000, 1000, 1000, 1000, 501}},
		{"batchSize below 200 is raised", []string{"Sforce-Query-Options", "batchSize=50"}, nil},
		{"batchSize above 2000 is lowered", []string{"Sforce-Query-Options", "batchSize=5000"}, []int{2000, 2000, 501}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, p, body := h.query("SELECT Id, Username FROM User", tt.header...)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			var sizes []int
			seen := map[string]bool{}
			for {
				if p.TotalSize != total {
					t.Fatalf("totalSize %d, want %d", p.TotalSize, total)
				}
				sizes = append(sizes, len(p.Records))
				for _, r := range p.Records {
					seen[r["Id"].(string)] = true
				}
				if p.Done {
					if p.NextRecordsURL != "" {
						t.Fatalf("done page with nextRecordsUrl %q", p.NextRecordsURL)
					}
					break
				}
				if !strings.HasPrefix(p.NextRecordsURL, testVersion+"/query/01g") {
					t.Fatalf("nextRecordsUrl %q", p.NextRecordsURL)
				}
				if status, p, body = h.next(p, tt.header...); status != 200 {
					t.Fatalf("next: %d %s", status, body)
				}
			}
			if len(seen) != total {
				t.Errorf("%d distinct records, want %d", len(seen), total)
			}
			if tt.pages == nil {
				if sizes[0] != 200 {
					t.Errorf("first page %d, want 200", sizes[0])
				}
				return
			}
			if diff := cmp.Diff(tt.pages, sizes); diff != "" {
				t.Errorf("page sizes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueryCursorIsASnapshot(t *testing.T) {
	h := newHarness(t, Options{})
	ids := seedUsers(t, h.sim, 2100)
	_, p, _ := h.query("SELECT Id, Title FROM User WHERE Username LIKE 'user%' ORDER BY Username DESC")
	// Change the last user the next page will show.
	last := ids[0]
	if status, _, body := h.do("PATCH", testVersion+"/sobjects/User/"+last, `{"Title":"Changed"}`); status != 204 {
		t.Fatalf("patch: %d %s", status, body)
	}
	_, p2, _ := h.next(p)
	got := p2.Records[len(p2.Records)-1]
	if got["Id"] != last || got["Title"] != nil {
		t.Errorf("last record %v, want %s as it was when queried", got, last)
	}

	// Unknown, tampered and idle locators.
	for _, path := range []string{
		testVersion + "/query/01gSm0000000001AAA-2000",
		p.NextRecordsURL[:len(p.NextRecordsURL)-4] + "9999",
		p.NextRecordsURL[:len(p.NextRecordsURL)-4] + "abc",
	} {
		status, _, body := h.do("GET", path, nil)
		if status != 400 || !cmp.Equal(errorCodes(t, body), []string{"INVALID_QUERY_LOCATOR"}) {
			t.Errorf("%s: %d %s", path, status, body)
		}
	}
	h.clock.Advance(16 * time.Minute)
	h.token = h.login()
	if status, _, body := h.next(p); status != 400 || !cmp.Equal(errorCodes(t, body), []string{"INVALID_QUERY_LOCATOR"}) {
		t.Errorf("idle cursor: %d %s", status, body)
	}
}

func TestQueryRendering(t *testing.T) {
	h := newHarness(t, Options{})
	login := time.Date(2013, 5, 20, 20, 49, 32, 0, time.UTC)
	if _, err := h.sim.AddUsers(
		SeedUser{Username: "boss@acme.example.com", FirstName: "Ada", LastName: "Boss", Role: "CEO", LastLoginDate: &login},
		SeedUser{Username: "free@acme.example.com", LastName: "Free", Profile: "Chatter Free User", Manager: "boss@acme.example.com"},
	); err != nil {
		t.Fatal(err)
	}
	_, p, body := h.query("select id, USERNAME, Profile.Name, UserRole.Name, IsActive, LastLoginDate, UserType, Manager.Username, Profile.UserLicense.Name from user where username like '%acme.example.com' order by username")
	if len(p.Records) != 2 {
		t.Fatalf("records: %s", body)
	}
	// Field order and nesting are checked on the raw JSON: SELECT order, canonical names.
	raw := string(body)
	bossID, _ := h.sim.User("boss@acme.example.com")
	freeID, _ := h.sim.User("free@acme.example.com")
	adminProfile, _ := h.sim.ProfileID("Standard User")
	ceo, _ := h.sim.RoleID("CEO")
	wantBoss := `{"attributes":{"type":"User","url":"/services/data/v67.0/sobjects/User/` + bossID.ID + `"},` +
		`"Id":"` + bossID.ID + `","Username":"boss@acme.example.com",` +
		`"Profile":{"attributes":{"type":"Profile","url":"/services/data/v67.0/sobjects/Profile/` + adminProfile + `"},"Name":"Standard User",` +
		`"UserLicense":{"attributes":{"type":"UserLicense","url":"/services/data/v67.0/sobjects/UserLicense/` +
		h.licenseID("Salesforce") + `"},"Name":"Salesforce"}},` +
		`"UserRole":{"attributes":{"type":"UserRole","url":"/services/data/v67.0/sobjects/UserRole/` + ceo + `"},"Name":"CEO"},` +
		`"IsActive":true,"LastLoginDate":"2013-05-20T20:49:32.000+0000","UserType":"Standard","Manager":null}`
	if !strings.Contains(raw, wantBoss) {
		t.Errorf("boss rendered as\n%s\nwant\n%s", raw, wantBoss)
	}
	if !strings.Contains(raw, `"UserRole":null,"IsActive":true,"LastLoginDate":null,"UserType":"CsnOnly","Manager":{"attributes":{"type":"User","url":"/services/data/v67.0/sobjects/User/`+bossID.ID+`"},"Username":"boss@acme.example.com"}`) {
		t.Errorf("chatter user rendered as\n%s", raw)
	}
	_ = freeID
}

func (h *harness) licenseID(name string) string {
	h.sim.mu.Lock()
	defer h.sim.mu.Unlock()
	l, _ := h.sim.org.findByName(h.sim.schema.license, name)
	return l.id()
}

func TestQueryObjectsAndCount(t *testing.T) {
	h := newHarness(t, Options{})
	seed, err := ParseSeed(mustRead(t, "testdata/seed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sim.ApplySeed(seed); err != nil {
		t.Fatal(err)
	}
	frozen, _ := h.sim.User("frozen@acme.example.com")
	tests := []struct {
		soql  string
		total int
	}{
		{"SELECT COUNT() FROM User", 7},
		{"SELECT COUNT() FROM User WHERE IsActive = false", 1},
		{"SELECT Id, Name FROM Profile WHERE Name = 'system administrator'", 1},
		{"SELECT Id, Name, ParentRole.Name FROM UserRole WHERE ParentRole.Name = 'CEO'", 3},
		{"SELECT Id FROM UserLogin WHERE UserId = '" + frozen.ID + "' AND IsFrozen = true", 1},
		{"SELECT Id, Name, TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = 'Salesforce'", 1},
		{"SELECT Id FROM PermissionSetAssignment WHERE PermissionSet.Name = 'Case_Admin' AND Assignee.Username = 'lead@acme.example.com'", 1},
		{"SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = false", 3},
		{"SELECT Id FROM User WHERE LastLoginDate < 2026-01-01T00:00:00Z", 1},
		{"SELECT Id FROM User WHERE FederationIdentifier IN ('e0001', 'E0002')", 2},
		{"SELECT Id FROM User ORDER BY Username LIMIT 2 OFFSET 1", 2},
		{"SELECT Id FROM User WHERE Id = '" + frozen.ID[:15] + "'", 1},
		{"SELECT Id FROM User WHERE Id = '" + strings.ToLower(frozen.ID[:15]) + "'", 0},
		{"SELECT Id FROM UserLogin WHERE UserId = '" + frozen.ID[:15] + "'", 1},
	}
	for _, tt := range tests {
		t.Run(tt.soql, func(t *testing.T) {
			status, p, body := h.query(tt.soql)
			if status != 200 || p.TotalSize != tt.total || !p.Done {
				t.Fatalf("status %d totalSize %d, want %d: %s", status, p.TotalSize, tt.total, body)
			}
			if strings.HasPrefix(tt.soql, "SELECT COUNT()") && string(body) != fmt.Sprintf(`{"totalSize":%d,"done":true,"records":[]}`, tt.total) {
				t.Errorf("COUNT answer %s", body)
			}
		})
	}
	_, p, _ := h.query("SELECT TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = 'Salesforce'")
	if diff := cmp.Diff(map[string]any{"TotalLicenses": 50.0, "UsedLicenses": 6.0}, p.Records[0], ignoreAttributes()); diff != "" {
		t.Errorf("license (-want +got):\n%s", diff)
	}
}

func TestQueryErrors(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct{ q, code string }{
		{"", "MALFORMED_QUERY"},
		{"SELEKT Id FROM User", "MALFORMED_QUERY"},
		{"SELECT Foo FROM User", "INVALID_FIELD"},
		{"SELECT Id FROM Invoice__c", "INVALID_TYPE"},
		{"SELECT Id FROM User OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"},
		{"SELECT Id FROM User WHERE Username = 'a\\qb'", "MALFORMED_QUERY"},
		{"SELECT Id FROM User WHERE Id = 'garbage'", "MALFORMED_QUERY"},
		{"SELECT Id, Id FROM User", "INVALID_FIELD"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			status, _, body := h.do("GET", testVersion+"/query?q="+url.QueryEscape(tt.q), nil)
			if status != 400 || !cmp.Equal(errorCodes(t, body), []string{tt.code}) {
				t.Errorf("status %d body %s, want %s", status, body, tt.code)
			}
		})
	}
}

func TestWriteJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quo"te`, `back\slash`, "new\nline", "tab\t", "é ü 日本", "<b>&", "\x00\x1f\x7f", "\u2028"} {
		var b bytes.Buffer
		writeJSONString(&b, s)
		var got string
		if err := json.Unmarshal(b.Bytes(), &got); err != nil || got != s {
			t.Errorf("writeJSONString(%q) = %s, decodes to %q, %v", s, b.Bytes(), got, err)
		}
	}
}

func TestOpenCursorsAreBounded(t *testing.T) {
	h := newHarness(t, Options{})
	seedUsers(t, h.sim, 300)
	small := []string{"Sforce-Query-Options", "batchSize=200"}
	_, first, _ := h.query("SELECT Id FROM User", small...)
	var last page
	for range maxOpenCursors {
		_, last, _ = h.query("SELECT Id FROM User", small...)
	}
	if status, _, body := h.next(first); status != 400 || !cmp.Equal(errorCodes(t, body), []string{"INVALID_QUERY_LOCATOR"}) {
		t.Errorf("oldest cursor after %d newer ones: %d %.300s", maxOpenCursors, status, body)
	}
	if status, p, _ := h.next(last); status != 200 || !p.Done || len(p.Records) != 101 {
		t.Errorf("newest cursor: %d %+v", status, p.TotalSize)
	}
}

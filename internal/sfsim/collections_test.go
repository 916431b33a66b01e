package sfsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// result is one entry of a Collections answer, as a client reads it.
type result struct {
	ID      string        `json:"id"`
	Success bool          `json:"success"`
	Created *bool         `json:"created"`
	Errors  []recordError `json:"errors"`
}

func (h *harness) collection(method, path string, body any) (int, []result, []byte) {
	h.t.Helper()
	status, header, data := h.do(method, testVersion+path, body)
	if header.Get("Sforce-Limit-Info") == "" {
		h.t.Errorf("no Sforce-Limit-Info")
	}
	var out []result
	if status == 200 {
		if err := json.Unmarshal(data, &out); err != nil {
			h.t.Fatalf("answer %s: %v", data, err)
		}
	}
	return status, out, data
}

func typed(rec map[string]any, typ string) map[string]any {
	rec["attributes"] = map[string]any{"type": typ}
	return rec
}

func rolledBack() []recordError {
	return []recordError{{StatusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
		Message: "Record rolled back because not all records were valid and the request was using AllOrNone header", Fields: []string{}}}
}

func TestCollectionsCreate(t *testing.T) {
	h := newHarness(t, Options{})
	h.create(h.newUser("taken@acme.example.com"))
	records := []any{
		typed(h.newUser("one@acme.example.com"), "User"),
		typed(h.newUser("taken@acme.example.com"), "User"),
		typed(h.newUser("two@acme.example.com"), "User"),
		typed(h.newUser("two@acme.example.com"), "User"), // repeats the one before it
	}
	dupe := []recordError{{StatusCode: "DUPLICATE_USERNAME", Message: msgDuplicateUsername, Fields: []string{"Username"}}}

	used, _ := h.sim.APIUsage()
	status, got, data := h.collection("POST", "/composite/sobjects", map[string]any{"allOrNone": false, "records": records})
	if status != 200 || len(got) != 4 {
		t.Fatalf("status %d %s", status, data)
	}
	if after, _ := h.sim.APIUsage(); after != used+1 {
		t.Errorf("one Collections call spent %d calls", after-used)
	}
	want := []result{
		{ID: got[0].ID, Success: true, Errors: []recordError{}},
		{Errors: dupe},
		{ID: got[2].ID, Success: true, Errors: []recordError{}},
		{Errors: dupe},
	}
	if diff := cmp.Diff(want, got); diff != "" || !strings.HasPrefix(got[0].ID, "005") {
		t.Errorf("allOrNone false (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(data), `"statusCode":"DUPLICATE_USERNAME"`) || strings.Contains(string(data), "errorCode") {
		t.Errorf("per-record errors must use statusCode: %s", data)
	}

	count := h.sim.UserCount()
	records = []any{
		typed(h.newUser("three@acme.example.com"), "User"),
		typed(h.newUser("one@acme.example.com"), "User"),
	}
	status, got, data = h.collection("POST", "/composite/sobjects", map[string]any{"allOrNone": true, "records": records})
	if diff := cmp.Diff([]result{{Errors: rolledBack()}, {Errors: dupe}}, got); status != 200 || diff != "" {
		t.Errorf("allOrNone true: %d %s (-want +got):\n%s", status, data, diff)
	}
	if h.sim.UserCount() != count {
		t.Errorf("rolled back call left %d users, want %d", h.sim.UserCount(), count)
	}
	if _, ok := h.sim.User("three@acme.example.com"); ok {
		t.Error("rolled back user still there")
	}
	if h.sim.loginCount() != count {
		t.Errorf("%d UserLogin rows for %d users", h.sim.loginCount(), count)
	}
}

func (s *Server) loginCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.org.tables[s.schema.login].rows)
}

func TestCollectionsMalformed(t *testing.T) {
	h := newHarness(t, Options{})
	many := make([]any, 201)
	for i := range many {
		many[i] = typed(h.newUser(fmt.Sprintf("u%d@acme.example.com", i)), "User")
	}
	tests := []struct {
		name, method string
		body         any
		code         string
	}{
		{"more than 200", "POST", map[string]any{"records": many}, "EXCEEDED_ID_LIMIT"},
		{"no type", "POST", map[string]any{"records": []any{h.newUser("x@acme.example.com")}}, "INVALID_TYPE"},
		{"unknown type", "POST", map[string]any{"records": []any{typed(map[string]any{}, "Invoice__c")}}, "INVALID_TYPE"},
		{"no records", "POST", map[string]any{"allOrNone": true}, "INVALID_FIELD"},
		{"records not an array", "PATCH", `{"records":{}}`, "JSON_PARSER_ERROR"},
		{"allOrNone not a boolean", "POST", `{"allOrNone":"yes","records":[]}`, "JSON_PARSER_ERROR"},
		{"unknown key", "POST", `{"recs":[]}`, "JSON_PARSER_ERROR"},
		{"not JSON", "PATCH", `<xml/>`, "JSON_PARSER_ERROR"},
		{"a record that is not an object", "POST", `{"records":[1]}`, "JSON_PARSER_ERROR"},
		{"a null record", "POST", `{"records":[null]}`, "INVALID_TYPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, data := h.collection(tt.method, "/composite/sobjects", tt.body)
			if status != 400 || !cmp.Equal(errorCodes(t, data), []string{tt.code}) {
				t.Errorf("%d %s, want 400 %s", status, data, tt.code)
			}
		})
	}
	if h.sim.UserCount() != 1 {
		t.Errorf("%d users after refused calls", h.sim.UserCount())
	}
	status, _, data := h.collection("POST", "/composite/sobjects", map[string]any{"records": many[:200]})
	if status != 200 || h.sim.UserCount() != 201 {
		t.Errorf("200 records: %d, %d users: %.200s", status, h.sim.UserCount(), data)
	}
}

func TestCollectionsUpdate(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.create(h.newUser("a@acme.example.com"))
	b := h.create(h.newUser("b@acme.example.com"))
	login := h.sim.loginOf(t, "a@acme.example.com")
	records := []any{
		typed(map[string]any{"id": a, "Title": "A"}, "User"),
		typed(map[string]any{"Id": b[:15], "Alias": "waytoolongalias"}, "User"),
		typed(map[string]any{"Title": "no id"}, "User"),
		typed(map[string]any{"id": "005Sm0000000001", "Title": "x"}, "User"),
		typed(map[string]any{"id": "bogus", "Title": "x"}, "User"),
		// User is a setup object: the UserLogin goes in a call of its own, below.
		typed(map[string]any{"id": login, "IsFrozen": true}, "UserLogin"),
	}
	status, got, data := h.collection("PATCH", "/composite/sobjects", map[string]any{"records": records[:5]})
	if status != 200 || len(got) != 5 {
		t.Fatalf("%d %s", status, data)
	}
	status, frozen, data := h.collection("PATCH", "/composite/sobjects", map[string]any{"records": records[5:]})
	if status != 200 || len(frozen) != 1 {
		t.Fatalf("UserLogin: %d %s", status, data)
	}
	got = append(got, frozen...)
	codes := make([]string, len(got))
	for i, r := range got {
		if !r.Success {
			codes[i] = r.Errors[0].StatusCode
		}
	}
	if diff := cmp.Diff([]string{"", "STRING_TOO_LONG", "MISSING_ARGUMENT", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID", ""}, codes); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
	if got[0].ID != a || got[1].ID != b {
		t.Errorf("ids %q %q", got[0].ID, got[1].ID)
	}
	if u, _ := h.sim.User(a); u.Fields["Title"] != "A" || !u.IsFrozen {
		t.Errorf("user a %+v", u)
	}

	// allOrNone: the valid update is undone.
	records = []any{
		typed(map[string]any{"id": a, "Title": "B"}, "User"),
		typed(map[string]any{"id": b, "Email": "nope"}, "User"),
	}
	status, got, _ = h.collection("PATCH", "/composite/sobjects", map[string]any{"allOrNone": true, "records": records})
	if status != 200 || got[0].Success || got[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" || got[0].ID != a {
		t.Errorf("allOrNone: %+v", got)
	}
	if u, _ := h.sim.User(a); u.Fields["Title"] != "A" {
		t.Errorf("title %v after rollback, want A", u.Fields["Title"])
	}
}

func TestCollectionsUpsert(t *testing.T) {
	h := newHarness(t, Options{})
	seed, _ := ParseSeed(mustRead(t, "testdata/seed.json"))
	if err := h.sim.ApplySeed(seed); err != nil {
		t.Fatal(err)
	}
	ceo, _ := h.sim.User("ceo@acme.example.com")
	newRec := typed(h.newUser("fresh@acme.example.com"), "User")
	newRec["FederationIdentifier"] = "F-NEW"
	records := []any{
		newRec,
		typed(map[string]any{"FederationIdentifier": "e0001", "Title": "Chief"}, "User"),
		typed(map[string]any{"FederationIdentifier": "SHARED-1", "Title": "x"}, "User"),
		typed(map[string]any{"Title": "no key"}, "User"),
	}
	status, got, data := h.collection("PATCH", "/composite/sobjects/User/FederationIdentifier", map[string]any{"records": records})
	if status != 200 || len(got) != 4 {
		t.Fatalf("%d %s", status, data)
	}
	yes, no := true, false
	twin1, _ := h.sim.User("twin1@acme.example.com")
	twin2, _ := h.sim.User("twin2@acme.example.com")
	want := []result{
		{ID: got[0].ID, Success: true, Created: &yes, Errors: []recordError{}},
		{ID: ceo.ID, Success: true, Created: &no, Errors: []recordError{}},
		{Errors: []recordError{{StatusCode: "DUPLICATE_EXTERNAL_ID", Fields: []string{"FederationIdentifier"},
			Message: "FederationIdentifier: more than one record found for external id field: [" + twin1.ID + ", " + twin2.ID + "]"}}},
		{Errors: []recordError{{StatusCode: "MISSING_ARGUMENT", Message: "FederationIdentifier not specified", Fields: []string{"FederationIdentifier"}}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if u, _ := h.sim.User(ceo.ID); u.Fields["Title"] != "Chief" || u.Fields["FederationIdentifier"] != "E0001" {
		t.Errorf("ceo %v", u.Fields)
	}
	// allOrNone: the created record is gone (no id), the updated one keeps its id.
	count := h.sim.UserCount()
	rollback := []any{
		typed(map[string]any{"FederationIdentifier": "E0001", "Title": "Rolled back"}, "User"),
		typed(func() map[string]any {
			u := h.newUser("gone2@acme.example.com")
			u["FederationIdentifier"] = "F-GONE"
			return u
		}(), "User"),
		typed(map[string]any{"FederationIdentifier": "SHARED-1", "Title": "x"}, "User"),
	}
	status, got, data = h.collection("PATCH", "/composite/sobjects/User/FederationIdentifier", map[string]any{"allOrNone": true, "records": rollback})
	if status != 200 || len(got) != 3 || got[0].ID != ceo.ID || got[1].ID != "" ||
		got[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" || got[1].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" {
		t.Errorf("allOrNone upsert: %d %s", status, data)
	}
	if u, _ := h.sim.User(ceo.ID); u.Fields["Title"] != "Chief" || h.sim.UserCount() != count {
		t.Errorf("after rollback: title %v, %d users (want %d)", u.Fields["Title"], h.sim.UserCount(), count)
	}
	for _, path := range []string{"/composite/sobjects/User/Department", "/composite/sobjects/Account/Name"} {
		status, _, data := h.collection("PATCH", path, map[string]any{"records": records})
		if status < 400 || len(errorCodes(t, data)) != 1 {
			t.Errorf("%s: %d %s", path, status, data)
		}
	}
}

func TestCollectionsRetrieve(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.create(h.newUser("a@acme.example.com"))
	missing := "005Sm0000000001"
	want := `[{"attributes":{"type":"User","url":"/services/data/v67.0/sobjects/User/` + a + `"},"Username":"a@acme.example.com","IsActive":true},null]`
	status, _, body := h.do("POST", testVersion+"/composite/sobjects/User", map[string]any{"ids": []string{a[:15], missing}, "fields": []string{"username", "IsActive"}})
	if status != 200 || string(body) != want {
		t.Errorf("POST: %d\n got %s\nwant %s", status, body, want)
	}
	status, _, body = h.do("GET", testVersion+"/composite/sobjects/User?ids="+a+","+missing+"&fields=Username,IsActive", nil)
	if status != 200 || string(body) != want {
		t.Errorf("GET: %d %s", status, body)
	}
	for _, tt := range []struct {
		body any
		code string
	}{
		{map[string]any{"ids": []string{a}}, "MISSING_ARGUMENT"},
		{map[string]any{"ids": []string{a}, "fields": []string{"Nope"}}, "INVALID_FIELD"},
		{map[string]any{"ids": []string{"bogus"}, "fields": []string{"Id"}}, "MALFORMED_ID"},
		{map[string]any{"ids": "x", "fields": []string{"Id"}}, "JSON_PARSER_ERROR"},
	} {
		status, _, body := h.do("POST", testVersion+"/composite/sobjects/User", tt.body)
		if status != 400 || !cmp.Equal(errorCodes(t, body), []string{tt.code}) {
			t.Errorf("%v: %d %s, want %s", tt.body, status, body, tt.code)
		}
	}
}

func TestCollectionsDelete(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.create(h.newUser("a@acme.example.com"))
	status, got, data := h.collection("DELETE", "/composite/sobjects?ids="+a[:15]+",005Sm0000000001,bogus&allOrNone=true", nil)
	codes := []string{}
	for _, r := range got {
		if r.Success {
			t.Errorf("deleted %s", r.ID)
		}
		codes = append(codes, r.Errors[0].StatusCode)
	}
	if diff := cmp.Diff([]string{"INVALID_TYPE_FOR_OPERATION", "ENTITY_IS_DELETED", "MALFORMED_ID"}, codes); status != 200 || diff != "" {
		t.Errorf("%d %s (-want +got):\n%s", status, data, diff)
	}
	if got[0].ID != a {
		t.Errorf("id %q, want %q", got[0].ID, a)
	}
	if _, ok := h.sim.User(a); !ok {
		t.Error("user gone")
	}
	if status, _, data := h.collection("DELETE", "/composite/sobjects", nil); status != 400 || !cmp.Equal(errorCodes(t, data), []string{"MISSING_ARGUMENT"}) {
		t.Errorf("no ids: %d %s", status, data)
	}
}

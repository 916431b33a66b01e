package sfsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCreateUser(t *testing.T) {
	h := newHarness(t, Options{})
	status, header, body := h.do("POST", testVersion+"/sobjects/User", h.newUser("Jane.Doe@Example.COM"))
	if status != 201 || header.Get("Sforce-Limit-Info") != "api-usage=1/100000" {
		t.Fatalf("status %d header %v body %s", status, header, body)
	}
	var res map[string]any
	_ = json.Unmarshal(body, &res)
	id, _ := res["id"].(string)
	if diff := cmp.Diff(map[string]any{"id": id, "success": true, "errors": []any{}}, res); diff != "" || !strings.HasPrefix(id, "005") {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	u, ok := h.sim.User(id)
	if !ok {
		t.Fatal("created user not found")
	}
	now := h.clock.Now()
	want := map[string]any{
		"Username": "jane.doe@example.com", "Email": "Jane.Doe@Example.COM", "CommunityNickname": "jane.doe",
		"Name": "Jane Doe", "IsActive": true, "UserType": "Standard", "CreatedDate": now, "LastModifiedDate": now,
		"SystemModstamp": now, "CreatedById": h.sim.IntegrationUserID(), "LastLoginDate": nil,
	}
	for k, v := range want {
		if !cmp.Equal(u.Fields[k], v) {
			t.Errorf("%s = %v, want %v", k, u.Fields[k], v)
		}
	}

	// The nickname is generated unique; a Chatter Free user is CsnOnly.
	second := h.newUser("jane.doe@other.example.com")
	second["ProfileId"], _ = h.sim.ProfileID("Chatter Free User")
	u2, _ := h.sim.User(h.create(second))
	if u2.Fields["CommunityNickname"] != "jane.doe1" || u2.Fields["UserType"] != "CsnOnly" {
		t.Errorf("second user: nickname %v, type %v", u2.Fields["CommunityNickname"], u2.Fields["UserType"])
	}
	if _, ok := h.sim.User(u2.ID[:15]); !ok {
		t.Errorf("User(15-char id) not found")
	}
}

func TestCreateValidation(t *testing.T) {
	h := newHarness(t, Options{})
	h.create(h.newUser("taken@acme.example.com"))
	fed := h.newUser("fed@acme.example.com")
	fed["FederationIdentifier"] = "FED-1"
	fed["CommunityNickname"] = "fedder"
	fedID := h.create(fed)
	h.sim.AddTakenUsernames("elsewhere@other.example.com")
	standard, _ := h.sim.ProfileID("Standard User")
	role, _ := h.sim.RoleID("CEO")
	_ = role

	with := func(kv ...any) map[string]any {
		u := h.newUser("new@acme.example.com")
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(u, kv[i].(string))
			} else {
				u[kv[i].(string)] = kv[i+1]
			}
		}
		return u
	}
	tests := []struct {
		name   string
		body   any
		status int
		want   []wireError
	}{
		{"empty", map[string]any{}, 400, []wireError{{
			Message:   "Required fields are missing: [Username, LastName, Email, Alias, ProfileId, TimeZoneSidKey, LocaleSidKey, EmailEncodingKey, LanguageLocaleKey]",
			ErrorCode: "REQUIRED_FIELD_MISSING",
			Fields:    []string{"Username", "LastName", "Email", "Alias", "ProfileId", "TimeZoneSidKey", "LocaleSidKey", "EmailEncodingKey", "LanguageLocaleKey"},
		}}},
		{"blank last name", with("LastName", ""), 400, []wireError{{
			Message: "Required fields are missing: [LastName]", ErrorCode: "REQUIRED_FIELD_MISSING", Fields: []string{"LastName"}}}},
		{"long alias", with("Alias", "jonathans"), 400, []wireError{{
			Message: "Alias: data value too large: jonathans (max length=8)", ErrorCode: "STRING_TOO_LONG", Fields: []string{"Alias"}}}},
		{"long alias and bad email", with("Alias", "jonathans", "Email", "not-an-email"), 400, []wireError{
			{Message: "Email: invalid email address: not-an-email", ErrorCode: "INVALID_EMAIL_ADDRESS", Fields: []string{"Email"}},
			{Message: "Alias: data value too large: jonathans (max length=8)", ErrorCode: "STRING_TOO_LONG", Fields: []string{"Alias"}},
		}},
		{"username not an email", with("Username", "jdoe"), 400, []wireError{{
			Message: "Username: invalid email address: jdoe", ErrorCode: "INVALID_EMAIL_ADDRESS", Fields: []string{"Username"}}}},
		{"unknown profile", with("ProfileId", "00eSm0000000001"), 400, []wireError{{
			Message: "invalid cross reference id", ErrorCode: "INVALID_CROSS_REFERENCE_KEY", Fields: []string{"ProfileId"}}}},
		{"user id as profile", with("ProfileId", fedID), 400, []wireError{{
			Message: "Profile ID: id value of incorrect type: " + fedID, ErrorCode: "FIELD_INTEGRITY_EXCEPTION", Fields: []string{"ProfileId"}}}},
		{"malformed role", with("UserRoleId", "xyz"), 400, []wireError{{
			Message: "Role ID: id value of incorrect type: xyz", ErrorCode: "MALFORMED_ID", Fields: []string{"UserRoleId"}}}},
		{"unknown role", with("UserRoleId", "00ESm0000000001"), 400, []wireError{{
			Message: "invalid cross reference id", ErrorCode: "INVALID_CROSS_REFERENCE_KEY", Fields: []string{"UserRoleId"}}}},
		{"unknown field", with("Foo", "x"), 400, []wireError{{
			Message: "No such column 'Foo' on sobject of type User", ErrorCode: "INVALID_FIELD"}}},
		{"read-only fields", with("UserType", "Guest", "CreatedDate", "2020-01-01T00:00:00Z"), 400, []wireError{{
			Message:   "Unable to create/update fields: CreatedDate, UserType. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
			ErrorCode: "INVALID_FIELD_FOR_INSERT_UPDATE", Fields: []string{"CreatedDate", "UserType"}}}},
		{"bad picklist values", with("TimeZoneSidKey", "Mars/Olympus", "EmailEncodingKey", "EBCDIC", "LocaleSidKey", "English", "LanguageLocaleKey", "en-US"), 400, []wireError{
			{Message: "Time Zone: bad value for restricted picklist field: Mars/Olympus", ErrorCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", Fields: []string{"TimeZoneSidKey"}},
			{Message: "Locale: bad value for restricted picklist field: English", ErrorCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", Fields: []string{"LocaleSidKey"}},
			{Message: "Email Encoding: bad value for restricted picklist field: EBCDIC", ErrorCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", Fields: []string{"EmailEncodingKey"}},
			{Message: "Language: bad value for restricted picklist field: en-US", ErrorCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", Fields: []string{"LanguageLocaleKey"}},
		}},
		{"duplicate username", with("Username", "TAKEN@acme.example.com"), 400, []wireError{{
			Message: msgDuplicateUsername, ErrorCode: "DUPLICATE_USERNAME", Fields: []string{"Username"}}}},
		{"username taken in another org", with("Username", "elsewhere@other.example.com"), 400, []wireError{{
			Message: msgDuplicateUsername, ErrorCode: "DUPLICATE_USERNAME", Fields: []string{"Username"}}}},
		{"duplicate federation id", with("FederationIdentifier", "fed-1"), 400, []wireError{{
			Message:   "duplicate value found: FederationIdentifier duplicates value on record with id: " + fedID,
			ErrorCode: "DUPLICATE_VALUE", Fields: []string{"FederationIdentifier"}}}},
		{"duplicate nickname", with("CommunityNickname", "FEDDER"), 400, []wireError{{
			Message: msgDuplicateNickname, ErrorCode: "DUPLICATE_COMM_NICKNAME", Fields: []string{"CommunityNickname"}}}},
		{"object for a text field", `{"LastName":{"a":1}}`, 400, nil},
		{"string for a boolean", `{"IsActive":"maybe"}`, 400, nil},
		{"malformed JSON", `{"LastName":`, 400, nil},
		{"array body", `[]`, 400, nil},
		{"null body", `null`, 400, nil},
		{"trailing content", `{} {}`, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, body := h.do("POST", testVersion+"/sobjects/User", tt.body)
			if status != tt.status || header.Get("Sforce-Limit-Info") == "" {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			var got []wireError
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("not an error array: %s", body)
			}
			if tt.want == nil {
				if len(got) != 1 || got[0].ErrorCode != "JSON_PARSER_ERROR" {
					t.Errorf("got %s, want JSON_PARSER_ERROR", body)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// Coercions Salesforce accepts: numbers as text, "true" as a boolean.
	ok := with("EmployeeNumber", 4711, "IsActive", "false", "UserRoleId", role[:15], "TimeZoneSidKey", "GMT",
		"LocaleSidKey", "sr_Latn_RS", "LanguageLocaleKey", "zh_CN", "EmailEncodingKey", "Shift_JIS")
	u, _ := h.sim.User(h.create(ok))
	if u.Fields["EmployeeNumber"] != "4711" || u.IsActive || u.RoleName != "CEO" || u.Fields["UserRoleId"] != role {
		t.Errorf("coerced user %v", u.Fields)
	}
	if h.sim.UserCount() != 4 {
		t.Errorf("%d users, want 4: a failed create must leave nothing behind", h.sim.UserCount())
	}
	_ = standard
}

func TestGetUser(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.create(h.newUser("jd@acme.example.com"))
	status, _, body := h.do("GET", testVersion+"/sobjects/User/"+id[:15]+"?fields=Username,isactive,CreatedDate", nil)
	if status != 200 {
		t.Fatalf("status %d %s", status, body)
	}
	want := `{"attributes":{"type":"User","url":"/services/data/v67.0/sobjects/User/` + id +
		`"},"Username":"jd@acme.example.com","IsActive":true,"CreatedDate":"2026-11-27T09:30:00.000+0000"}`
	if string(body) != want {
		t.Errorf("got  %s\nwant %s", body, want)
	}
	status, _, body = h.do("GET", testVersion+"/sobjects/user/"+id, nil)
	var all map[string]any
	if err := json.Unmarshal(body, &all); err != nil || status != 200 || len(all) != len(h.sim.schema.user.fields)+1 {
		t.Errorf("whole record: %d %s", status, body)
	}
	for _, tt := range []struct {
		path   string
		status int
		code   string
	}{
		{"/sobjects/User/" + id + "?fields=Nope", 400, "INVALID_FIELD"},
		{"/sobjects/User/005Sm0000000001", 404, "NOT_FOUND"},
		{"/sobjects/User/garbage", 404, "NOT_FOUND"},
		{"/sobjects/User/" + id[:15] + "AAA", 404, "NOT_FOUND"},
		{"/sobjects/User/" + h.sim.OrgID(), 400, "MALFORMED_ID"},
		{"/sobjects/Nope/" + id, 404, "NOT_FOUND"},
	} {
		status, _, body := h.do("GET", testVersion+tt.path, nil)
		if status != tt.status || !cmp.Equal(errorCodes(t, body), []string{tt.code}) {
			t.Errorf("%s: %d %s, want %d %s", tt.path, status, body, tt.status, tt.code)
		}
	}
	profile, _ := h.sim.ProfileID("Read Only")
	if status, _, body := h.do("GET", testVersion+"/sobjects/Profile/"+profile+"?fields=Name,UserType", nil); status != 200 ||
		!strings.HasSuffix(string(body), `"Name":"Read Only","UserType":"Standard"}`) {
		t.Errorf("profile: %d %s", status, body)
	}
}

func TestUpdateUser(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.create(h.newUser("jd@acme.example.com"))
	h.clock.Advance(time.Hour)
	status, header, body := h.do("PATCH", testVersion+"/sobjects/User/"+id, `{"Title":"Boss","FirstName":"Janet","Username":"JANET@acme.example.com"}`)
	if status != 204 || len(body) != 0 || header.Get("Sforce-Limit-Info") == "" {
		t.Fatalf("status %d %s", status, body)
	}
	u, _ := h.sim.User(id)
	now := h.clock.Now()
	if u.Fields["Title"] != "Boss" || u.Fields["Name"] != "Janet Doe" || u.Username != "janet@acme.example.com" ||
		u.Fields["LastModifiedDate"] != now || u.Fields["SystemModstamp"] != now || u.Fields["CreatedDate"] == now {
		t.Errorf("after update %v", u.Fields)
	}
	for _, tt := range []struct {
		name, body, code string
	}{
		{"null required field", `{"LastName":null}`, "REQUIRED_FIELD_MISSING"},
		{"read-only field", `{"Id":"` + id + `"}`, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		{"long title", `{"Title":"` + strings.Repeat("x", 81) + `"}`, "STRING_TOO_LONG"},
		{"bad manager", `{"ManagerId":"005Sm0000000001"}`, "INVALID_CROSS_REFERENCE_KEY"},
	} {
		status, _, body := h.do("PATCH", testVersion+"/sobjects/User/"+id, tt.body)
		if status != 400 || !cmp.Equal(errorCodes(t, body), []string{tt.code}) {
			t.Errorf("%s: %d %s, want %s", tt.name, status, body, tt.code)
		}
	}
	// Unchanged values may be sent again: the user's own username is no duplicate.
	if status, _, body := h.do("PATCH", testVersion+"/sobjects/User/"+id, `{"Username":"janet@acme.example.com","ManagerId":"`+h.sim.IntegrationUserID()+`"}`); status != 204 {
		t.Errorf("same username: %d %s", status, body)
	}
	status, _, body = h.do("DELETE", testVersion+"/sobjects/User/"+id, nil)
	var got []wireError
	_ = json.Unmarshal(body, &got)
	if diff := cmp.Diff([]wireError{{Message: "HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD,PATCH", ErrorCode: "METHOD_NOT_ALLOWED"}}, got); status != 405 || diff != "" {
		t.Errorf("delete: %d (-want +got):\n%s", status, diff)
	}
	if _, ok := h.sim.User(id); !ok {
		t.Error("user gone after DELETE")
	}
}

func TestSeatsBlockersAndLastAdmin(t *testing.T) {
	h := newHarness(t, Options{})
	if err := h.sim.SetSeats("Salesforce", 3); err != nil {
		t.Fatal(err)
	}
	a := h.create(h.newUser("a@acme.example.com"))
	b := h.create(h.newUser("b@acme.example.com"))
	status, _, body := h.do("POST", testVersion+"/sobjects/User", h.newUser("c@acme.example.com"))
	var got []wireError
	_ = json.Unmarshal(body, &got)
	if diff := cmp.Diff([]wireError{{Message: "License Limit Exceeded", ErrorCode: "LICENSE_LIMIT_EXCEEDED"}}, got); status != 400 || diff != "" {
		t.Fatalf("over the seats: %d (-want +got):\n%s", status, diff)
	}
	// An inactive user needs no seat; deactivating frees one; reactivating needs one.
	inactive := h.newUser("c@acme.example.com")
	inactive["IsActive"] = false
	c := h.create(inactive)
	patch := func(id, body string) (int, []byte) {
		status, _, data := h.do("PATCH", testVersion+"/sobjects/User/"+id, body)
		return status, data
	}
	if status, body := patch(c, `{"IsActive":true}`); status != 400 || !cmp.Equal(errorCodes(t, body), []string{"LICENSE_LIMIT_EXCEEDED"}) {
		t.Errorf("reactivate without seat: %d %s", status, body)
	}
	if status, body := patch(a, `{"IsActive":false}`); status != 204 {
		t.Fatalf("deactivate: %d %s", status, body)
	}
	if used, total, _ := h.sim.Seats("Salesforce"); used != 2 || total != 3 {
		t.Errorf("seats %d/%d, want 2/3", used, total)
	}
	if status, body := patch(c, `{"IsActive":true}`); status != 204 {
		t.Errorf("reactivate with a free seat: %d %s", status, body)
	}
	// Moving an active user to a profile on another license takes a seat there.
	chatter, _ := h.sim.ProfileID("Chatter Free User")
	if status, body := patch(b, `{"ProfileId":"`+chatter+`"}`); status != 204 {
		t.Errorf("to chatter: %d %s", status, body)
	}
	if used, _, _ := h.sim.Seats("Salesforce"); used != 2 {
		t.Errorf("salesforce seats used %d, want 2", used)
	}
	if u, _ := h.sim.User(b); u.Fields["UserType"] != "CsnOnly" {
		t.Errorf("UserType after profile change %v", u.Fields["UserType"])
	}

	if err := h.sim.AddBlocker(c, BlockerDefaultCaseOwner); err != nil {
		t.Fatal(err)
	}
	status, body = patch(c, `{"IsActive":false}`)
	_ = json.Unmarshal(body, &got)
	if diff := cmp.Diff([]wireError{{
		Message:   "You cannot deactivate this user. You cannot deactivate a user who is the default owner of cases",
		ErrorCode: "FIELD_INTEGRITY_EXCEPTION", Fields: []string{"IsActive"}}}, got); status != 400 || diff != "" {
		t.Errorf("blocked: %d (-want +got):\n%s", status, diff)
	}
	// Freezing is not subject to blockers.
	if status, _, body := h.do("PATCH", testVersion+"/sobjects/UserLogin/"+h.sim.loginOf(t, "c@acme.example.com"), `{"IsFrozen":true}`); status != 204 {
		t.Errorf("freeze: %d %s", status, body)
	}
	if u, _ := h.sim.User(c); !u.IsFrozen || !u.IsActive {
		t.Errorf("frozen user %+v", u)
	}

	status, body = patch(h.sim.IntegrationUserID(), `{"IsActive":false}`)
	if status != 400 || !cmp.Equal(errorCodes(t, body), []string{"CANNOT_DISABLE_LAST_ADMIN"}) {
		t.Errorf("last admin: %d %s", status, body)
	}
	standard, _ := h.sim.ProfileID("Standard User")
	status, body = patch(h.sim.IntegrationUserID(), `{"ProfileId":"`+standard+`"}`)
	if status != 400 || !cmp.Equal(errorCodes(t, body), []string{"CANNOT_DISABLE_LAST_ADMIN"}) {
		t.Errorf("last admin's profile: %d %s", status, body)
	}
}

func TestUserLogin(t *testing.T) {
	h := newHarness(t, Options{})
	h.create(h.newUser("jd@acme.example.com"))
	login := h.sim.loginOf(t, "jd@acme.example.com")
	for _, tt := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"IsFrozen":true}`, 204, ""},
		{`{"IsFrozen":false,"IsPasswordLocked":false}`, 204, ""},
		{`{"IsPasswordLocked":true}`, 400, "FIELD_INTEGRITY_EXCEPTION"},
		{`{"UserId":"005Sm0000000001"}`, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		{`{"IsFrozen":"yes"}`, 400, "JSON_PARSER_ERROR"},
	} {
		status, _, body := h.do("PATCH", testVersion+"/sobjects/UserLogin/"+login, tt.body)
		if status != tt.status || (tt.code != "" && !cmp.Equal(errorCodes(t, body), []string{tt.code})) {
			t.Errorf("%s: %d %s, want %d %s", tt.body, status, body, tt.status, tt.code)
		}
	}
	profile, _ := h.sim.ProfileID("Read Only")
	if status, _, _ := h.do("PATCH", testVersion+"/sobjects/Profile/"+profile, `{}`); status != http.StatusMethodNotAllowed {
		t.Errorf("PATCH Profile: %d", status)
	}
}

func TestUpsert(t *testing.T) {
	h := newHarness(t, Options{})
	seed, _ := ParseSeed(mustRead(t, "testdata/seed.json"))
	if err := h.sim.ApplySeed(seed); err != nil {
		t.Fatal(err)
	}
	body := func(username string) map[string]any {
		u := h.newUser(username)
		return u
	}
	status, _, data := h.do("PATCH", testVersion+"/sobjects/User/FederationIdentifier/NEW-1", body("new1@acme.example.com"))
	var res map[string]any
	_ = json.Unmarshal(data, &res)
	id, _ := res["id"].(string)
	if diff := cmp.Diff(map[string]any{"id": id, "success": true, "errors": []any{}, "created": true}, res); status != 201 || diff != "" {
		t.Fatalf("insert: %d (-want +got):\n%s", status, diff)
	}
	if u, _ := h.sim.User(id); u.Fields["FederationIdentifier"] != "NEW-1" {
		t.Errorf("federation id %v", u.Fields["FederationIdentifier"])
	}
	status, _, data = h.do("PATCH", testVersion+"/sobjects/User/FederationIdentifier/new-1", `{"Title":"Updated"}`)
	res = nil
	_ = json.Unmarshal(data, &res)
	if diff := cmp.Diff(map[string]any{"id": id, "success": true, "errors": []any{}, "created": false}, res); status != 200 || diff != "" {
		t.Errorf("update: %d (-want +got):\n%s", status, diff)
	}
	if status, _, data := h.do("PATCH", "/services/data/v45.0/sobjects/User/FederationIdentifier/NEW-1", `{"Title":"Old API"}`); status != 204 || len(data) != 0 {
		t.Errorf("update on v45.0: %d %s", status, data)
	}
	twin1, _ := h.sim.User("twin1@acme.example.com")
	twin2, _ := h.sim.User("twin2@acme.example.com")
	status, _, data = h.do("PATCH", testVersion+"/sobjects/User/FederationIdentifier/SHARED-1", `{"Title":"Which?"}`)
	var urls []string
	_ = json.Unmarshal(data, &urls)
	if diff := cmp.Diff([]string{testVersion + "/sobjects/User/" + twin1.ID, testVersion + "/sobjects/User/" + twin2.ID}, urls); status != 300 || diff != "" {
		t.Errorf("several matches: %d (-want +got):\n%s", status, diff)
	}
	if u, _ := h.sim.User(twin1.ID); u.Fields["Title"] != nil {
		t.Error("a 300 changed a record")
	}
	for _, tt := range []struct {
		path, body string
		status     int
		code       string
	}{
		{"/sobjects/User/Department/x", `{}`, 404, "NOT_FOUND"},
		{"/sobjects/User/FederationIdentifier/NEW-2", `{"LastName":"Only"}`, 400, "REQUIRED_FIELD_MISSING"},
		{"/sobjects/User/FederationIdentifier/NEW-1", `{"FederationIdentifier":"OTHER"}`, 400, "INVALID_FIELD"},
		{"/sobjects/User/Id/005Sm0000000001", `{"Title":"x"}`, 404, "NOT_FOUND"},
	} {
		status, _, data := h.do("PATCH", testVersion+tt.path, tt.body)
		if status != tt.status || !cmp.Equal(errorCodes(t, data), []string{tt.code}) {
			t.Errorf("%s %s: %d %s, want %d %s", tt.path, tt.body, status, data, tt.status, tt.code)
		}
	}
	// GET by external id: one, several, none.
	if status, _, data := h.do("GET", testVersion+"/sobjects/User/Username/ceo@acme.example.com", nil); status != 200 || !strings.Contains(string(data), `"FederationIdentifier":"E0001"`) {
		t.Errorf("get by username: %d %s", status, data)
	}
	if status, _, _ := h.do("GET", testVersion+"/sobjects/User/FederationIdentifier/SHARED-1", nil); status != 300 {
		t.Errorf("get by shared federation id: %d", status)
	}
	if status, _, _ := h.do("GET", testVersion+"/sobjects/User/FederationIdentifier/NONE", nil); status != 404 {
		t.Errorf("get by unknown federation id: %d", status)
	}
}

func TestBodyLimit(t *testing.T) {
	h := newHarness(t, Options{MaxBodyBytes: 1024})
	huge := `{"LastName":"` + strings.Repeat("x", 4096) + `"}`
	for _, path := range []string{"/sobjects/User", "/composite/sobjects"} {
		status, header, body := h.do("POST", testVersion+path, huge)
		if status != http.StatusRequestEntityTooLarge || header.Get("Content-Type") != contentTypeJSON ||
			!cmp.Equal(errorCodes(t, body), []string{"REQUEST_ENTITY_TOO_LARGE"}) {
			t.Errorf("%s: %d %s", path, status, body)
		}
	}
}

func TestUpsertByOtherFields(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.create(h.newUser("jd@acme.example.com"))
	for _, tt := range []struct{ path, wantTitle string }{
		{"/sobjects/User/Email/JD@acme.example.com", "by email"},
		{"/sobjects/User/Username/jd@acme.example.com", "by username"},
		{"/sobjects/User/Id/" + id[:15], "by id"},
	} {
		status, _, body := h.do("PATCH", testVersion+tt.path, `{"Title":"`+tt.wantTitle+`"}`)
		if status != 200 || !strings.Contains(string(body), `"created":false`) {
			t.Errorf("%s: %d %s", tt.path, status, body)
		}
		if u, _ := h.sim.User(id); u.Fields["Title"] != tt.wantTitle {
			t.Errorf("%s: title %v", tt.path, u.Fields["Title"])
		}
	}
	records := []any{typed(map[string]any{"Id": id, "Department": "Ops"}, "User"), typed(map[string]any{"Id": "005Sm0000000001", "Department": "x"}, "User")}
	status, got, data := h.collection("PATCH", "/composite/sobjects/User/Id", map[string]any{"records": records})
	if status != 200 || !got[0].Success || got[1].Success || got[1].Errors[0].StatusCode != "NOT_FOUND" {
		t.Errorf("collections upsert by Id: %d %s", status, data)
	}
	profile, _ := h.sim.ProfileID("Read Only")
	if status, _, body := h.do("POST", testVersion+"/sobjects/Profile", map[string]any{"Name": "x"}); status != 405 ||
		!cmp.Equal(errorCodes(t, body), []string{"METHOD_NOT_ALLOWED"}) {
		t.Errorf("create a Profile: %d %s", status, body)
	}
	if status, _, _ := h.do("PATCH", testVersion+"/sobjects/Profile/Name/x", `{}`); status != 404 {
		t.Errorf("upsert a Profile: %d", status)
	}
	_ = profile
}

func TestGetUpdated(t *testing.T) {
	h := newHarness(t, Options{})
	t0 := h.clock.Now()
	a := h.create(h.newUser("a@acme.example.com"))
	h.clock.Advance(10 * time.Minute)
	b := h.create(h.newUser("b@acme.example.com"))
	h.clock.Advance(10 * time.Minute)
	h.do("PATCH", testVersion+"/sobjects/User/"+a, `{"Title":"again"}`)
	h.clock.Advance(90 * time.Second)
	window := func(start, end time.Time) string {
		return testVersion + "/sobjects/User/updated/?start=" + url.QueryEscape(start.Format(time.RFC3339)) + "&end=" + url.QueryEscape(end.Format(time.RFC3339))
	}
	type updated struct {
		IDs               []string `json:"ids"`
		LatestDateCovered string   `json:"latestDateCovered"`
	}
	for _, tt := range []struct {
		name       string
		start, end time.Time
		want       updated
	}{
		{"the org's creation (a was written again later)", t0.Add(-time.Minute), t0.Add(5 * time.Minute),
			updated{[]string{h.sim.IntegrationUserID()}, "2026-11-27T09:35:00.000+0000"}},
		{"both, a rewritten", t0.Add(5 * time.Minute), t0.Add(time.Hour), updated{[]string{a, b}, "2026-11-27T09:51:00.000+0000"}},
		{"nothing", t0.Add(11 * time.Minute), t0.Add(19 * time.Minute), updated{[]string{}, "2026-11-27T09:49:00.000+0000"}},
	} {
		status, _, body := h.do("GET", window(tt.start, tt.end), nil)
		var got updated
		if err := json.Unmarshal(body, &got); err != nil || status != 200 {
			t.Fatalf("%s: %d %s", tt.name, status, body)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	_ = b
	for name, path := range map[string]string{
		"start after end":  window(t0, t0.Add(-time.Minute)),
		"over 30 days ago": window(t0.AddDate(0, 0, -31), t0),
		"not a date":       testVersion + "/sobjects/User/updated/?start=yesterday&end=today",
	} {
		status, _, body := h.do("GET", path, nil)
		if status != 400 || !cmp.Equal(errorCodes(t, body), []string{"INVALID_REPLICATION_DATE"}) {
			t.Errorf("%s: %d %s", name, status, body)
		}
	}
}

package sfsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// fuzzServer is a simulator with a session, driven without a network.
type fuzzServer struct {
	sim   *Server
	token string
}

func newFuzzServer(t testing.TB) *fuzzServer {
	sim, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	sim.sessions["fuzz"] = session{userID: sim.IntegrationUserID(), expires: sim.now().AddDate(1, 0, 0)}
	if _, err := sim.AddUsers(SeedUser{Username: "existing@acme.example.com", LastName: "Existing", FederationIdentifier: "F1"}); err != nil {
		t.Fatal(err)
	}
	return &fuzzServer{sim: sim, token: "fuzz"}
}

// serve sends one request and checks the answer has Salesforce's shape: JSON with
// Sforce-Limit-Info, errors as a non-empty array of {message, errorCode}.
func (f *fuzzServer) serve(t *testing.T, method, target, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "http://sfsim.test"+target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.sim.ServeHTTP(rec, req)
	if rec.Header().Get("Sforce-Limit-Info") == "" {
		t.Fatalf("%s %s: no Sforce-Limit-Info", method, target)
	}
	switch {
	case rec.Code == http.StatusNoContent:
		if rec.Body.Len() != 0 {
			t.Fatalf("204 with a body %q", rec.Body)
		}
	case rec.Code >= 400:
		var errs []wireError
		if err := json.Unmarshal(rec.Body.Bytes(), &errs); err != nil || len(errs) == 0 {
			t.Fatalf("%s %s %q: error answer %d %q is not an error array", method, target, body, rec.Code, rec.Body)
		}
		for _, e := range errs {
			if e.ErrorCode == "" || e.Message == "" {
				t.Fatalf("%s %s %q: error without code or message: %q", method, target, body, rec.Body)
			}
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: server error %d %q", method, target, body, rec.Code, rec.Body)
		}
	default:
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s %q: answer %d is not JSON: %q", method, target, body, rec.Code, rec.Body)
		}
	}
	f.checkInvariants(t)
	return rec
}

// checkInvariants verifies the org's indexes agree with its rows.
func (f *fuzzServer) checkInvariants(t *testing.T) {
	t.Helper()
	s := f.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	users := s.org.tables[s.schema.user].rows
	if len(s.org.usernames) != len(users) || len(s.org.loginByUser) != len(users) {
		t.Fatalf("%d users, %d usernames, %d logins", len(users), len(s.org.usernames), len(s.org.loginByUser))
	}
	active := int64(0)
	for _, u := range users {
		if u.flag(s.org.uf.isActive) && s.org.licenseOf(u.str(s.org.uf.profileID)).str(1) == "Salesforce" {
			active++
		}
	}
	l, _ := s.org.findByName(s.schema.license, "Salesforce")
	if used, total := s.org.seats(l); used != active || used > total {
		t.Fatalf("seats used %d of %d, %d active", used, total, active)
	}
}

func FuzzRecordBody(f *testing.F) {
	for _, seed := range []string{
		`{"Username":"a@b.example.com","LastName":"A","Email":"a@b.example.com","Alias":"a","ProfileId":"00eSm000002A001","TimeZoneSidKey":"GMT","LocaleSidKey":"en_US","EmailEncodingKey":"UTF-8","LanguageLocaleKey":"en_US"}`,
		`{"IsActive":false}`, `{"IsActive":"true","Title":12}`, `{"LastName":null}`, `{"Foo":1}`, `{"attributes":{"type":"User"}}`,
		`[]`, `null`, `{"ManagerId":"005xx"}`, `{"Alias":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}`, `{"FederationIdentifier":"F1"}`,
	} {
		f.Add(seed)
	}
	srv := newFuzzServer(f)
	existing, _ := srv.sim.User("existing@acme.example.com")
	f.Fuzz(func(t *testing.T, body string) {
		srv.serve(t, "POST", testVersion+"/sobjects/User", body)
		srv.serve(t, "PATCH", testVersion+"/sobjects/User/"+existing.ID, body)
		srv.serve(t, "PATCH", testVersion+"/sobjects/User/FederationIdentifier/F2", body)
	})
}

func FuzzCollectionsBody(f *testing.F) {
	for _, seed := range []string{
		`{"allOrNone":true,"records":[{"attributes":{"type":"User"},"LastName":"A"}]}`,
		`{"records":[{"attributes":{"type":"User"},"id":"005Sm000002A001","Title":"x"}]}`,
		`{"records":[{"attributes":{"type":"UserLogin"},"id":"060Sm000002A001","IsFrozen":true}]}`,
		`{"records":[{"attributes":{"type":"User"},"FederationIdentifier":"F1","Title":"t"}]}`,
		`{"records":[null,1,"x"]}`, `{"records":{}}`, `{}`, `[]`,
	} {
		f.Add(seed)
	}
	srv := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		srv.serve(t, "POST", testVersion+"/composite/sobjects", body)
		srv.serve(t, "PATCH", testVersion+"/composite/sobjects", body)
		srv.serve(t, "PATCH", testVersion+"/composite/sobjects/User/FederationIdentifier", body)
	})
}

func FuzzQuery(f *testing.F) {
	for _, seed := range []struct{ q, options string }{
		{"SELECT Id, Username, Profile.Name FROM User WHERE IsActive = true ORDER BY Username", "batchSize=200"},
		{"SELECT COUNT() FROM User", ""},
		{"SELECT Id FROM User WHERE Username LIKE 'a\\_%' AND (Email != null OR NOT Title IN ('x'))", "batchSize=abc"},
		{"SELECT Id FROM UserLogin WHERE IsFrozen = true LIMIT 5 OFFSET 2001", "batchSize=-1"},
		{"SELECT Name, ParentRole.Name FROM UserRole", "batchSize=99999999999999999999"},
		{"select", ""}, {"'", ""}, {"SELECT Id FROM User WHERE CreatedDate > 2024-01-01T00:00:00Z", ""},
	} {
		f.Add(seed.q, seed.options)
	}
	srv := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, q, options string) {
		rec := srv.serve(t, "GET", testVersion+"/query?q="+url.QueryEscape(q), "", "Sforce-Query-Options", options)
		if rec.Code != http.StatusOK {
			return
		}
		var p struct {
			TotalSize      int               `json:"totalSize"`
			Done           bool              `json:"done"`
			NextRecordsURL string            `json:"nextRecordsUrl"`
			Records        []json.RawMessage `json:"records"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Records == nil || len(p.Records) > p.TotalSize && p.TotalSize > 0 {
			t.Fatalf("page %q: %v", rec.Body, err)
		}
		if !p.Done {
			srv.serve(t, "GET", p.NextRecordsURL, "")
		}
	})
}

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

func TestVersionsList(t *testing.T) {
	h := newHarness(t, Options{})
	resp, err := http.Get(h.http.URL + "/services/data/")
	if err != nil {
		t.Fatal(err)
	}
	status, header, body := readResponse(t, resp)
	if status != 200 || header.Get("Sforce-Limit-Info") != "" || header.Get("Content-Type") != contentTypeJSON {
		t.Fatalf("status %d header %v", status, header)
	}
	var versions []struct{ Label, URL, Version string }
	if err := json.Unmarshal(body, &versions); err != nil {
		t.Fatal(err)
	}
	if len(versions) != LatestAPIVersion-OldestAPIVersion+1 {
		t.Fatalf("%d versions", len(versions))
	}
	byVersion := map[string]string{}
	for _, v := range versions {
		byVersion[v.Version] = v.Label + " " + v.URL
	}
	want := map[string]string{
		"20.0": "Winter '11 /services/data/v20.0",
		"63.0": "Spring '25 /services/data/v63.0",
		"64.0": "Summer '25 /services/data/v64.0",
		"65.0": "Winter '26 /services/data/v65.0",
		"67.0": "Summer '26 /services/data/v67.0",
	}
	for v, w := range want {
		if byVersion[v] != w {
			t.Errorf("version %s = %q, want %q", v, byVersion[v], w)
		}
	}
	if got := strings.Index(string(body), `{"label":`); got != 1 {
		t.Errorf("entries start with label: %s", body[:40])
	}
}

func TestRoutingAndVersions(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/services/data/v67.0", 200, ""},
		{"GET", "/services/data/v45.0/limits/", 200, ""},
		{"GET", "/services/data/v99.0/limits", 404, "NOT_FOUND"},
		{"GET", "/services/data/v19.0/limits", 404, "NOT_FOUND"},
		{"GET", "/services/data/67.0/limits", 404, "NOT_FOUND"},
		{"GET", "/services/data/v67/limits", 404, "NOT_FOUND"},
		{"GET", "/services/data/v67.1/limits", 404, "NOT_FOUND"},
		{"GET", "/services/data/v67.0/nothing", 404, "NOT_FOUND"},
		{"GET", "/elsewhere", 404, "NOT_FOUND"},
		{"GET", "/services/data/v67.0/sobjects/Account/001000000000000AAA", 404, "NOT_FOUND"},
		{"POST", "/services/data/v67.0/limits", 405, "METHOD_NOT_ALLOWED"},
		{"PUT", "/services/data/v67.0/composite/sobjects", 405, "METHOD_NOT_ALLOWED"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			status, header, body := h.do(tt.method, tt.path, nil)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if header.Get("Sforce-Limit-Info") == "" || header.Get("Content-Type") != contentTypeJSON {
				t.Errorf("headers %v", header)
			}
			if tt.code != "" {
				if diff := cmp.Diff([]string{tt.code}, errorCodes(t, body)); diff != "" {
					t.Errorf("codes (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestRepeatedSlashes sends paths with doubled slashes, as the Salesforce CLI does after
// an access-token login: real orgs answer them as the single-slash path, so sfsim must
// give the same answer.
func TestRepeatedSlashes(t *testing.T) {
	h := newHarness(t, Options{})
	user := h.sim.IntegrationUserID()
	tests := []struct{ method, path, clean string }{
		{"GET", "//services/data/v67.0/sobjects/User/" + user + "?fields=Username",
			"/services/data/v67.0/sobjects/User/" + user + "?fields=Username"},
		{"GET", "/services//data///v67.0//query?q=SELECT+Id+FROM+Profile", "/services/data/v67.0/query?q=SELECT+Id+FROM+Profile"},
		{"GET", "//services/data/v67.0/sobjects/Profile/describe/", "/services/data/v67.0/sobjects/Profile/describe"},
		{"GET", "//services/data", "/services/data"},
		{"GET", "//services/oauth2/userinfo", "/services/oauth2/userinfo"},
		{"GET", "//id/" + h.sim.OrgID() + "//" + user, "/id/" + h.sim.OrgID() + "/" + user},
		{"PATCH", "//services/data/v67.0/sobjects/User/" + user, "/services/data/v67.0/sobjects/User/" + user},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var body any
			if tt.method == "PATCH" {
				body = `{"Title":"Integration"}`
			}
			wantStatus, _, want := h.do(tt.method, tt.clean, body)
			status, _, got := h.do(tt.method, tt.path, body)
			if status != wantStatus || wantStatus >= 300 {
				t.Fatalf("status %d, single slash %d: %s", status, wantStatus, got)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("answer (-single slash +repeated):\n%s", diff)
			}
		})
	}
	status, _, body := h.form("//services/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {h.sim.opts.ClientID}, "client_secret": {h.sim.opts.ClientSecret}})
	if status != 200 {
		t.Errorf("token at //services/oauth2/token: %d %s", status, body)
	}
}

func TestAuthentication(t *testing.T) {
	h := newHarness(t, Options{SessionTTL: time.Hour})
	invalid := []wireError{{Message: "Session expired or invalid", ErrorCode: "INVALID_SESSION_ID"}}
	check := func(name string, status int, header http.Header, body []byte) {
		t.Helper()
		var got []wireError
		if err := json.Unmarshal(body, &got); err != nil || status != 401 {
			t.Fatalf("%s: status %d body %s", name, status, body)
		}
		if diff := cmp.Diff(invalid, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
		if header.Get("Sforce-Limit-Info") == "" {
			t.Errorf("%s: no Sforce-Limit-Info", name)
		}
	}
	for name, auth := range map[string]string{"missing": "", "unknown": "Bearer 00Dnope", "wrong scheme": "Basic abc"} {
		req, _ := http.NewRequest("GET", h.http.URL+testVersion+"/limits", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		status, header, body := readResponse(t, resp)
		check(name, status, header, body)
	}
	if status, _, _ := h.do("GET", testVersion+"/limits", nil, "Authorization", "OAuth "+h.token); status != 200 {
		t.Errorf("OAuth scheme: status %d", status)
	}

	h.clock.Advance(59 * time.Minute)
	if status, _, _ := h.do("GET", testVersion+"/limits", nil); status != 200 {
		t.Fatalf("before the TTL: status %d", status)
	}
	h.clock.Advance(time.Minute)
	status, header, body := h.do("GET", testVersion+"/limits", nil)
	check("expired", status, header, body)

	h.token = h.login()
	h.sim.ExpireSessions()
	status, header, body = h.do("GET", testVersion+"/limits", nil)
	check("revoked", status, header, body)
}

func TestAllowance(t *testing.T) {
	h := newHarness(t, Options{APIMax: 5})
	for i := 1; i <= 5; i++ {
		status, header, _ := h.do("GET", testVersion+"/limits", nil)
		if want := "api-usage=" + string(rune('0'+i)) + "/5"; status != 200 || header.Get("Sforce-Limit-Info") != want {
			t.Fatalf("call %d: status %d, Sforce-Limit-Info %q, want %q", i, status, header.Get("Sforce-Limit-Info"), want)
		}
	}
	status, header, body := h.do("GET", testVersion+"/query?q=SELECT+Id+FROM+User", nil)
	var got []wireError
	_ = json.Unmarshal(body, &got)
	if diff := cmp.Diff([]wireError{{Message: "TotalRequests Limit exceeded.", ErrorCode: "REQUEST_LIMIT_EXCEEDED"}}, got); status != 403 || diff != "" {
		t.Fatalf("status %d (-want +got):\n%s", status, diff)
	}
	if header.Get("Sforce-Limit-Info") != "api-usage=5/5" {
		t.Errorf("refused calls are not counted: %q", header.Get("Sforce-Limit-Info"))
	}
	// The window rolls: a day later the calls are forgotten.
	h.clock.Advance(24*time.Hour + time.Minute)
	h.token = h.login()
	if status, header, _ := h.do("GET", testVersion+"/limits", nil); status != 200 || header.Get("Sforce-Limit-Info") != "api-usage=1/5" {
		t.Errorf("after 24 h: status %d, %q", status, header.Get("Sforce-Limit-Info"))
	}
}

func TestLimitsAndOtherUsage(t *testing.T) {
	h := newHarness(t, Options{APIMax: 15000})
	h.sim.SetOtherUsage(1000)
	status, header, body := h.do("GET", testVersion+"/limits", nil)
	if status != 200 || header.Get("Sforce-Limit-Info") != "api-usage=1001/15000" {
		t.Fatalf("status %d header %q", status, header.Get("Sforce-Limit-Info"))
	}
	var limits map[string]limitEntry
	if err := json.Unmarshal(body, &limits); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(limitEntry{Max: 15000, Remaining: 13999}, limits["DailyApiRequests"]); diff != "" {
		t.Errorf("DailyApiRequests (-want +got):\n%s", diff)
	}
	for _, k := range []string{"DailyBulkV2QueryJobs", "DailyBulkApiBatches"} {
		if limits[k].Max == 0 {
			t.Errorf("%s missing", k)
		}
	}
	if used, limit := h.sim.APIUsage(); used != 1001 || limit != 15000 {
		t.Errorf("APIUsage = %d, %d", used, limit)
	}
}

func TestResources(t *testing.T) {
	h := newHarness(t, Options{})
	status, _, body := h.do("GET", "/services/data/v60.0/", nil)
	var got map[string]string
	if err := json.Unmarshal(body, &got); err != nil || status != 200 {
		t.Fatalf("status %d body %s", status, body)
	}
	if got["query"] != "/services/data/v60.0/query" || got["limits"] != "/services/data/v60.0/limits" ||
		got["identity"] != h.http.URL+"/id/"+h.sim.OrgID()+"/"+h.sim.IntegrationUserID() {
		t.Errorf("resources %v", got)
	}
	// jsforce follows the identity URL with ?format=json.
	req, _ := http.NewRequest("GET", got["identity"]+"?format=json", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, body := readResponse(t, resp); status != 200 || !strings.Contains(string(body), `"user_id":"`+h.sim.IntegrationUserID()+`"`) {
		t.Errorf("identity: %d %s", status, body)
	}
}

func TestDescribe(t *testing.T) {
	h := newHarness(t, Options{})
	status, _, body := h.do("GET", testVersion+"/sobjects", nil)
	var global struct {
		Sobjects []describeObject `json:"sobjects"`
	}
	if err := json.Unmarshal(body, &global); err != nil || status != 200 || len(global.Sobjects) != 22 { // 21 + Site
		t.Fatalf("describe global: %d %s", status, body)
	}
	status, _, body = h.do("GET", testVersion+"/sobjects/User/describe", nil)
	var user describeObject
	if err := json.Unmarshal(body, &user); err != nil || status != 200 || user.KeyPrefix != "005" || !user.Createable {
		t.Fatalf("describe User: %d %.300s", status, body)
	}
	byName := map[string]describeField{}
	for _, f := range user.Fields {
		byName[f.Name] = f
	}
	profile := "Profile"
	want := map[string]describeField{
		"Alias":     {Name: "Alias", Label: "Alias", Type: "string", Length: 8, Createable: true, Updateable: true, ReferenceTo: []string{}},
		"ProfileId": {Name: "ProfileId", Label: "Profile ID", Type: "reference", Length: 18, Createable: true, Updateable: true, ReferenceTo: []string{"Profile"}, Relationship: &profile},
		"UserType":  {Name: "UserType", Label: "User Type", Type: "picklist", Length: 40, Nillable: true, ReferenceTo: []string{}},
		"IsActive":  {Name: "IsActive", Label: "Active", Type: "boolean", Createable: true, Updateable: true, ReferenceTo: []string{}},
		"Username":  {Name: "Username", Label: "Username", Type: "string", Length: 80, Createable: true, Updateable: true, IDLookup: true, Unique: true, ReferenceTo: []string{}},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, byName[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if status, _, _ := h.do("GET", testVersion+"/sobjects/Nope/describe", nil); status != 404 {
		t.Errorf("unknown object: %d", status)
	}
}

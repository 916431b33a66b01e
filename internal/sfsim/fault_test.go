package sfsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestInjectedFaults(t *testing.T) {
	html := "<html><body>502 Bad Gateway</body></html>"
	tests := []struct {
		name        string
		fault       Fault
		status      int
		contentType string
		body        string
	}{
		{"lock row", LockRowFault(), 500, contentTypeJSON,
			`[{"message":"unable to obtain exclusive access to this record or 1 records: 005000000000000AAA","errorCode":"UNABLE_TO_LOCK_ROW"}]`},
		{"unavailable", UnavailableFault(), 503, contentTypeJSON,
			`[{"message":"Server temporarily unavailable. Please try again later.","errorCode":"SERVER_UNAVAILABLE"}]`},
		{"session", SessionFault(), 401, contentTypeJSON, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`},
		{"html from a proxy", RawFault(502, "text/html", html), 502, "text/html", html},
		{"empty error array", RawFault(400, contentTypeJSON, "[]"), 400, contentTypeJSON, "[]"},
		{"empty body", RawFault(500, "", ""), 500, "", ""},
		{"300 on upsert", RawFault(300, contentTypeJSON, `["/services/data/v67.0/sobjects/User/005000000000001AAA"]`), 300, contentTypeJSON,
			`["/services/data/v67.0/sobjects/User/005000000000001AAA"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.sim.InjectFault(FaultRule{Fault: tt.fault})
			status, header, body := h.do("GET", testVersion+"/limits", nil)
			if status != tt.status || string(body) != tt.body || header.Get("Content-Type") != tt.contentType {
				t.Errorf("got %d %q %s, want %d %q %s", status, header.Get("Content-Type"), body, tt.status, tt.contentType, tt.body)
			}
			if status, _, _ := h.do("GET", testVersion+"/limits", nil); status != 200 {
				t.Errorf("the fault outlived its count: %d", status)
			}
			if used, _ := h.sim.APIUsage(); used != 1 {
				t.Errorf("faulted calls spend no allowance: used %d", used)
			}
		})
	}
}

func TestFaultMatchingAndCounting(t *testing.T) {
	h := newHarness(t, Options{})
	// The third query call (after two pass) and the one after it get 401.
	h.sim.InjectFault(FaultRule{Endpoint: "query", Skip: 2, Count: 2, Fault: SessionFault()})
	h.sim.InjectFault(FaultRule{Method: "PATCH", PathPrefix: testVersion + "/composite/", Fault: UnavailableFault()})
	var statuses []int
	for range 5 {
		status, _, _ := h.do("GET", testVersion+"/query?q=SELECT+Id+FROM+User", nil)
		statuses = append(statuses, status)
		h.do("GET", testVersion+"/limits", nil) // does not match
	}
	if diff := cmp.Diff([]int{200, 200, 401, 401, 200}, statuses); diff != "" {
		t.Errorf("query statuses (-want +got):\n%s", diff)
	}
	if status, _, _ := h.do("POST", testVersion+"/composite/sobjects", `{}`); status == 503 {
		t.Error("POST matched a PATCH rule")
	}
	if status, _, _ := h.do("PATCH", testVersion+"/composite/sobjects", `{}`); status != 503 {
		t.Errorf("PATCH: %d, want 503", status)
	}
	calls := h.sim.Calls()
	if calls["query"] != 5 || calls["limits"] != 5 || calls["token"] != 1 || calls["collections.create"] != 1 || calls["collections.update"] != 1 {
		t.Errorf("calls %v", calls)
	}
	h.sim.ResetCalls()
	if len(h.sim.Calls()) != 0 {
		t.Error("ResetCalls left counters")
	}
	h.sim.InjectFault(FaultRule{Endpoint: "token", Fault: UnavailableFault()})
	h.sim.ClearFaults()
	h.login()
}

func TestTokenExpiringMidPaging(t *testing.T) {
	h := newHarness(t, Options{})
	seedUsers(t, h.sim, 2500)
	_, p, _ := h.query("SELECT Id FROM User")
	h.sim.ExpireSessions()
	status, _, body := h.next(p)
	if status != 401 || !cmp.Equal(errorCodes(t, body), []string{"INVALID_SESSION_ID"}) {
		t.Fatalf("after expiry: %d %s", status, body)
	}
	h.token = h.login()
	if status, p2, _ := h.next(p); status != 200 || !p2.Done || len(p2.Records) != 501 {
		t.Errorf("the cursor survives a new session: %d %+v", status, p2.TotalSize)
	}
}

func TestDroppedConnection(t *testing.T) {
	h := newHarness(t, Options{})
	h.sim.InjectFault(FaultRule{Endpoint: "collections.create", Fault: DropFault()})
	resp, err := h.send("POST", testVersion+"/composite/sobjects", `{"records":[]}`)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer %d, want a dropped connection", resp.StatusCode)
	}
	if status, _, _ := h.do("GET", testVersion+"/limits", nil); status != 200 {
		t.Errorf("after the drop: %d", status)
	}
}

func TestLatencyFault(t *testing.T) {
	h := newHarness(t, Options{})
	h.sim.InjectFault(FaultRule{Endpoint: "limits", Fault: LatencyFault(time.Hour)})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.http.URL+testVersion+"/limits", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d despite an hour of latency", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	// A short delay lets the request through.
	h.sim.InjectFault(FaultRule{Endpoint: "limits", Fault: LatencyFault(time.Millisecond)})
	if status, _, _ := h.do("GET", testVersion+"/limits", nil); status != 200 {
		t.Errorf("after a short delay: %d", status)
	}
}

func TestRandomFaultsAreReproducible(t *testing.T) {
	run := func(seed uint64) []int {
		h := newHarness(t, Options{FaultRate: 0.3, RandSeed: seed,
			RandomFaults: []Fault{LockRowFault(), UnavailableFault()}})
		var statuses []int
		for range 40 {
			status, _, _ := h.do("GET", testVersion+"/limits", nil)
			statuses = append(statuses, status)
		}
		return statuses
	}
	a, b := run(42), run(42)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different faults (-a +b):\n%s", diff)
	}
	counts := map[int]int{}
	for _, s := range a {
		counts[s]++
	}
	if counts[200] == 0 || counts[500] == 0 || counts[503] == 0 || counts[200] < 20 {
		t.Errorf("statuses %v for a 30%% fault rate", counts)
	}
}

func TestControlOverHTTP(t *testing.T) {
	h := newHarness(t, Options{})
	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", h.http.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		status, _, data := readResponse(t, resp)
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		return status, m
	}
	get := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(h.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		status, _, data := readResponse(t, resp)
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		return status, m
	}
	if status, m := post("/__sim/users", `[{"Username":"ctl@acme.example.com","LastName":"Ctl"}]`); status != 200 || len(m["ids"].([]any)) != 1 {
		t.Fatalf("users: %d %v", status, m)
	}
	if status, m := get("/__sim/users/ctl@acme.example.com"); status != 200 || m["isActive"] != true || m["profile"] != "Standard User" {
		t.Errorf("user: %d %v", status, m)
	}
	if status, _ := get("/__sim/users/nobody@acme.example.com"); status != 404 {
		t.Errorf("unknown user: %d", status)
	}
	if status, _ := post("/__sim/blockers", `{"user":"ctl@acme.example.com","reason":"the default workflow user"}`); status != 200 {
		t.Errorf("blockers: %d", status)
	}
	if status, _, body := h.do("PATCH", testVersion+"/sobjects/User/"+mustUser(t, h.sim, "ctl@acme.example.com"), `{"IsActive":false}`); status != 400 ||
		!cmp.Equal(errorCodes(t, body), []string{"FIELD_INTEGRITY_EXCEPTION"}) {
		t.Errorf("blocked deactivation: %d %s", status, body)
	}
	if status, _ := post("/__sim/usage", `{"other":99000}`); status != 200 {
		t.Errorf("usage: %d", status)
	}
	if status, _ := post("/__sim/faults", `{"endpoint":"limits","fault":{"status":503,"errorCode":"SERVER_UNAVAILABLE","message":"down"}}`); status != 200 {
		t.Errorf("faults: %d", status)
	}
	if status, _, _ := h.do("GET", testVersion+"/limits", nil); status != 503 {
		t.Errorf("injected over HTTP: %d", status)
	}
	if status, m := get("/__sim/state"); status != 200 || m["apiUsage"] != 99001.0 || m["users"] != 2.0 {
		t.Errorf("state: %d %v", status, m)
	}
	if status, _ := post("/__sim/sessions/expire", ``); status != 200 {
		t.Errorf("expire: %d", status)
	}
	if status, _, _ := h.do("GET", testVersion+"/limits", nil); status != 401 {
		t.Errorf("after expire: %d", status)
	}
	if status, _ := post("/__sim/seed", `{"roles":[{"name":"Ops","parent":"CEO"}]}`); status != 200 {
		t.Errorf("seed: %d", status)
	}
	if _, ok := h.sim.RoleID("Ops"); !ok {
		t.Error("seeded role missing")
	}
	for path, body := range map[string]string{
		"/__sim/seed": `{"roles":[{"name":"X","parent":"Nope"}]}`, "/__sim/users": `{"not":"a list"}`,
		"/__sim/faults": `{"bogus":1}`, "/__sim/nothing": `{}`,
	} {
		if status, m := post(path, body); status < 400 || m["error"] == nil {
			t.Errorf("%s %s: %d %v", path, body, status, m)
		}
	}
}

func mustUser(t *testing.T, s *Server, username string) string {
	t.Helper()
	u, ok := s.User(username)
	if !ok {
		t.Fatalf("no user %s", username)
	}
	return u.ID
}

func TestLostAnswer(t *testing.T) {
	h := newHarness(t, Options{})
	h.sim.InjectFault(FaultRule{Endpoint: "sobject.create", Fault: LostAnswerFault()})
	resp, err := h.send("POST", testVersion+"/sobjects/User", h.newUser("lost@acme.example.com"))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer %d, want a dropped connection", resp.StatusCode)
	}
	if _, ok := h.sim.User("lost@acme.example.com"); !ok {
		t.Fatal("the write behind the lost answer did not happen")
	}
	// A blind retry meets the user it created.
	status, _, body := h.do("POST", testVersion+"/sobjects/User", h.newUser("lost@acme.example.com"))
	if status != 400 || !cmp.Equal(errorCodes(t, body), []string{"DUPLICATE_USERNAME"}) {
		t.Errorf("retry: %d %s", status, body)
	}
}

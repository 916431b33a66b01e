package sfsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// stamps are a user's audit times.
type stamps struct {
	Created, Modified, Modstamp time.Time
}

func (h *harness) stampsOf(id string) stamps {
	h.t.Helper()
	u, ok := h.sim.User(id)
	if !ok {
		h.t.Fatalf("no user %s", id)
	}
	at := func(name string) time.Time { t, _ := u.Fields[name].(time.Time); return t }
	return stamps{at("CreatedDate"), at("LastModifiedDate"), at("SystemModstamp")}
}

// TestSystemModstampMovesOnEveryWrite checks each write path sfsim models: which of
// LastModifiedDate and SystemModstamp it moves, to the write's whole second.
func TestSystemModstampMovesOnEveryWrite(t *testing.T) {
	// moved says how far each stamp moved; the clock moves 90 s before the write.
	type moved struct{ Modified, Modstamp time.Duration }
	tests := []struct {
		name  string
		write func(h *harness, id string)
		want  moved
	}{
		{"REST update", func(h *harness, id string) {
			h.mustStatus(204)(h.do("PATCH", testVersion+"/sobjects/User/"+id, map[string]any{"Title": "Lead"}))
		}, moved{90 * time.Second, 90 * time.Second}},
		{"REST update that changes nothing", func(h *harness, id string) {
			h.mustStatus(204)(h.do("PATCH", testVersion+"/sobjects/User/"+id, map[string]any{"LastName": "Doe"}))
		}, moved{90 * time.Second, 90 * time.Second}},
		{"REST upsert of an existing user", func(h *harness, id string) {
			h.mustStatus(200)(h.do("PATCH", testVersion+"/sobjects/User/FederationIdentifier/F1", map[string]any{"Title": "Lead"}))
		}, moved{90 * time.Second, 90 * time.Second}},
		{"Collections update", func(h *harness, id string) {
			h.mustStatus(200)(h.do("PATCH", testVersion+"/composite/sobjects", map[string]any{"records": []any{
				map[string]any{"attributes": map[string]any{"type": "User"}, "id": id, "Department": "Ops"}}}))
		}, moved{90 * time.Second, 90 * time.Second}},
		{"deactivation", func(h *harness, id string) {
			h.mustStatus(204)(h.do("PATCH", testVersion+"/sobjects/User/"+id, map[string]any{"IsActive": false}))
		}, moved{90 * time.Second, 90 * time.Second}},
		{"administrator's edit in Setup", func(h *harness, id string) {
			if err := h.sim.EditUser(id, map[string]any{"Email": "other@example.com"}); err != nil {
				h.t.Fatal(err)
			}
		}, moved{90 * time.Second, 90 * time.Second}},
		{"administrator's edit over /__sim", func(h *harness, id string) {
			h.mustStatus(200)(h.control("PATCH", "/__sim/users/"+id, map[string]any{"FederationIdentifier": "F9"}))
		}, moved{90 * time.Second, 90 * time.Second}},
		{"edit committed by a transaction that started a minute ago", func(h *harness, id string) {
			if err := h.sim.EditUserStartedAt(id, map[string]any{"Title": "Late"}, h.clock.Now().Add(-time.Minute)); err != nil {
				h.t.Fatal(err)
			}
			if u, _ := h.sim.User(id); u.Fields["Title"] != "Late" {
				h.t.Errorf("Title = %v, want the late edit visible", u.Fields["Title"])
			}
		}, moved{30 * time.Second, 30 * time.Second}},
		{"system-driven update", func(h *harness, id string) {
			h.mustStatus(200)(h.control("POST", "/__sim/users/"+id+"/touch", nil))
		}, moved{0, 90 * time.Second}},
		// UserLogin is an object of its own; whether freezing moves the User's
		// SystemModstamp is unconfirmed, so sfsim moves only UserLogin's stamp.
		{"freeze through UserLogin", func(h *harness, id string) {
			loginID := h.loginOf(id)
			h.mustStatus(204)(h.do("PATCH", testVersion+"/sobjects/UserLogin/"+loginID, map[string]any{"IsFrozen": true}))
		}, moved{0, 0}},
		{"refused update", func(h *harness, id string) {
			h.mustStatus(400)(h.do("PATCH", testVersion+"/sobjects/User/"+id, map[string]any{"Email": "not an address"}))
		}, moved{0, 0}},
		{"refused administrator's edit", func(h *harness, id string) {
			if err := h.sim.EditUser(id, map[string]any{"Email": "not an address"}); err == nil {
				h.t.Fatal("EditUser took a bad address")
			}
		}, moved{0, 0}},
		{"rolled back with allOrNone", func(h *harness, id string) {
			h.mustStatus(200)(h.do("PATCH", testVersion+"/composite/sobjects", map[string]any{"allOrNone": true, "records": []any{
				map[string]any{"attributes": map[string]any{"type": "User"}, "id": id, "Title": "Lead"},
				map[string]any{"attributes": map[string]any{"type": "User"}, "id": id, "Email": "bad"}}}))
		}, moved{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			body := h.newUser("jane@example.com")
			body["FederationIdentifier"] = "F1"
			id := h.create(body)
			before := h.stampsOf(id)
			if before.Created != before.Modified || before.Modified != before.Modstamp || !before.Modstamp.Equal(h.clock.Now()) {
				t.Fatalf("a create stamps CreatedDate, LastModifiedDate and SystemModstamp with its time %v: %+v", h.clock.Now(), before)
			}
			h.clock.Advance(90*time.Second + 400*time.Millisecond)
			tt.write(h, id)
			after := h.stampsOf(id)
			want := stamps{before.Created, before.Modified.Add(tt.want.Modified), before.Modstamp.Add(tt.want.Modstamp)}
			if diff := cmp.Diff(want, after); diff != "" {
				t.Errorf("stamps (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSystemModstampOfCreates checks the create paths other than POST sobjects/User
// and the seed: each stamps the three audit times with the whole second.
func TestSystemModstampOfCreates(t *testing.T) {
	tests := []struct {
		name   string
		create func(h *harness) string
	}{
		{"REST create", func(h *harness) string { return h.create(h.newUser("a@example.com")) }},
		{"REST upsert that creates", func(h *harness) string {
			_, _, data := h.do("PATCH", testVersion+"/sobjects/User/FederationIdentifier/F2", h.newUser("b@example.com"))
			var res struct{ ID string }
			_ = json.Unmarshal(data, &res)
			return res.ID
		}},
		{"Collections create", func(h *harness) string {
			rec := h.newUser("c@example.com")
			rec["attributes"] = map[string]any{"type": "User"}
			_, _, data := h.do("POST", testVersion+"/composite/sobjects", map[string]any{"records": []any{rec}})
			var res []struct{ ID string }
			_ = json.Unmarshal(data, &res)
			if len(res) != 1 {
				h.t.Fatalf("Collections create: %s", data)
			}
			return res[0].ID
		}},
		{"user added by hand", func(h *harness) string {
			ids, err := h.sim.AddUsers(SeedUser{Username: "d@example.com", LastName: "Doe"})
			if err != nil {
				h.t.Fatal(err)
			}
			return ids[0]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.clock.Advance(1700 * time.Millisecond)
			id := tt.create(h)
			at := h.clock.Now().Truncate(time.Second)
			if diff := cmp.Diff(stamps{at, at, at}, h.stampsOf(id)); diff != "" {
				t.Errorf("stamps (-want +got):\n%s", diff)
			}
		})
	}
}

// TestQueryBySystemModstamp checks the delta query: a datetime literal bound,
// strictly greater, ordered by SystemModstamp then Id, and that a write in the same
// second as the bound is not after it.
func TestQueryBySystemModstamp(t *testing.T) {
	h := newHarness(t, Options{})
	first := h.create(h.newUser("first@example.com"))
	h.clock.Advance(10 * time.Second)
	second := h.create(h.newUser("second@example.com"))
	third := h.create(h.newUser("third@example.com"))
	h.clock.Advance(10*time.Second + 300*time.Millisecond)
	h.mustStatus(204)(h.do("PATCH", testVersion+"/sobjects/User/"+first, map[string]any{"Title": "Lead"}))
	bound := h.clock.Now().Add(-10 * time.Second).Truncate(time.Second) // second's and third's second
	tests := []struct {
		name  string
		where string
		want  []string
	}{
		{"after the creates' second", "SystemModstamp > " + bound.Format(time.RFC3339), []string{first}},
		{"from the creates' second", "SystemModstamp >= " + bound.Format(time.RFC3339), []string{second, third, first}},
		{"offset literal", "SystemModstamp > " + bound.Add(-time.Second).In(time.FixedZone("", -5*3600)).Format(time.RFC3339),
			[]string{second, third, first}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := "SELECT Id FROM User WHERE " + tt.where + " AND Username LIKE '%@example.com' ORDER BY SystemModstamp, Id"
			status, _, data := h.do("GET", testVersion+"/query?q="+url.QueryEscape(q), nil)
			if status != 200 {
				t.Fatalf("%s: %d %s", q, status, data)
			}
			var res struct {
				Records []struct {
					ID string `json:"Id"`
				}
			}
			if err := json.Unmarshal(data, &res); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Records {
				got = append(got, r.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", q, diff)
			}
		})
	}
}

// mustStatus returns a check of a response's status for h.do's results.
func (h *harness) mustStatus(want int) func(int, any, []byte) {
	return func(status int, _ any, body []byte) {
		h.t.Helper()
		if status != want {
			h.t.Fatalf("status %d, want %d: %s", status, want, body)
		}
	}
}

// control sends a request to the /__sim controls.
func (h *harness) control(method, path string, body any) (int, any, []byte) {
	h.t.Helper()
	status, _, data := h.do(method, path, body)
	return status, nil, data
}

// loginOf returns the Id of a user's UserLogin row.
func (h *harness) loginOf(userID string) string {
	h.t.Helper()
	q := "SELECT Id FROM UserLogin WHERE UserId = '" + userID + "'"
	_, _, data := h.do("GET", testVersion+"/query?q="+url.QueryEscape(q), nil)
	var res struct {
		Records []struct {
			ID string `json:"Id"`
		}
	}
	if err := json.Unmarshal(data, &res); err != nil || len(res.Records) != 1 {
		h.t.Fatalf("UserLogin of %s: %s", userID, data)
	}
	return res.Records[0].ID
}

// TestDateHeaderIsTheOrgsClock checks that answers carry the simulated clock in
// their Date header, as a reader resuming from Salesforce's clock needs.
func TestDateHeaderIsTheOrgsClock(t *testing.T) {
	h := newHarness(t, Options{})
	h.clock.Advance(1500 * time.Millisecond)
	_, header, _ := h.do("GET", testVersion+"/limits", nil)
	got, err := http.ParseTime(header.Get("Date"))
	if err != nil || !got.Equal(h.clock.Now().Truncate(time.Second)) {
		t.Errorf("Date %q (%v), want the org's clock %v", header.Get("Date"), err, h.clock.Now())
	}
}

// TestAdvanceClock moves the org's clock over /__sim/clock: later writes carry the
// later stamps; a bad duration is refused and moves nothing.
func TestAdvanceClock(t *testing.T) {
	h := newHarness(t, Options{})
	h.mustStatus(400)(h.control("POST", "/__sim/clock", map[string]any{"advance": "-5m"}))
	h.mustStatus(400)(h.control("POST", "/__sim/clock", map[string]any{"advance": "soon"}))
	h.mustStatus(200)(h.control("POST", "/__sim/clock", map[string]any{"advance": "15m"}))
	id := h.create(h.newUser("later@example.com"))
	if got, want := h.stampsOf(id).Modstamp, h.clock.Now().Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("SystemModstamp = %v, want %v", got, want)
	}
}

package sfsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestParallelWrites hammers the org from many goroutines with creates that collide on
// usernames and exhaust the seats, with Collections and queries mixed in, then checks
// the invariants: usernames unique, seats counted exactly and never exceeded, every
// answer one Salesforce would give.
func TestParallelWrites(t *testing.T) {
	h := newHarness(t, Options{})
	const seats = 120
	if err := h.sim.SetSeats("Salesforce", seats); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	record := func(k string) {
		mu.Lock()
		defer mu.Unlock()
		outcomes[k]++
	}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				username := fmt.Sprintf("user%03d@acme.example.com", (g*7+i*13)%150)
				resp, err := h.send("POST", testVersion+"/sobjects/User", h.newUser(username))
				if err != nil {
					t.Error(err)
					return
				}
				status, _, body := readResponse(t, resp)
				if status == 201 {
					record("created")
				} else {
					var errs []wireError
					if json.Unmarshal(body, &errs) != nil || len(errs) != 1 {
						t.Errorf("create %s: %d %s", username, status, body)
						continue
					}
					record(errs[0].ErrorCode)
				}
				if i%10 == 0 {
					recs := []any{typed(h.newUser(fmt.Sprintf("batch%d-%d@acme.example.com", g, i)), "User")}
					resp, err := h.send("POST", testVersion+"/composite/sobjects", map[string]any{"records": recs})
					if err != nil {
						t.Error(err)
						return
					}
					if status, _, body := readResponse(t, resp); status != 200 {
						t.Errorf("collections: %d %s", status, body)
					}
					resp, err = h.send("GET", testVersion+"/query?q=SELECT+Id,Username+FROM+User", nil)
					if err != nil {
						t.Error(err)
						return
					}
					if status, _, body := readResponse(t, resp); status != 200 {
						t.Errorf("query: %d %s", status, body)
					}
				}
			}
		}()
	}
	wg.Wait()
	for k := range outcomes {
		switch k {
		case "created", "DUPLICATE_USERNAME", "LICENSE_LIMIT_EXCEEDED":
		default:
			t.Errorf("unexpected outcome %s (%d times)", k, outcomes[k])
		}
	}
	if outcomes["created"] == 0 || outcomes["DUPLICATE_USERNAME"] == 0 || outcomes["LICENSE_LIMIT_EXCEEDED"] == 0 {
		t.Errorf("outcomes %v: the test should reach every case", outcomes)
	}

	_, p, _ := h.query("SELECT Username, IsActive, Profile.UserLicense.Name FROM User")
	seen := map[string]bool{}
	active := 0
	for _, r := range p.Records {
		u := strings.ToLower(r["Username"].(string))
		if seen[u] {
			t.Errorf("username %s twice", u)
		}
		seen[u] = true
		if r["IsActive"] == true {
			active++
		}
	}
	used, total, _ := h.sim.Seats("Salesforce")
	if used != int64(active) || used > total || total != seats {
		t.Errorf("seats used %d of %d, but %d active users", used, total, active)
	}
	if len(seen) != h.sim.UserCount() || h.sim.loginCount() != h.sim.UserCount() {
		t.Errorf("%d usernames, %d users, %d logins", len(seen), h.sim.UserCount(), h.sim.loginCount())
	}
}

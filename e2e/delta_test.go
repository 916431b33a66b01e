package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// advanceClock lets time pass in the org: its clock moves on by d (a Go duration).
func (s *sfsimProcess) advanceClock(t testing.TB, d string) {
	t.Helper()
	s.do(t, http.MethodPost, s.url+"/__sim/clock", "", map[string]string{"advance": d}, nil)
}

// editInSetup changes a user as an administrator does in Salesforce's Setup: no API
// call is charged, and SystemModstamp moves as for any write.
func (s *sfsimProcess) editInSetup(t testing.TB, id string, fields map[string]any) {
	t.Helper()
	s.do(t, http.MethodPatch, s.url+"/__sim/users/"+id, "", fields, nil)
}

// userQueries returns the SOQL statements on User the org received after the first
// skip ones, and how many queries on other objects.
func (s *sfsimProcess) userQueries(t testing.TB, skip int) (users []string, others int) {
	t.Helper()
	for _, q := range s.queries(t)[skip:] {
		if strings.Contains(q, " FROM User ") || strings.HasSuffix(q, " FROM User") {
			users = append(users, q)
		} else {
			others++
		}
	}
	return users, others
}

// TestASalesforceEditOfAnAlwaysFieldIsRevertedByTheNextDeltaCycle edits a user in
// Setup after a first, full sync: the next `syncd apply --once` reads only the users
// changed since (one query on User, none on profiles or roles) and reverts the edit.
func TestASalesforceEditOfAnAlwaysFieldIsRevertedByTheNextDeltaCycle(t *testing.T) {
	t.Parallel()
	org, d, people := synced(t, lenient(), 3)
	drifted := people[1]
	org.advanceClock(t, "15m") // the creates fall out of the read's overlap
	org.editInSetup(t, org.user(t, drifted.username()).ID, map[string]any{"Title": "Chief Drift Officer"})
	org.advanceClock(t, "1m")

	seen := len(org.queries(t))
	if diff := cmp.Diff(map[string]int{"collections.update": 1}, d.applyWrites(t, exitOK)); diff != "" {
		t.Errorf("write requests (-want +got):\n%s", diff)
	}
	users, others := org.userQueries(t, seen)
	if len(users) != 1 || !strings.Contains(users[0], "WHERE SystemModstamp >= ") || others != 0 {
		t.Errorf("queries of the cycle: on User %q and %d others; want one delta read and nothing else", users, others)
	}
	if got := org.user(t, drifted.username()).field("Title"); got != drifted.Title {
		t.Errorf("Title = %q, want the export's %q back", got, drifted.Title)
	}
	e := d.explain(t, drifted.ID)
	if diff := cmp.Diff([]string{"update applied", "create applied"}, e.history()); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

// TestAQuietTenThousandUserOrgCostsOneCallPerDeltaCycle syncs 10,000 people, then
// runs cycles five minutes apart on the org's clock with nothing changing: each
// delta cycle costs one API call (one empty query), and a day of 5-minute cycles with
// an hourly full read stays within 0.5 % of a 100,000-call allowance.
func TestAQuietTenThousandUserOrgCostsOneCallPerDeltaCycle(t *testing.T) {
	t.Parallel()
	org := startSfsim(t, map[string]any{"licenses": []map[string]any{{"name": "Salesforce", "seats": 20000}}})
	d := deploy(t, org, settings{MaxDeactivations: 100, MaxDeactivationPercent: 5, MaxShrinkPercent: 10})
	people := staff(1, 10000)
	d.write(t, people)
	d.must(t, exitOK, "apply", "--once") // full: creates everyone
	org.advanceClock(t, "15m")           // past the overlap
	d.must(t, exitOK, "apply", "--once") // delta: reads the creates once more, then resumes from the org's clock
	cost := func(args ...string) (int64, map[string]int) {
		t.Helper()
		org.advanceClock(t, "5m")
		before := org.state(t)
		d.must(t, exitOK, append([]string{"apply", "--once"}, args...)...)
		after := org.state(t)
		return charged(t, before, after), callsSince(before, after)
	}
	const quietCycles = 12
	for i := range quietCycles {
		calls, requests := cost()
		if calls != 1 {
			t.Fatalf("quiet delta cycle %d spent %d API calls (%v), want 1", i+1, calls, requests)
		}
	}
	full, requests := cost("--full")
	if want := minimumCalls(len(people) + 1); full != want {
		t.Errorf("a quiet full cycle spent %d API calls (%v), want the minimum %d", full, requests, want)
	}
	// A day of 5-minute cycles, one of them a full read every hour.
	const cycles, fullReads, allowance = 24 * 60 / 5, 24, 100000
	daily := fullReads*full + (cycles-fullReads)*1
	t.Logf("quiet 10,000-user org: delta cycle 1 call, full cycle %d calls; a day of 5-minute cycles with hourly full reads: %d calls, %.3f %% of %d",
		full, daily, float64(daily)*100/allowance, allowance)
	if float64(daily) > 0.005*allowance {
		t.Errorf("a day costs %d calls, over 0.5 %% of %d", daily, allowance)
	}
}

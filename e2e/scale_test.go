package e2e

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/store"
)

// minimumCalls is the fewest API calls a cycle can spend, the formula DESIGN.md sets:
// one query page per 2,000 users read (the first page is a query, the rest queryMore
// calls), one query each for the profiles and the roles, and one sObject Collections
// call per 200 records written of one kind. The token request (one per syncd
// process) is not in it: sfsim charges only authenticated REST calls, so its
// counters show the token request but /__sim/state's apiUsage, the figure
// Sforce-Limit-Info reports, does not include it (charged checks this). Whether a real
// org charges OAuth token requests is not settled by salesforce-api.md; if it does,
// a cycle costs one call more.
func minimumCalls(usersRead int, writesPerKind ...int) int64 {
	n := ceilDiv(usersRead, 2000) + 2
	for _, w := range writesPerKind {
		n += ceilDiv(w, 200)
	}
	return int64(n)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// charged is the API calls the org charged between two states, checked against the
// per-endpoint counters: every request but the token requests and OAuth token
// revocations (/services/oauth2/revoke, an OAuth endpoint like the token's, not a
// REST API call).
func charged(t testing.TB, before, after simState) int64 {
	t.Helper()
	used := after.APIUsage - before.APIUsage
	var counted int64
	for name, n := range callsSince(before, after) {
		if name != "token" && name != "revoke" {
			counted += int64(n)
		}
	}
	if used != counted {
		t.Errorf("the org charged %d calls, but its counters show %d requests besides token requests: %v",
			used, counted, callsSince(before, after))
	}
	return used
}

// TestTenThousandPeople follows one org of 10,000 people through a first sync, a
// cycle with nothing to do and a cycle with 100 leavers, counting every API call.
func TestTenThousandPeople(t *testing.T) {
	t.Parallel()
	org := startSfsim(t, map[string]any{"licenses": []map[string]any{{"name": "Salesforce", "seats": 20000}}})
	// max_deactivations is raised from its default of 50 so that the 100 leavers pass
	// the cap; the percentage cap (5 % of 10,000) and the shrink gate (1 % < 10 %) keep
	// their defaults and let them pass.
	d := deploy(t, org, settings{MaxDeactivations: 100, MaxDeactivationPercent: 5, MaxShrinkPercent: 10})
	people := staff(1, 10000)
	d.write(t, people)

	t.Run("a first sync of 10,000 people creates 10,000 users, linked, in the fewest API calls", func(t *testing.T) {
		before := org.state(t)
		d.must(t, exitOK, "apply", "--once")
		after := org.state(t)
		// The org held only the integration user: one query page, then 50 creates.
		if diff := cmp.Diff(map[string]int{"token": 1, "query": 3, "collections.create": 50}, callsSince(before, after)); diff != "" {
			t.Errorf("requests per endpoint (-want +got):\n%s", diff)
		}
		if got, want := charged(t, before, after), minimumCalls(1, len(people)); got != want {
			t.Errorf("the first sync spent %d API calls, the minimum is %d", got, want)
		}
		checkSynced(t, org, d, people, nil)
		if diff := cmp.Diff(map[store.LinkOrigin]int{store.OriginCreated: len(people)}, originCounts(d.links(t))); diff != "" {
			t.Errorf("links by origin (-want +got):\n%s", diff)
		}
	})

	t.Run("a second full run writes nothing and spends only the reads", func(t *testing.T) {
		before := org.state(t)
		out := d.must(t, exitOK, "apply", "--once", "--full")
		after := org.state(t)
		if w := writeCalls(callsSince(before, after)); len(w) > 0 {
			t.Errorf("a run with nothing to do wrote to the org: %v\n%s", w, out.stdout)
		}
		// 10,001 users (the people and the integration user) are 6 pages.
		if got, want := charged(t, before, after), minimumCalls(len(people)+1); got != want {
			t.Errorf("the no-change run spent %d API calls, the minimum is %d", got, want)
		}
		d.must(t, exitOK, "plan")
	})

	t.Run("100 leavers removed from the export are deactivated", func(t *testing.T) {
		stay, leavers := people[100:], people[:100]
		d.write(t, stay)
		before := org.state(t)
		d.must(t, exitOK, "apply", "--once", "--full")
		after := org.state(t)
		// Offboarded with the default policy: frozen (one update), deactivated (one
		// update), and the reads that find their sessions, tokens and records (none).
		if diff := cmp.Diff(map[string]int{"collections.update": 2}, writeCalls(callsSince(before, after))); diff != "" {
			t.Errorf("write requests (-want +got):\n%s", diff)
		}
		if got, want := charged(t, before, after), minimumCalls(len(people)+1, len(leavers), len(leavers))+offboardingReads; got != want {
			t.Errorf("the leavers' run spent %d API calls, the minimum is %d", got, want)
		}
		checkSynced(t, org, d, stay, leavers)
	})
}

// checkSynced checks the org against the export: every active person has exactly one
// user, active, with the Username and FederationIdentifier the mapping gives, linked
// to them in the store; every leaver's user is inactive, still linked; and no other
// user exists besides the integration user.
func checkSynced(t testing.TB, org *sfsimProcess, d *deployment, active, leavers []person) {
	t.Helper()
	users := org.people(t)
	links := d.links(t)
	byFed := map[string][]orgUser{}
	byName := map[string]int{}
	for _, u := range users {
		byFed[u.FederationIdentifier] = append(byFed[u.FederationIdentifier], u)
		byName[u.Username]++
	}
	for name, n := range byName {
		if n > 1 {
			t.Errorf("%d users have the Username %s", n, name)
		}
	}
	if got, want := len(users), len(active)+len(leavers); got != want {
		t.Errorf("the org has %d users besides the integration user, want %d", got, want)
	}
	check := func(p person, wantActive bool) {
		us := byFed[p.ID]
		if len(us) != 1 {
			t.Errorf("person %s has %d users, want 1: %+v", p.ID, len(us), us)
			return
		}
		u := us[0]
		if u.IsActive != wantActive || u.Username != p.username() {
			t.Errorf("person %s's user is %+v, want active %v with Username %s", p.ID, u, wantActive, p.username())
		}
		if l, ok := links[p.ID]; !ok || l.SalesforceID != u.ID {
			t.Errorf("person %s is linked to %q (found %v), want their user %s", p.ID, l.SalesforceID, ok, u.ID)
		}
	}
	for _, p := range active {
		check(p, true)
	}
	for _, p := range leavers {
		check(p, false)
	}
}

func originCounts(links map[string]store.Link) map[store.LinkOrigin]int {
	out := map[store.LinkOrigin]int{}
	for _, l := range links {
		out[l.Origin]++
	}
	return out
}

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// offboardingReads are the queries that offboarding up to 400 leavers costs with the
// default policy, whatever they hold: their UserLogin rows (to freeze), their
// sessions, their OAuth tokens, and their open records of each of the five objects
// and their approval work items, and before deactivating them the sites whose guest
// records they own (the preflight). One IN list carries about 420 Ids (MaxQueryLength).
const offboardingReads = 1 + 1 + 1 + 5 + 1 + 1

// addRecord seeds one record of any object through sfsim's control endpoint.
func (s *sfsimProcess) addRecord(t testing.TB, object string, fields map[string]any) string {
	t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	s.do(t, http.MethodPost, s.url+"/__sim/records", "", map[string]any{"type": object, "fields": fields}, &out)
	return out.ID
}

// records lists every record of an object, through sfsim's control endpoint.
func (s *sfsimProcess) records(t testing.TB, object string) []map[string]any {
	t.Helper()
	var out []map[string]any
	s.do(t, http.MethodGet, s.url+"/__sim/records/"+object, "", nil, &out)
	return out
}

// holdings counts what a user holds in the org: open records (by OwnerId, closed and
// converted ones left out), approval work items, sessions and OAuth tokens.
func (s *sfsimProcess) holdings(t testing.TB, userID string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for object, field := range map[string]string{
		"Account": "OwnerId", "Contact": "OwnerId", "Opportunity": "OwnerId", "Case": "OwnerId", "Lead": "OwnerId",
		"ProcessInstanceWorkitem": "ActorId", "AuthSession": "UsersId", "OauthToken": "UserId",
	} {
		for _, r := range s.records(t, object) {
			if r[field] == userID && r["IsClosed"] != true && r["IsConverted"] != true {
				out[object]++
			}
		}
	}
	return out
}

// seedHoldings gives a user an account with a contact, two open opportunities and a
// closed one, a case, an unconverted and a converted lead, a pending approval, two
// sessions and an OAuth token.
func (s *sfsimProcess) seedHoldings(t testing.TB, userID string) {
	t.Helper()
	acct := s.addRecord(t, "Account", map[string]any{"Name": "Acct " + userID, "OwnerId": userID})
	for object, fields := range map[string][]map[string]any{
		"Contact":                 {{"LastName": "Buyer", "AccountId": acct}},
		"Opportunity":             {{"Name": "Deal 1", "StageName": "Prospecting"}, {"Name": "Deal 2", "StageName": "Prospecting"}, {"Name": "Won", "StageName": "Closed Won", "IsClosed": true}},
		"Case":                    {{"Subject": "Broken", "Status": "New"}},
		"Lead":                    {{"LastName": "Prospect", "Company": "Initech"}, {"LastName": "Done", "Company": "Initrode", "IsConverted": true}},
		"ProcessInstanceWorkitem": {{"ActorId": userID}},
		"AuthSession":             {{"UsersId": userID, "SessionType": "UI"}, {"UsersId": userID, "SessionType": "Oauth2"}},
		"OauthToken":              {{"UserId": userID, "AppName": "Mobile", "DeleteToken": "dt-" + userID}},
	} {
		for _, f := range fields {
			if object != "ProcessInstanceWorkitem" && object != "AuthSession" && object != "OauthToken" {
				f["OwnerId"] = userID
			}
			s.addRecord(t, object, f)
		}
	}
}

// seeded is what seedHoldings leaves a user holding.
var seeded = map[string]int{"Account": 1, "Contact": 1, "Opportunity": 2, "Case": 1, "Lead": 1,
	"ProcessInstanceWorkitem": 1, "AuthSession": 2, "OauthToken": 1}

// moved is seeded without the sessions and tokens, which are ended, not moved.
var moved = map[string]int{"Account": 1, "Contact": 1, "Opportunity": 2, "Case": 1, "Lead": 1, "ProcessInstanceWorkitem": 1}

func TestALeaverIsCutOffHandedOverAndDeactivated(t *testing.T) {
	t.Parallel()
	s := lenient()
	s.FallbackUser = "p00004@acme.example.com"
	org, d, people := synced(t, s, 4)
	ids := idsOf(t, org)
	manager, leaver, orphan, fallback := ids[people[0].ID], ids[people[1].ID], ids[people[2].ID], ids[people[3].ID]
	org.updateUser(t, leaver, map[string]any{"ManagerId": manager})
	org.seedHoldings(t, leaver)
	org.seedHoldings(t, orphan) // no manager: the fallback user receives
	// An active case assignment rule would give the cases to someone else.
	org.do(t, http.MethodPost, org.url+"/__sim/assignment-rules", "", map[string]string{"object": "Case", "owner": people[3].username()}, nil)

	d.write(t, []person{people[0], people[3]})
	out := d.must(t, exitOK, "apply", "--once")
	if !strings.Contains(out.stdout, "License seats freed: 2 Salesforce.") {
		t.Errorf("the run's summary does not report the seats freed:\n%s", out.stdout)
	}
	checkSynced(t, org, d, []person{people[0], people[3]}, people[1:3])
	for _, tc := range []struct{ user, to string }{{leaver, manager}, {orphan, fallback}} {
		if u := org.user(t, tc.user); u.IsActive || !u.IsFrozen {
			t.Errorf("leaver %s: active %v, frozen %v; want inactive and frozen", tc.user, u.IsActive, u.IsFrozen)
		}
		if h := org.holdings(t, tc.user); len(h) != 0 {
			t.Errorf("leaver %s still holds %v", tc.user, h)
		}
	}
	if diff := cmp.Diff(moved, org.holdings(t, manager)); diff != "" {
		t.Errorf("what the manager received (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(moved, org.holdings(t, fallback)); diff != "" {
		t.Errorf("what the fallback user received (-want +got):\n%s", diff)
	}

	t.Run("explain shows every step, and the transfer from whom to whom", func(t *testing.T) {
		e := d.explain(t, people[1].ID)
		want := []string{"freeze applied", "end_sessions applied", "revoke_tokens applied", "transfer applied", "deactivate applied", "create applied"}
		if diff := cmp.Diff(want, e.history()); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}
		transfer := e.newest(t, "transfer")
		if len(transfer.Changes) != 1 || transfer.Changes[0].Field != "OwnerId" || transfer.Changes[0].Before != leaver || transfer.Changes[0].After != manager {
			t.Errorf("the transfer's change is %+v, want OwnerId %s → %s", transfer.Changes, leaver, manager)
		}
		text := d.must(t, exitOK, "explain", people[1].ID).stdout
		for _, part := range []string{"their manager " + people[0].username(), "to " + manager + ": 1 Account, 1 Case, 1 Contact, 1 Lead, 2 Opportunity, 1 ProcessInstanceWorkitem", "2 sessions ended", "1 OAuth tokens revoked"} {
			if !strings.Contains(text, part) {
				t.Errorf("syncd explain lacks %q:\n%s", part, text)
			}
		}
	})

	t.Run("the next cycle writes nothing", func(t *testing.T) {
		if w := d.applyWrites(t, exitOK); len(w) != 0 {
			t.Errorf("write requests: %v", w)
		}
	})

	t.Run("a returner is reactivated and unfrozen", func(t *testing.T) {
		d.write(t, people)
		if diff := cmp.Diff(map[string]int{"collections.update": 2}, d.applyWrites(t, exitOK)); diff != "" {
			t.Errorf("write requests of the returners' run (-want +got): one reactivation, one unfreeze\n%s", diff)
		}
		for _, id := range []string{leaver, orphan} {
			if u := org.user(t, id); !u.IsActive || u.IsFrozen {
				t.Errorf("returner %s: active %v, frozen %v; want active and not frozen", id, u.IsActive, u.IsFrozen)
			}
		}
	})
}

// TestBlockedLeaversStayFrozenAndAreNotRetriedEveryCycle blocks two leavers: Salesforce
// refuses to deactivate the default case owner, and the preflight finds the default
// owner of a site's guest records by query, so that one is sent no deactivation.
// Both are reported the same way, stay frozen and wait a day.
func TestBlockedLeaversStayFrozenAndAreNotRetriedEveryCycle(t *testing.T) {
	t.Parallel()
	org, d, people := synced(t, lenient(), 4)
	caseOwner, guestOwner := people[1], people[3]
	org.do(t, http.MethodPost, org.url+"/__sim/blockers", "", map[string]string{"user": caseOwner.username(), "reason": "the default owner of cases"}, nil)
	org.addRecord(t, "Site", map[string]any{"Name": "Partner_Portal", "GuestRecordDefaultOwnerId": guestOwner.username()})

	d.write(t, []person{people[0], people[2]})
	out := d.must(t, exitPartial, "apply", "--once")
	if !strings.Contains(out.stdout, "2 deactivations blocked by Salesforce") {
		t.Errorf("the summary does not report the blocked deactivations:\n%s", out.stdout)
	}
	for _, tc := range []struct {
		who   person
		parts []string
	}{
		{caseOwner, []string{"blocker default_case_owner", "Support Settings", "the user stays frozen"}},
		{guestOwner, []string{"BLOCKER_FOUND", "Partner_Portal", "blocker guest_record_owner", "site's settings", "the user stays frozen"}},
	} {
		if u := org.user(t, tc.who.username()); !u.IsActive || !u.IsFrozen {
			t.Errorf("blocked leaver %s: active %v, frozen %v; want active and frozen", tc.who.ID, u.IsActive, u.IsFrozen)
		}
		if a := d.explain(t, tc.who.ID).newest(t, "deactivate"); a.Status != "failed" || a.NextAttemptAt == nil {
			t.Errorf("the deactivation of %s is %+v, want failed with its next attempt", tc.who.ID, a)
		}
		text := d.must(t, exitOK, "explain", tc.who.ID).stdout
		for _, part := range tc.parts {
			if !strings.Contains(text, part) {
				t.Errorf("syncd explain %s lacks %q:\n%s", tc.who.ID, part, text)
			}
		}
	}
	if w := d.applyWrites(t, exitOK); len(w) != 0 {
		t.Errorf("the next cycle wrote %v; the blocked leavers must wait a day", w)
	}
	for _, who := range []person{caseOwner, guestOwner} {
		e := d.explain(t, who.ID)
		if a := e.newest(t, "deactivate"); a.Status != "skipped" {
			t.Errorf("the next cycle's deactivation of blocked leaver %s is %+v, want skipped (back-off)", who.ID, a)
		}
	}
}

// TestKillingSyncdBetweenOffboardingStepsCompletesWithNothingDoneTwice offboards
// leavers while SIGKILLing syncd at seeded moments between and during its steps.
// After every kill, no leaver is deactivated while holding records, sessions or
// tokens, and one with any step done is frozen; the rerun completes the sequence,
// and the journal shows no session, token or record dealt with twice.
func TestKillingSyncdBetweenOffboardingStepsCompletesWithNothingDoneTwice(t *testing.T) {
	t.Parallel()
	org := startSfsim(t, nil, "--latency", simLatency.String())
	d := deploy(t, org, settings{MaxDeactivations: 50, MaxDeactivationPercent: 100, MaxShrinkPercent: 100, Concurrency: 1})
	people := staff(1, 12)
	d.write(t, people)
	d.must(t, exitOK, "apply", "--once")
	ids := idsOf(t, org)
	manager := ids[people[0].ID]
	leavers := people[1:]
	for _, p := range leavers {
		org.updateUser(t, ids[p.ID], map[string]any{"ManagerId": manager})
		org.seedHoldings(t, ids[p.ID])
	}
	d.write(t, people[:1])
	k := &killer{org: org, d: d, rng: rand.New(rand.NewPCG(killSeed, 1))}
	for k.interrupt(t) {
		for _, p := range leavers {
			u := org.user(t, ids[p.ID])
			h := org.holdings(t, ids[p.ID])
			if !u.IsActive && len(h) != 0 {
				t.Errorf("leaver %s was deactivated while holding %v", p.ID, h)
			}
			if !u.IsFrozen && !cmp.Equal(h, seeded) {
				t.Errorf("leaver %s had steps done (holds %v) but is not frozen", p.ID, h)
			}
		}
	}
	d.must(t, exitOK, "apply", "--once")
	if k.kills == 0 {
		t.Fatal("no kill landed: the test proved nothing")
	}
	t.Logf("%d kills", k.kills)
	checkSynced(t, org, d, people[:1], leavers)
	want := map[string]int{}
	for object, n := range moved {
		want[object] = n * len(leavers)
	}
	if diff := cmp.Diff(want, org.holdings(t, manager)); diff != "" {
		t.Errorf("what the manager received (-want +got):\n%s", diff)
	}
	// Each applied step's result says what it did; over every run, no leaver's
	// sessions, tokens or records add up to more than they had.
	for _, p := range leavers {
		done := map[string]int{}
		for _, a := range d.explainText(t, p.ID) {
			for _, part := range []string{"sessions ended", "OAuth tokens revoked"} {
				var n int
				if i := strings.Index(a, part); i > 0 {
					fields := strings.Fields(a[:i])
					fmt.Sscan(fields[len(fields)-1], &n)
					done[part] += n
				}
			}
		}
		if done["sessions ended"] > 2 || done["OAuth tokens revoked"] > 1 {
			t.Errorf("leaver %s: the journal records %v, more than the 2 sessions and 1 token they had", p.ID, done)
		}
		// A kill after Salesforce deactivated a leaver but before the journal said so
		// leaves no applied deactivation: the next run found the user inactive.
		h := d.explain(t, p.ID).history()
		if n := slices.Index(h, "deactivate applied"); n >= 0 && slices.Contains(h[n+1:], "deactivate applied") {
			t.Errorf("leaver %s: deactivations in the journal %v, want at most one applied", p.ID, h)
		}
	}
}

// newest returns the action of a kind from the newest run that has one.
func (e explanation) newest(t testing.TB, kind string) explainedAction {
	t.Helper()
	var best *explainedAction
	for i := range e.Actions {
		if a := &e.Actions[i]; a.Kind == kind && (best == nil || a.RunID > best.RunID) {
			best = a
		}
	}
	if best == nil {
		t.Fatalf("no %s action in %v", kind, e.history())
	}
	return *best
}

// explainText returns the result lines of `syncd explain KEY`.
func (d *deployment) explainText(t testing.TB, key string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(d.must(t, exitOK, "explain", key).stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "result:") {
			out = append(out, line)
		}
	}
	return out
}

// TestOffboardingTwoHundredLeaversSpendsTheMinimum offboards 200 leavers, each with
// an open opportunity, a case, a session and an OAuth token, and counts the API
// calls against the minimum: the cycle's reads, offboardingReads, and one
// Collections call per 200 records of each write (freeze, sessions, opportunities,
// cases, deactivation). Each token costs one revocation besides: Salesforce has no
// bulk revoke. BENCHMARKS.md reports the figures.
func TestOffboardingTwoHundredLeaversSpendsTheMinimum(t *testing.T) {
	t.Parallel()
	const n = 200
	org, d, people := synced(t, settings{MaxDeactivations: n, MaxDeactivationPercent: 100, MaxShrinkPercent: 100}, n+1)
	ids := idsOf(t, org)
	manager := ids[people[0].ID]
	var records []map[string]any
	for _, p := range people[1:] {
		id := ids[p.ID]
		records = append(records, map[string]any{"attributes": map[string]string{"type": "User"}, "id": id, "ManagerId": manager})
		org.addRecord(t, "Opportunity", map[string]any{"Name": "Deal", "StageName": "Prospecting", "OwnerId": id})
		org.addRecord(t, "Case", map[string]any{"Subject": "Open", "OwnerId": id})
		org.addRecord(t, "AuthSession", map[string]any{"UsersId": id, "SessionType": "UI"})
		org.addRecord(t, "OauthToken", map[string]any{"UserId": id, "AppName": "Mobile", "DeleteToken": "dt-" + id})
	}
	org.do(t, http.MethodPatch, org.url+"/services/data/v67.0/composite/sobjects", org.accessToken(t),
		map[string]any{"allOrNone": true, "records": records}, nil)

	d.write(t, people[:1])
	before := org.state(t)
	// A full read, the cost the minimum describes; a delta cycle spends 2 calls
	// fewer (the profiles and roles come from the store's mirror).
	d.must(t, exitOK, "apply", "--once", "--full")
	after := org.state(t)
	calls := callsSince(before, after)
	want := minimumCalls(n+2, n, n, n, n, n) + offboardingReads
	got := charged(t, before, after)
	t.Logf("offboarding %d leavers: %d API calls charged (minimum %d), %d token revocations; requests %v", n, got, want, calls["revoke"], calls)
	if got != want {
		t.Errorf("offboarding %d leavers spent %d API calls, the minimum is %d", n, got, want)
	}
	if calls["revoke"] != n {
		t.Errorf("%d token revocations, want %d", calls["revoke"], n)
	}
	if h := org.holdings(t, manager); h["Opportunity"] != n || h["Case"] != n {
		t.Errorf("the manager holds %v, want %d opportunities and %d cases", h, n, n)
	}
	checkSynced(t, org, d, people[:1], people[1:])
}

func TestAReturnerGetsTheirRecordsBackWithReturnRecords(t *testing.T) {
	t.Parallel()
	s := lenient()
	s.ReturnRecords = true
	org, d, people := synced(t, s, 3)
	ids := idsOf(t, org)
	manager, leaver := ids[people[0].ID], ids[people[1].ID]
	org.updateUser(t, leaver, map[string]any{"ManagerId": manager})
	org.seedHoldings(t, leaver)
	d.write(t, []person{people[0], people[2]})
	d.must(t, exitOK, "apply", "--once")
	if diff := cmp.Diff(moved, org.holdings(t, manager)); diff != "" {
		t.Fatalf("what the manager received (-want +got):\n%s", diff)
	}

	d.write(t, people)
	d.must(t, exitOK, "apply", "--once")
	want := map[string]int{}
	for object, n := range moved {
		want[object] = n
	}
	if diff := cmp.Diff(want, org.holdings(t, leaver)); diff != "" {
		t.Errorf("what the returner got back (-want +got):\n%s", diff)
	}
	if h := org.holdings(t, manager); len(h) != 0 {
		t.Errorf("the manager still holds %v", h)
	}
	if a := d.explain(t, people[1].ID).newest(t, "return_records"); a.Status != "applied" {
		t.Errorf("the return is %+v, want applied", a)
	}
	if w := d.applyWrites(t, exitOK); len(w) != 0 {
		t.Errorf("the next cycle wrote %v: nothing is returned twice", w)
	}
}

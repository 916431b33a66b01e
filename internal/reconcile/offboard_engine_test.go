package reconcile_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/app"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/sfsim"
	"github.com/syncd-io/syncd/internal/source"
)

// offboardingObjects are the objects an offboarding moves in these tests.
var offboardingObjects = []string{"Opportunity", "Case", "Lead", "Account", "Contact"}

// newOffboardEnv is an env with the real planner, no guardrail, and every
// offboarding step, over the Offboarder adapter on the org's client.
func newOffboardEnv(t *testing.T, org *simOrg, records []source.Record, mod func(*reconcile.Offboarding)) *env {
	t.Helper()
	return newOffboardEnvWith(t, org, app.NewOffboarder(org.Client), records, mod)
}

// newOffboardEnvWith is newOffboardEnv over a given Offboarder.
func newOffboardEnvWith(t *testing.T, org *simOrg, ob reconcile.Offboarder, records []source.Record, mod func(*reconcile.Offboarding)) *env {
	t.Helper()
	return newEnv(t, org, records, func(c *reconcile.Config) {
		c.Plan = nil
		c.Offboarder = ob
		c.Policy.Guardrails = reconcile.Guardrails{MaxDeactivations: -1, MaxDeactivationPercent: -1, MaxSourceShrinkPercent: -1}
		c.Policy.Offboarding = reconcile.Offboarding{Freeze: true, EndSessions: true, RevokeTokens: true,
			TransferObjects: offboardingObjects}
		c.Transfers = c.Journal.(*memJournal)
		if mod != nil {
			mod(&c.Policy.Offboarding)
		}
	})
}

// leaverOrg is what a leaver owns in the org besides their user.
type leaverOrg struct {
	leaver, manager string // user Ids
	open            []string
	closed          []string // a closed opportunity and a converted lead: not moved
	workitem        string
}

// seedLeaver gives p0001 (managed by p0000) open and closed records, two sessions,
// an OAuth token and a pending approval, and an active case assignment rule that
// would give cases to p0002.
func seedLeaver(t *testing.T, org *simOrg) leaverOrg {
	t.Helper()
	sim := org.Sim
	l := leaverOrg{leaver: userID(t, sim, "p0001@acme.example.com"), manager: userID(t, sim, "p0000@acme.example.com")}
	rs, err := org.Client.UpdateRecords(context.Background(), "User", []salesforce.RecordUpdate{{ID: l.leaver, Fields: salesforce.Fields{"ManagerId": l.manager}}})
	if err != nil || !rs[0].Success {
		t.Fatalf("setting the manager: %v %+v", err, rs)
	}
	add := func(object string, fields map[string]any) string {
		t.Helper()
		id, err := sim.AddRecord(object, fields)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	acct := add("Account", map[string]any{"Name": "Acme", "OwnerId": l.leaver})
	l.open = []string{
		acct,
		add("Contact", map[string]any{"LastName": "Buyer", "AccountId": acct, "OwnerId": l.leaver}),
		add("Opportunity", map[string]any{"Name": "Big deal", "StageName": "Prospecting", "OwnerId": l.leaver}),
		add("Opportunity", map[string]any{"Name": "Small deal", "StageName": "Prospecting", "OwnerId": l.leaver}),
		add("Case", map[string]any{"Subject": "Broken", "Status": "New", "OwnerId": l.leaver}),
		add("Lead", map[string]any{"LastName": "Prospect", "Company": "Initech", "OwnerId": l.leaver}),
	}
	l.closed = []string{
		add("Opportunity", map[string]any{"Name": "Won deal", "StageName": "Closed Won", "IsClosed": true, "OwnerId": l.leaver}),
		add("Lead", map[string]any{"LastName": "Done", "Company": "Initrode", "IsConverted": true, "OwnerId": l.leaver}),
	}
	l.workitem = add("ProcessInstanceWorkitem", map[string]any{"ActorId": l.leaver, "OriginalActorId": l.leaver})
	add("AuthSession", map[string]any{"UsersId": l.leaver, "SessionType": "UI"})
	add("AuthSession", map[string]any{"UsersId": l.leaver, "SessionType": "Oauth2"})
	add("AuthSession", map[string]any{"UsersId": l.manager, "SessionType": "UI"})
	add("OauthToken", map[string]any{"UserId": l.leaver, "AppName": "Salesforce Mobile", "DeleteToken": "dt-leaver-1"})
	if err := sim.SetAssignmentRule("Case", "p0002@acme.example.com"); err != nil {
		t.Fatal(err)
	}
	return l
}

func userID(t *testing.T, sim *sfsim.Server, username string) string {
	t.Helper()
	u, ok := sim.User(username)
	if !ok {
		t.Fatalf("no user %s", username)
	}
	return u.ID
}

// owners returns each record's owner (ActorId for a work item), by record Id.
func owners(t *testing.T, sim *sfsim.Server) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, obj := range append([]string{"ProcessInstanceWorkitem"}, offboardingObjects...) {
		recs, err := sim.Records(obj)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			owner, _ := r["OwnerId"].(string)
			if actor, ok := r["ActorId"].(string); ok {
				owner = actor
			}
			out[r["Id"].(string)] = owner
		}
	}
	return out
}

func count(t *testing.T, sim *sfsim.Server, object, field, value string) int {
	t.Helper()
	recs, err := sim.Records(object)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r[field] == value {
			n++
		}
	}
	return n
}

func TestLeaverIsOffboarded(t *testing.T) {
	org := newSimOrg(t, nil)
	e := newOffboardEnv(t, org, people(0, 3), nil)
	e.runOnce(t)
	l := seedLeaver(t, org)
	e.src.set([]source.Record{person(0), person(2)})

	s, calls := e.runOnce(t)
	want := []outcome{
		{Kind: reconcile.KindFreeze, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindEndSessions, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindRevokeTokens, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindTransfer, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "applied"},
	}
	if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
		t.Errorf("run 2 (-want +got):\n%s", diff)
	}
	u, _ := org.Sim.User(l.leaver)
	if u.IsActive || !u.IsFrozen {
		t.Errorf("leaver active %v frozen %v, want inactive and frozen", u.IsActive, u.IsFrozen)
	}
	if n := count(t, org.Sim, "AuthSession", "UsersId", l.leaver); n != 0 {
		t.Errorf("the leaver has %d sessions left", n)
	}
	if n := count(t, org.Sim, "AuthSession", "UsersId", l.manager); n != 1 {
		t.Errorf("the manager has %d sessions, want 1 (untouched)", n)
	}
	if n := count(t, org.Sim, "OauthToken", "UserId", l.leaver); n != 0 {
		t.Errorf("the leaver has %d OAuth tokens left", n)
	}
	got := owners(t, org.Sim)
	for _, id := range append([]string{l.workitem}, l.open...) {
		if got[id] != l.manager {
			t.Errorf("record %s is owned by %s, want the manager %s (assignment rules must not apply)", id, got[id], l.manager)
		}
	}
	for _, id := range l.closed {
		if got[id] != l.leaver {
			t.Errorf("closed record %s moved to %s; closed and converted records stay", id, got[id])
		}
	}
	notes := map[reconcile.Kind]string{}
	run := e.journal.run(2)
	for i, en := range run.entries {
		notes[en.Action.Kind] = run.results[i+1].Note
	}
	wantNotes := map[reconcile.Kind]string{
		reconcile.KindFreeze:       "",
		reconcile.KindEndSessions:  "2 sessions ended",
		reconcile.KindRevokeTokens: "1 OAuth tokens revoked",
		reconcile.KindTransfer:     "to " + l.manager + ": 1 Account, 1 Case, 1 Contact, 1 Lead, 2 Opportunity, 1 ProcessInstanceWorkitem",
		reconcile.KindDeactivate:   "",
	}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"Salesforce": 1}, s.SeatsFreed); diff != "" {
		t.Errorf("seats freed (-want +got):\n%s", diff)
	}
	// Reads: users, profiles, roles. Freeze: UserLogin query and update.
	// Sessions: query and delete. Tokens: query and one revoke (not an API call).
	// Transfer: one query per object and for work items, one update per object with
	// records. Deactivation: the preflight's Site query and one update.
	wantCalls := pages(4) + lookups + 2 + 2 + 1 + int64(len(offboardingObjects)+1) + int64(len(offboardingObjects)+1) + 1 + 1
	if calls != wantCalls {
		t.Errorf("the offboarding cycle cost %d calls, want %d", calls, wantCalls)
	}

	// Nothing is left to do: the next cycle plans nothing and writes nothing.
	s, calls = e.runOnce(t)
	if s.Applied+s.Failed+s.Pending != 0 || calls != pages(4)+lookups {
		t.Errorf("the next cycle applied %d, failed %d, pending %d, and cost %d calls", s.Applied, s.Failed, s.Pending, calls)
	}
}

func TestBlockedLeaverStaysFrozenAndIsRetriedDaily(t *testing.T) {
	org := newSimOrg(t, nil)
	e := newOffboardEnv(t, org, people(0, 3), nil)
	e.runOnce(t)
	if err := org.Sim.AddBlocker("p0001@acme.example.com", sfsim.BlockerDefaultCaseOwner); err != nil {
		t.Fatal(err)
	}
	e.src.set([]source.Record{person(0), person(2)})
	s, _ := e.runOnce(t)
	want := []outcome{
		{Kind: reconcile.KindFreeze, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindEndSessions, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindRevokeTokens, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindTransfer, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "failed", Code: "FIELD_INTEGRITY_EXCEPTION", Backoff: reconcile.BlockedRetry},
	}
	if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
		t.Errorf("run 2 (-want +got):\n%s", diff)
	}
	if s.Blocked != 1 {
		t.Errorf("Summary.Blocked = %d, want 1", s.Blocked)
	}
	msg := e.journal.resultOf(t, 2, "E0001", reconcile.KindDeactivate).ErrorMessage
	for _, part := range []string{"blocker default_case_owner", "Support Settings", "the user stays frozen"} {
		if !strings.Contains(msg, part) {
			t.Errorf("message %q lacks %q", msg, part)
		}
	}
	if u, _ := org.Sim.User("p0001@acme.example.com"); !u.IsActive || !u.IsFrozen {
		t.Errorf("blocked leaver active %v frozen %v, want active and frozen", u.IsActive, u.IsFrozen)
	}

	// An hour later the leaver is not tried again, and nothing is written.
	e.at = testNow.Add(time.Hour)
	s, calls := e.runOnce(t)
	if s.Applied+s.Failed+s.Pending != 0 || calls != pages(4)+lookups {
		t.Errorf("an hour later: applied %d, failed %d, pending %d, %d calls; want nothing but the reads", s.Applied, s.Failed, s.Pending, calls)
	}

	// The person returns: their frozen user is unfrozen.
	e.src.set(people(0, 3))
	e.runOnce(t)
	checkReturned(t, org.Sim, "p0001@acme.example.com")
}

// checkReturned checks that a returner's user is active and not frozen.
func checkReturned(t *testing.T, sim *sfsim.Server, username string) {
	t.Helper()
	if u, _ := sim.User(username); !u.IsActive || u.IsFrozen {
		t.Errorf("returner active %v frozen %v, want active and not frozen", u.IsActive, u.IsFrozen)
	}
}

func TestReturnerIsReactivatedAndUnfrozen(t *testing.T) {
	org := newSimOrg(t, nil)
	e := newOffboardEnv(t, org, people(0, 3), nil)
	e.runOnce(t)
	e.src.set([]source.Record{person(0), person(2)})
	e.runOnce(t)
	e.src.set(people(0, 3))
	e.runOnce(t)
	want := []outcome{
		{Kind: reconcile.KindReactivate, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindUnfreeze, IdPID: "E0001", Status: "applied"},
	}
	if diff := cmp.Diff(want, e.journal.outcomes(3)); diff != "" {
		t.Errorf("run 3 (-want +got):\n%s", diff)
	}
	checkReturned(t, org.Sim, "p0001@acme.example.com")
}

// TestOffboardingResumesAfterAFailedStep fails the transfer of the leaver's records
// once: the leaver is frozen and cut off but not deactivated (records must move
// while the owner is active), and the next cycle finishes without repeating what
// was done.
func TestOffboardingResumesAfterAFailedStep(t *testing.T) {
	org := newSimOrg(t, nil)
	e := newOffboardEnv(t, org, people(0, 3), nil)
	e.runOnce(t)
	l := seedLeaver(t, org)
	if err := org.Sim.LockRecord(l.open[2]); err != nil { // an opportunity in approval
		t.Fatal(err)
	}
	e.src.set([]source.Record{person(0), person(2)})
	e.runOnce(t)
	want := []outcome{
		{Kind: reconcile.KindFreeze, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindEndSessions, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindRevokeTokens, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindTransfer, IdPID: "E0001", Status: "failed", Code: "ENTITY_IS_LOCKED", Backoff: time.Hour},
		{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "skipped"},
	}
	if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
		t.Errorf("run 2 (-want +got):\n%s", diff)
	}
	if u, _ := org.Sim.User(l.leaver); !u.IsActive || !u.IsFrozen {
		t.Errorf("leaver active %v frozen %v, want active and frozen", u.IsActive, u.IsFrozen)
	}

	// Within the transfer's back-off nothing more is tried; the freeze holds.
	e.at = testNow.Add(30 * time.Minute)
	if s, _ := e.runOnce(t); s.Applied+s.Failed+s.Pending != 0 {
		t.Errorf("within the back-off: applied %d, failed %d, pending %d; want nothing", s.Applied, s.Failed, s.Pending)
	}

	org.Sim.UnlockRecord(l.open[2]) // the approval is decided
	e.at = testNow.Add(2 * time.Hour)
	e.runOnce(t)
	want = []outcome{
		{Kind: reconcile.KindEndSessions, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindRevokeTokens, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindTransfer, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "applied"},
	}
	if diff := cmp.Diff(want, e.journal.outcomes(4)); diff != "" {
		t.Errorf("run 4 (-want +got):\n%s (the freeze must not be repeated)", diff)
	}
	run := e.journal.run(4)
	for i, en := range run.entries {
		note := run.results[i+1].Note
		switch en.Action.Kind {
		case reconcile.KindEndSessions, reconcile.KindRevokeTokens:
			if note != "nothing to do" {
				t.Errorf("%s note %q: sessions and tokens were dealt with in run 2", en.Action.Kind, note)
			}
		case reconcile.KindTransfer:
			if want := "to " + l.manager + ": 1 Opportunity"; note != want {
				t.Errorf("transfer note %q, want %q (only the locked record was left)", note, want)
			}
		}
	}
}

// resultOf returns the result of person idpID's action of kind in run id.
func (j *memJournal) resultOf(t *testing.T, id int64, idpID string, kind reconcile.Kind) reconcile.Result {
	t.Helper()
	r := j.run(id)
	for i, e := range r.entries {
		if e.Action.IdPID == idpID && e.Action.Kind == kind {
			return r.results[i+1]
		}
	}
	t.Fatalf("run %d has no %s action for %s", id, kind, idpID)
	return reconcile.Result{}
}

// memTransfers is memJournal's TransferLog: every transfer with whether it was
// returned.
type memTransfers struct {
	all      []reconcile.Transfer
	returned map[reconcile.Transfer]bool
}

func (j *memJournal) RecordTransfers(_ context.Context, ts []reconcile.Transfer) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, t := range ts {
		if !slices.Contains(j.transfers.all, t) {
			j.transfers.all = append(j.transfers.all, t)
		}
	}
	return nil
}

func (j *memJournal) PendingTransfers(_ context.Context, idpIDs []string) ([]reconcile.Transfer, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []reconcile.Transfer
	seen := map[string]bool{}
	for _, t := range j.transfers.all {
		switch {
		case j.transfers.returned[t]:
		case len(idpIDs) == 0 && !seen[t.IdPID]:
			seen[t.IdPID] = true
			out = append(out, reconcile.Transfer{IdPID: t.IdPID})
		case slices.Contains(idpIDs, t.IdPID):
			out = append(out, t)
		}
	}
	return out, nil
}

func (j *memJournal) MarkReturned(_ context.Context, ts []reconcile.Transfer) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.transfers.returned == nil {
		j.transfers.returned = map[reconcile.Transfer]bool{}
	}
	for _, t := range ts {
		j.transfers.returned[t] = true
	}
	return nil
}

// TestAReturnerGetsTheirRecordsBack offboards a leaver, reassigns one of the records
// they handed over to someone else, and brings them back with return_records: what
// is still the manager's comes back, the reassigned one stays, and nothing is
// returned twice.
func TestAReturnerGetsTheirRecordsBack(t *testing.T) {
	org := newSimOrg(t, nil)
	e := newOffboardEnv(t, org, people(0, 3), func(o *reconcile.Offboarding) { o.ReturnRecords = true })
	e.runOnce(t)
	l := seedLeaver(t, org)
	e.src.set([]source.Record{person(0), person(2)})
	e.runOnce(t)
	other := userID(t, org.Sim, "p0002@acme.example.com")
	rs, err := org.Client.TransferRecords(context.Background(), "Opportunity", []salesforce.RecordUpdate{{ID: l.open[2], Fields: salesforce.Fields{"OwnerId": other}}})
	if err != nil || !rs[0].Success {
		t.Fatalf("reassigning an opportunity: %v %+v", err, rs)
	}

	e.src.set(people(0, 3))
	e.runOnce(t)
	want := []outcome{
		{Kind: reconcile.KindReactivate, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindUnfreeze, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindReturnRecords, IdPID: "E0001", Status: "applied"},
	}
	if diff := cmp.Diff(want, e.journal.outcomes(3)); diff != "" {
		t.Errorf("run 3 (-want +got):\n%s", diff)
	}
	if note := e.journal.resultOf(t, 3, "E0001", reconcile.KindReturnRecords).Note; note !=
		"6 records given back; 1 had changed hands since and were left with their owner" {
		t.Errorf("return note %q", note)
	}
	got := owners(t, org.Sim)
	for _, id := range append([]string{l.workitem}, l.open...) {
		want := l.leaver
		if id == l.open[2] {
			want = other
		}
		if got[id] != want {
			t.Errorf("record %s is owned by %s, want %s", id, got[id], want)
		}
	}
	if s, _ := e.runOnce(t); s.Applied+s.Failed+s.Pending != 0 {
		t.Errorf("the next cycle applied %d, failed %d, pending %d: nothing is returned twice", s.Applied, s.Failed, s.Pending)
	}
}

func TestNewRefusesOffboardingItCannotDo(t *testing.T) {
	org := newSimOrg(t, nil)
	for _, tt := range []struct {
		name string
		mod  func(*reconcile.Config)
		want string
	}{
		{"steps without an Offboarder", func(c *reconcile.Config) {
			c.Offboarder, c.Transfers = nil, nil
			c.Policy.Offboarding.ReturnRecords = false
		}, "policy.offboarding needs Config.Offboarder"},
		{"returns without a TransferLog", func(c *reconcile.Config) { c.Transfers = nil }, "return_records needs Config.Transfers"},
		{"a grace period without a freeze", func(c *reconcile.Config) {
			c.Policy.Offboarding.Freeze, c.Policy.Offboarding.GracePeriod = false, time.Hour
		}, "grace_period needs freeze"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := reconcile.Config{Source: &fakeSource{}, Mapper: newMapper(t), Directory: org.Directory, Journal: newJournal(),
				Offboarder: app.NewOffboarder(org.Client),
				Policy:     reconcile.Policy{Offboarding: reconcile.Offboarding{Freeze: true, TransferObjects: offboardingObjects, ReturnRecords: true}}}
			cfg.Transfers = cfg.Journal.(*memJournal)
			tt.mod(&cfg)
			if _, err := reconcile.New(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

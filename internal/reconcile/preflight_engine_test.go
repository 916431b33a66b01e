package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd-io/syncd/internal/app"
	"github.com/syncd-io/syncd/internal/app/apptest"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/sfsim"
	"github.com/syncd-io/syncd/internal/source"
)

// siteQueries returns the Site queries the org received after the first skip.
func siteQueries(sim *sfsim.Server, skip int) []string {
	var out []string
	for _, q := range sim.Queries()[skip:] {
		if strings.Contains(q, "FROM Site") {
			out = append(out, q)
		}
	}
	return out
}

func TestGuestRecordOwnerIsNotSentADeactivation(t *testing.T) {
	org := newSimOrg(t, nil)
	e := newOffboardEnv(t, org, people(0, 3), nil)
	e.runOnce(t)
	leaver := userID(t, org.Sim, "p0001@acme.example.com")
	site, err := org.Sim.AddRecord("Site", map[string]any{"Name": "Partner_Portal", "Status": "Active",
		"GuestRecordDefaultOwnerId": leaver})
	if err != nil {
		t.Fatal(err)
	}
	e.src.set([]source.Record{person(0), person(2)})
	org.Sim.ResetCalls()
	seen := len(org.Sim.Queries())

	s, calls := e.runOnce(t)
	want := []outcome{
		{Kind: reconcile.KindFreeze, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindEndSessions, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindRevokeTokens, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindTransfer, IdPID: "E0001", Status: "applied"},
		{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "failed", Code: reconcile.CodeBlockerFound, Backoff: reconcile.BlockedRetry},
	}
	if diff := cmp.Diff(want, e.journal.outcomes(2)); diff != "" {
		t.Errorf("run 2 (-want +got):\n%s", diff)
	}
	if s.Blocked != 1 {
		t.Errorf("Summary.Blocked = %d, want 1", s.Blocked)
	}
	msg := e.journal.resultOf(t, 2, "E0001", reconcile.KindDeactivate).ErrorMessage
	for _, part := range []string{
		"This user is the default owner of records created by guest users and can't be deactivated",
		"Partner_Portal (" + site + ")", "blocker guest_record_owner", "the site's settings", "the user stays frozen",
	} {
		if !strings.Contains(msg, part) {
			t.Errorf("message %q lacks %q", msg, part)
		}
	}
	if u, _ := org.Sim.User(leaver); !u.IsActive || !u.IsFrozen {
		t.Errorf("blocked leaver active %v frozen %v, want active and frozen", u.IsActive, u.IsFrozen)
	}
	// The one write is the freeze's UserLogin update: no deactivation was sent.
	if writes := org.Sim.Calls(); writes["sobject.update"]+writes["collections.update"] != 1 {
		t.Errorf("writes %v, want the freeze's one update and no deactivation", writes)
	}
	if got := siteQueries(org.Sim, seen); len(got) != 1 || !strings.Contains(got[0], leaver) {
		t.Errorf("Site queries %q, want one naming the leaver", got)
	}
	// Reads, the freeze (query, update), the sessions and tokens queries, a query per
	// transferred object and for work items (nothing to move), the Site query.
	if want := pages(4) + lookups + 2 + 1 + 1 + int64(len(offboardingObjects)+1) + 1; calls != want {
		t.Errorf("the cycle cost %d calls, want %d", calls, want)
	}

	// An hour later the leaver is neither looked at nor tried again.
	e.at = testNow.Add(time.Hour)
	seen = len(org.Sim.Queries())
	s, calls = e.runOnce(t)
	if s.Applied+s.Failed+s.Pending != 0 || calls != pages(4)+lookups || len(siteQueries(org.Sim, seen)) != 0 {
		t.Errorf("an hour later: applied %d, failed %d, pending %d, %d calls; want nothing but the reads", s.Applied, s.Failed, s.Pending, calls)
	}
}

func TestOrgWithoutSiteOffboardsAndStopsAsking(t *testing.T) {
	org := &simOrg{Org: apptest.NewOrg(t, sfsim.Options{Clock: clock, WithoutSite: true}, nil)}
	org.Directory = app.NewDirectory(org.Client)
	core, logs := observer.New(zap.InfoLevel)
	e := newOffboardEnvWith(t, org, app.NewOffboarder(org.Client).WithLogger(zap.New(core)), people(0, 4), nil)
	e.runOnce(t)

	e.src.set(people(2, 4)) // E0000 and E0001 leave: one Site query for both
	e.runOnce(t)
	e.src.set(people(3, 4)) // E0002 leaves: the org has no Site, so no query
	e.runOnce(t)

	for _, n := range []int{0, 1, 2} {
		username := person(n).Emails[0].Value
		if u, _ := org.Sim.User(username); u.IsActive {
			t.Errorf("%s is active; an org without Site must not stop offboarding", username)
		}
	}
	got := siteQueries(org.Sim, 0)
	if len(got) != 1 || !strings.Contains(got[0], userID(t, org.Sim, "p0000@acme.example.com")) ||
		!strings.Contains(got[0], userID(t, org.Sim, "p0001@acme.example.com")) {
		t.Errorf("Site queries %q, want one, for both leavers of the first cycle", got)
	}
	if n := logs.FilterMessageSnippet("no Site object").Len(); n != 1 {
		t.Errorf("logged the missing Site object %d times, want once", n)
	}
}

// failingPreflight is the real Offboarder whose preflight fails as a whole.
type failingPreflight struct {
	*app.Offboarder
	err error
}

func (f failingPreflight) DeactivationBlockers(context.Context, []string) (map[string]string, error) {
	return nil, f.err
}

func TestAFailedPreflightSendsNoDeactivation(t *testing.T) {
	org := newSimOrg(t, nil)
	ob := failingPreflight{app.NewOffboarder(org.Client), &reconcile.CallError{Class: reconcile.ClassTransient, Err: errors.New("the Site query timed out")}}
	e := newOffboardEnvWith(t, org, ob, people(0, 3), nil)
	e.runOnce(t)
	e.src.set([]source.Record{person(0), person(2)})
	org.Sim.ResetCalls()

	if _, err := e.engine.RunOnce(context.Background(), "manual"); err == nil || !strings.Contains(err.Error(), "looking for deactivation blockers") {
		t.Errorf("RunOnce: %v, want the preflight's failure", err)
	}
	got := e.journal.outcomes(2)
	want := outcome{Kind: reconcile.KindDeactivate, IdPID: "E0001", Status: "failed"}
	if diff := cmp.Diff(want, got[len(got)-1]); diff != "" {
		t.Errorf("the deactivation (-want +got):\n%s", diff)
	}
	if u, _ := org.Sim.User("p0001@acme.example.com"); !u.IsActive || !u.IsFrozen {
		t.Errorf("leaver active %v frozen %v, want active and frozen: no deactivation is sent blind", u.IsActive, u.IsFrozen)
	}
	if writes := org.Sim.Calls(); writes["sobject.update"]+writes["collections.update"] != 1 {
		t.Errorf("writes %v, want the freeze's one update and no deactivation", writes)
	}
}

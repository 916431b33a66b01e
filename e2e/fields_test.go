package e2e

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fieldsOf returns the named fields of a user as sfsim holds them.
func fieldsOf(u simUser, names ...string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = u.field(n)
	}
	return out
}

func TestDriftInAlwaysFieldsIsRevertedAndOnCreateFieldsAreLeftAlone(t *testing.T) {
	t.Parallel()
	org, d, people := synced(t, lenient(), 3)
	drifted, retimed := people[0], people[1]

	// An admin edits two users in Salesforce: Title and LastName are mapped `always`,
	// TimeZoneSidKey `on_create`.
	org.updateUser(t, org.user(t, drifted.username()).ID, map[string]any{"Title": "Chief Drift Officer", "LastName": "Drifted"})
	org.updateUser(t, org.user(t, retimed.username()).ID, map[string]any{"TimeZoneSidKey": "Europe/Paris"})

	if diff := cmp.Diff(map[string]int{"collections.update": 1}, d.applyWrites(t, exitOK)); diff != "" {
		t.Errorf("write requests (-want +got):\n%s", diff)
	}
	want := map[string]string{"Title": drifted.Title, "LastName": drifted.FamilyName, "TimeZoneSidKey": "America/New_York"}
	if diff := cmp.Diff(want, fieldsOf(org.user(t, drifted.username()), "Title", "LastName", "TimeZoneSidKey")); diff != "" {
		t.Errorf("the drifted user's fields (-want +got):\n%s", diff)
	}
	want = map[string]string{"Title": retimed.Title, "LastName": retimed.FamilyName, "TimeZoneSidKey": "Europe/Paris"}
	if diff := cmp.Diff(want, fieldsOf(org.user(t, retimed.username()), "Title", "LastName", "TimeZoneSidKey")); diff != "" {
		t.Errorf("the re-timed user's fields (-want +got):\n%s", diff)
	}
	d.must(t, exitOK, "plan")

	t.Run("explain shows the revert with the drifted values", func(t *testing.T) {
		e := d.explain(t, drifted.ID)
		if diff := cmp.Diff([]string{"update applied", "create applied"}, e.history()); diff != "" {
			t.Fatalf("history (-want +got):\n%s", diff)
		}
		got := map[string][2]string{}
		for _, c := range e.Actions[0].Changes {
			got[c.Field] = [2]string{c.Before, c.After}
		}
		want := map[string][2]string{"Title": {"Chief Drift Officer", drifted.Title}, "LastName": {"Drifted", drifted.FamilyName}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("the update's changes, field → [before after] (-want +got):\n%s", diff)
		}
	})
}

func TestAnExistingUserWithTheSameEmailInAnotherCaseIsAdoptedOnce(t *testing.T) {
	t.Parallel()
	org := startSfsim(t, nil)
	d := deploy(t, org, lenient())
	people := staff(1, 3)
	dana := person{ID: "E00900", Email: "dana.doe@acme.example.com", GivenName: "Dana", FamilyName: "Doe", Title: "Engineer", Department: "Engineering"}
	people = append(people, dana)
	ids := org.addUsers(t, map[string]any{
		"Username": "dana.legacy@acme.example.com", "Email": "Dana.Doe@ACME.Example.com",
		"FirstName": "Dana", "LastName": "Doe", "Profile": "Standard User",
	})
	d.write(t, people)

	if diff := cmp.Diff(map[string]int{"collections.create": 1, "collections.update": 1}, d.applyWrites(t, exitOK)); diff != "" {
		t.Errorf("write requests (-want +got):\n%s", diff)
	}
	checkSynced(t, org, d, people, nil)
	if l := d.links(t)[dana.ID]; l.SalesforceID != ids[0] || l.Origin != "adopted" {
		t.Errorf("Dana's link is %+v, want adopted to the existing user %s", l, ids[0])
	}

	if w := d.applyWrites(t, exitOK); len(w) > 0 {
		t.Errorf("the run after the adoption wrote: %v", w)
	}
	if diff := cmp.Diff([]string{"adopt applied"}, d.explain(t, dana.ID).history()); diff != "" {
		t.Errorf("Dana's history (-want +got):\n%s", diff)
	}
}

func TestAUsernameTakenInAnotherOrgIsReportedOnceAndBackedOff(t *testing.T) {
	t.Parallel()
	erin := person{ID: "E00800", Email: "erin@acme.example.com", GivenName: "Erin", FamilyName: "Elsewhere", Title: "Engineer", Department: "Engineering"}
	org := startSfsim(t, map[string]any{"takenUsernames": []string{erin.username()}})
	d := deploy(t, org, lenient())
	people := staff(1, 3)
	d.write(t, append(people, erin))

	if diff := cmp.Diff(map[string]int{"collections.create": 1}, d.applyWrites(t, exitPartial)); diff != "" {
		t.Errorf("write requests of the first run (-want +got):\n%s", diff)
	}
	checkSynced(t, org, d, people, nil)
	if w := d.applyWrites(t, exitOK); len(w) > 0 {
		t.Errorf("the next cycle tried again: %v", w)
	}

	e := d.explain(t, erin.ID)
	if diff := cmp.Diff([]string{"create DUPLICATE_USERNAME"}, e.failures(t)); diff != "" {
		t.Errorf("Erin's failures (-want +got):\n%s\nhistory: %v", diff, e.history())
	}
	if e.Link != nil {
		t.Errorf("Erin is linked: %+v", e.Link)
	}
}

// failures lists an explanation's failed actions as "kind code", newest first; each
// must carry its next attempt time (a back-off), or the test fails.
func (e explanation) failures(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, a := range e.Actions {
		if a.Status == "failed" {
			out = append(out, a.Kind+" "+a.ErrorCode)
			if a.NextAttemptAt == nil {
				t.Errorf("the failed %s of run %d has no next attempt time", a.Kind, a.RunID)
			}
		}
	}
	return out
}

func TestNamesAreStoredVerbatim(t *testing.T) {
	t.Parallel()
	org := startSfsim(t, nil)
	d := deploy(t, org, lenient())
	people := []person{
		{ID: "Q-1", Email: "obrien@acme.example.com", GivenName: `Bob "The Builder"`, FamilyName: `O'Brien`, Title: `' OR Name LIKE '% {{ .Email }}`, Department: `R\D`},
		{ID: `Q'2\`, Email: "yamada@acme.example.com", GivenName: "太郎", FamilyName: "山田", Title: "研究開発部長", Department: "研究開発"},
		{ID: `' OR Id != '`, Email: "o'hara@acme.example.com", GivenName: `back\slash`, FamilyName: `semi;colon, comma`, Title: `%_\'"`, Department: "x\ty"},
	}
	d.write(t, people)
	// The create's answer is lost after sfsim made the users, so syncd must find them
	// again with SOQL on these FederationIdentifiers before anything is resent.
	org.injectFault(t, map[string]any{"endpoint": "collections.create", "fault": map[string]any{"dropAfter": true}})
	before := org.state(t)
	out := d.must(t, exitOK, "apply", "--once")
	if diff := cmp.Diff(map[string]int{"token": 1, "query": 4, "collections.create": 1}, callsSince(before, org.state(t))); diff != "" {
		t.Errorf("requests (-want +got): one query more than a plain first sync, to find the users again\n%s\n%s", diff, out.stdout)
	}
	for _, p := range people {
		u := org.user(t, p.username())
		want := map[string]string{"FederationIdentifier": p.ID, "FirstName": p.GivenName, "LastName": p.FamilyName,
			"Title": p.Title, "Department": p.Department, "Email": p.Email}
		if diff := cmp.Diff(want, fieldsOf(u, "FederationIdentifier", "FirstName", "LastName", "Title", "Department", "Email")); diff != "" {
			t.Errorf("user %s (-want +got):\n%s", p.username(), diff)
		}
	}
	checkSynced(t, org, d, people, nil)

	if w := d.applyWrites(t, exitOK); len(w) > 0 {
		t.Errorf("the run after the first wrote again, so some value did not round-trip: %v", w)
	}
	d.must(t, exitOK, "plan")
}

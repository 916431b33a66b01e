package reconcile

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/mapping"
)

func TestReturningLeaverIsReactivatedNotCreated(t *testing.T) {
	ana := person("ana", with("Title", "Lead"))
	in := complete(Input{
		Desired:  []mapping.Desired{ana},
		Existing: []Existing{userOf(person("ana"), sfID(1), inactive)},
		Links:    []Link{{IdPID: "ana", SalesforceID: sfID(1)}},
	})
	got := Calculate(in, syncAll())
	want := []brief{{KindReactivate, "ana", sfID(1), MatchLink, []Change{
		{Field: "IsActive", Before: "false", After: "true"},
		{Field: "Title", Before: "Engineer", After: "Lead"},
	}}}
	if diff := cmp.Diff(want, briefs(got.Actions)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if r := got.Actions[0].Reason; r != "the linked user is inactive and the person is active in the source; 1 field differs: Title" {
		t.Errorf("reason %q", r)
	}
}

func TestRehireFoundByEmailOnAnInactiveUserIsReactivatedAndLinked(t *testing.T) {
	// The rehire has a new IdP id; the old account still holds the address.
	rehire := person("ana2", with("Email", "ana@example.com"), with("FederationIdentifier", ""))
	old := userOf(person("ana"), sfID(1), inactive)
	got := Calculate(complete(Input{Desired: []mapping.Desired{rehire}, Existing: []Existing{old}}), syncAll())
	if diff := cmp.Diff([]Kind{KindReactivate}, kinds(got.Actions)); diff != "" {
		t.Fatalf("kinds (-want +got):\n%s", diff)
	}
	a := got.Actions[0]
	if a.MatchedBy != MatchEmail || a.SalesforceID != sfID(1) {
		t.Errorf("matched by %q to %s, want email to %s", a.MatchedBy, a.SalesforceID, sfID(1))
	}
	if want := "matched by email to an inactive user: reactivate and link; 3 fields differ: FederationIdentifier, FirstName, Username"; a.Reason != want {
		t.Errorf("reason\n got %q\nwant %q", a.Reason, want)
	}
}

func TestNewHireIsCreatedWithEveryDesiredField(t *testing.T) {
	bo := person("bo", with("Title", ""))
	bo.Role = "Support Lead"
	got := Calculate(complete(Input{Desired: []mapping.Desired{bo}}), syncAll())
	want := []brief{{Kind: KindCreate, IdPID: "bo", Changes: []Change{
		{Field: "Department", After: "R&D"},
		{Field: "Email", After: "bo@example.com"},
		{Field: "FederationIdentifier", After: "bo"},
		{Field: "FirstName", After: "First bo"},
		{Field: "LanguageLocaleKey", After: "en_US"},
		{Field: "LastName", After: "Last"},
		{Field: "ProfileId", After: standardProfile},
		{Field: "TimeZoneSidKey", After: "Europe/Paris"},
		{Field: "Username", After: "bo@example.com.sf"},
	}}}
	if diff := cmp.Diff(want, briefs(got.Actions)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	a := got.Actions[0]
	if wantReason := "no user matches by federation_id, email, username; profile Standard User, role Support Lead chosen by the mapping rules"; a.Reason != wantReason {
		t.Errorf("reason\n got %q\nwant %q", a.Reason, wantReason)
	}
	if a.Username != "bo@example.com.sf" || a.Email != "bo@example.com" || a.Profile != "Standard User" || a.Role != "Support Lead" {
		t.Errorf("identification %q %q %q %q", a.Username, a.Email, a.Profile, a.Role)
	}
}

func TestLinkedUserIsUpdatedOnlyOnAlwaysFields(t *testing.T) {
	cy := person("cy", with("Title", "Lead"), with("Department", "Sales"))
	user := userOf(person("cy"), sfID(3),
		field("TimeZoneSidKey", "America/New_York"), // on_create: an admin may change it
		field("ProfileId", salesProfile))
	got := Calculate(complete(Input{
		Desired: []mapping.Desired{cy}, Existing: []Existing{user},
		Links: []Link{{IdPID: "cy", SalesforceID: sfID(3)}},
	}), syncAll())
	want := []brief{{KindUpdate, "cy", sfID(3), MatchLink, []Change{
		{Field: "Department", Before: "R&D", After: "Sales"},
		{Field: "Title", Before: "Engineer", After: "Lead"},
	}}}
	if diff := cmp.Diff(want, briefs(got.Actions)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if r := got.Actions[0].Reason; r != "linked; 2 fields differ: Department, Title" {
		t.Errorf("reason %q", r)
	}
}

func TestAlwaysManagedProfileChangeIsExplainedByTheRules(t *testing.T) {
	dee := person("dee", with("ProfileId", salesProfile))
	dee.Fields[6].Mode = mapping.Always // ProfileId, managed always
	dee.Profile = "Sales User"
	got := Calculate(complete(Input{
		Desired: []mapping.Desired{dee}, Existing: []Existing{userOf(person("dee"), sfID(4))},
		Links: []Link{{IdPID: "dee", SalesforceID: sfID(4)}},
	}), syncAll())
	if len(got.Actions) != 1 {
		t.Fatalf("got %d actions, want 1", len(got.Actions))
	}
	if want := "linked; 1 field differs: ProfileId; profile Sales User chosen by the mapping rules"; got.Actions[0].Reason != want {
		t.Errorf("reason\n got %q\nwant %q", got.Actions[0].Reason, want)
	}
}

func TestWhatSalesforceNormalisesIsNotAChange(t *testing.T) {
	ed := person("ed", with("Email", "Ed.Smith@Example.com"), with("Phone", ""), with("ManagerId", "005000000000777AAA"))
	ed.Fields[slicesIndex(ed.Fields, "ProfileId")].Mode = mapping.Always
	user := userOf(ed, sfID(5),
		field("Email", "ed.smith@example.com"),
		field("Username", "ED@EXAMPLE.COM.SF"),
		field("Title", " Engineer "),
		field("ProfileId", standardProfile[:15]),
		field("ManagerId", "005000000000777"))
	user.Fields = PackFields(deleteField(user.Fields.List(), "Phone")...) // null in Salesforce
	got := Calculate(complete(Input{
		Desired: []mapping.Desired{ed}, Existing: []Existing{user},
		Links: []Link{{IdPID: "ed", SalesforceID: sfID(5)}},
	}), syncAll())
	if diff := cmp.Diff([]brief{}, briefs(got.Actions)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

func TestUnlinkedUserFoundByFederationIDIsAdoptedEvenWithoutChanges(t *testing.T) {
	fay := person("fay")
	got := Calculate(complete(Input{Desired: []mapping.Desired{fay}, Existing: []Existing{userOf(fay, sfID(6))}}), syncAll())
	want := []brief{{Kind: KindAdopt, IdPID: "fay", SalesforceID: sfID(6), MatchedBy: MatchFederationID}}
	if diff := cmp.Diff(want, briefs(got.Actions)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if r := got.Actions[0].Reason; r != "matched by federation_id; no field differs" {
		t.Errorf("reason %q", r)
	}
}

func TestMatchKeysAreTriedInTheConfiguredOrder(t *testing.T) {
	// gus's FederationIdentifier is on one user, his email on another.
	gus := person("gus")
	byFed := userOf(person("gus", with("Email", "other@example.com"), with("Username", "other@example.com.sf")), sfID(7))
	byEmail := userOf(person("zed", with("Email", "GUS@example.com")), sfID(8))
	for _, tc := range []struct {
		name  string
		order []MatchKey
		want  brief
	}{
		{"default order", nil, brief{KindAdopt, "gus", sfID(7), MatchFederationID, nil}},
		{"email first", []MatchKey{MatchLink, MatchEmail, MatchFederationID}, brief{KindAdopt, "gus", sfID(8), MatchEmail, nil}},
		{"username only", []MatchKey{MatchUsername}, brief{KindAdopt, "gus", "", "", nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := syncAll()
			pol.Match = tc.order
			got := Calculate(complete(Input{Desired: []mapping.Desired{gus}, Existing: []Existing{byFed, byEmail}}), pol)
			if tc.want.SalesforceID == "" { // no key finds him: a create
				if diff := cmp.Diff([]Kind{KindCreate}, kinds(got.Actions)); diff != "" {
					t.Errorf("kinds (-want +got):\n%s", diff)
				}
				return
			}
			if len(got.Actions) != 1 {
				t.Fatalf("got %d actions, want 1", len(got.Actions))
			}
			g := got.Actions[0]
			if diff := cmp.Diff(tc.want, brief{g.Kind, g.IdPID, g.SalesforceID, g.MatchedBy, nil}); diff != "" {
				t.Errorf("action (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAmbiguousMatchesAreDisputedAndLeftAlone(t *testing.T) {
	for _, tc := range []struct {
		name     string
		desired  []mapping.Desired
		existing []Existing
		want     []Dispute
	}{{
		name:    "two users share the person's email",
		desired: []mapping.Desired{person("hal", with("FederationIdentifier", ""))},
		existing: []Existing{
			userOf(person("x1", with("Email", "hal@example.com")), sfID(10)),
			userOf(person("x2", with("Email", "Hal@Example.com")), sfID(11)),
		},
		want: []Dispute{{Key: MatchEmail, IdPIDs: []string{"hal"}, SalesforceIDs: []string{sfID(10), sfID(11)},
			Reason: "1 person and 2 users have the same Email"}},
	}, {
		name: "two people share the user's FederationIdentifier",
		desired: []mapping.Desired{
			person("ida", with("FederationIdentifier", "E1")),
			person("ivy", with("FederationIdentifier", "e1")),
		},
		existing: []Existing{userOf(person("x3", with("FederationIdentifier", "E1")), sfID(12))},
		want: []Dispute{{Key: MatchFederationID, IdPIDs: []string{"ida", "ivy"}, SalesforceIDs: []string{sfID(12)},
			Reason: "2 people and 1 user have the same FederationIdentifier"}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := Calculate(complete(Input{Desired: tc.desired, Existing: tc.existing}), syncAll())
			if diff := cmp.Diff(tc.want, got.Disputed); diff != "" {
				t.Errorf("disputes (-want +got):\n%s", diff)
			}
			if len(got.Actions)+len(got.Skipped) != 0 {
				t.Errorf("disputed people and users were acted on: %+v %+v", got.Actions, got.Skipped)
			}
			if got.Unmanaged != 0 {
				t.Errorf("disputed users counted as unmanaged: %d", got.Unmanaged)
			}
		})
	}
}

func TestAUserClaimedByALinkIsNotMatchedToAnotherPerson(t *testing.T) {
	// jo is linked to the user whose email kim now has; kim must not take it.
	jo := person("jo")
	kim := person("kim", with("Email", "jo@example.com"), with("FederationIdentifier", ""))
	got := Calculate(complete(Input{
		Desired:  []mapping.Desired{jo, kim},
		Existing: []Existing{userOf(jo, sfID(13))},
		Links:    []Link{{IdPID: "jo", SalesforceID: sfID(13)}},
	}), syncAll())
	want := []brief{{KindCreate, "kim", "", "", nil}}
	if diff := cmp.Diff(want, briefs(got.Actions), ignoreChanges()); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

func TestALinkToAUserNoLongerInTheOrgIsNotedAndThePersonMatchedAgain(t *testing.T) {
	lu := person("lu", with("Title", "Lead"))
	got := Calculate(complete(Input{
		Desired:  []mapping.Desired{lu},
		Existing: []Existing{userOf(person("lu"), sfID(15))},
		Links:    []Link{{IdPID: "lu", SalesforceID: sfID(14)}}, // the user of this link is gone
	}), syncAll())
	if diff := cmp.Diff([]Kind{KindAdopt}, kinds(got.Actions)); diff != "" {
		t.Fatalf("kinds (-want +got):\n%s", diff)
	}
	want := "the linked user " + sfID(14) + " no longer exists in Salesforce, so the person was matched again; matched by federation_id; 1 field differs: Title"
	if got.Actions[0].Reason != want {
		t.Errorf("reason\n got %q\nwant %q", got.Actions[0].Reason, want)
	}
}

func TestOnlyLinkedActiveUsersOfPeopleWhoLeftAreDeactivated(t *testing.T) {
	in := complete(Input{
		Existing: []Existing{
			userOf(person("gone"), sfID(20)),
			userOf(person("left"), sfID(21)),
			userOf(person("gone-before"), sfID(22), inactive),
			userOf(person("bad-record"), sfID(23)),
			userOf(person("never-linked"), sfID(24)),
		},
		Links: []Link{
			{IdPID: "gone", SalesforceID: sfID(20)},
			{IdPID: "left", SalesforceID: sfID(21)},
			{IdPID: "gone-before", SalesforceID: sfID(22)},
			{IdPID: "bad-record", SalesforceID: sfID(23)},
		},
		Inactive: []string{"left"},
		Rejected: []mapping.Rejection{{ID: "bad-record", Position: 1}},
	})
	got := Calculate(in, syncAll())
	isActive := []Change{{Field: "IsActive", Before: "true", After: "false"}}
	want := []brief{
		{KindDeactivate, "gone", sfID(20), MatchLink, isActive},
		{KindDeactivate, "left", sfID(21), MatchLink, isActive},
	}
	if diff := cmp.Diff(want, briefs(got.Actions)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	reasons := []string{got.Actions[0].Reason, got.Actions[1].Reason}
	if diff := cmp.Diff([]string{"the linked person is no longer in the source", "the linked person is inactive in the source"}, reasons); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	if got.Unmanaged != 1 || got.Managed != 4 {
		t.Errorf("unmanaged %d managed %d, want 1 and 4", got.Unmanaged, got.Managed)
	}
}

func TestProtectedAndNonStandardUsersAreNeverActedOn(t *testing.T) {
	drift := with("Title", "Changed")
	in := complete(Input{
		Desired: []mapping.Desired{person("by-id", drift), person("by-name", drift), person("by-profile", drift), person("portal", drift), person("integration")},
		Existing: []Existing{
			userOf(person("by-id"), sfID(30)),
			userOf(person("by-name", with("Username", "Admin@Acme.com")), sfID(31)),
			userOf(person("by-profile"), sfID(32), field("ProfileId", adminProfile[:15])),
			userOf(person("portal"), sfID(33), func(e *Existing) { e.UserType = "PowerPartner" }),
			userOf(person("gone-admin"), sfID(34), field("ProfileId", adminProfile)),
		},
		Links: []Link{
			{IdPID: "by-id", SalesforceID: sfID(30)}, {IdPID: "by-name", SalesforceID: sfID(31)},
			{IdPID: "by-profile", SalesforceID: sfID(32)}, {IdPID: "portal", SalesforceID: sfID(33)},
			{IdPID: "gone-admin", SalesforceID: sfID(34)},
		},
	})
	in.Desired[4] = person("integration", with("Username", "integration@acme.com"), with("Email", "i@acme.com"))
	pol := syncAll()
	pol.Protect = Protection{
		Usernames:  []string{"admin@acme.com", "INTEGRATION@acme.com"},
		ProfileIDs: []string{adminProfile},
		UserIDs:    []string{sfID(30)[:15]},
	}
	got := Calculate(in, pol)
	if len(got.Actions) != 0 {
		t.Errorf("acted on protected users: %+v", briefs(got.Actions))
	}
	want := []skipBrief{
		{KindCreate, "integration", "", "the Username is protected"},
		{KindUpdate, "by-id", sfID(30), "the user is protected"},
		{KindUpdate, "by-name", sfID(31), "the user's Username is protected"},
		{KindUpdate, "by-profile", sfID(32), "the user's profile is protected"},
		{KindUpdate, "portal", sfID(33), "the user's type is PowerPartner, not Standard: syncd never acts on it"},
		{KindDeactivate, "gone-admin", sfID(34), "the user's profile is protected"},
	}
	if diff := cmp.Diff(want, skipBriefs(got.Skipped)); diff != "" {
		t.Errorf("skips (-want +got):\n%s", diff)
	}
}

func TestPolicyModesTurnWhatTheyForbidIntoSkips(t *testing.T) {
	in := complete(Input{
		Desired: []mapping.Desired{person("new"), person("found"), person("drifted", with("Title", "Lead")), person("back")},
		Existing: []Existing{
			userOf(person("found"), sfID(40)),
			userOf(person("drifted"), sfID(41)),
			userOf(person("back"), sfID(42), inactive),
			userOf(person("leaver"), sfID(43)),
		},
		Links: []Link{{IdPID: "drifted", SalesforceID: sfID(41)}, {IdPID: "back", SalesforceID: sfID(42)}, {IdPID: "leaver", SalesforceID: sfID(43)}},
	})
	for _, tc := range []struct {
		mode    Mode
		actions []Kind
		skipped []string
	}{
		{ModeSync, []Kind{KindCreate, KindReactivate, KindAdopt, KindUpdate, KindDeactivate}, []string{}},
		{"", []Kind{KindCreate, KindReactivate, KindAdopt, KindUpdate, KindDeactivate}, []string{}},
		{ModeUpsertOnly, []Kind{KindCreate, KindReactivate, KindAdopt, KindUpdate}, []string{"deactivate: policy upsert-only never deactivates"}},
		{ModeCreateOnly, []Kind{KindCreate, KindAdopt}, []string{
			"reactivate: policy create-only only creates and adopts",
			"update: policy create-only only creates and adopts",
			"deactivate: policy create-only only creates and adopts",
		}},
		{"mirror", []Kind{}, []string{
			"create: policy mode mirror is unknown: nothing is done",
			"reactivate: policy mode mirror is unknown: nothing is done",
			"adopt: policy mode mirror is unknown: nothing is done",
			"update: policy mode mirror is unknown: nothing is done",
			"deactivate: policy mode mirror is unknown: nothing is done",
		}},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			pol := syncAll()
			pol.Mode = tc.mode
			got := Calculate(in, pol)
			if diff := cmp.Diff(tc.actions, kinds(got.Actions)); diff != "" {
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
			skipped := []string{}
			for _, s := range got.Skipped {
				skipped = append(skipped, string(s.Action.Kind)+": "+s.Reason)
			}
			if diff := cmp.Diff(tc.skipped, skipped); diff != "" {
				t.Errorf("skips (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBackOffSkipsOnlyThatKindForThatPersonUntilItsTime(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	in := complete(Input{
		Desired:  []mapping.Desired{person("mo"), person("ned"), person("ola", with("Title", "Lead"))},
		Existing: []Existing{userOf(person("ola"), sfID(50))},
		Links:    []Link{{IdPID: "ola", SalesforceID: sfID(50)}},
		Backoffs: []Backoff{
			{IdPID: "mo", Kind: KindCreate, Attempts: 2, ErrorCode: "DUPLICATE_USERNAME", NextAttemptAt: now.Add(time.Hour)},
			{IdPID: "ned", Kind: KindCreate, Attempts: 1, ErrorCode: "UNABLE_TO_LOCK_ROW", NextAttemptAt: now}, // due now
			{IdPID: "ola", Kind: KindCreate, Attempts: 1, ErrorCode: "X", NextAttemptAt: now.Add(time.Hour)},   // another kind
		},
		Now: now,
	})
	got := Calculate(in, syncAll())
	wantActions := []brief{{KindCreate, "ned", "", "", nil}, {KindUpdate, "ola", sfID(50), MatchLink, nil}}
	if diff := cmp.Diff(wantActions, briefs(got.Actions), ignoreChanges()); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	wantSkips := []skipBrief{{KindCreate, "mo", "", "back-off after DUPLICATE_USERNAME (attempt 2): next attempt at 2026-11-30T13:00:00Z"}}
	if diff := cmp.Diff(wantSkips, skipBriefs(got.Skipped)); diff != "" {
		t.Errorf("skips (-want +got):\n%s", diff)
	}
}

func TestAnApprovedActionIsReleasedAndApprovalsNoLongerPlannedAreStale(t *testing.T) {
	in := complete(Input{
		Existing: []Existing{userOf(person("pia"), sfID(60)), userOf(person("quin"), sfID(61))},
		Links:    []Link{{IdPID: "pia", SalesforceID: sfID(60)}, {IdPID: "quin", SalesforceID: sfID(61)}},
		Approved: []Approved{
			{RunID: 7, Seq: 1, Kind: KindDeactivate, IdPID: "pia", SalesforceID: sfID(60)[:15]},
			{RunID: 6, Seq: 4, Kind: KindDeactivate, IdPID: "pia", SalesforceID: sfID(60)}, // older, same action
			{RunID: 7, Seq: 2, Kind: KindDeactivate, IdPID: "rex", SalesforceID: sfID(62)}, // no longer planned
		},
	})
	pol := syncAll()
	pol.Guardrails.MaxDeactivations = 0 // every unapproved deactivation is held
	got := Calculate(in, pol)
	if len(got.Actions) != 2 {
		t.Fatalf("got %d actions, want 2", len(got.Actions))
	}
	pia, quin := got.Actions[0], got.Actions[1]
	if diff := cmp.Diff(&in.Approved[0], pia.Approval); diff != "" || pia.Held {
		t.Errorf("pia: held %v, approval (-want +got):\n%s", pia.Held, diff)
	}
	if !quin.Held || quin.HeldBy != "cap" || quin.Approval != nil {
		t.Errorf("quin: held %v by %q, approval %v; want held by cap", quin.Held, quin.HeldBy, quin.Approval)
	}
	if diff := cmp.Diff([]Approved{in.Approved[1], in.Approved[2]}, got.Stale); diff != "" {
		t.Errorf("stale (-want +got):\n%s", diff)
	}
}

func TestConflictingLinksAreDisputed(t *testing.T) {
	in := complete(Input{
		Desired:  []mapping.Desired{person("sam", with("Title", "x")), person("tia", with("Title", "x")), person("uma", with("Title", "x"))},
		Existing: []Existing{userOf(person("sam"), sfID(70)), userOf(person("uma"), sfID(71)), userOf(person("uma"), sfID(72))},
		Links: []Link{
			{IdPID: "sam", SalesforceID: sfID(70)}, {IdPID: "tia", SalesforceID: sfID(70)}, // one user, two people
			{IdPID: "uma", SalesforceID: sfID(71)}, {IdPID: "uma", SalesforceID: sfID(72)}, // one person, two users
			{IdPID: "uma", SalesforceID: sfID(71)}, // stored twice: no conflict by itself
		},
	})
	got := Calculate(in, syncAll())
	want := []Dispute{
		{Key: MatchLink, IdPIDs: []string{"sam", "tia"}, SalesforceIDs: []string{sfID(70)}, Reason: "the user is linked to 2 IdP ids"},
		{Key: MatchLink, IdPIDs: []string{"uma"}, SalesforceIDs: []string{sfID(71), sfID(72)}, Reason: "the person is linked to 2 users"},
	}
	if diff := cmp.Diff(want, got.Disputed); diff != "" {
		t.Errorf("disputes (-want +got):\n%s", diff)
	}
	if len(got.Actions) != 0 {
		t.Errorf("acted on disputed links: %+v", briefs(got.Actions))
	}
}

func TestPeopleSharingAnIdPIDAreDisputed(t *testing.T) {
	got := Calculate(complete(Input{Desired: []mapping.Desired{person("vi"), person("vi", with("Title", "x"))}}), syncAll())
	want := []Dispute{{Key: MatchLink, IdPIDs: []string{"vi", "vi"}, Reason: "2 desired records have the same IdP id"}}
	if diff := cmp.Diff(want, got.Disputed); diff != "" {
		t.Errorf("disputes (-want +got):\n%s", diff)
	}
	if len(got.Actions) != 0 {
		t.Errorf("acted on disputed people: %+v", briefs(got.Actions))
	}
}

func TestSortByRefSortsInPlaceWhateverThePermutation(t *testing.T) {
	for _, in := range [][]int{{}, {1}, {2, 1}, {3, 1, 2}, {5, 4, 3, 2, 1}, {2, 3, 1, 5, 4, 6}, {1, 1, 0}} {
		got := slices.Clone(in)
		sortByRef(got, func(a, b *int) int { return *a - *b })
		if want := slices.Sorted(slices.Values(in)); !slices.Equal(want, got) {
			t.Errorf("sortByRef(%v) = %v, want %v", in, got, want)
		}
	}
}

// TestSortActionsOrdersAsCompareActions sorts random actions whose IdP ids share
// long prefixes, hold NUL bytes, or are prefixes of each other (where a sort key of
// the first 16 bytes alone would be wrong), and compares with a sort by compareActions.
func TestSortActionsOrdersAsCompareActions(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	ids := []string{"", "a", "ab", "ab\x00", "ab\x00c", "abc", "0123456789abcdef", "0123456789abcdef0",
		"0123456789abcdef\x00", "0123456789abcdefZ", "0123456789abcdeZ", "\xff", "\xff\xff"}
	pool := []Kind{KindCreate, KindUpdate, KindDeactivate, KindAdopt}
	for range 200 {
		actions := make([]Action, r.IntN(40))
		for i := range actions {
			actions[i] = Action{Kind: pool[r.IntN(len(pool))], IdPID: ids[r.IntN(len(ids))], SalesforceID: sfID(r.IntN(3)), Reason: strconv.Itoa(i)}
		}
		want := slices.Clone(actions)
		slices.SortStableFunc(want, func(a, b Action) int { return compareActions(&a, &b) })
		got := slices.Clone(actions)
		sortActions(got)
		// Actions equal by compareActions may come in any order; compare what orders them.
		key := func(as []Action) []string {
			out := make([]string, len(as))
			for i, a := range as {
				out[i] = string(a.Kind) + "|" + a.IdPID + "|" + a.SalesforceID
			}
			return out
		}
		if diff := cmp.Diff(key(want), key(got)); diff != "" {
			t.Fatalf("sortActions (-compareActions +got):\n%s", diff)
		}
	}
}

func kinds(actions []Action) []Kind {
	out := []Kind{}
	for _, a := range actions {
		out = append(out, a.Kind)
	}
	return out
}

func ignoreChanges() cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Changes" }, cmp.Ignore())
}

func slicesIndex(fields []mapping.Field, name string) int {
	for i, f := range fields {
		if f.Name == name {
			return i
		}
	}
	panic("no field " + name)
}

func deleteField(fields []FieldValue, name string) []FieldValue {
	out := fields[:0]
	for _, f := range fields {
		if f.Name != name {
			out = append(out, f)
		}
	}
	return out
}

package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/mapping"
)

// offboardAll is the sync policy with every offboarding step, transferring
// opportunities and cases, with fallback@example.com as the fallback user.
func offboardAll() Policy {
	p := syncAll()
	p.Offboarding = Offboarding{Freeze: true, EndSessions: true, RevokeTokens: true,
		TransferObjects: []string{"Opportunity", "Case"}, FallbackUsername: "fallback@example.com"}
	return p
}

// planNow is the time of the offboarding plans.
var planNow = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func TestOffboardingPlansTheSequence(t *testing.T) {
	mgr := userOf(person("mgr"), sfID(2))
	fallback := userOf(person("fb"), sfID(3), field("Username", "fallback@example.com"))
	leaver := func(edits ...func(*Existing)) Existing {
		return userOf(person("ana"), sfID(1), append([]func(*Existing){func(e *Existing) { e.ManagerID = mgr.ID }}, edits...)...)
	}
	freeze := Change{Field: "IsFrozen", Before: "false", After: "true"}
	deactivate := []Change{{Field: "IsActive", Before: "true", After: "false"}}
	toManager := []Change{{Field: "OwnerId", Before: sfID(1), After: sfID(2)}}
	toFallback := []Change{{Field: "OwnerId", Before: sfID(1), After: sfID(3)}}
	sequence := func(transfer []Change) []brief {
		return []brief{
			{KindFreeze, "ana", sfID(1), MatchLink, []Change{freeze}},
			{KindEndSessions, "ana", sfID(1), MatchLink, nil},
			{KindRevokeTokens, "ana", sfID(1), MatchLink, nil},
			{KindTransfer, "ana", sfID(1), MatchLink, transfer},
			{KindDeactivate, "ana", sfID(1), MatchLink, deactivate},
		}
	}
	for _, tt := range []struct {
		name      string
		leaver    Existing
		others    []Existing
		frozen    map[string]time.Time
		policy    func(*Policy)
		guard     func(*Input)
		want      []brief
		wantSkips []skipBrief
	}{
		{
			name:   "a leaver is frozen, cut off, handed over to the manager and deactivated",
			leaver: leaver(), others: []Existing{mgr, fallback},
			want: sequence(toManager),
		},
		{
			name:   "the records go to the fallback user when the manager is inactive",
			leaver: leaver(), others: []Existing{userOf(person("mgr"), sfID(2), inactive), fallback},
			want: sequence(toFallback),
		},
		{
			name:   "the records go to the fallback user when there is no manager",
			leaver: userOf(person("ana"), sfID(1)), others: []Existing{fallback},
			want: sequence(toFallback),
		},
		{
			name:   "a frozen leaver is not frozen again",
			leaver: leaver(), others: []Existing{mgr, fallback}, frozen: map[string]time.Time{idKey(sfID(1)): planNow},
			want: sequence(toManager)[1:],
		},
		{
			name:   "with nobody to take the records the transfer only checks that the leaver owns none",
			leaver: userOf(person("ana"), sfID(1)), others: []Existing{mgr},
			want: sequence([]Change{{Field: "OwnerId", Before: sfID(1)}}),
		},
		{
			name:   "a deactivation the guardrails hold freezes nobody",
			leaver: leaver(), others: []Existing{mgr, fallback},
			policy: func(p *Policy) { p.Guardrails.MaxDeactivations = 0 },
			want:   nil, // the held deactivation only
		},
		{
			name:   "within the grace period the leaver is frozen and cut off, deactivated later",
			leaver: leaver(), others: []Existing{mgr, fallback},
			policy: func(p *Policy) { p.Offboarding.GracePeriod = 48 * time.Hour },
			want:   sequence(toManager)[:4],
			wantSkips: []skipBrief{{KindDeactivate, "ana", sfID(1), "offboarding grace period: deactivated from " +
				planNow.Add(48*time.Hour).Format(time.RFC3339)}},
		},
		{
			name:   "a frozen leaver within the grace period waits",
			leaver: leaver(), others: []Existing{mgr, fallback}, frozen: map[string]time.Time{idKey(sfID(1)): planNow.Add(-time.Hour)},
			policy: func(p *Policy) { p.Offboarding.GracePeriod = 48 * time.Hour },
			wantSkips: []skipBrief{{KindDeactivate, "ana", sfID(1), "offboarding grace period: deactivated from " +
				planNow.Add(47*time.Hour).Format(time.RFC3339)}},
		},
		{
			name:   "once the grace period is over the sequence completes",
			leaver: leaver(), others: []Existing{mgr, fallback}, frozen: map[string]time.Time{idKey(sfID(1)): planNow.Add(-49 * time.Hour)},
			policy: func(p *Policy) { p.Offboarding.GracePeriod = 48 * time.Hour },
			want:   sequence(toManager)[1:],
		},
		{
			name:   "without offboarding only the deactivation is planned",
			leaver: leaver(), others: []Existing{mgr, fallback},
			policy: func(p *Policy) { p.Offboarding = Offboarding{} },
			want:   sequence(nil)[4:],
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := offboardAll()
			if tt.policy != nil {
				tt.policy(&p)
			}
			others := make([]mapping.Desired, 0, len(tt.others))
			links := []Link{{IdPID: "ana", SalesforceID: tt.leaver.ID}}
			for _, o := range tt.others {
				if o.ID == sfID(2) {
					others = append(others, person("mgr"))
					links = append(links, Link{IdPID: "mgr", SalesforceID: o.ID})
				}
			}
			in := complete(Input{
				Desired: others, Existing: append([]Existing{tt.leaver}, tt.others...), Links: links,
				Frozen: tt.frozen, Now: planNow,
			})
			got := Calculate(in, p)
			var acts []Action
			for _, a := range got.Actions {
				if !a.Held && a.IdPID == "ana" {
					acts = append(acts, a)
				}
			}
			if diff := cmp.Diff(tt.want, briefs(acts), cmp.Comparer(func(a, b []brief) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			var skips []skipBrief
			for _, s := range skipBriefs(got.Skipped) {
				if s.IdPID == "ana" {
					skips = append(skips, s)
				}
			}
			if diff := cmp.Diff(tt.wantSkips, skips); diff != "" {
				t.Errorf("skips (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReturnerIsUnfrozen(t *testing.T) {
	ana := person("ana")
	for _, tt := range []struct {
		name string
		user Existing
		want []Kind
	}{
		{"a deactivated, frozen returner is reactivated and unfrozen", userOf(ana, sfID(1), inactive), []Kind{KindReactivate, KindUnfreeze}},
		{"a frozen returner whose deactivation was blocked is unfrozen", userOf(ana, sfID(1)), []Kind{KindUnfreeze}},
		{"a user an admin froze, never offboarded, stays frozen", userOf(ana, sfID(1)), []Kind{}},
		{"without knowing who is frozen, a reactivated returner is unfrozen too", userOf(ana, sfID(1), inactive), []Kind{KindReactivate, KindUnfreeze}},
		{"without knowing who is frozen, an active linked user is left alone", userOf(ana, sfID(1)), []Kind{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := complete(Input{
				Desired: []mapping.Desired{ana}, Existing: []Existing{tt.user},
				Links:  []Link{{IdPID: "ana", SalesforceID: sfID(1)}},
				Frozen: map[string]time.Time{idKey(sfID(1)): planNow}, Now: planNow,
			})
			if strings.HasPrefix(tt.name, "without knowing") {
				in.Frozen = nil
			}
			if strings.Contains(tt.name, "blocked") {
				in.Backoffs = []Backoff{{IdPID: "ana", Kind: KindDeactivate, NextAttemptAt: planNow.Add(time.Hour)}}
			}
			got := Calculate(in, offboardAll())
			if diff := cmp.Diff(tt.want, kinds(got.Actions)); diff != "" {
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClassifyBlocker(t *testing.T) {
	for _, tt := range []struct{ message, want string }{
		{"You cannot deactivate this user. You cannot deactivate a user who is the default owner of cases", "default_case_owner"},
		{"You cannot disable the Web to Lead Default Creator.", "web_to_lead_creator"},
		{"You cannot deactivate the Default Workflow User", "default_workflow_user"},
		{"You cannot deactivate this user. You cannot deactivate a user who is receiving cases or notifications as part of your case assignment/escalation rules. Click here", "case_rules"},
		{"Cannot inactivate user that is the value of a hierarchy field:Approver__c", "hierarchy_field"},
		{"This user is the default owner of records created by guest users and can't be deactivated", "guest_record_owner"},
		{"You cannot deactivate a user who is a portal administrator", "portal_admin"},
		{"Required fields are missing: [LastName]", ""},
	} {
		b, _ := ClassifyBlocker(tt.message)
		if b.Name != tt.want {
			t.Errorf("ClassifyBlocker(%q) = %q, want %q", tt.message, b.Name, tt.want)
		}
	}
}

func TestWhoIsFrozenIsReadOnlyWhenNeeded(t *testing.T) {
	ob := Offboarding{Freeze: true}
	back := []Backoff{{IdPID: "ana", Kind: KindDeactivate, NextAttemptAt: planNow.Add(time.Hour)}}
	for _, tt := range []struct {
		name string
		in   Input
		ob   Offboarding
		want bool
	}{
		{"a plain cycle does not read it", Input{Desired: []mapping.Desired{person("ana")}}, ob, false},
		{"a blocked leaver who is back needs it", Input{Desired: []mapping.Desired{person("ana")}, Backoffs: back}, ob, true},
		{"a blocked leaver still gone does not", Input{Desired: []mapping.Desired{person("bo")}, Backoffs: back}, ob, false},
		{"the grace period needs it", Input{}, Offboarding{Freeze: true, GracePeriod: time.Hour}, true},
		{"a leaver whose transfer failed needs it", Input{Backoffs: []Backoff{{IdPID: "bo", Kind: KindTransfer}}}, ob, true},
		{"without freezing nothing needs it", Input{Desired: []mapping.Desired{person("ana")}, Backoffs: back}, Offboarding{}, false},
	} {
		if got := needFrozen(&tt.in, &tt.ob); got != tt.want {
			t.Errorf("%s: needFrozen = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestReturnerGetsRecordsBackOnlyWhenActive(t *testing.T) {
	ana := person("ana")
	moved := func(record, to string) Transfer {
		return Transfer{Action: ActionRef{RunID: 2, Seq: 4}, IdPID: "ana",
			MovedRecord: MovedRecord{Object: "Case", RecordID: record, From: sfID(1), To: to}}
	}
	p := offboardAll()
	p.Offboarding.ReturnRecords = true
	for _, tt := range []struct {
		name   string
		user   Existing
		policy Policy
		want   []brief
	}{
		{"a reactivated returner gets them back from each receiver", userOf(ana, sfID(1), inactive), p, []brief{
			{KindReactivate, "ana", sfID(1), MatchLink, []Change{{Field: "IsActive", Before: "false", After: "true"}}},
			{KindUnfreeze, "ana", sfID(1), MatchLink, []Change{{Field: "IsFrozen", Before: "true", After: "false"}}},
			{KindReturnRecords, "ana", sfID(1), MatchLink, []Change{
				{Field: "OwnerId", Before: sfID(2), After: sfID(1)}, {Field: "OwnerId", Before: sfID(3), After: sfID(1)}}},
		}},
		{"a returner who cannot be reactivated gets nothing back", userOf(ana, sfID(1), inactive), func() Policy {
			q := p
			q.Mode = ModeCreateOnly
			return q
		}(), []brief{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := complete(Input{
				Desired: []mapping.Desired{ana}, Existing: []Existing{tt.user},
				Links:     []Link{{IdPID: "ana", SalesforceID: sfID(1)}},
				Transfers: []Transfer{moved("500A", sfID(3)), moved("500B", sfID(2)), moved("500C", sfID(3))},
				Frozen:    map[string]time.Time{idKey(sfID(1)): planNow}, Now: planNow,
			})
			if diff := cmp.Diff(tt.want, briefs(Calculate(in, tt.policy).Actions)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}

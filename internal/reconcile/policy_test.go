package reconcile

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestModesAllowTheirKinds(t *testing.T) {
	all := []Kind{KindCreate, KindReactivate, KindAdopt, KindUpdate, KindDeactivate, KindFreeze}
	for _, tc := range []struct {
		mode Mode
		want []Kind
	}{
		{ModeSync, all},
		{"", all},
		{ModeUpsertOnly, []Kind{KindCreate, KindReactivate, KindAdopt, KindUpdate}},
		{ModeCreateOnly, []Kind{KindCreate, KindAdopt}},
		{"Sync", []Kind{}}, // modes are case-sensitive; an unknown one allows nothing
	} {
		got := []Kind{}
		for _, k := range all {
			if tc.mode.Allows(k) {
				got = append(got, k)
			}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("mode %q (-want +got):\n%s", tc.mode, diff)
		}
	}
}

func TestParseModeNamesTheAcceptedModes(t *testing.T) {
	for _, s := range []string{"sync", "upsert-only", "create-only"} {
		if m, err := ParseMode(s); err != nil || string(m) != s {
			t.Errorf("ParseMode(%q) = %q, %v", s, m, err)
		}
	}
	_, err := ParseMode("upsert_only")
	if err == nil || err.Error() != `policy.mode: "upsert_only" is not one of sync, upsert-only, create-only` {
		t.Errorf("ParseMode(upsert_only) error %v", err)
	}
}

func TestValidateReportsEveryProblemWithItsPath(t *testing.T) {
	p := Policy{
		Mode:       "mirror",
		Match:      []MatchKey{MatchEmail, "phone", MatchEmail},
		Guardrails: Guardrails{MaxDeactivationPercent: 150, MaxSourceShrinkPercent: 10},
	}
	want := `policy.mode: "mirror" is not one of sync, upsert-only, create-only
mapping.match[1]: "phone" is not one of link, federation_id, email, username
mapping.match[2]: "email" listed twice
policy.guardrails.max_deactivation_percent: 150 is above 100`
	if err := p.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() =\n%v\nwant\n%s", err, want)
	}
	if err := syncAll().Validate(); err != nil {
		t.Errorf("Validate() of a valid policy: %v", err)
	}
}

func TestMatchOrderPutsTheLinkFirstAndDropsRepeats(t *testing.T) {
	for _, tc := range []struct {
		match, want []MatchKey
	}{
		{nil, []MatchKey{MatchFederationID, MatchEmail, MatchUsername}},
		{[]MatchKey{MatchEmail, MatchLink, MatchUsername}, []MatchKey{MatchEmail, MatchUsername}},
		{[]MatchKey{MatchUsername, MatchUsername, "phone"}, []MatchKey{MatchUsername}},
	} {
		p := Policy{Match: tc.match}
		if diff := cmp.Diff(tc.want, p.matchOrder()); diff != "" {
			t.Errorf("matchOrder(%v) (-want +got):\n%s", tc.match, diff)
		}
	}
}

package reconcile

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/mapping"
)

// iterations of each property; every case is small (tens of users) so that the
// collisions that make disputes, conflicts and protections are frequent.
const iterations = 1000

// gen makes random cycles from one seed: people and users drawn from small pools of
// emails, usernames and federation ids so that they collide, users that drifted from
// what syncd wrote (case, whitespace, 15-character Ids, other values), inactive and
// non-Standard users, valid, stale, duplicated and conflicting links, leavers,
// rejected records, protections, back-offs and approvals.
type gen struct{ r *rand.Rand }

func (g gen) pick(values ...string) string { return values[g.r.IntN(len(values))] }

func (g gen) chance(percent int) bool { return g.r.IntN(100) < percent }

func (g gen) email() string { return "e" + strconv.Itoa(g.r.IntN(30)) + "@example.com" }

// messUp changes a value the way Salesforce or an admin may have: case, spaces.
func (g gen) messUp(v string) string {
	switch g.r.IntN(4) {
	case 0:
		return strings.ToUpper(v)
	case 1:
		return " " + v + " "
	}
	return v
}

func (g gen) person(id string) mapping.Desired {
	email := g.email()
	d := person(id,
		with("Email", email),
		with("Username", g.pick(email, g.email())+".sf"),
		with("FederationIdentifier", g.pick("", "F"+strconv.Itoa(g.r.IntN(30)))),
		with("Title", g.pick("", "Engineer", "Lead")),
		with("Department", g.pick("R&D", "Sales")),
		with("ProfileId", g.pick(standardProfile, salesProfile)),
	)
	if g.chance(30) {
		d.Fields[slicesIndex(d.Fields, "ProfileId")].Mode = mapping.Always
	}
	return d
}

func (g gen) user(n int, desired []mapping.Desired) Existing {
	var u Existing
	if len(desired) > 0 && g.chance(60) {
		u = userOf(desired[g.r.IntN(len(desired))], sfID(n)) // one syncd wrote, or an admin made alike
	} else {
		u = userOf(g.person("other"+strconv.Itoa(n)), sfID(n))
	}
	for range g.r.IntN(3) {
		switch g.r.IntN(5) {
		case 0:
			setUserField(&u, "Email", g.messUp(u.Email))
		case 1:
			setUserField(&u, "Username", g.messUp(u.Username))
		case 2:
			setUserField(&u, "Title", g.pick("", "Engineer", " Lead", "Manager"))
		case 3:
			setUserField(&u, "ProfileId", g.pick(standardProfile, standardProfile[:15], salesProfile, adminProfile))
		case 4:
			setUserField(&u, "TimeZoneSidKey", "America/New_York")
		}
	}
	u.IsActive = g.chance(80)
	if g.chance(8) {
		u.UserType = g.pick("CsnOnly", "PowerPartner", "")
	}
	return u
}

// input is one random cycle; the source is complete, with no baseline.
func (g gen) input() Input {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	in := Input{Now: now}
	for i := range g.r.IntN(25) {
		id := "p" + strconv.Itoa(i)
		if i > 0 && g.chance(3) {
			id = in.Desired[g.r.IntN(i)].ID // a duplicated id
		}
		in.Desired = append(in.Desired, g.person(id))
	}
	for n := range g.r.IntN(25) {
		in.Existing = append(in.Existing, g.user(n+1, in.Desired))
	}
	idp := func() string {
		if len(in.Desired) > 0 && g.chance(60) {
			return in.Desired[g.r.IntN(len(in.Desired))].ID
		}
		return "gone" + strconv.Itoa(g.r.IntN(10))
	}
	sf := func() string {
		if len(in.Existing) > 0 && g.chance(90) {
			return g.pick(in.Existing[g.r.IntN(len(in.Existing))].ID, in.Existing[g.r.IntN(len(in.Existing))].ID[:15])
		}
		return sfID(800 + g.r.IntN(10)) // a user no longer in the org
	}
	for range g.r.IntN(12) {
		in.Links = append(in.Links, Link{IdPID: idp(), SalesforceID: sf()})
	}
	for range g.r.IntN(4) {
		in.Inactive = append(in.Inactive, "gone"+strconv.Itoa(g.r.IntN(10)))
	}
	for i := range g.r.IntN(3) {
		in.Rejected = append(in.Rejected, mapping.Rejection{ID: "gone" + strconv.Itoa(g.r.IntN(10)), Position: 1000 + i})
	}
	kinds := []Kind{KindCreate, KindReactivate, KindAdopt, KindUpdate, KindDeactivate}
	for range g.r.IntN(4) {
		in.Backoffs = append(in.Backoffs, Backoff{
			IdPID: idp(), Kind: kinds[g.r.IntN(len(kinds))], Attempts: 1 + g.r.IntN(3),
			ErrorCode: g.pick("UNABLE_TO_LOCK_ROW", "DUPLICATE_USERNAME"), NextAttemptAt: now.Add(time.Duration(g.r.IntN(3)-1) * time.Hour),
		})
	}
	for i := range g.r.IntN(4) {
		in.Approved = append(in.Approved, Approved{RunID: int64(1 + g.r.IntN(3)), Seq: i, Kind: kinds[g.r.IntN(len(kinds))], IdPID: idp(), SalesforceID: sf()})
	}
	in.Source = Source{Complete: true, Count: len(in.Desired) + len(in.Rejected)}
	return in
}

// policy is a random policy: mode, key order, protections; guardrails off.
func (g gen) policy() Policy {
	p := syncAll()
	p.Mode = []Mode{ModeSync, ModeSync, ModeUpsertOnly, ModeCreateOnly}[g.r.IntN(4)]
	if g.chance(30) {
		p.Match = []MatchKey{MatchLink, MatchFederationID, MatchEmail, MatchUsername}
		g.r.Shuffle(len(p.Match), func(i, j int) { p.Match[i], p.Match[j] = p.Match[j], p.Match[i] })
		p.Match = p.Match[:1+g.r.IntN(4)]
	}
	if g.chance(50) {
		p.Protect = Protection{Usernames: []string{g.email() + ".sf"}, ProfileIDs: []string{adminProfile}, UserIDs: []string{sfID(1 + g.r.IntN(25))[:15]}}
	}
	return p
}

// guarded gives the policy random guardrails and the input a random source.
func (g gen) guarded(in Input, p Policy) (Input, Policy) {
	in.Source.Complete = g.chance(70)
	if !in.Source.Complete {
		in.Source.Reasons = []string{"page 2: HTTP 502"}
	}
	if g.chance(50) {
		in.Source.Baseline = in.Source.Count + g.r.IntN(10)
	}
	p.Guardrails = Guardrails{
		MaxDeactivations:       g.r.IntN(4) - 1,
		MaxDeactivationPercent: float64(g.r.IntN(40) - 5),
		MaxSourceShrinkPercent: float64(g.r.IntN(30) - 5),
	}
	// An operator approves some of what the plan would do.
	for i, a := range Calculate(in, p).Actions {
		if g.chance(30) {
			in.Approved = append(in.Approved, Approved{RunID: 9, Seq: i, Kind: a.Kind, IdPID: a.IdPID, SalesforceID: a.SalesforceID})
		}
	}
	return in, p
}

func TestApplyingAPlanAndPlanningAgainFindsNothingToDo(t *testing.T) {
	for seed := range uint64(iterations) {
		g := gen{rand.New(rand.NewPCG(seed, 1))}
		in, pol := g.input(), g.policy()
		first := Calculate(in, pol)
		org := fakeOrg{users: slices.Clone(in.Existing), links: slices.Clone(in.Links)}
		org.apply(first)
		again := in
		again.Existing, again.Links = org.users, org.links
		second := Calculate(again, pol)
		if second.HasChanges() {
			t.Fatalf("seed %d: planning again after applying\n%s\nstill plans\n%s", seed, describe(first.Actions), describe(second.Actions))
		}
	}
}

func TestThePlanDoesNotDependOnTheOrderOfTheInput(t *testing.T) {
	for seed := range uint64(iterations) {
		g := gen{rand.New(rand.NewPCG(seed, 2))}
		in, pol := g.guarded(g.input(), g.policy())
		want := Calculate(in, pol)
		shuffled := in
		shuffled.Desired = shuffle(g.r, in.Desired)
		shuffled.Existing = shuffle(g.r, in.Existing)
		shuffled.Links = shuffle(g.r, in.Links)
		shuffled.Inactive = shuffle(g.r, in.Inactive)
		shuffled.Rejected = shuffle(g.r, in.Rejected)
		shuffled.Backoffs = shuffle(g.r, in.Backoffs)
		shuffled.Approved = shuffle(g.r, in.Approved)
		// reflect.DeepEqual first: cmp.Diff on every plan is slow under -race.
		if got := Calculate(shuffled, pol); !reflect.DeepEqual(want, got) {
			t.Fatalf("seed %d: the plan changed with the order of the input (-first +shuffled):\n%s", seed, cmp.Diff(want, got))
		}
	}
}

func TestNoCycleActsOnWhatItMustNotTouch(t *testing.T) {
	for seed := range uint64(iterations) {
		g := gen{rand.New(rand.NewPCG(seed, 3))}
		in, pol := g.guarded(g.input(), g.policy())
		p := Calculate(in, pol)
		if err := unsafeAction(in, pol, p); err != "" {
			t.Fatalf("seed %d: %s\nplan:\n%s", seed, err, describe(p.Actions))
		}
	}
}

// unsafeAction returns the first rule the plan breaks, "" when it breaks none.
func unsafeAction(in Input, pol Policy, p Plan) string {
	disputedUsers, disputedPeople := map[string]bool{}, map[string]bool{}
	for _, d := range p.Disputed {
		for _, id := range d.SalesforceIDs {
			disputedUsers[idKey(id)] = true
		}
		for _, id := range d.IdPIDs {
			disputedPeople[id] = true
		}
	}
	desired := map[string]bool{}
	for _, d := range in.Desired {
		desired[d.ID] = true
	}
	users := map[string]Existing{}
	for _, u := range in.Existing {
		users[idKey(u.ID)] = u
	}
	linked := map[Link]bool{}
	for _, l := range in.Links {
		linked[Link{l.IdPID, idKey(l.SalesforceID)}] = true
	}
	// deactivations counts them all; unapproved those without an approval (what the
	// cap counts), unheld those of them that would go ahead.
	deactivations, unapproved, unheld := 0, 0, 0
	for _, a := range p.Actions {
		u, onUser := users[idKey(a.SalesforceID)]
		switch {
		case a.Reason == "":
			return "an action without a reason"
		case !pol.Mode.Allows(a.Kind):
			return "policy " + string(pol.Mode) + " does not allow " + string(a.Kind)
		case a.Kind != KindCreate && !onUser:
			return "an action on a user the org does not have"
		case disputedUsers[idKey(a.SalesforceID)]:
			return "an action on a disputed user"
		case desired[a.IdPID] && disputedPeople[a.IdPID]:
			return "an action for a disputed person"
		case onUser && u.UserType != "Standard":
			return "an action on a user of type " + u.UserType
		case onUser && slices.ContainsFunc(pol.Protect.ProfileIDs, func(id string) bool { return idKey(id) == idKey(u.ProfileID) }):
			return "an action on a user of a protected profile"
		case onUser && slices.ContainsFunc(pol.Protect.UserIDs, func(id string) bool { return idKey(id) == idKey(u.ID) }):
			return "an action on a protected user"
		case slices.ContainsFunc(pol.Protect.Usernames, func(n string) bool {
			return strings.EqualFold(n, strings.TrimSpace(a.Username)) || onUser && strings.EqualFold(n, strings.TrimSpace(u.Username))
		}):
			return "an action on a protected Username"
		case a.Kind == KindDeactivate && !linked[Link{a.IdPID, idKey(a.SalesforceID)}]:
			return "a deactivation of a user syncd does not own"
		case a.Kind == KindDeactivate && !u.IsActive:
			return "a deactivation of an inactive user"
		case (a.Kind == KindUpdate || a.Kind == KindDeactivate) && a.MatchedBy != MatchLink:
			return "an update or deactivation of an unlinked user"
		}
		if a.Kind == KindDeactivate {
			deactivations++
			if a.Approval == nil {
				unapproved++
				if !a.Held {
					unheld++
				}
			}
		}
	}
	src := in.Source
	shrunk := src.Baseline > 0 && pol.Guardrails.MaxSourceShrinkPercent >= 0 &&
		float64(src.Baseline-src.Count)*100 > pol.Guardrails.MaxSourceShrinkPercent*float64(src.Baseline)
	capped := pol.Guardrails.MaxDeactivations >= 0 && unapproved > pol.Guardrails.MaxDeactivations ||
		pol.Guardrails.MaxDeactivationPercent >= 0 && float64(unapproved)*100 > pol.Guardrails.MaxDeactivationPercent*float64(p.Managed)
	switch {
	case !src.Complete && deactivations > 0:
		return "a deactivation from an incomplete pull"
	case shrunk && unheld > 0:
		return "an unheld deactivation from a shrunken source"
	case capped && unheld > 0:
		return "an unheld deactivation above the cap"
	}
	return ""
}

func shuffle[T any](r *rand.Rand, s []T) []T {
	s = slices.Clone(s)
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

func describe(actions []Action) string {
	var b strings.Builder
	for _, a := range actions {
		b.WriteString("  " + string(a.Kind) + " " + a.IdPID + " " + a.SalesforceID + " held=" + strconv.FormatBool(a.Held) + ": " + a.Reason + "\n")
	}
	return b.String()
}

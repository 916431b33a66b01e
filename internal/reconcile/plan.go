package reconcile

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/syncd-io/syncd/internal/mapping"
)

// Calculate works out what one cycle should do: it matches every desired person to
// at most one Salesforce user, diffs the fields syncd manages, decides each user's
// action and explains it, filters the actions by protection, policy mode and
// back-off, releases approved actions, and runs the guardrails (Guard).
//
// It is pure: no IO, no clock (in.Now is data), no logging, no metrics. Its result
// depends only on the content of in and p, never on the order of Desired, Existing or
// Links: matching decides by counting candidates, not by taking the first, and the
// output is sorted. It is built for a million users on each side: the links are
// joined with the users and the people by partitioned hash joins rather than
// million-entry maps (join.go says why), the per-user work is a merge walk of two
// sorted field lists done on every core, and strings are built only for the users that
// need an action. How the work is split never changes the plan.
func Calculate(in Input, p Policy) Plan {
	return calculate(in, p, defaultSplit())
}

// calculate is Calculate with the work divided as s says.
func calculate(in Input, p Policy, s split) Plan {
	c := newCalc(&in, &p, s)
	// Every link is looked up on both sides. At a million users, maps keyed by Id
	// and by IdP id spent most of Calculate's time waiting on cache misses; joining
	// partition by partition keeps each lookup in the core's cache and uses every
	// core (join.go).
	c.joinLinks()
	// A usual cycle's decide needs the hashes of every person and user
	// (fingerprint.go). They depend only on the input, so they are taken on the other
	// cores while the links are followed and the keys matched, which is work for one
	// core. decide uses them only when it works in chunks, which needs seven people
	// in eight linked, so fewer links than half the people means a first cycle: no
	// hashes (and decide then diffs everyone, as it must).
	var hashed sync.WaitGroup
	if !s.exact && (s.alwaysChunk || len(in.Links) >= len(in.Desired)/2) {
		hashed.Go(func() { c.fp = c.takeFingerprints() })
	}
	c.disputeDuplicateIDs()
	c.matchLinks()
	for _, key := range p.matchOrder() {
		c.matchKey(key)
	}
	hashed.Wait()
	c.decide()
	plan := Guard(c.plan, in, p)
	offboard(&plan, c)
	plan.Stale = staleApprovals(c.approvals, plan.Actions)
	sortPlan(&plan)
	return plan
}

// Owner states of an existing user, besides the index of the person it is matched to.
const (
	free = -1 // no link and no match yet: a candidate for the keys
	kept = -2 // claimed but left alone: disputed, or linked to a rejected record
	// A user linked to an IdP id that is not desired holds goneBase - i, where i is
	// the index of that link in Input.Links: a deactivation candidate.
	goneBase = -3
)

// Person states (calc.how): how the person's user was found.
const (
	unmatched uint8 = iota
	byLink
	byFederationID
	byEmail
	byUsername
	disputed
)

// matchKeyOf and keyState translate between match keys and person states.
func matchKeyOf(state uint8) MatchKey {
	switch state {
	case byLink:
		return MatchLink
	case byFederationID:
		return MatchFederationID
	case byEmail:
		return MatchEmail
	case byUsername:
		return MatchUsername
	}
	return ""
}

func keyState(k MatchKey) uint8 {
	switch k {
	case MatchFederationID:
		return byFederationID
	case MatchEmail:
		return byEmail
	case MatchUsername:
		return byUsername
	}
	return byLink
}

// calc is the working state of one Calculate: indexes over the input and, per person
// and per user, what matching decided. Slices indexed by position keep the per-user
// state to a few bytes.
type calc struct {
	in   *Input
	pol  *Policy
	keys []MatchKey

	// linkUser and linkPerson hold, per link, the index in Existing of the user it
	// names and the index in Desired of the person, -1 when there is none (joinLinks).
	linkUser, linkPerson []int32
	// firstDesired holds, per person, the index of the first person with the same
	// IdP id: the person itself unless the id is repeated.
	firstDesired []int32
	rejected     map[string]bool // IdP ids of rejected records

	match []int32 // per person: index in Existing, -1 when none
	how   []uint8 // per person: byLink ... disputed
	owner []int32 // per user: index of the person, or free, kept, goneBase - link

	// staleLinks holds, per person, the Id of a link whose user is no longer in the
	// org, for the explanation of whatever the person gets instead.
	staleLinks map[int32]string

	split split
	// touched sums what decidePeople reads ahead, so that the reads are not dropped.
	touched int
	// fp holds the hashes of a usual cycle's people and users; nil in a first cycle
	// and with split.exact, where every person is diffed field by field.
	fp *fingerprints

	protect  protection
	backoffs map[actionKey]*Backoff
	// approvals is the plan's own copy of Input.Approved; approved indexes the one
	// that releases each action.
	approvals []Approved
	approved  map[actionKey]*Approved
	plan      Plan
}

// actionKey identifies an action across cycles: kind, person and user (idKey).
type actionKey struct {
	kind         Kind
	idpID, sfKey string
}

func newCalc(in *Input, p *Policy, s split) *calc {
	c := &calc{
		in: in, pol: p, keys: p.matchOrder(), split: s,
		rejected: make(map[string]bool, len(in.Rejected)),
		match:    make([]int32, len(in.Desired)),
		how:      make([]uint8, len(in.Desired)),
		owner:    make([]int32, len(in.Existing)),
		protect:  newProtection(&p.Protect),
		backoffs: make(map[actionKey]*Backoff, len(in.Backoffs)),
		approved: make(map[actionKey]*Approved, len(in.Approved)),
	}
	for i := range c.owner {
		c.owner[i] = free
	}
	for i := range in.Desired {
		c.match[i] = -1
	}
	for _, r := range in.Rejected {
		c.rejected[r.ID] = true
	}
	for i := range in.Backoffs {
		b := &in.Backoffs[i]
		k := actionKey{kind: b.Kind, idpID: b.IdPID}
		// Of two back-offs for one action the later decides, whatever their order.
		if old, ok := c.backoffs[k]; !ok || cmp.Or(b.NextAttemptAt.Compare(old.NextAttemptAt),
			cmp.Compare(b.Attempts, old.Attempts), strings.Compare(b.ErrorCode, old.ErrorCode)) > 0 {
			c.backoffs[k] = b
		}
	}
	c.approvals = slices.Clone(in.Approved)
	for i := range c.approvals {
		a := &c.approvals[i]
		k := actionKey{kind: a.Kind, idpID: a.IdPID, sfKey: idKey(a.SalesforceID)}
		// Of two approvals of the same action the newest releases it; the other is stale.
		if old, ok := c.approved[k]; !ok || cmp.Or(cmp.Compare(a.RunID, old.RunID), cmp.Compare(a.Seq, old.Seq)) > 0 {
			c.approved[k] = a
		}
	}
	c.plan.Rejected = slices.Clone(in.Rejected)
	return c
}

// disputeDuplicateIDs disputes every person whose IdP id is given more than once:
// syncd cannot tell which record is meant. (mapping.Map already rejects such records;
// this keeps Calculate safe on any input.)
func (c *calc) disputeDuplicateIDs() {
	var groups map[int32]*Dispute // by the first person with the id
	for i, first := range c.firstDesired {
		if first == int32(i) {
			continue
		}
		if groups == nil {
			groups = map[int32]*Dispute{}
		}
		d := groups[first]
		if d == nil {
			d = &Dispute{Key: MatchLink, IdPIDs: []string{c.in.Desired[first].ID}}
			groups[first] = d
			c.how[first] = disputed
		}
		d.IdPIDs = append(d.IdPIDs, c.in.Desired[i].ID)
		c.how[i] = disputed
	}
	for _, d := range groups {
		d.Reason = strconv.Itoa(len(d.IdPIDs)) + " desired records have the same IdP id"
		c.plan.Disputed = append(c.plan.Disputed, *d)
	}
}

// matchLinks follows every stored link. A link to a user no longer in the org is
// noted and ignored (the person is matched again by the other keys); a link of an
// IdP id that is not desired makes its user a deactivation candidate, unless the
// record was rejected or disputed. A user with two links, or a person linked to two
// users, is disputed on the link key.
func (c *calc) matchLinks() {
	var conflictUsers, conflictPeople map[int32]bool
	for li := range c.in.Links {
		l := &c.in.Links[li]
		ei, di := c.linkUser[li], c.linkPerson[li]
		desired := di >= 0
		if ei < 0 {
			if desired {
				if c.staleLinks == nil {
					c.staleLinks = map[int32]string{}
				}
				if old, ok := c.staleLinks[di]; !ok || l.SalesforceID < old {
					c.staleLinks[di] = l.SalesforceID
				}
			}
			continue
		}
		owner := int32(kept)
		switch {
		case desired && c.how[di] != disputed:
			owner = di
		case !desired && !c.rejected[l.IdPID]:
			owner = goneBase - int32(li)
		}
		switch prev := c.owner[ei]; {
		case prev == free:
			c.plan.Managed++
		case !c.sameLink(prev, owner):
			conflictUsers = setAdd(conflictUsers, ei)
		}
		c.owner[ei] = owner
		if owner >= 0 {
			if prev := c.match[di]; prev >= 0 && prev != ei {
				conflictPeople = setAdd(conflictPeople, di)
			}
			c.match[di], c.how[di] = ei, byLink
		}
	}
	if len(conflictUsers)+len(conflictPeople) > 0 {
		c.disputeLinks(conflictUsers, conflictPeople)
	}
}

// sameLink reports whether two owner values come from the same IdP id (a link stored
// twice is no conflict).
func (c *calc) sameLink(a, b int32) bool {
	if a == b {
		return true
	}
	if a <= goneBase && b <= goneBase {
		return c.in.Links[goneBase-a].IdPID == c.in.Links[goneBase-b].IdPID
	}
	return false
}

func setAdd(s map[int32]bool, i int32) map[int32]bool {
	if s == nil {
		s = map[int32]bool{}
	}
	s[i] = true
	return s
}

// disputeLinks turns conflicting links into disputes: one per user linked to several
// IdP ids, one per person linked to several users. Nobody involved is acted on.
func (c *calc) disputeLinks(users, people map[int32]bool) {
	byUser := map[int32]*Dispute{}
	byPerson := map[int32]*Dispute{}
	involved := func(m map[int32]*Dispute, k int32) *Dispute {
		d := m[k]
		if d == nil {
			d = &Dispute{Key: MatchLink}
			m[k] = d
		}
		return d
	}
	for li := range c.in.Links {
		l := &c.in.Links[li]
		ei, di := c.linkUser[li], c.linkPerson[li]
		if ei < 0 {
			continue
		}
		desired := di >= 0
		if users[ei] {
			d := involved(byUser, ei)
			d.IdPIDs = appendNew(d.IdPIDs, l.IdPID)
			d.SalesforceIDs = appendNew(d.SalesforceIDs, c.in.Existing[ei].ID)
		}
		if desired && people[di] {
			d := involved(byPerson, di)
			d.IdPIDs = appendNew(d.IdPIDs, l.IdPID)
			d.SalesforceIDs = appendNew(d.SalesforceIDs, c.in.Existing[ei].ID)
		}
		if users[ei] || (desired && people[di]) {
			c.owner[ei] = kept
			if desired {
				c.match[di], c.how[di] = -1, disputed
			}
		}
	}
	for _, d := range byUser {
		d.Reason = "the user is linked to " + plural(len(d.IdPIDs), "IdP id", "IdP ids")
		c.plan.Disputed = append(c.plan.Disputed, *d)
	}
	for _, d := range byPerson {
		d.Reason = "the person is linked to " + plural(len(d.SalesforceIDs), "user", "users")
		c.plan.Disputed = append(c.plan.Disputed, *d)
	}
}

// plural writes a count with its noun: "1 user", "2 users".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func appendNew(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// matchKey matches the people still unmatched to the free users by one key. A value
// that one person and one user share is a match; a value shared by more than one on
// either side is a dispute over everyone who has it, who then take no part in later
// keys. Users claimed by a link or an earlier key are not candidates. The values are
// compared case-folded and trimmed (foldKey); an empty value matches nothing.
//
// The people and the free users are joined on their values as the links are
// (join.go): in a first cycle both sides are the whole org, a million values each.
func (c *calc) matchKey(key MatchKey) {
	field := matchField(key)
	var pending, open []int32
	for i := range c.in.Desired {
		if c.match[i] < 0 && c.how[i] != disputed {
			pending = append(pending, int32(i)) //nolint:gosec // G115: i indexes Desired, far below 2^31 people
		}
	}
	if len(pending) == 0 {
		return
	}
	for ei := range c.in.Existing {
		if c.owner[ei] == free {
			open = append(open, int32(ei)) //nolint:gosec // G115: ei indexes Existing, far below 2^31 users
		}
	}
	values := make([]string, len(pending))
	for p, i := range pending {
		v, _ := c.in.Desired[i].Value(field)
		values[p] = foldKey(v)
	}
	// sameAs[u] is the first pending person with free user open[u]'s value, firstOf[p] the
	// first pending person with person p's: the value's representative.
	sameAs := make([]int32, len(open))
	firstOf := make([]int32, len(pending))
	j := newJoiner(c.split)
	j.joinOn(new(joinSide), new(joinSide), len(pending), len(open),
		func(p int32) string { return values[p] },
		func(u int32) string { return foldKey(existingKey(&c.in.Existing[open[u]], key)) },
		sameAs, firstOf)
	people := make([]int32, len(pending)) // per representative: people with its value
	for _, first := range firstOf {
		people[first]++
	}
	users := make([]int32, len(pending)) // per representative: free users with its value
	firstUser := make([]int32, len(pending))
	for u, first := range sameAs {
		if first >= 0 {
			if users[first] == 0 {
				firstUser[first] = open[u]
			}
			users[first]++
		}
	}
	var ambiguous map[int32]*Dispute // by representative
	for p, i := range pending {
		first := firstOf[p]
		switch n := users[first]; {
		case values[p] == "" || n == 0:
		case n == 1 && people[first] == 1:
			c.match[i], c.how[i] = firstUser[first], keyState(key)
			c.owner[firstUser[first]] = i
		default:
			if ambiguous == nil {
				ambiguous = map[int32]*Dispute{}
			}
			d := ambiguous[first]
			if d == nil {
				d = &Dispute{Key: key, Reason: plural(int(people[first]), "person", "people") + " and " +
					plural(int(n), "user", "users") + " have the same " + field}
				ambiguous[first] = d
			}
			d.IdPIDs = append(d.IdPIDs, c.in.Desired[i].ID)
			c.how[i] = disputed
		}
	}
	if len(ambiguous) == 0 {
		return
	}
	for u, first := range sameAs {
		if d := ambiguous[first]; first >= 0 && d != nil {
			d.SalesforceIDs = append(d.SalesforceIDs, c.in.Existing[open[u]].ID)
			c.owner[open[u]] = kept
		}
	}
	for _, d := range ambiguous {
		c.plan.Disputed = append(c.plan.Disputed, *d)
	}
}

// existingKey is the value of a user's field that a match key compares.
func existingKey(e *Existing, key MatchKey) string {
	switch key {
	case MatchFederationID:
		return e.FederationIdentifier
	case MatchEmail:
		return e.Email
	case MatchUsername:
		return e.Username
	}
	return ""
}

// decide turns what matching found into actions: create, adopt, update or
// reactivate for each desired person, deactivate for each linked user whose person
// is gone; and counts the users left alone.
func (c *calc) decide() {
	// Every person not found by a link gets an action (or a Skip); of the linked ones,
	// a few percent at most differ in a usual cycle.
	unlinked := 0
	for _, how := range c.how {
		if how != byLink {
			unlinked++
		}
	}
	if unlinked > len(c.in.Desired)/8 && !c.split.alwaysChunk {
		// Most people need an action (a first cycle): putting the actions of chunks
		// together would copy them all once more, so one pass fills the plan.
		c.plan.Actions = make([]Action, 0, unlinked+len(c.in.Desired)/32)
		c.decidePeople(0, len(c.in.Desired))
		c.decideGone()
		return
	}
	// A usual cycle: most people are linked and right, which their hashes (c.fp,
	// taken in calculate) show without reading their users.
	// The people are decided in chunks on every core (see parallel).
	// Each chunk works on a copy of c whose plan collects that chunk's few actions,
	// and the chunks' actions are put together in chunk order: the same list one pass
	// in order makes.
	size := c.split.decideChunk
	chunks := make([]Plan, (len(c.in.Desired)+size-1)/size)
	parallel(len(chunks), c.split.workers, func(_, k int) {
		part := *c
		part.plan = Plan{}
		part.decidePeople(k*size, min((k+1)*size, len(c.in.Desired)))
		chunks[k] = part.plan
	})
	actions, skipped := 0, 0
	for k := range chunks {
		actions += len(chunks[k].Actions)
		skipped += len(chunks[k].Skipped)
	}
	c.plan.Actions = make([]Action, 0, actions+len(c.in.Links)/256) // room for a few deactivations
	// Skipped stays nil when nothing is skipped, as one pass leaves it.
	if skipped > 0 {
		c.plan.Skipped = make([]Skip, 0, skipped)
	}
	for k := range chunks {
		c.plan.Actions = append(c.plan.Actions, chunks[k].Actions...)
		c.plan.Skipped = append(c.plan.Skipped, chunks[k].Skipped...)
	}
	c.decideGone()
}

// decidePeople plans create, adopt, update or reactivate for the people lo to hi-1.
// The users of a batch of people are read before any of them is compared: the users
// are in another order than the people, and reading them one after another lets the
// processor wait for their cache misses together (touchBatch).
func (c *calc) decidePeople(lo, hi int) {
	for i := lo; i < hi; i++ {
		if (i-lo)%touchBatch == 0 {
			for k, m := range c.match[i:min(i+touchBatch, hi)] {
				if m >= 0 && !c.linkedAndSame(i+k) {
					c.touched += c.in.Existing[m].Fields.Len()
				}
			}
		}
		d := &c.in.Desired[i]
		switch {
		case c.how[i] == disputed, c.linkedAndSame(i):
		case c.how[i] == unmatched:
			c.emit(c.create(d, int32(i)), nil) //nolint:gosec // G115: i indexes Desired, far below 2^31 people
		default:
			e := &c.in.Existing[c.match[i]]
			if a, ok := c.change(d, e, c.how[i], int32(i)); ok { //nolint:gosec // G115: as above
				c.emit(a, e)
			}
		}
	}
}

// linkedAndSame reports whether person i is linked to an active user whose
// always-managed fields their hashes show to be right: nothing to do.
func (c *calc) linkedAndSame(i int) bool {
	return c.how[i] == byLink && c.fp.unchanged(int32(i), c.match[i]) //nolint:gosec // G115: i indexes Desired, far below 2^31 people
}

// decideGone plans the deactivation of every active user whose linked person is gone,
// and counts the users nobody claims.
func (c *calc) decideGone() {
	var inactive map[string]bool // built only when someone is gone
	for ei, owner := range c.owner {
		if owner == free {
			c.plan.Unmanaged++
		}
		if owner > goneBase {
			continue
		}
		e := &c.in.Existing[ei]
		if !e.IsActive {
			continue
		}
		if inactive == nil {
			inactive = make(map[string]bool, len(c.in.Inactive))
			for _, id := range c.in.Inactive {
				inactive[id] = true
			}
		}
		l := &c.in.Links[goneBase-owner]
		reason := "the linked person is no longer in the source"
		if inactive[l.IdPID] {
			reason = "the linked person is inactive in the source"
		}
		c.emit(Action{
			Kind: KindDeactivate, IdPID: l.IdPID, SalesforceID: e.ID,
			Username: e.Username, Email: e.Email, MatchedBy: MatchLink,
			Changes: []Change{{Field: "IsActive", Before: "true", After: "false"}},
			Reason:  reason,
		}, e)
	}
}

// reasonSize is room for a usual Reason, so that building one allocates once.
const reasonSize = 128

// create plans the creation of a person no user matches, with every desired field
// that has a value (on_create ones included; an empty one is Salesforce's default).
func (c *calc) create(d *mapping.Desired, person int32) Action {
	changes := make([]Change, 0, len(d.Fields))
	for _, f := range d.Fields {
		if f.Value != "" {
			changes = append(changes, Change{Field: f.Name, After: f.Value})
		}
	}
	var b strings.Builder
	b.Grow(reasonSize)
	c.staleNote(&b, person)
	b.WriteString("no user matches by ")
	for i, k := range c.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(k))
	}
	if len(c.keys) == 0 {
		b.WriteString("any key")
	}
	profileNote(&b, d)
	username, _ := d.Value("Username")
	email, _ := d.Value("Email")
	return Action{
		Kind: KindCreate, IdPID: d.ID, Username: username, Email: email,
		Changes: changes, Profile: d.Profile, Role: d.Role, Reason: b.String(),
	}
}

// change plans what a matched user needs: reactivation when it is inactive, adoption
// when it was found by a key rather than a link, an update when fields differ. ok is
// false when the user is linked, active and already right.
func (c *calc) change(d *mapping.Desired, e *Existing, how uint8, person int32) (Action, bool) {
	changes := diff(d.Fields, e.Fields)
	if how == byLink && e.IsActive && len(changes) == 0 {
		return Action{}, false // the common case: nothing to build
	}
	a := Action{
		IdPID: d.ID, SalesforceID: e.ID, MatchedBy: matchKeyOf(how),
		Profile: d.Profile, Role: d.Role,
	}
	var b strings.Builder
	b.Grow(reasonSize)
	c.staleNote(&b, person)
	switch {
	case !e.IsActive:
		a.Kind = KindReactivate
		changes = insertChange(changes, Change{Field: "IsActive", Before: "false", After: "true"})
		if how == byLink {
			b.WriteString("the linked user is inactive and the person is active in the source")
		} else {
			b.WriteString("matched by " + string(a.MatchedBy) + " to an inactive user: reactivate and link")
		}
	case how != byLink:
		a.Kind = KindAdopt
		b.WriteString("matched by " + string(a.MatchedBy))
	default:
		a.Kind = KindUpdate
		b.WriteString("linked")
	}
	a.Changes = changes
	differ(&b, changes)
	for _, ch := range changes {
		if ch.Field == "ProfileId" || ch.Field == "UserRoleId" {
			profileNote(&b, d)
			break
		}
	}
	a.Reason = b.String()
	a.Username, _ = d.Value("Username")
	a.Email, _ = d.Value("Email")
	return a, true
}

// diff returns the always-managed desired fields whose values differ from the user's,
// old → new, or nil. It walks both lists, sorted by name, side by side
// (currentValue); a field the user lacks reads "".
func diff(desired []mapping.Field, existing UserFields) []Change {
	var changes []Change
	j := 0
	for _, f := range desired {
		if f.Mode != mapping.Always {
			continue
		}
		current := currentValue(existing, &j, f.Name)
		if !sameValue(f.Name, f.Value, current) {
			changes = append(changes, Change{Field: f.Name, Before: current, After: f.Value})
		}
	}
	if !slices.IsSortedFunc(changes, compareChanges) {
		slices.SortFunc(changes, compareChanges)
	}
	return changes
}

// currentValue returns the user's value of the named field, "" when it has none (see
// fieldIndex).
func currentValue(fields UserFields, j *int, name string) string {
	if i := fieldIndex(fields, j, name); i >= 0 {
		return fields.Value(i)
	}
	return ""
}

// fieldIndex returns where the named field is in fields, -1 when it is not there. The
// names asked for come in order, and *j is where the walk of fields (sorted by name)
// has got to; a name asked for out of order falls back to a search.
func fieldIndex(fields UserFields, j *int, name string) int {
	n := fields.Len()
	for *j < n && fields.Name(*j) < name {
		*j++
	}
	if *j < n && fields.Name(*j) == name {
		return *j
	}
	return fields.index(name)
}

func compareChanges(a, b Change) int { return strings.Compare(a.Field, b.Field) }

// insertChange adds ch to changes, keeping them sorted by field.
func insertChange(changes []Change, ch Change) []Change {
	i, _ := slices.BinarySearchFunc(changes, ch, compareChanges)
	return slices.Insert(changes, i, ch)
}

// differ explains which fields an action changes besides IsActive, by name only: the
// values are in Changes.
func differ(b *strings.Builder, changes []Change) {
	n := 0
	for _, ch := range changes {
		if ch.Field != "IsActive" {
			n++
		}
	}
	switch n {
	case 0:
		b.WriteString("; no field differs")
		return
	case 1:
		b.WriteString("; 1 field differs: ")
	default:
		b.WriteString("; " + strconv.Itoa(n) + " fields differ: ")
	}
	first := true
	for _, ch := range changes {
		if ch.Field == "IsActive" {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		b.WriteString(ch.Field)
		first = false
	}
}

// profileNote says which profile and role the mapping rules chose (by name; the Ids
// are in Changes).
func profileNote(b *strings.Builder, d *mapping.Desired) {
	if d.Profile == "" && d.Role == "" {
		return
	}
	b.WriteString("; profile ")
	b.WriteString(cmp.Or(d.Profile, "(none)"))
	if d.Role != "" {
		b.WriteString(", role " + d.Role)
	}
	b.WriteString(" chosen by the mapping rules")
}

// staleNote explains that the person's stored link points to a user the org no
// longer has, so the person was matched afresh.
func (c *calc) staleNote(b *strings.Builder, person int32) {
	if id, ok := c.staleLinks[person]; ok {
		b.WriteString("the linked user " + id + " no longer exists in Salesforce, so the person was matched again; ")
	}
}

// emit files an action, or a Skip when the user may not be touched, the policy mode
// does not allow its kind, or the person is in back-off for it. An action that an
// operator approved in an earlier run carries the approval.
func (c *calc) emit(a Action, e *Existing) {
	if why := c.protect.refuses(&a, e); why != "" {
		c.skip(a, why)
		return
	}
	if !c.pol.Mode.Allows(a.Kind) {
		c.skip(a, c.pol.Mode.refusal())
		return
	}
	if b, ok := c.backoffs[actionKey{kind: a.Kind, idpID: a.IdPID}]; ok && b.NextAttemptAt.After(c.in.Now) {
		c.skip(a, "back-off after "+cmp.Or(b.ErrorCode, "an error")+" (attempt "+strconv.Itoa(b.Attempts)+
			"): next attempt at "+b.NextAttemptAt.UTC().Format(time.RFC3339))
		return
	}
	a.Approval = c.approved[actionKey{kind: a.Kind, idpID: a.IdPID, sfKey: idKey(a.SalesforceID)}]
	c.plan.Actions = append(c.plan.Actions, a)
}

func (c *calc) skip(a Action, reason string) {
	c.plan.Skipped = append(c.plan.Skipped, Skip{Action: a, Reason: reason})
}

// protection is Protection indexed for the check of every action.
type protection struct {
	usernames, profiles, users map[string]bool
}

func newProtection(p *Protection) protection {
	index := func(values []string, key func(string) string) map[string]bool {
		m := make(map[string]bool, len(values))
		for _, v := range values {
			m[key(v)] = true
		}
		return m
	}
	return protection{
		usernames: index(p.Usernames, foldKey),
		profiles:  index(p.ProfileIDs, idKey),
		users:     index(p.UserIDs, idKey),
	}
}

// refuses says why an action must not touch its user, "" when it may: the user is
// not of type Standard, or is protected by Id, Username or profile. An action that
// would give a user a protected Username is refused too: that user would stand for
// the protected one.
func (p *protection) refuses(a *Action, e *Existing) string {
	switch {
	case p.usernames[foldKey(a.Username)]:
		return "the Username is protected"
	case e == nil:
		return ""
	case e.UserType != "Standard":
		return "the user's type is " + cmp.Or(e.UserType, "unknown") + ", not Standard: syncd never acts on it"
	case p.users[idKey(e.ID)]:
		return "the user is protected"
	case p.usernames[foldKey(e.Username)]:
		return "the user's Username is protected"
	case p.profiles[idKey(e.ProfileID)]:
		return "the user's profile is protected"
	}
	return ""
}

// staleApprovals returns the approvals no action of the plan carries, by run and
// sequence: they are recorded as skipped, never applied.
func staleApprovals(approvals []Approved, actions []Action) []Approved {
	if len(approvals) == 0 {
		return nil
	}
	used := make(map[*Approved]bool, len(approvals))
	for i := range actions {
		if a := actions[i].Approval; a != nil {
			used[a] = true
		}
	}
	var stale []Approved
	for i := range approvals {
		if !used[&approvals[i]] {
			stale = append(stale, approvals[i])
		}
	}
	return stale
}

// kindRank orders actions as they are applied: creates and reactivations first, then
// adoptions and updates, then a leaver's offboarding steps, deactivations last.
func kindRank(k Kind) int {
	switch k {
	case KindCreate:
		return 0
	case KindReactivate:
		return 1
	case KindUnfreeze:
		return 2
	case KindAdopt:
		return 3
	case KindUpdate:
		return 4
	case KindReturnRecords:
		return 5
	case KindFreeze:
		return 6
	case KindEndSessions:
		return 7
	case KindRevokeTokens:
		return 8
	case KindTransfer:
		return 9
	case KindDeactivate:
		return 10
	}
	return 11
}

// sortByRef sorts s by compare without copying the elements for every comparison
// (slices.SortFunc passes them by value): an Action is a few hundred bytes, and the
// first cycle of a large org sorts a million of them. It sorts positions, then moves
// each element once along the cycles of the permutation, in place.
func sortByRef[T any](s []T, compare func(a, b *T) int) {
	order := make([]int32, len(s)) // order[j]: the position whose element belongs at j
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int { return compare(&s[i], &s[j]) })
	permute(s, order)
}

// permute moves s[order[j]] to position j for every j, each element once, along the
// cycles of the permutation; it uses up order.
func permute[T any](s []T, order []int32) {
	for start := range s {
		if order[start] < 0 {
			continue // moved already
		}
		held := s[start]
		j := start
		for {
			k := int(order[j])
			order[j] = -1
			if k == start {
				s[j] = held
				break
			}
			s[j] = s[k]
			j = k
		}
	}
}

// sortActions sorts actions as compareActions does. The actions of a first cycle are
// a million, in the export's order, and their IdP ids are strings anywhere in memory:
// comparing them through their pointers waited on a cache miss per comparison (8 of
// the 14 seconds of a 1M-person first cycle). So each action's rank and the first 16
// bytes of its IdP id are copied into a sort key beside its position, and the strings
// are read only to break a tie of those.
func sortActions(actions []Action) {
	type sortKey struct {
		head [2]uint64 // the IdP id's first 16 bytes, big-endian, zero-padded
		pos  int32
		rank int32
	}
	keys := make([]sortKey, len(actions))
	for i := range actions {
		a := &actions[i]
		keys[i] = sortKey{head: stringHead(a.IdPID), pos: int32(i), rank: int32(kindRank(a.Kind))} //nolint:gosec // G115: positions of an in-memory slice, far below 2^31
	}
	slices.SortFunc(keys, func(x, y sortKey) int {
		// compareActions only on a tie: as an argument of cmp.Or it would read the
		// strings whatever the keys say.
		if c := cmp.Or(cmp.Compare(x.rank, y.rank), cmp.Compare(x.head[0], y.head[0]), cmp.Compare(x.head[1], y.head[1])); c != 0 {
			return c
		}
		return compareActions(&actions[x.pos], &actions[y.pos])
	})
	order := make([]int32, len(keys))
	for j, k := range keys {
		order[j] = k.pos
	}
	permute(actions, order)
}

// stringHead returns the first 16 bytes of s as two big-endian numbers, zero-padded:
// they compare as strings.Compare compares those bytes, and equal heads say nothing.
func stringHead(s string) [2]uint64 {
	var b [16]byte
	copy(b[:], s)
	return [2]uint64{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func compareActions(a, b *Action) int {
	return cmp.Or(
		cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)),
		strings.Compare(a.IdPID, b.IdPID),
		strings.Compare(a.SalesforceID, b.SalesforceID),
	)
}

// sortPlan puts every list of the plan in a fixed order, so that the plan is the same
// whatever the order of the input.
func sortPlan(p *Plan) {
	sortActions(p.Actions)
	sortByRef(p.Skipped, func(a, b *Skip) int {
		return cmp.Or(compareActions(&a.Action, &b.Action), strings.Compare(a.Reason, b.Reason))
	})
	for i := range p.Disputed {
		slices.Sort(p.Disputed[i].IdPIDs)
		slices.Sort(p.Disputed[i].SalesforceIDs)
	}
	slices.SortFunc(p.Disputed, func(a, b Dispute) int {
		return cmp.Or(
			cmp.Compare(keyState(a.Key), keyState(b.Key)),
			slices.Compare(a.IdPIDs, b.IdPIDs),
			slices.Compare(a.SalesforceIDs, b.SalesforceIDs),
		)
	})
	slices.SortFunc(p.Rejected, func(a, b mapping.Rejection) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), strings.Compare(a.ID, b.ID))
	})
	slices.SortFunc(p.Stale, func(a, b Approved) int {
		return cmp.Or(cmp.Compare(a.RunID, b.RunID), cmp.Compare(a.Seq, b.Seq))
	})
}

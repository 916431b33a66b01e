package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/syncd-io/syncd/internal/mapping"
)

// Entitlement action kinds: one assignment (a permission set, permission set group or
// permission set licence assignment, or a public group or queue membership) made or
// removed for one user.
const (
	KindAssign   Kind = "assign"
	KindUnassign Kind = "unassign"
)

// guardEntitlementCap is the name of the guardrail that bounds removals.
const guardEntitlementCap = "entitlement_cap"

// Entitlements is the org's side of access grants, as the engine needs it. The wiring
// implements it over internal/salesforce (internal/app). Reads filter by the managed
// entitlements and page, never one query per user; writes take at most MaxBatch
// records of one setup object type (Salesforce refuses a mix in one call).
type Entitlements interface {
	// ReadCatalog finds the named entitlements of each kind. A name the org lacks is
	// a configuration error that lists the valid names of that kind.
	ReadCatalog(ctx context.Context, names map[mapping.EntitlementKind][]string) (Catalog, error)
	// ReadAssignments returns every current assignment of the catalog's
	// entitlements, whoever made it.
	ReadAssignments(ctx context.Context, c Catalog) ([]Assignment, error)
	// Assign creates assignments (ID empty), all stored in one Salesforce object:
	// permission set licences; permission sets and groups; or public groups and
	// queues. An assignment that already exists is a success.
	Assign(ctx context.Context, as []Assignment) ([]WriteResult, error)
	// Unassign deletes assignments by Id, all of one object.
	Unassign(ctx context.Context, ids []string) ([]WriteResult, error)
}

// Entitlement is one permission set, permission set group, permission set licence,
// public group or queue of the org.
type Entitlement struct {
	Kind mapping.EntitlementKind
	Name string // API name
	ID   string
	// PermissionSetLicenseID is, for a permission set, the permission set licence a
	// user must hold first ("" for none).
	PermissionSetLicenseID string
	// UserLicenseID is, for a permission set tied to a user licence, the licence the
	// user's profile must have ("" for none).
	UserLicenseID string
	// FreeSeats is, for a permission set licence, its unassigned seats.
	FreeSeats int
}

// Catalog is what ReadCatalog found.
type Catalog struct {
	Entitlements []Entitlement
	// ProfileLicense maps a profile Id to its user licence Id.
	ProfileLicense map[string]string
}

// Assignment is one entitlement held by one user.
type Assignment struct {
	ID            string // the assignment's record Id; empty before it is created
	Kind          mapping.EntitlementKind
	EntitlementID string
	UserID        string
}

// Owned is an assignment syncd made (or is making) and so may remove.
type Owned struct {
	UserID        string
	EntitlementID string
	Kind          mapping.EntitlementKind
	IdPID         string
}

// Ownership is the store's record of what syncd assigned. Own is written before the
// create is sent, so a crash between the two leaves syncd owning what it made.
type Ownership interface {
	Owned(ctx context.Context) ([]Owned, error)
	Own(ctx context.Context, os []Owned) error
	Disown(ctx context.Context, os []Owned) error
}

// EntitlementChange is what an assign or unassign action does.
type EntitlementChange struct {
	Kind          mapping.EntitlementKind
	Name          string
	EntitlementID string
	// AssignmentID is the record an unassign deletes.
	AssignmentID string
	// Refusal, on an assign, says why syncd records it as failed without sending it.
	Refusal *Refusal
}

// EntitlementPolicy is how entitlements are managed.
type EntitlementPolicy struct {
	// Exclusive are API names of permission sets and groups syncd owns outright.
	Exclusive []string
	// RemoveOnDeactivation removes what syncd granted from deactivated users.
	RemoveOnDeactivation bool
	// MaxRemovals skips every removal of a cycle that plans more; negative disables.
	MaxRemovals int
}

// EntitlementState is one cycle's view of entitlements: the org's and the store's.
type EntitlementState struct {
	Catalog     Catalog
	Assignments []Assignment
	Owned       []Owned
}

// entKey names one entitlement of one user.
type entKey struct{ user, ent string }

// PlanEntitlements adds to plan the assignments the desired users lack and the
// removals of what syncd granted that the rules no longer give (and of any
// assignment of an exclusive entitlement the rules do not give). It is pure. It
// acts only on users syncd owns or creates in this plan; a user created in this plan
// has an empty SalesforceID in its assign actions, filled in when applied. Removals
// wait for a complete pull and are skipped, all of them, above the cap.
func PlanEntitlements(plan Plan, in Input, p Policy, ep EntitlementPolicy, st EntitlementState) Plan {
	c := newEntitlementCalc(&plan, &in, &p, &ep, &st)
	for i := range in.Desired {
		c.assign(&in.Desired[i])
	}
	c.remove()
	c.guard()
	sortEntitlementActions(c.assigns)
	sortEntitlementActions(c.removals)
	slices.SortStableFunc(c.skips, func(a, b Skip) int { return compareEntitlementActions(&a.Action, &b.Action) })
	plan.Actions = append(append(plan.Actions, c.assigns...), c.removals...)
	plan.Skipped = append(plan.Skipped, c.skips...)
	return plan
}

// entitlementCalc is one PlanEntitlements call: its inputs indexed, and what it
// plans.
type entitlementCalc struct {
	plan *Plan
	in   *Input
	pol  *Policy
	ep   *EntitlementPolicy

	byName   map[string]*Entitlement // kind/name
	byID     map[string]*Entitlement // idKey
	existing map[string]*Existing    // idKey
	// userOf is the Salesforce user of each person syncd owns or is about to; a
	// person created in this plan has "" and created set.
	userOf      map[string]string
	created     map[string]bool
	profileOf   map[string]string // a person's profile Id as this plan writes it
	assignments []Assignment      // the org's, of the managed entitlements
	held        map[entKey]bool   // assignments the org holds
	owned       map[entKey]bool   // assignments syncd made
	desired     map[entKey]bool   // assignments the rules give
	seats       map[string]int    // free seats of each permission set licence, as planned
	backedOff   map[string]Backoff
	// profileLicence maps a profile to its user licence, both as idKeys.
	profileLicence map[string]string
	protect        protection

	assigns, removals []Action
	skips             []Skip
}

func newEntitlementCalc(plan *Plan, in *Input, p *Policy, ep *EntitlementPolicy, st *EntitlementState) *entitlementCalc {
	c := &entitlementCalc{plan: plan, in: in, pol: p, ep: ep, assignments: st.Assignments,
		byName: map[string]*Entitlement{}, byID: map[string]*Entitlement{}, existing: map[string]*Existing{},
		userOf: map[string]string{}, created: map[string]bool{}, profileOf: map[string]string{},
		held: map[entKey]bool{}, owned: map[entKey]bool{}, desired: map[entKey]bool{}, seats: map[string]int{},
		backedOff: map[string]Backoff{}, profileLicence: map[string]string{}, protect: newProtection(&p.Protect)}
	for i := range st.Catalog.Entitlements {
		e := &st.Catalog.Entitlements[i]
		c.byName[string(e.Kind)+"/"+e.Name] = e
		c.byID[idKey(e.ID)] = e
		if e.Kind == mapping.PermissionSetLicense {
			c.seats[idKey(e.ID)] = e.FreeSeats
		}
	}
	for pr, l := range st.Catalog.ProfileLicense {
		c.profileLicence[idKey(pr)] = idKey(l)
	}
	for i := range in.Existing {
		c.existing[idKey(in.Existing[i].ID)] = &in.Existing[i]
	}
	for _, l := range in.Links {
		c.userOf[l.IdPID] = l.SalesforceID
	}
	for _, a := range plan.Actions {
		if a.Held {
			continue
		}
		switch a.Kind {
		case KindCreate:
			c.created[a.IdPID] = true
		case KindAdopt, KindUpdate, KindReactivate:
			c.userOf[a.IdPID] = a.SalesforceID
		}
		if pr, ok := after(&a, "ProfileId"); ok {
			c.profileOf[a.IdPID] = pr
		}
	}
	for _, a := range st.Assignments {
		c.held[entKey{idKey(a.UserID), idKey(a.EntitlementID)}] = true
	}
	for _, o := range st.Owned {
		c.owned[entKey{idKey(o.UserID), idKey(o.EntitlementID)}] = true
	}
	// A person's assignments wait while a failure of one backs them off. A refusal
	// syncd made itself (a licence the profile cannot hold, no free seat) holds back
	// only the assignments it still refuses.
	for _, b := range in.Backoffs {
		if b.Kind == KindAssign && b.NextAttemptAt.After(in.Now) {
			c.backedOff[b.IdPID] = b
		}
	}
	return c
}

// protected reports whether syncd must leave a user's entitlements alone.
func (c *entitlementCalc) protected(e *Existing) bool {
	return e != nil && c.protect.refuses(&Action{Username: e.Username}, e) != ""
}

// assign plans what one desired person lacks of what the rules give them, a
// licence before the permission sets that need it.
func (c *entitlementCalc) assign(d *mapping.Desired) {
	sfID, linked := c.userOf[d.ID]
	switch {
	case !linked && !c.created[d.ID]:
		return // disputed, skipped or not created: no user of syncd's
	case c.pol.Mode == ModeCreateOnly && !c.created[d.ID] && c.planned(d.ID) != KindAdopt:
		return
	}
	e := c.existing[idKey(sfID)]
	if c.protected(e) || (e == nil && !c.created[d.ID]) {
		return
	}
	profile := c.profileOf[d.ID]
	base := Action{Kind: KindAssign, IdPID: d.ID, SalesforceID: sfID}
	if e != nil {
		profile = cmp.Or(profile, e.ProfileID)
		base.Username, base.Email = e.Username, e.Email
	} else {
		base.Username, _ = d.Value("Username")
		base.Email, _ = d.Value("Email")
	}
	for _, g := range withLicences(d.Grants, c.byName, c.byID) {
		ent := c.byName[string(g.Kind)+"/"+g.Name]
		if ent == nil {
			continue // ReadCatalog refuses unknown names: never reached in a cycle
		}
		k := entKey{idKey(sfID), idKey(ent.ID)}
		c.desired[k] = true
		if sfID != "" && c.held[k] {
			continue
		}
		a := base
		a.Entitlement = &EntitlementChange{Kind: ent.Kind, Name: ent.Name, EntitlementID: ent.ID}
		a.Changes = []Change{{Field: string(ent.Kind), After: ent.Name}}
		a.Reason = "granted by " + g.Because
		a.Entitlement.Refusal = c.refusal(ent, profile)
		b, off := c.backedOff[d.ID]
		switch r := a.Entitlement.Refusal; {
		case r != nil && off:
			c.skips = append(c.skips, Skip{Action: a, Reason: backoffReason(b) + ": " + r.Message})
		case r != nil:
			a.Reason += "; refused without asking Salesforce: " + r.Message
			c.assigns = append(c.assigns, a)
		case off && b.ErrorCode != CodeLicenceMismatch && b.ErrorCode != CodeNoFreeSeats:
			c.skips = append(c.skips, Skip{Action: a, Reason: backoffReason(b)})
		default:
			if ent.Kind == mapping.PermissionSetLicense {
				c.seats[idKey(ent.ID)]--
			}
			c.assigns = append(c.assigns, a)
		}
	}
}

// planned returns the kind of the plan's action for a person, "" for none.
func (c *entitlementCalc) planned(idpID string) Kind {
	for _, a := range c.plan.Actions {
		if a.IdPID == idpID && !a.Held {
			return a.Kind
		}
	}
	return ""
}

// refusal says why Salesforce would refuse to assign ent to a user of profile, nil
// when it would not.
func (c *entitlementCalc) refusal(ent *Entitlement, profile string) *Refusal {
	switch {
	case ent.UserLicenseID != "" && c.profileLicence[idKey(profile)] != idKey(ent.UserLicenseID):
		return &Refusal{Code: CodeLicenceMismatch,
			Message: fmt.Sprintf("the permission set needs user licence %s, which the user's profile does not have", ent.UserLicenseID)}
	case ent.Kind == mapping.PermissionSetLicense && c.seats[idKey(ent.ID)] <= 0:
		return &Refusal{Code: CodeNoFreeSeats, Message: "the permission set licence has no free seats"}
	}
	return nil
}

// kept returns the users whose assignments stay whatever the rules say: those of
// people whose record was rejected (a data error must not cost access), and,
// unless configured otherwise, deactivated users and those being deactivated. A
// returner being reactivated gets exactly what the rules give.
func (c *entitlementCalc) kept() map[string]bool {
	keep := map[string]bool{}
	for _, r := range c.in.Rejected {
		if sf, ok := c.userOf[r.ID]; ok {
			keep[idKey(sf)] = true
		}
	}
	if c.ep.RemoveOnDeactivation {
		return keep
	}
	for i := range c.in.Existing {
		if !c.in.Existing[i].IsActive {
			keep[idKey(c.in.Existing[i].ID)] = true
		}
	}
	for _, a := range c.plan.Actions {
		switch a.Kind {
		case KindDeactivate:
			keep[idKey(a.SalesforceID)] = true
		case KindReactivate:
			delete(keep, idKey(a.SalesforceID))
		}
	}
	return keep
}

// remove plans the removal of what syncd owns that the rules no longer give its
// user, and of any assignment of an exclusive entitlement that they do not give.
func (c *entitlementCalc) remove() {
	exclusive := map[string]bool{}
	for _, n := range c.ep.Exclusive {
		for _, kind := range []mapping.EntitlementKind{mapping.PermissionSet, mapping.PermissionSetGroup} {
			if e := c.byName[string(kind)+"/"+n]; e != nil {
				exclusive[idKey(e.ID)] = true
			}
		}
	}
	keep := c.kept()
	idpOf := map[string]string{}
	for id, sf := range c.userOf {
		idpOf[idKey(sf)] = id
	}
	for _, as := range c.assignments {
		k := entKey{idKey(as.UserID), idKey(as.EntitlementID)}
		ent := c.byID[k.ent]
		if ent == nil || c.desired[k] || keep[k.user] || !(c.owned[k] || exclusive[k.ent]) {
			continue
		}
		e := c.existing[k.user]
		if c.protected(e) || (e == nil && !c.owned[k]) {
			continue // protected, or not a Standard user syncd read: never touched
		}
		c.removals = append(c.removals, unassign(as, ent, e, idpOf[k.user], c.owned[k]))
	}
	if c.pol.Mode == ModeUpsertOnly || c.pol.Mode == ModeCreateOnly {
		c.skipRemovals("policy " + string(c.pol.Mode) + " never removes")
	}
}

// unassign builds the removal of one assignment of ent to user e (nil when syncd
// did not read it) and says why: syncd made it (owned), or ent is exclusive.
func unassign(as Assignment, ent *Entitlement, e *Existing, idpID string, owned bool) Action {
	a := Action{Kind: KindUnassign, IdPID: idpID, SalesforceID: as.UserID,
		Entitlement: &EntitlementChange{Kind: ent.Kind, Name: ent.Name, EntitlementID: ent.ID, AssignmentID: as.ID},
		Changes:     []Change{{Field: string(ent.Kind), Before: ent.Name}}}
	if e != nil {
		a.Username, a.Email = e.Username, e.Email
	}
	switch {
	case owned && idpID == "":
		a.Reason = "syncd granted it and no longer owns the user"
	case owned:
		a.Reason = "syncd granted it and no rule gives it any more"
	default:
		a.Reason = "the " + string(ent.Kind) + " is exclusive (mapping.entitlements.exclusive) and no rule gives it to this user"
	}
	return a
}

// guard skips every removal of an incomplete pull, and every removal of a cycle
// that plans more than the cap, and says so in the plan's guardrail verdicts.
func (c *entitlementCalc) guard() {
	switch n := len(c.removals); {
	case n == 0:
	case !c.in.Source.Complete:
		c.skipRemovals("the source pull was incomplete: nothing is removed")
		c.plan.Guards = append(c.plan.Guards, GuardResult{Name: "completeness", Skipped: n, Reason: "incomplete source pull: no entitlement removed"})
	case c.ep.MaxRemovals >= 0 && n > c.ep.MaxRemovals:
		reason := fmt.Sprintf("%d entitlement removals exceed the cap of %d (policy.guardrails.max_entitlement_removals): none is made", n, c.ep.MaxRemovals)
		c.skipRemovals(reason)
		c.plan.Guards = append(c.plan.Guards, GuardResult{Name: guardEntitlementCap, Skipped: n, Reason: reason})
	}
}

// skipRemovals turns every planned removal into a skip with reason.
func (c *entitlementCalc) skipRemovals(reason string) {
	for _, a := range c.removals {
		c.skips = append(c.skips, Skip{Action: a, Reason: reason})
	}
	c.removals = nil
}

// Codes of the assignments syncd refuses itself, recorded as failed with a
// back-off: reported once, not sent to Salesforce every cycle.
const (
	// CodeLicenceMismatch: the permission set is tied to a user licence other than
	// the user's profile's (Salesforce: "The user license doesn't allow the
	// permission").
	CodeLicenceMismatch = "LICENSE_MISMATCH"
	// CodeNoFreeSeats: the permission set licence has no free seat (Salesforce's
	// own code for it).
	CodeNoFreeSeats = "LICENSE_LIMIT_EXCEEDED"
)

// Refusal is why syncd will not send an assignment: Salesforce would refuse it.
type Refusal struct {
	Code, Message string
}

// backoffReason explains a skip for a back-off.
func backoffReason(b Backoff) string {
	return "back-off after " + cmp.Or(b.ErrorCode, "an error") + " (attempt " + fmt.Sprint(b.Attempts) +
		"): next attempt at " + b.NextAttemptAt.UTC().Format("2006-01-02T15:04:05Z")
}

// withLicences adds, before each permission set that needs a permission set licence,
// that licence, unless the grants name it already.
func withLicences(grants []mapping.Grant, byName, byID map[string]*Entitlement) []mapping.Grant {
	var extra []mapping.Grant
	for _, g := range grants {
		e := byName[string(g.Kind)+"/"+g.Name]
		if e == nil || e.PermissionSetLicenseID == "" {
			continue
		}
		lic := byID[idKey(e.PermissionSetLicenseID)]
		if lic == nil {
			continue
		}
		has := func(x mapping.Grant) bool { return x.Kind == lic.Kind && x.Name == lic.Name }
		if !slices.ContainsFunc(grants, has) && !slices.ContainsFunc(extra, has) {
			extra = append(extra, mapping.Grant{Kind: lic.Kind, Name: lic.Name, Because: "permission set " + e.Name + ", " + g.Because})
		}
	}
	if len(extra) == 0 {
		return grants
	}
	return append(extra, grants...)
}

func kindOrder(k mapping.EntitlementKind) int {
	return slices.Index(mapping.EntitlementKinds(), k)
}

func compareEntitlementActions(a, b *Action) int {
	return cmp.Or(
		cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)),
		cmp.Compare(kindOrder(a.Entitlement.Kind), kindOrder(b.Entitlement.Kind)),
		strings.Compare(a.IdPID, b.IdPID),
		strings.Compare(a.SalesforceID, b.SalesforceID),
		strings.Compare(a.Entitlement.Name, b.Entitlement.Name),
	)
}

func sortEntitlementActions(as []Action) {
	slices.SortFunc(as, func(a, b Action) int { return compareEntitlementActions(&a, &b) })
}

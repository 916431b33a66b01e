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
	byName := map[string]*Entitlement{}
	byID := map[string]*Entitlement{}
	for i := range st.Catalog.Entitlements {
		e := &st.Catalog.Entitlements[i]
		byName[string(e.Kind)+"/"+e.Name] = e
		byID[idKey(e.ID)] = e
	}
	existing := map[string]*Existing{}
	for i := range in.Existing {
		existing[idKey(in.Existing[i].ID)] = &in.Existing[i]
	}
	// The user of each person syncd owns or is about to, and what the plan does to it.
	userOf := map[string]string{}
	for _, l := range in.Links {
		userOf[l.IdPID] = l.SalesforceID
	}
	planned := map[string]Kind{}
	profileOf := map[string]string{}
	for _, a := range plan.Actions {
		if a.Held {
			continue
		}
		planned[a.IdPID] = a.Kind
		if a.Kind != KindCreate {
			userOf[a.IdPID] = a.SalesforceID
		}
		if pr, ok := after(&a, "ProfileId"); ok {
			profileOf[a.IdPID] = pr
		}
	}
	skippedUser := map[string]bool{}
	for _, s := range plan.Skipped {
		if s.Action.Kind == KindCreate {
			skippedUser[s.Action.IdPID] = true
		}
	}
	held := map[entKey]bool{}
	for _, a := range st.Assignments {
		held[entKey{idKey(a.UserID), idKey(a.EntitlementID)}] = true
	}
	owned := map[entKey]bool{}
	for _, o := range st.Owned {
		owned[entKey{idKey(o.UserID), idKey(o.EntitlementID)}] = true
	}
	protect := newProtection(&p.Protect)
	seats := map[string]int{}
	for _, e := range st.Catalog.Entitlements {
		if e.Kind == mapping.PermissionSetLicense {
			seats[idKey(e.ID)] = e.FreeSeats
		}
	}
	// A person's assignments wait while a failure of one backs them off. A refusal
	// syncd made itself (a licence the profile cannot hold, no free seat) holds back
	// only the assignments it still refuses.
	backedOff := map[string]Backoff{}
	for _, b := range in.Backoffs {
		if b.Kind == KindAssign && b.NextAttemptAt.After(in.Now) {
			backedOff[b.IdPID] = b
		}
	}
	profileLicence := map[string]string{}
	for p, l := range st.Catalog.ProfileLicense {
		profileLicence[idKey(p)] = idKey(l)
	}
	var assigns, removals []Action
	var skips []Skip
	desired := map[entKey]bool{}
	for i := range in.Desired {
		d := &in.Desired[i]
		sfID, linked := userOf[d.ID]
		kind, inPlan := planned[d.ID]
		if !linked && kind != KindCreate {
			continue // disputed, skipped or not created: no user of syncd's
		}
		if skippedUser[d.ID] {
			continue
		}
		if p.Mode == ModeCreateOnly && kind != KindCreate && kind != KindAdopt {
			continue
		}
		e := existing[idKey(sfID)]
		if e != nil && protect.refuses(&Action{Username: e.Username}, e) != "" {
			continue
		}
		profile := profileOf[d.ID]
		if profile == "" && e != nil {
			profile = e.ProfileID
		}
		base := Action{Kind: KindAssign, IdPID: d.ID, SalesforceID: sfID}
		if e != nil {
			base.Username, base.Email = e.Username, e.Email
		} else {
			base.Username, _ = d.Value("Username")
			base.Email, _ = d.Value("Email")
		}
		if inPlan && kind == KindDeactivate {
			continue
		}
		wants := withLicences(d.Grants, byName, byID)
		for _, g := range wants {
			ent := byName[string(g.Kind)+"/"+g.Name]
			if ent == nil {
				continue // ReadCatalog refuses unknown names: never reached in a cycle
			}
			k := entKey{idKey(sfID), idKey(ent.ID)}
			desired[k] = true
			if sfID != "" && held[k] {
				continue
			}
			a := base
			a.Entitlement = &EntitlementChange{Kind: ent.Kind, Name: ent.Name, EntitlementID: ent.ID}
			a.Changes = []Change{{Field: string(ent.Kind), After: ent.Name}}
			a.Reason = "granted by " + g.Because
			switch b, off := backedOff[d.ID]; {
			case ent.UserLicenseID != "" && profileLicence[idKey(profile)] != idKey(ent.UserLicenseID):
				a.Entitlement.Refusal = &Refusal{Code: CodeLicenceMismatch,
					Message: fmt.Sprintf("the permission set needs user licence %s, which the user's profile does not have", ent.UserLicenseID)}
			case ent.Kind == mapping.PermissionSetLicense && seats[idKey(ent.ID)] <= 0:
				a.Entitlement.Refusal = &Refusal{Code: CodeNoFreeSeats, Message: "the permission set licence has no free seats"}
			case off && b.ErrorCode != CodeLicenceMismatch && b.ErrorCode != CodeNoFreeSeats:
				skips = append(skips, Skip{Action: a, Reason: backoffReason(b)})
				continue
			}
			if r := a.Entitlement.Refusal; r != nil {
				if b, off := backedOff[d.ID]; off {
					skips = append(skips, Skip{Action: a, Reason: backoffReason(b) + ": " + r.Message})
					continue
				}
				a.Reason += "; refused without asking Salesforce: " + r.Message
				assigns = append(assigns, a)
				continue
			}
			if ent.Kind == mapping.PermissionSetLicense {
				seats[idKey(ent.ID)]--
			}
			assigns = append(assigns, a)
		}
	}
	// Removals: what syncd owns that the rules no longer give its user, and any
	// assignment of an exclusive entitlement that they do not give.
	exclusive := map[string]bool{}
	for _, n := range ep.Exclusive {
		for _, kind := range []mapping.EntitlementKind{mapping.PermissionSet, mapping.PermissionSetGroup} {
			if e := byName[string(kind)+"/"+n]; e != nil {
				exclusive[idKey(e.ID)] = true
			}
		}
	}
	keep := map[string]bool{} // users whose entitlements stay: deactivated, unless configured otherwise
	if !ep.RemoveOnDeactivation {
		for _, a := range plan.Actions {
			if a.Kind == KindDeactivate {
				keep[idKey(a.SalesforceID)] = true
			}
		}
		for i := range in.Existing {
			if !in.Existing[i].IsActive {
				keep[idKey(in.Existing[i].ID)] = true
			}
		}
		for _, a := range plan.Actions {
			if a.Kind == KindReactivate {
				delete(keep, idKey(a.SalesforceID)) // a returner gets exactly what the rules give
			}
		}
	}
	idpOf := map[string]string{}
	for id, sf := range userOf {
		idpOf[idKey(sf)] = id
	}
	for _, as := range st.Assignments {
		k := entKey{idKey(as.UserID), idKey(as.EntitlementID)}
		ent := byID[k.ent]
		if ent == nil || desired[k] || keep[k.user] || !(owned[k] || exclusive[k.ent]) {
			continue
		}
		e := existing[k.user]
		if e != nil && protect.refuses(&Action{Username: e.Username}, e) != "" {
			continue
		}
		if e == nil && !owned[k] {
			continue // not a user of type Standard that syncd read: never touched
		}
		a := Action{Kind: KindUnassign, IdPID: idpOf[k.user], SalesforceID: as.UserID,
			Entitlement: &EntitlementChange{Kind: ent.Kind, Name: ent.Name, EntitlementID: ent.ID, AssignmentID: as.ID},
			Changes:     []Change{{Field: string(ent.Kind), Before: ent.Name}}}
		if e != nil {
			a.Username, a.Email = e.Username, e.Email
		}
		switch {
		case owned[k] && a.IdPID == "":
			a.Reason = "syncd granted it and no longer owns the user"
		case owned[k]:
			a.Reason = "syncd granted it and no rule gives it any more"
		default:
			a.Reason = "the " + string(ent.Kind) + " is exclusive (mapping.entitlements.exclusive) and no rule gives it to this user"
		}
		if p.Mode == ModeUpsertOnly || p.Mode == ModeCreateOnly {
			skips = append(skips, Skip{Action: a, Reason: "policy " + string(p.Mode) + " never removes"})
			continue
		}
		removals = append(removals, a)
	}
	switch {
	case len(removals) > 0 && !in.Source.Complete:
		for _, a := range removals {
			skips = append(skips, Skip{Action: a, Reason: "the source pull was incomplete: nothing is removed"})
		}
		plan.Guards = append(plan.Guards, GuardResult{Name: "completeness", Skipped: len(removals), Reason: "incomplete source pull: no entitlement removed"})
		removals = nil
	case ep.MaxRemovals >= 0 && len(removals) > ep.MaxRemovals:
		reason := fmt.Sprintf("%d entitlement removals exceed the cap of %d (policy.guardrails.max_entitlement_removals): none is made", len(removals), ep.MaxRemovals)
		for _, a := range removals {
			skips = append(skips, Skip{Action: a, Reason: reason})
		}
		plan.Guards = append(plan.Guards, GuardResult{Name: guardEntitlementCap, Skipped: len(removals), Reason: reason})
		removals = nil
	}
	sortEntitlementActions(assigns)
	sortEntitlementActions(removals)
	slices.SortStableFunc(skips, func(a, b Skip) int { return compareEntitlementActions(&a.Action, &b.Action) })
	plan.Actions = append(append(plan.Actions, assigns...), removals...)
	plan.Skipped = append(plan.Skipped, skips...)
	return plan
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

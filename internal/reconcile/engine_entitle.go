package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/syncd-io/syncd/internal/mapping"
)

// EntitlementConfig turns on the entitlement step of a cycle. Entitlements and
// Ownership are required when Names is not empty.
type EntitlementConfig struct {
	Entitlements Entitlements
	Ownership    Ownership
	// Names are the configured API names by kind (mapping.EntitlementsConfig.Names).
	Names  map[mapping.EntitlementKind][]string
	Policy EntitlementPolicy
}

func (c *EntitlementConfig) enabled() bool { return c != nil && len(c.Names) > 0 }

// gatherEntitlements reads the catalog (an unknown name fails the cycle as a
// configuration error), the current assignments and what syncd owns.
func (e *Engine) gatherEntitlements(ctx context.Context) (*EntitlementState, error) {
	ec := e.cfg.Entitle
	if !ec.enabled() {
		return nil, nil
	}
	cat, err := ec.Entitlements.ReadCatalog(ctx, ec.Names)
	if err != nil {
		return nil, fmt.Errorf("reconcile: reading entitlements: %w", err)
	}
	st := &EntitlementState{Catalog: cat}
	if st.Assignments, err = ec.Entitlements.ReadAssignments(ctx, cat); err != nil {
		return nil, fmt.Errorf("reconcile: reading entitlement assignments: %w", err)
	}
	if st.Owned, err = ec.Ownership.Owned(ctx); err != nil {
		return nil, fmt.Errorf("reconcile: loading owned assignments: %w", err)
	}
	return st, nil
}

// forgetStaleOwnership drops the record of assignments syncd owns but the org does
// not hold: one recorded before a create that a crash or a refusal never let happen.
// Were it kept, an admin's later assignment of the same thing would pass for
// syncd's and could be removed.
func (e *Engine) forgetStaleOwnership(ctx context.Context, st *EntitlementState) error {
	if st == nil {
		return nil
	}
	held := map[entKey]bool{}
	for _, a := range st.Assignments {
		held[entKey{idKey(a.UserID), idKey(a.EntitlementID)}] = true
	}
	var stale []Owned
	kept := st.Owned[:0:0]
	for _, o := range st.Owned {
		if held[entKey{idKey(o.UserID), idKey(o.EntitlementID)}] {
			kept = append(kept, o)
		} else {
			stale = append(stale, o)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	if err := e.cfg.Entitle.Ownership.Disown(ctx, stale); err != nil {
		return fmt.Errorf("reconcile: forgetting %d assignment(s) the org does not hold: %w", len(stale), err)
	}
	st.Owned = kept
	return nil
}

// planWithEntitlements adds the entitlement actions when the step is on.
func (e *Engine) planWithEntitlements(plan Plan, c *cycleData) Plan {
	if c.entitlements == nil {
		return plan
	}
	return PlanEntitlements(plan, c.input, c.policy, e.cfg.Entitle.Policy, *c.entitlements)
}

// applyEntitlements sends the assign and unassign actions after the users' own:
// assignments by object in the order Salesforce needs them (licences before the
// permission sets that need them), then removals. A new user's assignments take its
// Id from the links its create left.
func (a *applier) applyEntitlements(ctx context.Context, items []item) {
	if len(items) == 0 || a.stopped(ctx) {
		return
	}
	userOf, err := a.newUsers(ctx, items)
	if err != nil {
		a.setFatal(fmt.Errorf("reconcile: loading links for new users' entitlements: %w", err))
		return
	}
	var waiting, refused []item
	byStep := map[entitlementStep][]item{}
	for _, it := range items {
		if it.a.Entitlement.Refusal != nil {
			refused = append(refused, it)
			continue
		}
		if it.a.SalesforceID == "" {
			it.a.SalesforceID = userOf[it.a.IdPID]
		}
		if it.a.SalesforceID == "" {
			waiting = append(waiting, it)
			continue
		}
		step := entitlementStep{it.a.Kind, assignmentObject(it.a.Entitlement.Kind)}
		byStep[step] = append(byStep[step], it)
	}
	if len(waiting) > 0 {
		results := make([]Result, len(waiting))
		for i, it := range waiting {
			results[i] = a.failure(it, "", "the user was not created in this cycle: the next cycle assigns it", ClassTransient)
		}
		a.record(ctx, waiting, results)
	}
	steps := slices.SortedFunc(maps.Keys(byStep), compareSteps)
	for _, step := range steps {
		all := byStep[step]
		for start := 0; start < len(all) && !a.stopped(ctx); start += MaxBatch {
			b := all[start:min(start+MaxBatch, len(all))]
			a.record(ctx, b, a.sendEntitlements(ctx, a.e.cfg.Entitle, b))
		}
	}
	// Refusals are recorded last: an assignment of the same person applied after
	// them would end their back-off (an applied result ends the person's back-off of
	// its kind), and they would be reported again next cycle.
	if len(refused) > 0 {
		results := make([]Result, len(refused))
		for i, it := range refused {
			r := it.a.Entitlement.Refusal
			results[i] = a.failure(it, r.Code, r.Message, ClassPermanent)
		}
		a.record(ctx, refused, results)
	}
}

// newUsers returns the Salesforce Id of each person by the links, when some
// assignment is for a user this cycle created (nil otherwise: no store read).
func (a *applier) newUsers(ctx context.Context, items []item) (map[string]string, error) {
	if !slices.ContainsFunc(items, func(it item) bool { return it.a.SalesforceID == "" }) {
		return nil, nil
	}
	links, err := a.e.cfg.Journal.Links(ctx)
	if err != nil {
		return nil, err
	}
	userOf := make(map[string]string, len(links))
	for _, l := range links {
		userOf[l.IdPID] = l.SalesforceID
	}
	return userOf, nil
}

// entitlementStep is one kind of entitlement write to one Salesforce object:
// Salesforce takes one setup object per Collections call.
type entitlementStep struct {
	kind   Kind // KindAssign or KindUnassign
	object int  // assignmentObject
}

// Objects that hold assignments, in the order a user receives them.
const (
	objectLicenceAssign       = iota // PermissionSetLicenseAssign
	objectPermissionSetAssign        // PermissionSetAssignment (permission sets and groups)
	objectGroupMember                // GroupMember (public groups and queues)
)

// assignmentObject is the object a kind's assignments are records of.
func assignmentObject(k mapping.EntitlementKind) int {
	switch k {
	case mapping.PermissionSetLicense:
		return objectLicenceAssign
	case mapping.PermissionSet, mapping.PermissionSetGroup:
		return objectPermissionSetAssign
	}
	return objectGroupMember
}

// compareSteps orders the steps: assignments licence first, then removals the other
// way round, so a licence goes after the permission sets that need it.
func compareSteps(x, y entitlementStep) int {
	if x.kind != y.kind {
		if x.kind == KindAssign {
			return -1
		}
		return 1
	}
	if x.kind == KindAssign {
		return cmp.Compare(x.object, y.object)
	}
	return cmp.Compare(y.object, x.object)
}

// sendEntitlements makes one batch's call. Ownership is recorded before a create is
// sent, so a crash in between leaves syncd owning what it made, and dropped for a
// create that failed or a removal that succeeded.
func (a *applier) sendEntitlements(ctx context.Context, ec *EntitlementConfig, b []item) []Result {
	owned := make([]Owned, len(b))
	for i, it := range b {
		owned[i] = Owned{UserID: it.a.SalesforceID, EntitlementID: it.a.Entitlement.EntitlementID, Kind: it.a.Entitlement.Kind, IdPID: it.a.IdPID}
	}
	whole := func(err error) []Result {
		results := make([]Result, len(b))
		for i, it := range b {
			results[i] = a.failure(it, "", fmt.Sprintf("the %s call failed as a whole: %v", it.a.Kind, err), ClassTransient)
		}
		if classOf(err) != ClassBudget {
			a.setFatal(fmt.Errorf("reconcile: an entitlement batch of %d failed: %w", len(b), err))
		}
		return results
	}
	var ws []WriteResult
	var err error
	var settle []Owned
	if b[0].a.Kind == KindAssign {
		if err := ec.Ownership.Own(ctx, owned); err != nil {
			return whole(err)
		}
		as := make([]Assignment, len(b))
		for i, it := range b {
			as[i] = Assignment{Kind: it.a.Entitlement.Kind, EntitlementID: it.a.Entitlement.EntitlementID, UserID: it.a.SalesforceID}
		}
		ws, err = ec.Entitlements.Assign(ctx, as)
		if err = checkCount(ws, err, len(b), ClassOutcomeUnknown); err != nil {
			return whole(err) // ownership stays: the next cycle reads what was made
		}
		for i, w := range ws {
			if !w.OK {
				settle = append(settle, owned[i])
			}
		}
	} else {
		ids := make([]string, len(b))
		for i, it := range b {
			ids[i] = it.a.Entitlement.AssignmentID
		}
		ws, err = ec.Entitlements.Unassign(ctx, ids)
		if err = checkCount(ws, err, len(b), ClassPermanent); err != nil {
			return whole(err)
		}
		for i, w := range ws {
			if w.OK {
				settle = append(settle, owned[i])
			}
		}
	}
	if len(settle) > 0 {
		if err := ec.Ownership.Disown(ctx, settle); err != nil {
			a.setFatal(fmt.Errorf("reconcile: recording removed ownership: %w", err))
		}
	}
	return a.fromWrites(b, ws)
}

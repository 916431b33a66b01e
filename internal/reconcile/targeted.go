package reconcile

import (
	"context"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/source"
)

// TriggerEvent is the trigger of a targeted run started by pushed events.
const TriggerEvent = "event"

// Target names the people a targeted run reconciles, and what earlier targeted runs
// since the last full cycle spent of the deactivation cap.
type Target struct {
	// Keys name people: IdP ids, or user names or emails (see source.Lookup).
	Keys []string
	// Deactivated is how many deactivations targeted runs have planned since the last
	// full cycle began. The cap counts them against this run, so that many small
	// events cannot deactivate more people between two full cycles than one cycle may.
	Deactivated int
}

// Reconcile runs one targeted reconcile: the people t names and no one else. It reads
// their records from the source (source.Lookup), their Salesforce users by link and
// by the match keys of the policy, plans for them alone with the same Plan, and
// applies and journals the plan as a run with the given trigger. The guardrails are
// the cycle's: completeness (a failed or partial read deactivates no one), the
// shrink gate when the source was read whole (an export that lost a department holds
// the deactivation of a named leaver as a full cycle would hold them all; SCIM reads
// of single users have no size to compare), and the cap, counted against the whole
// org's managed users and with t.Deactivated already spent. It never acts on anyone
// t does not name: users linked to other
// people that a key happens to find are left alone, and any action on another
// person is dropped before the plan is saved.
func (e *Engine) Reconcile(ctx context.Context, trigger string, t Target) (Summary, error) {
	return e.run(ctx, trigger, func(e *Engine, ctx context.Context, s *Summary) error {
		return e.targeted(ctx, s, t)
	})
}

// targeted is Reconcile between StartRun and FinishRun.
func (e *Engine) targeted(ctx context.Context, s *Summary, t Target) error {
	c, named, err := e.gatherTargeted(ctx, t.Keys)
	if c != nil {
		s.Stats = stats(c, Plan{})
		s.SourceComplete = c.input.Source.Complete
	}
	if err != nil {
		return err
	}
	pol := c.policy
	pol.Guardrails = Guardrails{MaxDeactivations: -1, MaxDeactivationPercent: -1, MaxSourceShrinkPercent: -1}
	if c.snapshot.Digest != "" { // a whole snapshot: the shrink gate compares it as a cycle would
		pol.Guardrails.MaxSourceShrinkPercent = c.policy.Guardrails.MaxSourceShrinkPercent
	}
	plan := e.cfg.Plan(c.input, pol)
	plan = onlyNamed(plan, named, e.log)
	plan.Stale = nil // approvals of people not named are not this run's to close
	plan.Managed = c.managed
	var res GuardResult
	plan, res = spentCap(c.policy.Guardrails, c.managed, t.Deactivated).Check(plan, c.input)
	if res.Held > 0 {
		plan.Guards = append(plan.Guards, res)
	}
	return e.execute(ctx, s, c, plan)
}

// spentCap is the cycle's deactivation cap with what targeted runs have spent of it
// since the last full cycle taken off. A limit that is used up holds every further
// deactivation; a disabled (negative) one stays disabled.
func spentCap(g Guardrails, managed, spent int) Cap {
	c := Cap{Max: g.MaxDeactivations, MaxPercent: g.MaxDeactivationPercent}
	if c.Max >= 0 {
		c.Max = max(c.Max-spent, 0)
	}
	if c.MaxPercent >= 0 && managed > 0 {
		c.MaxPercent = max(c.MaxPercent-float64(spent)*100/float64(managed), 0)
	}
	return c
}

// onlyNamed drops every action and skip of a person not named: the guarantee that a
// targeted run acts on no one else, whatever the plan made of a partial view.
func onlyNamed(p Plan, named map[string]bool, log *zap.Logger) Plan {
	keep := func(a *Action) bool {
		if named[a.IdPID] {
			return true
		}
		log.Warn("targeted run: dropped an action on a person the events did not name",
			zap.String("kind", string(a.Kind)), zap.String("salesforce_id", a.SalesforceID))
		return false
	}
	p.Actions = filter(p.Actions, func(a Action) bool { return keep(&a) })
	p.Skipped = filter(p.Skipped, func(s Skip) bool { return named[s.Action.IdPID] })
	return p
}

// gatherTargeted is gather for the named people: their records, their users, the
// links that concern either, and what earlier cycles left. It returns the IdP ids
// named. c.managed is the number of links syncd owns in all, the cap's base.
func (e *Engine) gatherTargeted(ctx context.Context, keys []string) (*cycleData, map[string]bool, error) {
	c := &cycleData{policy: e.cfg.Policy}
	c.input.Now = e.cfg.Now()
	found, err := source.Lookup(ctx, e.cfg.Source, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("reconcile: reading the named people from the source: %w", err)
	}
	named := make(map[string]bool, len(found.Named))
	for _, id := range found.Named {
		named[id] = true
	}
	snap := source.Snapshot{Records: found.Records, Complete: found.Complete, Reasons: found.Reasons,
		Count: len(found.Records), Digest: found.Digest}
	c.snapshot = snap
	c.mapped, _ = e.mapSnapshot(snap)
	c.input.Desired = filter(c.mapped.Desired, func(d mapping.Desired) bool { return named[d.ID] })
	for i := range c.input.Desired { // resolved apart, so that the memo keeps c.mapped unresolved and whole
		c.input.Desired[i].Fields = slices.Clone(c.input.Desired[i].Fields)
	}
	c.input.Inactive = filter(c.mapped.Inactive, func(id string) bool { return named[id] })
	c.input.Rejected = filter(c.mapped.Rejected, func(r mapping.Rejection) bool { return named[r.ID] })
	c.input.Source = Source{Complete: found.Complete, Reasons: found.Reasons, Count: len(found.Records)}
	c.dropRecords()
	if _, err := e.resolveNames(ctx, c); err != nil {
		return c, named, err
	}
	e.cfg.Memo.keep(c.snapshot, c.mapped)
	if err := e.protectSelf(ctx, c); err != nil {
		return c, named, err
	}
	if err := e.loadJournal(ctx, c); err != nil {
		return c, named, err
	}
	c.managed = len(c.input.Links)
	if found.Digest != "" {
		base, ok, err := e.cfg.Journal.LastGoodSnapshot(ctx)
		if err != nil {
			return c, named, fmt.Errorf("reconcile: loading the last good snapshot: %w", err)
		}
		if ok {
			c.input.Source.Baseline = base.Count
		}
	}
	if c.input.Existing, err = e.readNamedUsers(ctx, c, named); err != nil {
		return c, named, err
	}
	c.input.Links, c.input.Rejected = restrictLinks(c.input.Links, c.input.Existing, named, c.input.Rejected)
	c.input.Approved = filter(c.input.Approved, func(a Approved) bool { return named[a.IdPID] })
	return c, named, nil
}

// readNamedUsers reads the Salesforce users the named people may have: the ones
// their links name, and the ones a match key of the policy finds (their
// FederationIdentifier, Email or Username), each once.
func (e *Engine) readNamedUsers(ctx context.Context, c *cycleData, named map[string]bool) ([]Existing, error) {
	lookups := map[string][]string{} // SOQL field → values
	for _, l := range c.input.Links {
		if named[l.IdPID] {
			lookups["Id"] = append(lookups["Id"], l.SalesforceID)
		}
	}
	for _, key := range c.policy.matchOrder() {
		field := matchField(key)
		for i := range c.input.Desired {
			if v, ok := c.input.Desired[i].Value(field); ok && v != "" {
				lookups[field] = append(lookups[field], v)
			}
		}
	}
	fields := managedFields(c.input.Desired)
	seen := map[string]bool{}
	var users []Existing
	for _, field := range []string{"Id", "FederationIdentifier", "Email", "Username"} {
		if len(lookups[field]) == 0 {
			continue
		}
		found, err := e.cfg.Directory.ReadUsersWhere(ctx, field, lookups[field], fields)
		if err != nil {
			return nil, fmt.Errorf("reconcile: reading Salesforce users by %s: %w", field, err)
		}
		for _, u := range found {
			if !seen[idKey(u.ID)] {
				seen[idKey(u.ID)] = true
				users = append(users, u)
			}
		}
	}
	return users, nil
}

// restrictLinks keeps the links of the named people and of the users read. A user
// read because a key found it but linked to someone not named belongs to that
// person, who is not in this run's desired set: the person is listed as rejected
// (present in the source, not to be judged here), so that the plan leaves the user
// alone instead of taking the person for a leaver.
func restrictLinks(links []Link, users []Existing, named map[string]bool, rejected []mapping.Rejection) ([]Link, []mapping.Rejection) {
	read := make(map[string]bool, len(users))
	for _, u := range users {
		read[idKey(u.ID)] = true
	}
	var out []Link
	for _, l := range links {
		switch {
		case named[l.IdPID]:
			out = append(out, l)
		case read[idKey(l.SalesforceID)]:
			out = append(out, l)
			rejected = append(rejected, mapping.Rejection{ID: l.IdPID,
				Reasons: []mapping.Reason{{Detail: "not named by the events of this targeted run"}}})
		}
	}
	return out, rejected
}

// filter returns the elements of s that keep accepts, in a new slice.
func filter[T any](s []T, keep func(T) bool) []T {
	var out []T
	for _, v := range s {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

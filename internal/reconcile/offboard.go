package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/syncd-io/syncd/internal/mapping"
)

// Offboarding is what a cycle does to a leaver besides deactivating them, in this
// order: freeze (access is cut at once, even when Salesforce will refuse the
// deactivation), end their sessions and revoke their OAuth tokens, hand their open
// records to their manager (or FallbackUsername), then deactivate once GracePeriod
// has passed since the freeze. Only deactivations that passed the guardrails are
// offboarded: a deactivation a guardrail holds freezes nobody, since a bad export
// must not lock people out either.
type Offboarding struct {
	Freeze       bool
	EndSessions  bool
	RevokeTokens bool
	// TransferObjects are the objects whose open records move (Opportunity, Case,
	// Lead, Account, Contact); none transfers nothing. Pending approval work items
	// move with them.
	TransferObjects []string
	// FallbackUsername receives the records of a leaver whose manager is absent,
	// inactive or leaving too.
	FallbackUsername string
	// GracePeriod delays the deactivation after the freeze; it needs Freeze, whose
	// time the org keeps.
	GracePeriod time.Duration
	// ReturnRecords gives a returning person back the records their offboarding
	// handed over, those still with whoever received them; it needs
	// Config.Transfers, where the transfers are kept.
	ReturnRecords bool
}

// Transfer is one record an offboarding handed over, as kept in the TransferLog.
type Transfer struct {
	// Action is the transfer action that moved it.
	Action ActionRef
	// IdPID is the leaver's person.
	IdPID string
	MovedRecord
}

// MovedRecord is one record that changed hands: From gave it to To.
type MovedRecord struct {
	Object, RecordID string
	From, To         string
}

// TransferLog keeps the records offboarding handed over, so that a returner can
// get them back. The wiring adapts internal/store to it, with the leader's epoch.
type TransferLog interface {
	// RecordTransfers stores handed-over records; storing one again is no error.
	RecordTransfers(ctx context.Context, ts []Transfer) error
	// PendingTransfers returns the transfers of the given people not yet returned;
	// with no ids, one Transfer with only IdPID set per person who has any.
	PendingTransfers(ctx context.Context, idpIDs []string) ([]Transfer, error)
	// MarkReturned records transfers as undone, or as not to be undone.
	MarkReturned(ctx context.Context, ts []Transfer) error
}

// ReturnOutcome is what became of one transfer a returner was to get back.
type ReturnOutcome struct {
	// Returned: the record is the returner's again. Gone: it was not returned and
	// never will be, because it changed hands (or was deleted) since.
	Returned, Gone bool
	// Code, Message and Class are Salesforce's error when neither.
	Code, Message string
	Class         ErrorClass
}

// Offboarder is the part of the org the offboarding steps need besides Directory.
// Every method works on all the users of a cycle at once (one query per object,
// one Collections call per 200 records) and answers one StepResult per user, in
// order; an error means the call failed as a whole (a *CallError).
type Offboarder interface {
	// FrozenUsers returns the org's frozen users, Id → when their UserLogin last
	// changed.
	FrozenUsers(ctx context.Context) (map[string]time.Time, error)
	// UnfreezeUsers unfreezes users (UserLogin.IsFrozen false).
	UnfreezeUsers(ctx context.Context, userIDs []string) ([]WriteResult, error)
	// EndSessions deletes the users' AuthSession rows.
	EndSessions(ctx context.Context, userIDs []string) ([]StepResult, error)
	// RevokeTokens revokes the users' OAuth tokens (OauthToken.DeleteToken through
	// /services/oauth2/revoke).
	RevokeTokens(ctx context.Context, userIDs []string) ([]StepResult, error)
	// TransferRecords gives the open records of the given objects that each From owns
	// to its To, and reassigns their pending approval work items, with assignment
	// rules off (Sforce-Auto-Assign: FALSE). StepResult.Moved lists what moved.
	TransferRecords(ctx context.Context, objects []string, moves []Move) ([]StepResult, error)
	// ReturnRecords gives each transferred record back to its From, when its owner
	// (a work item's actor) is still its To; one outcome per transfer, in order.
	ReturnRecords(ctx context.Context, ts []Transfer) ([]ReturnOutcome, error)
	// DeactivationBlockers looks by query, before any deactivation is sent, for what
	// would make Salesforce refuse to deactivate the users: user Id → the refusal in
	// Salesforce's words (ClassifyBlocker names it), with where the blocker is. A
	// user not in the map has no blocker a query can find; Salesforce may still
	// refuse them.
	DeactivationBlockers(ctx context.Context, userIDs []string) (map[string]string, error)
}

// Move hands one leaver's records to another user.
type Move struct {
	From, To string
}

// StepResult is the outcome of one offboarding step for one user.
type StepResult struct {
	WriteResult
	// Done counts what the step touched: sessions deleted, tokens revoked, records
	// moved. Zero is a success too: there was nothing to do.
	Done int
	// Detail says what was done, for the journal ("3 Opportunity, 1 Case").
	Detail string
	// Moved lists the records a transfer moved.
	Moved []MovedRecord
}

// offboard expands every deactivation the guardrails let through into the
// offboarding sequence of pol.Offboarding, and plans the unfreeze of every matched
// person whose user is frozen. Deactivations that are held, skipped or in back-off
// expand to nothing. It runs inside Calculate, after Guard, and is as pure.
//
// A cycle with nothing for it to do costs one pass over the actions: a first sync
// of a million people plans no leaver.
func offboard(p *Plan, c *calc) {
	in, pol, protect := c.in, c.pol, &c.protect
	ob := &pol.Offboarding
	users := &userIndex{c: c}
	leaving := map[string]bool{}
	reactivating := false
	for i := range p.Actions {
		switch a := &p.Actions[i]; {
		case a.Kind == KindDeactivate && !a.Held:
			leaving[idKey(a.SalesforceID)] = true
		case a.Kind == KindReactivate:
			reactivating = true
		}
	}
	if len(leaving) == 0 && !(ob.Freeze && (reactivating || len(in.Frozen) > 0)) && !(ob.ReturnRecords && len(in.Transfers) > 0) {
		return
	}
	fallback := fallbackUser(in.Existing, ob.FallbackUsername, leaving)
	waiting := stepBackoffs(in)
	var added []Action
	kept := p.Actions[:0:0]
	for _, a := range p.Actions {
		if a.Kind != KindDeactivate || a.Held {
			kept = append(kept, a)
			continue
		}
		frozenAt, frozen := in.Frozen[idKey(a.SalesforceID)]
		if ob.Freeze && !frozen {
			added = append(added, step(&a, KindFreeze, "offboarding: cut access at once", Change{Field: "IsFrozen", Before: "false", After: "true"}))
		}
		if why := waiting[a.IdPID]; why != "" {
			p.Skipped = append(p.Skipped, Skip{Action: a, Reason: why})
			continue
		}
		if ob.GracePeriod > 0 && ob.Freeze {
			due := in.Now.Add(ob.GracePeriod)
			if frozen {
				due = frozenAt.Add(ob.GracePeriod)
			}
			if in.Now.Before(due) {
				if !frozen {
					kept = append(kept, steps(&a, ob, users, leaving, fallback)...)
				}
				p.Skipped = append(p.Skipped, Skip{Action: a, Reason: "offboarding grace period: deactivated from " + due.UTC().Format(time.RFC3339)})
				continue
			}
		}
		kept = append(kept, steps(&a, ob, users, leaving, fallback)...)
		kept = append(kept, a)
	}
	p.Actions = append(kept, added...)
	if ob.Freeze && pol.Mode.Allows(KindUpdate) {
		p.Actions = append(p.Actions, unfreezes(p.Actions, in, users, protect)...)
	}
	if ob.ReturnRecords && len(in.Transfers) > 0 && pol.Mode.Allows(KindUpdate) {
		p.Actions = append(p.Actions, returns(p.Actions, in, users, protect)...)
	}
}

// returns plans giving returners back what their offboarding handed over: a
// person in the source with pending transfers whose user is active, or
// reactivated in this cycle (an inactive user cannot own records).
func returns(actions []Action, in *Input, users *userIndex, protect *protection) []Action {
	reactivated := map[string]bool{}
	for i := range actions {
		if actions[i].Kind == KindReactivate {
			reactivated[idKey(actions[i].SalesforceID)] = true
		}
	}
	byUser := map[string][]*Transfer{}
	var order []string
	for i := range in.Transfers {
		t := &in.Transfers[i]
		k := idKey(t.From)
		if byUser[k] == nil {
			order = append(order, k)
		}
		byUser[k] = append(byUser[k], t)
	}
	var out []Action
	for _, k := range order {
		e := users.byKey(k)
		if e == nil || (!e.IsActive && !reactivated[k]) {
			continue
		}
		ts := byUser[k]
		a := Action{Kind: KindReturnRecords, IdPID: ts[0].IdPID, SalesforceID: e.ID, Username: e.Username, Email: e.Email, MatchedBy: MatchLink}
		if protect.refuses(&a, e) != "" {
			continue
		}
		from := map[string]bool{}
		for _, t := range ts {
			if !from[t.To] {
				from[t.To] = true
				a.Changes = append(a.Changes, Change{Field: "OwnerId", Before: t.To, After: e.ID})
			}
		}
		slices.SortFunc(a.Changes, func(x, y Change) int { return strings.Compare(x.Before, y.Before) })
		a.Reason = "the person is back: return " + plural(len(ts), "record", "records") +
			" their offboarding handed over, those still with whoever received them (policy.offboarding.return_records)"
		out = append(out, a)
	}
	return out
}

// userIndex finds the org's users by Id. Calculate joins the links with the users
// without a map (join.go), so the index is a map built on the first lookup: only
// cycles with offboarding work pay for it.
type userIndex struct {
	c     *calc
	index map[string]int32
}

// get returns the user with Id id (15 or 18 characters), or nil.
func (u *userIndex) get(id string) *Existing { return u.byKey(idKey(id)) }

// byKey returns the user whose idKey is key, or nil.
func (u *userIndex) byKey(key string) *Existing {
	if u.index == nil {
		u.index = make(map[string]int32, len(u.c.in.Existing))
		for i := range u.c.in.Existing {
			u.index[idKey(u.c.in.Existing[i].ID)] = int32(i)
		}
	}
	if i, ok := u.index[key]; ok {
		return &u.c.in.Existing[i]
	}
	return nil
}

// needFrozen reports whether a cycle must read which users are frozen (one query):
// for the grace period, which starts at the freeze; when a person in the source has
// a blocked deactivation in back-off, whose user syncd froze and must unfreeze now
// that they are back; and when a leaver's offboarding stopped at a failed step, so
// that their freeze is not sent again. Otherwise the plan does without (Input.Frozen nil): a
// freeze or unfreeze of a user already in that state writes nothing.
func needFrozen(in *Input, ob *Offboarding) bool {
	if !ob.Freeze {
		return false
	}
	if ob.GracePeriod > 0 {
		return true
	}
	var desired map[string]bool
	for i := range in.Backoffs {
		switch in.Backoffs[i].Kind {
		case KindEndSessions, KindRevokeTokens, KindTransfer:
			return true // a leaver whose offboarding stopped half-way, frozen already
		case KindDeactivate:
		default:
			continue
		}
		if desired == nil {
			desired = make(map[string]bool, len(in.Desired))
			for j := range in.Desired {
				desired[in.Desired[j].ID] = true
			}
		}
		if desired[in.Backoffs[i].IdPID] {
			return true
		}
	}
	return false
}

// unfreezes plans the unfreeze of the frozen users of returners: people in the
// source reactivated in this cycle, or whose offboarding stopped short of the
// deactivation (blocked, or a step failed: their back-off says so).
//
// Without Input.Frozen (not read this cycle), every reactivated user is unfrozen:
// the write skips users who are not frozen.
func unfreezes(actions []Action, in *Input, users *userIndex, protect *protection) []Action {
	owner := map[string]string{} // idKey(frozen user) → IdP id of their person
	if len(in.Frozen) > 0 {
		// Only people whose offboarding stopped short (a blocked deactivation, a
		// failed step): a user an admin froze for reasons of their own stays frozen.
		offboarded := map[string]bool{}
		for i := range in.Backoffs {
			switch in.Backoffs[i].Kind {
			case KindDeactivate, KindEndSessions, KindRevokeTokens, KindTransfer:
				offboarded[in.Backoffs[i].IdPID] = true
			}
		}
		desired := make(map[string]bool, len(offboarded))
		for i := range in.Desired {
			if offboarded[in.Desired[i].ID] {
				desired[in.Desired[i].ID] = true
			}
		}
		for _, l := range in.Links {
			if _, frozen := in.Frozen[idKey(l.SalesforceID)]; frozen && desired[l.IdPID] {
				owner[idKey(l.SalesforceID)] = l.IdPID
			}
		}
	}
	for i := range actions {
		a := &actions[i]
		_, frozen := in.Frozen[idKey(a.SalesforceID)]
		switch {
		case a.Kind == KindReactivate && (frozen || in.Frozen == nil):
			owner[idKey(a.SalesforceID)] = a.IdPID
		case a.Kind == KindAdopt && frozen:
			owner[idKey(a.SalesforceID)] = a.IdPID
		}
	}
	var out []Action
	for key, idp := range owner {
		e := users.byKey(key)
		if e == nil {
			continue
		}
		a := Action{Kind: KindUnfreeze, IdPID: idp, SalesforceID: e.ID, Username: e.Username, Email: e.Email, MatchedBy: MatchLink}
		if protect.refuses(&a, e) != "" {
			continue
		}
		out = append(out, step(&a, KindUnfreeze, "the person is in the source again and their user is frozen",
			Change{Field: "IsFrozen", Before: "true", After: "false"}))
	}
	return out
}

// steps returns the sessions, tokens and transfer steps of deactivation a. With no
// one to receive the records (no active manager, no fallback user) the transfer
// still runs, with an empty new owner: it moves nothing and fails when the leaver
// owns open records, which keeps the deactivation back, since a deactivated owner's
// records can no longer be handed over.
func steps(a *Action, ob *Offboarding, users *userIndex, leaving map[string]bool, fallback *Existing) []Action {
	var out []Action
	if ob.EndSessions {
		out = append(out, step(a, KindEndSessions, "offboarding: end the leaver's sessions"))
	}
	if ob.RevokeTokens {
		out = append(out, step(a, KindRevokeTokens, "offboarding: revoke the leaver's OAuth tokens"))
	}
	if len(ob.TransferObjects) == 0 {
		return out
	}
	objects := strings.Join(ob.TransferObjects, ", ")
	to, why := transferTarget(users.get(a.SalesforceID), users, leaving, fallback)
	if to == nil {
		return append(out, step(a, KindTransfer, "offboarding: "+why+" and there is no active fallback user "+
			"(policy.offboarding.transfer.fallback_user): check that the leaver owns no open "+objects+" records",
			Change{Field: "OwnerId", Before: a.SalesforceID}))
	}
	return append(out, step(a, KindTransfer, "offboarding: hand "+objects+" records and approval work items to "+
		why+" "+to.Username, Change{Field: "OwnerId", Before: a.SalesforceID, After: to.ID}))
}

// transferTarget chooses who receives a leaver's records: the manager when active
// and staying, else the fallback user. why names the choice, or says why the manager
// cannot have them when there is no fallback.
func transferTarget(leaver *Existing, users *userIndex, leaving map[string]bool, fallback *Existing) (*Existing, string) {
	why := "the leaver has no manager"
	if leaver != nil && leaver.ManagerID != "" {
		m := users.get(leaver.ManagerID)
		switch {
		case m == nil:
			why = "the leaver's manager is not a Standard user syncd reads"
		case !m.IsActive:
			why = "the leaver's manager is inactive"
		case leaving[idKey(m.ID)]:
			why = "the leaver's manager is leaving too"
		default:
			return m, "their manager"
		}
	}
	if fallback == nil {
		return nil, why
	}
	return fallback, "the fallback user (" + why + ")"
}

// fallbackUser finds the active fallback user by Username; nil when unset, absent,
// inactive or leaving.
func fallbackUser(users []Existing, username string, leaving map[string]bool) *Existing {
	if username == "" {
		return nil
	}
	i := slices.IndexFunc(users, func(e Existing) bool { return strings.EqualFold(e.Username, username) })
	if i < 0 || !users[i].IsActive || leaving[idKey(users[i].ID)] {
		return nil
	}
	return &users[i]
}

// step derives one offboarding action from a leaver's deactivation.
func step(a *Action, kind Kind, reason string, changes ...Change) Action {
	return Action{
		Kind: kind, IdPID: a.IdPID, SalesforceID: a.SalesforceID, Username: a.Username, Email: a.Email,
		MatchedBy: a.MatchedBy, Changes: changes, Reason: reason,
	}
}

// check refuses an offboarding that needs an Offboarder without one, and a grace
// period without the freeze that starts it.
func (ob *Offboarding) check(haveOffboarder bool) error {
	needs := ob.Freeze || ob.EndSessions || ob.RevokeTokens || len(ob.TransferObjects) > 0
	switch {
	case needs && !haveOffboarder:
		return errors.New("reconcile: policy.offboarding needs Config.Offboarder")
	case ob.GracePeriod < 0:
		return fmt.Errorf("reconcile: policy.offboarding.grace_period %v is negative", ob.GracePeriod)
	case ob.GracePeriod > 0 && !ob.Freeze:
		return errors.New("reconcile: policy.offboarding.grace_period needs freeze: the freeze starts it")
	}
	return nil
}

// checkReturns refuses return_records without a TransferLog to return from.
func (ob *Offboarding) checkReturns(haveLog bool) error {
	if ob.ReturnRecords && !haveLog {
		return errors.New("reconcile: policy.offboarding.return_records needs Config.Transfers")
	}
	return nil
}

// frozen reads the org's frozen users, keyed by idKey.
func (e *Engine) frozen(ctx context.Context) (map[string]time.Time, error) {
	got, err := e.cfg.Offboarder.FrozenUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconcile: reading frozen users: %w", err)
	}
	out := make(map[string]time.Time, len(got))
	for id, at := range got {
		out[idKey(id)] = at
	}
	return out, nil
}

// stepBackoffs says, by IdP id, why a leaver's offboarding waits: a step of theirs
// failed and is in back-off, so neither it nor the deactivation is tried before
// then (the freeze, which cuts access, is).
func stepBackoffs(in *Input) map[string]string {
	var out map[string]string
	for i := range in.Backoffs {
		b := &in.Backoffs[i]
		if !b.NextAttemptAt.After(in.Now) {
			continue
		}
		switch b.Kind {
		case KindEndSessions, KindRevokeTokens, KindTransfer:
			if out == nil {
				out = map[string]string{}
			}
			out[b.IdPID] = "offboarding: " + string(b.Kind) + " failed with " + cmp.Or(b.ErrorCode, "an error") +
				"; it and the deactivation wait until " + b.NextAttemptAt.UTC().Format(time.RFC3339)
		}
	}
	return out
}

// pendingTransfers reads what people in the source have not got back, when records
// are returned: who has anything pending (one query), then, for those in the source,
// their transfers (one more).
func (e *Engine) pendingTransfers(ctx context.Context, desired []mapping.Desired) ([]Transfer, error) {
	if !e.cfg.Policy.Offboarding.ReturnRecords {
		return nil, nil
	}
	owners, err := e.cfg.Transfers.PendingTransfers(ctx, nil)
	if err != nil || len(owners) == 0 {
		return nil, wrapIf(err, "reconcile: reading who has records to get back")
	}
	pending := make(map[string]bool, len(owners))
	for _, o := range owners {
		pending[o.IdPID] = true
	}
	var back []string
	for i := range desired {
		if pending[desired[i].ID] {
			back = append(back, desired[i].ID)
		}
	}
	if len(back) == 0 {
		return nil, nil
	}
	ts, err := e.cfg.Transfers.PendingTransfers(ctx, back)
	return ts, wrapIf(err, "reconcile: reading the records returners get back")
}

// wrapIf wraps err with what, or returns nil.
func wrapIf(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

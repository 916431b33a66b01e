package app

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/secret"
)

// Offboarder adapts a *salesforce.Client to reconcile.Offboarder. Every step works
// on all the users of a batch at once: one query (per object) for all of them, one
// Collections call per 200 records, so offboarding n leavers costs what offboarding
// one does, plus one call per 200 records written (and one per OAuth token, which
// Salesforce revokes one at a time).
type Offboarder struct {
	c   *salesforce.Client
	log *zap.Logger
	// noSite is set once the org answered that it has no Site object: the
	// preflight (preflight.go) stops asking.
	noSite atomic.Bool
}

// NewOffboarder returns the offboarding steps over c.
func NewOffboarder(c *salesforce.Client) *Offboarder { return &Offboarder{c: c, log: zap.NewNop()} }

var _ reconcile.Offboarder = (*Offboarder)(nil)

// codeNoTransferTarget is syncd's own code for a leaver who owns open records that no
// one may receive (no active manager, no fallback user).
const codeNoTransferTarget = "NO_TRANSFER_TARGET"

// queryEach runs each query to its end and gives every row to add.
func queryEach[T any](ctx context.Context, c *salesforce.Client, queries []string, add func(T)) error {
	for _, q := range queries {
		rows, err := salesforce.QueryAll[T](ctx, c, q)
		if err != nil {
			return err
		}
		for _, r := range rows {
			add(r)
		}
	}
	return nil
}

// FrozenUsers reads the frozen users' UserLogin rows: one query.
func (o *Offboarder) FrozenUsers(ctx context.Context) (map[string]time.Time, error) {
	type login struct {
		UserID           string              `json:"UserId"`
		LastModifiedDate salesforce.Datetime `json:"LastModifiedDate"`
	}
	frozen := map[string]time.Time{}
	err := queryEach(ctx, o.c, []string{salesforce.FrozenUsersQuery()}, func(l login) {
		frozen[salesforce.CanonicalID(l.UserID)] = l.LastModifiedDate.Time
	})
	if err != nil {
		return nil, callError(fmt.Errorf("reading frozen users: %w", err))
	}
	return frozen, nil
}

// UnfreezeUsers unfreezes users through their UserLogin rows.
func (o *Offboarder) UnfreezeUsers(ctx context.Context, userIDs []string) ([]reconcile.WriteResult, error) {
	return setFrozen(ctx, o.c, userIDs, false)
}

// tally gathers the per-user outcome of a step over many records: what was done and
// the first failure.
type tally struct {
	index   map[string]int // canonical user Id → position in the results
	results []reconcile.StepResult
	parts   []map[string]int // per user: what → count, for Detail
}

func newTally(userIDs []string) *tally {
	t := &tally{index: make(map[string]int, len(userIDs)), results: make([]reconcile.StepResult, len(userIDs)),
		parts: make([]map[string]int, len(userIDs))}
	for i, id := range userIDs {
		t.index[salesforce.CanonicalID(id)] = i
		t.results[i].OK = true
	}
	return t
}

// done counts one thing done for user.
func (t *tally) done(user, what string) {
	i, ok := t.index[salesforce.CanonicalID(user)]
	if !ok {
		return
	}
	t.results[i].Done++
	if t.parts[i] == nil {
		t.parts[i] = map[string]int{}
	}
	t.parts[i][what]++
}

// moved lists a record a transfer moved from user to to.
func (t *tally) moved(user, record, object, to string) {
	if i, ok := t.index[salesforce.CanonicalID(user)]; ok {
		t.results[i].Moved = append(t.results[i].Moved, reconcile.MovedRecord{Object: object, RecordID: record, From: user, To: to})
	}
}

// fail records user's first failure.
func (t *tally) fail(user, code, message string, class reconcile.ErrorClass) {
	i, ok := t.index[salesforce.CanonicalID(user)]
	if !ok || !t.results[i].OK {
		return
	}
	r := &t.results[i]
	r.OK, r.Code, r.Message, r.Class = false, code, message, class
}

// failRecord records user's failure from a record's result.
func (t *tally) failRecord(user string, r salesforce.RecordResult) {
	code, message := "", "Salesforce reported a failure without an error"
	if len(r.Errors) > 0 {
		code, message = r.Errors[0].StatusCode, r.Errors[0].Message
	}
	t.fail(user, code, message, classOf(r.Err()))
}

// finish writes each user's Detail ("2 Case, 1 Opportunity") and returns the results.
func (t *tally) finish() []reconcile.StepResult {
	for i := range t.results {
		if len(t.parts[i]) == 0 {
			continue
		}
		whats := make([]string, 0, len(t.parts[i]))
		for w := range t.parts[i] {
			whats = append(whats, w)
		}
		slices.Sort(whats)
		for k, w := range whats {
			whats[k] = strconv.Itoa(t.parts[i][w]) + " " + w
		}
		t.results[i].Detail = strings.Join(whats, ", ")
	}
	return t.results
}

// EndSessions deletes the users' sessions: a query, then one Collections delete per
// 200 sessions. A session already gone (ENTITY_IS_DELETED) counts as ended.
func (o *Offboarder) EndSessions(ctx context.Context, userIDs []string) ([]reconcile.StepResult, error) {
	queries, err := salesforce.SessionsQueries(canonical(userIDs))
	if err != nil {
		return nil, callError(err)
	}
	type session struct {
		ID      string `json:"Id"`
		UsersID string `json:"UsersId"`
	}
	var sessions []session
	if err := queryEach(ctx, o.c, queries, func(s session) { sessions = append(sessions, s) }); err != nil {
		return nil, callError(fmt.Errorf("reading sessions: %w", err))
	}
	t := newTally(userIDs)
	ids := make([]string, len(sessions))
	for i, s := range sessions {
		ids[i] = s.ID
	}
	rs, err := o.c.DeleteRecords(ctx, ids)
	if err != nil {
		return nil, callError(fmt.Errorf("deleting sessions: %w", err))
	}
	for _, r := range rs {
		user := sessions[r.Index].UsersID
		if r.Success || hasCode(r, "ENTITY_IS_DELETED") {
			t.done(user, "sessions ended")
			continue
		}
		t.failRecord(user, r)
	}
	return t.finish(), nil
}

// RevokeTokens revokes the users' OAuth tokens: a query, then one revoke per token
// (Salesforce has no bulk revoke).
func (o *Offboarder) RevokeTokens(ctx context.Context, userIDs []string) ([]reconcile.StepResult, error) {
	queries, err := salesforce.TokensQueries(canonical(userIDs))
	if err != nil {
		return nil, callError(err)
	}
	type token struct {
		UserID      string `json:"UserId"`
		AppName     string `json:"AppName"`
		DeleteToken string `json:"DeleteToken"`
	}
	var tokens []token
	if err := queryEach(ctx, o.c, queries, func(tk token) { tokens = append(tokens, tk) }); err != nil {
		return nil, callError(fmt.Errorf("reading OAuth tokens: %w", err))
	}
	t := newTally(userIDs)
	for _, tk := range tokens {
		err := o.c.RevokeToken(ctx, secret.New(tk.DeleteToken))
		switch class := classOf(err); {
		case err == nil:
			t.done(tk.UserID, "OAuth tokens revoked")
		case class == reconcile.ClassBudget || class == reconcile.ClassAuth || ctx.Err() != nil:
			return nil, callError(fmt.Errorf("revoking an OAuth token of %s: %w", tk.AppName, err))
		default:
			t.fail(tk.UserID, "", fmt.Sprintf("revoking the OAuth token of %s: %v", tk.AppName, err), class)
		}
	}
	return t.finish(), nil
}

// TransferRecords gives each leaver's open records of the objects, and their pending
// approval work items, to the leaver's To: one query per object for every leaver,
// one Collections update per 200 records, with Sforce-Auto-Assign: FALSE. A leaver
// with an empty To owns records no one may receive: they fail with
// NO_TRANSFER_TARGET and keep them; one who owns nothing succeeds.
func (o *Offboarder) TransferRecords(ctx context.Context, objects []string, moves []reconcile.Move) ([]reconcile.StepResult, error) {
	from := make([]string, len(moves))
	to := make(map[string]string, len(moves))
	for i, m := range moves {
		from[i] = salesforce.CanonicalID(m.From)
		to[from[i]] = m.To
	}
	t := newTally(from)
	orphans := map[string]int{}
	move := func(sobject, field string, queries []string, err error) error {
		if err != nil {
			return callError(err)
		}
		var updates []salesforce.RecordUpdate
		var owners []string
		err = queryEach(ctx, o.c, queries, func(r owned) {
			owner := r.holder()
			if to[owner] == "" {
				orphans[owner]++
				return
			}
			updates = append(updates, salesforce.RecordUpdate{ID: r.ID, Fields: salesforce.Fields{field: to[owner]}})
			owners = append(owners, owner)
		})
		if err != nil {
			return callError(fmt.Errorf("reading the leavers' %s records: %w", sobject, err))
		}
		if len(updates) == 0 {
			return nil
		}
		rs, err := o.c.TransferRecords(ctx, sobject, updates)
		if err != nil {
			return callError(fmt.Errorf("transferring %s records: %w", sobject, err))
		}
		for _, r := range rs {
			if r.Success {
				t.done(owners[r.Index], sobject)
				t.moved(owners[r.Index], salesforce.CanonicalID(updates[r.Index].ID), sobject, to[owners[r.Index]])
				continue
			}
			t.failRecord(owners[r.Index], r)
		}
		return nil
	}
	for _, obj := range objects {
		queries, err := salesforce.OpenRecordsQueries(obj, from)
		if err := move(obj, "OwnerId", queries, err); err != nil {
			return nil, err
		}
	}
	queries, err := salesforce.WorkitemsQueries(from)
	if err := move("ProcessInstanceWorkitem", "ActorId", queries, err); err != nil {
		return nil, err
	}
	for owner, n := range orphans {
		t.fail(owner, codeNoTransferTarget, fmt.Sprintf("the leaver owns %d open records or approval work items and has "+
			"no active manager or fallback user to receive them (policy.offboarding.transfer.fallback_user)", n), reconcile.ClassPermanent)
	}
	results := t.finish()
	for i := range results {
		if results[i].Done > 0 {
			results[i].Detail = "to " + to[from[i]] + ": " + results[i].Detail
		}
	}
	return results, nil
}

// owned is a record with its owner, or a work item with its actor.
type owned struct {
	ID      string `json:"Id"`
	OwnerID string `json:"OwnerId"`
	ActorID string `json:"ActorId"`
}

// holder is the owner or actor of a record.
func (r owned) holder() string { return salesforce.CanonicalID(r.OwnerID + r.ActorID) }

// canonical returns the 18-character form of every Id.
func canonical(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = salesforce.CanonicalID(id)
	}
	return out
}

// hasCode reports whether a record's result carries code.
func hasCode(r salesforce.RecordResult, code string) bool {
	for _, e := range r.Errors {
		if e.StatusCode == code {
			return true
		}
	}
	return false
}

// ReturnRecords gives transferred records back: one query per object for the
// records' current owners, then one Collections update per 200 records still
// owned by the user who received them (Sforce-Auto-Assign: FALSE). A record with
// another owner now, or deleted, is Gone: someone decided about it since.
func (o *Offboarder) ReturnRecords(ctx context.Context, ts []reconcile.Transfer) ([]reconcile.ReturnOutcome, error) {
	outs := make([]reconcile.ReturnOutcome, len(ts))
	byObject := map[string][]int{}
	var objects []string
	for i, t := range ts {
		if byObject[t.Object] == nil {
			objects = append(objects, t.Object)
		}
		byObject[t.Object] = append(byObject[t.Object], i)
	}
	for _, obj := range objects {
		idx := byObject[obj]
		field := "OwnerId"
		if obj == "ProcessInstanceWorkitem" {
			field = "ActorId"
		}
		ids := make([]string, len(idx))
		for k, i := range idx {
			ids[k] = ts[i].RecordID
		}
		queries, err := salesforce.RecordsByIDQueries(obj, field, ids)
		if err != nil {
			return nil, callError(err)
		}
		owner := map[string]string{}
		err = queryEach(ctx, o.c, queries, func(r owned) { owner[salesforce.CanonicalID(r.ID)] = r.holder() })
		if err != nil {
			return nil, callError(fmt.Errorf("reading the owners of %s records to return: %w", obj, err))
		}
		var updates []salesforce.RecordUpdate
		var which []int
		for _, i := range idx {
			t := ts[i]
			if owner[salesforce.CanonicalID(t.RecordID)] != salesforce.CanonicalID(t.To) {
				outs[i].Gone = true
				continue
			}
			updates = append(updates, salesforce.RecordUpdate{ID: t.RecordID, Fields: salesforce.Fields{field: t.From}})
			which = append(which, i)
		}
		if len(updates) == 0 {
			continue
		}
		rs, err := o.c.TransferRecords(ctx, obj, updates)
		if err != nil {
			return nil, callError(fmt.Errorf("returning %s records: %w", obj, err))
		}
		for _, r := range rs {
			out := &outs[which[r.Index]]
			if r.Success {
				out.Returned = true
				continue
			}
			out.Class = classOf(r.Err())
			if len(r.Errors) > 0 {
				out.Code, out.Message = r.Errors[0].StatusCode, r.Errors[0].Message
			}
		}
	}
	return outs, nil
}

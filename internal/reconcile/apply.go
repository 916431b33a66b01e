package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// codeDuplicateUsername is Salesforce's answer to a create whose Username is taken,
// in this org or in any other.
const codeDuplicateUsername = "DUPLICATE_USERNAME"

// hintUsernameElsewhere explains a Username that no user of this org holds.
const hintUsernameElsewhere = "the Username is not in this org, so another Salesforce org holds it: " +
	"Usernames are unique across all Salesforce orgs; set mapping.username_suffix"

// ErrLinkConflict is wrapped by a Journal.RecordResults error when the link of some
// results conflicts with a stored one (a Salesforce user linked to another person);
// the other results are recorded. The engine reports it and carries on.
var ErrLinkConflict = errors.New("link conflicts with a stored link")

// item is one action to apply with its Seq in the run's plan.
type item struct {
	seq int
	a   *Action
}

// batch is up to MaxBatch actions of one kind: one Directory call.
type batch struct {
	kind  Kind
	items []item
}

// backoffKey names a person's back-off for one kind of action.
type backoffKey struct {
	idpID string
	kind  Kind
}

// applier applies one plan. Batches run concurrently and record their own results;
// the counters and the reasons to stop are shared under mu.
type applier struct {
	e     *Engine
	runID int64
	// existing are the users the plan was made against, by Id: their ProfileId for
	// the seats a reactivation needs, their fields for patching the mirror.
	existing map[string]*Existing
	// attempts are the failed attempts so far of each person's kind, for back-off.
	attempts map[backoffKey]int

	mu                sync.Mutex
	total             int
	nApplied, nFailed int
	batches, done     int
	pause             string
	fatal             error
	// stepFailed names the leavers whose offboarding step failed in this cycle, by
	// idKey, with why; freed counts applied deactivations by profile; blocked counts
	// deactivations refused for a named blocker.
	stepFailed map[string]string
	freed      map[string]int
	blocked    int
	// transfers are the cycle's pending transfers by IdP id, for return_records.
	transfers map[string][]Transfer
	// foreseen are the refusals the preflight found before the deactivations
	// (preflight.go), or why looking failed.
	foreseen    map[string]string
	foreseenErr error
}

func newApplier(e *Engine, runID int64, c *cycleData) *applier {
	a := &applier{e: e, runID: runID, existing: make(map[string]*Existing, len(c.input.Existing)), attempts: map[backoffKey]int{}}
	for i := range c.input.Existing {
		a.existing[c.input.Existing[i].ID] = &c.input.Existing[i]
	}
	for _, b := range c.input.Backoffs {
		a.attempts[backoffKey{b.IdPID, b.Kind}] = b.Attempts
	}
	for _, t := range c.input.Transfers {
		if a.transfers == nil {
			a.transfers = map[string][]Transfer{}
		}
		a.transfers[t.IdPID] = append(a.transfers[t.IdPID], t)
	}
	return a
}

// profileOf returns the ProfileId of a user the plan was made against, "" for
// another.
func (a *applier) profileOf(id string) string {
	if u, ok := a.existing[id]; ok {
		return u.ProfileID
	}
	return ""
}

// apply sends the plan's actions that are not held, in batches, and records each
// batch's results as they land. It stops sending when the context is cancelled, the
// budget pauses the cycle or a failure of a whole call or of the journal makes going
// on pointless; that failure is returned. Batches in flight always finish.
func (a *applier) apply(ctx context.Context, plan Plan) error {
	byKind := map[Kind][]item{}
	var free []item // adoptions with nothing to change: a link, no API call
	var entitle []item
	for i := range plan.Actions {
		act := &plan.Actions[i]
		if act.Held {
			continue
		}
		switch act.Kind {
		case KindCreate, KindAdopt, KindUpdate, KindReactivate, KindDeactivate, KindFreeze:
		case KindUnfreeze, KindEndSessions, KindRevokeTokens, KindTransfer, KindReturnRecords:
			if a.e.cfg.Offboarder == nil {
				return fmt.Errorf("reconcile: action %d (%s) needs Config.Offboarder", i+1, act.Kind)
			}
		case KindAssign, KindUnassign:
			a.total++
			entitle = append(entitle, item{seq: i + 1, a: act})
			continue
		default:
			return fmt.Errorf("reconcile: action %d has unknown kind %q", i+1, act.Kind)
		}
		a.total++
		it := item{seq: i + 1, a: act}
		if act.Kind == KindAdopt && len(act.Changes) == 0 {
			free = append(free, it)
			continue
		}
		byKind[act.Kind] = append(byKind[act.Kind], it)
	}
	if len(free) > 0 {
		results := make([]Result, len(free))
		for i, it := range free {
			results[i] = a.applied(it, it.a.SalesforceID, "")
		}
		a.record(ctx, free, results)
	}
	phases := a.phases(ctx, byKind)
	for _, phase := range phases {
		a.batches += len(phase)
	}
	for _, phase := range phases {
		if phase[0].kind == KindDeactivate && !a.stopped(ctx) {
			a.preflight(ctx, phase)
		}
		var g errgroup.Group
		g.SetLimit(a.e.cfg.Concurrency)
		for _, b := range phase {
			if a.stopped(ctx) {
				break
			}
			g.Go(func() error {
				a.run(ctx, b)
				return nil
			})
		}
		_ = g.Wait() // the goroutines report through a, never an error
	}
	a.applyEntitlements(ctx, entitle)
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fatal
}

// phases orders the batches: leavers are frozen first (access is cut at once), then
// creates and reactivations (new hires get in soonest), unfreezes, adoptions and
// updates, then the leavers' sessions and tokens, their records, and their
// deactivations. When the org lacks the free seats the creates and reactivations
// need, the offboarding goes first, since each deactivation frees a seat.
func (a *applier) phases(ctx context.Context, byKind map[Kind][]item) [][]batch {
	joiners := [][]Kind{{KindCreate, KindReactivate}, {KindUnfreeze, KindAdopt, KindUpdate}, {KindReturnRecords}}
	leavers := [][]Kind{{KindEndSessions, KindRevokeTokens}, {KindTransfer}, {KindDeactivate}}
	order := append(append([][]Kind{{KindFreeze}}, joiners...), leavers...)
	if a.seatsShort(ctx, byKind) {
		order = append(append([][]Kind{{KindFreeze}}, leavers...), joiners...)
	}
	var phases [][]batch
	for _, kinds := range order {
		var phase []batch
		for _, k := range kinds {
			items := byKind[k]
			for start := 0; start < len(items); start += MaxBatch {
				phase = append(phase, batch{kind: k, items: items[start:min(start+MaxBatch, len(items))]})
			}
		}
		if len(phase) > 0 {
			phases = append(phases, phase)
		}
	}
	return phases
}

// seatsShort reports whether some license has fewer free seats than the plan's
// creates and reactivations on it need. It asks the org only when the answer could
// change the order (there are deactivations too); when the org cannot tell, the
// usual order stands.
func (a *applier) seatsShort(ctx context.Context, byKind map[Kind][]item) bool {
	if len(byKind[KindDeactivate]) == 0 {
		return false
	}
	need := map[string]int{} // profile Id → seats
	for _, k := range []Kind{KindCreate, KindReactivate} {
		for _, it := range byKind[k] {
			profile, ok := after(it.a, "ProfileId")
			if !ok {
				profile = a.profileOf(it.a.SalesforceID)
			}
			need[profile]++
		}
	}
	if len(need) == 0 {
		return false
	}
	profiles := make([]string, 0, len(need))
	for p := range need {
		profiles = append(profiles, p)
	}
	seats, err := a.e.cfg.Directory.FreeSeats(ctx, profiles)
	if err != nil {
		if !errors.Is(err, ErrSeatsUnknown) {
			a.e.log.Warn("reading free license seats; keeping the usual order", zap.Error(err))
		}
		return false
	}
	perLicense := map[string]int{}
	for p, n := range need {
		if l, ok := seats.LicenseOf[p]; ok {
			perLicense[l] += n
		}
	}
	for l, n := range perLicense {
		if free, ok := seats.Free[l]; ok && n > free {
			return true
		}
	}
	return false
}

// stopped reports whether no new batch may be sent.
func (a *applier) stopped(ctx context.Context) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return ctx.Err() != nil || a.pause != "" || a.fatal != nil
}

// run sends one batch and records its results. The batch runs on a context that
// outlives the cycle's by the grace period, so that a cancellation finishes and
// records the batch in flight instead of leaving its outcome unknown.
func (a *applier) run(ctx context.Context, b batch) {
	if a.stopped(ctx) {
		return
	}
	bctx, cancel := detach(ctx, a.e.cfg.Grace)
	defer cancel()
	results, err := a.send(bctx, b)
	if err != nil {
		switch class := classOf(err); {
		case class == ClassBudget:
			// Nothing of this batch was sent: it stays planned for a later cycle.
			a.mu.Lock()
			if a.pause == "" {
				a.pause = err.Error()
			}
			a.mu.Unlock()
			return
		case class == ClassOutcomeUnknown && b.kind == KindCreate && bctx.Err() == nil:
			results = a.resolveLost(bctx, b.items, err)
		default:
			results = make([]Result, len(b.items))
			for i, it := range b.items {
				results[i] = a.failure(it, "", fmt.Sprintf("the %s call failed as a whole: %v", b.kind, err), ClassTransient)
			}
			if ctx.Err() == nil {
				a.setFatal(fmt.Errorf("reconcile: a %s batch of %d failed: %w", b.kind, len(b.items), err))
			}
		}
	}
	a.record(ctx, b.items, results)
	a.mu.Lock()
	a.done++
	done, total := a.done, a.batches
	a.mu.Unlock()
	a.e.progress(StageApply, done, total)
}

// detach returns a context that is not cancelled with ctx until grace after it.
func detach(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-bctx.Done():
		}
	})
	return bctx, func() {
		stop()
		cancel()
	}
}

func (a *applier) setFatal(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fatal == nil {
		a.fatal = err
	}
}

// send makes the batch's Directory call and turns its answers into results, one per
// item in order. An error is a call that failed as a whole.
func (a *applier) send(ctx context.Context, b batch) ([]Result, error) {
	dir := a.e.cfg.Directory
	switch b.kind {
	case KindCreate:
		return a.create(ctx, b.items)
	case KindDeactivate:
		return a.deactivate(ctx, b.items)
	case KindFreeze:
		ws, err := dir.FreezeUsers(ctx, userIDs(b.items))
		if err = checkCount(ws, err, len(b.items), ClassPermanent); err != nil {
			return nil, err
		}
		return a.fromWrites(b.items, ws), nil
	case KindUnfreeze, KindEndSessions, KindRevokeTokens, KindTransfer:
		return a.offboardStep(ctx, b)
	case KindReturnRecords:
		return a.returnRecords(ctx, b)
	}
	ws, err := dir.UpdateUsers(ctx, writes(b.items))
	if err = checkCount(ws, err, len(b.items), ClassPermanent); err != nil {
		return nil, err
	}
	return a.fromWrites(b.items, ws), nil
}

// checkCount passes err on, or refuses an answer without one result per record.
func checkCount(ws []WriteResult, err error, n int, class ErrorClass) error {
	if err != nil {
		return err
	}
	if len(ws) != n {
		return &CallError{Class: class, Err: fmt.Errorf("the directory answered %d results for %d records", len(ws), n)}
	}
	return nil
}

// create creates users. A Username taken (DUPLICATE_USERNAME) is looked up in this
// org: this person's own user is linked, anyone else's is reported.
func (a *applier) create(ctx context.Context, items []item) ([]Result, error) {
	ws, err := a.e.cfg.Directory.CreateUsers(ctx, writes(items))
	if err = checkCount(ws, err, len(items), ClassOutcomeUnknown); err != nil {
		return nil, err
	}
	results := a.fromWrites(items, ws)
	var dups []int
	for i, w := range ws {
		if !w.OK && w.Code == codeDuplicateUsername {
			dups = append(dups, i)
		}
	}
	if len(dups) == 0 {
		return results, nil
	}
	names := make([]string, len(dups))
	for k, i := range dups {
		names[k], _ = after(items[i].a, "Username")
	}
	found, ferr := a.e.cfg.Directory.FindUsers(ctx, "Username", names)
	byName := map[string]Existing{}
	for _, u := range found {
		byName[strings.ToLower(u.Username)] = u
	}
	for k, i := range dups {
		it, w := items[i], ws[i]
		u, ok := byName[strings.ToLower(names[k])]
		switch {
		case ferr != nil:
			results[i] = a.failure(it, w.Code, fmt.Sprintf("%s (looking the Username up in this org failed: %v)", w.Message, ferr), ClassPermanent)
		case !ok:
			results[i] = a.failure(it, w.Code, w.Message+"; "+hintUsernameElsewhere, ClassPermanent)
		case samePerson(it.a, u):
			results[i] = a.applied(it, u.ID, "the Username already belonged to this person's user in this org (same FederationIdentifier): linked it instead of creating one")
			results[i].LinkOrigin = OriginAdopted
		default:
			results[i] = a.failure(it, w.Code, fmt.Sprintf("%s; user %s of this org holds the Username and is not this person", w.Message, u.ID), ClassPermanent)
		}
	}
	return results, nil
}

// resolveLost settles creates whose answer was lost by re-reading the org by
// FederationIdentifier, then by Username, before anything is resent: a user found is
// this create's, linked; one not found is failed without back-off, and the next
// cycle plans it again. So no person ever gets two users.
func (a *applier) resolveLost(ctx context.Context, items []item, cause error) []Result {
	found := map[int]Existing{}
	err := a.reread(ctx, items, "FederationIdentifier", found)
	if err == nil {
		err = a.reread(ctx, items, "Username", found)
	}
	results := make([]Result, len(items))
	for i, it := range items {
		u, ok := found[i]
		switch {
		case ok:
			results[i] = a.applied(it, u.ID, "the create's answer was lost; the user was found on re-reading the org")
		case err != nil:
			results[i] = a.failure(it, "", fmt.Sprintf("the create's answer was lost (%v) and re-reading the org failed (%v): the next cycle reads the org again", cause, err), ClassTransient)
		default:
			results[i] = a.failure(it, "", fmt.Sprintf("the create's answer was lost (%v) and no such user is in the org: the next cycle plans it again", cause), ClassTransient)
		}
	}
	return results
}

// reread looks up, by field, the items not found yet and adds the users found.
func (a *applier) reread(ctx context.Context, items []item, field string, found map[int]Existing) error {
	want := map[string][]int{} // lower-cased value → item indexes
	var values []string
	for i, it := range items {
		v, ok := after(it.a, field)
		if _, done := found[i]; done || !ok || v == "" {
			continue
		}
		key := strings.ToLower(v)
		if _, dup := want[key]; !dup {
			values = append(values, v)
		}
		want[key] = append(want[key], i)
	}
	if len(values) == 0 {
		return nil
	}
	users, err := a.e.cfg.Directory.FindUsers(ctx, field, values)
	if err != nil {
		return err
	}
	for _, u := range users {
		v := u.Username
		if field == "FederationIdentifier" {
			v = u.FederationIdentifier
		}
		for _, i := range want[strings.ToLower(v)] {
			found[i] = u
		}
	}
	return nil
}

// deactivate deactivates users. Salesforce refuses the deactivation of a user wired
// into the org's configuration (a blocker); with OnBlockedFreeze such users are
// frozen instead, which cuts their access while the blocker stands.
func (a *applier) deactivate(ctx context.Context, all []item) ([]Result, error) {
	dir := a.e.cfg.Directory
	items, held := a.readyToLeave(all)
	if len(items) == 0 {
		return held.results(len(all), nil), nil
	}
	ws, err := a.sendDeactivations(ctx, items)
	if err != nil {
		return nil, err
	}
	results := a.fromWrites(items, ws)
	a.classifyBlocked(items, results)
	if a.e.cfg.OnBlocked != OnBlockedFreeze || a.e.cfg.Policy.Offboarding.Freeze {
		return held.results(len(all), results), nil
	}
	var blocked []int
	var ids []string
	for i, w := range ws {
		if !w.OK && w.Class == ClassPermanent {
			blocked = append(blocked, i)
			ids = append(ids, items[i].a.SalesforceID)
		}
	}
	if len(blocked) == 0 {
		return held.results(len(all), results), nil
	}
	fs, ferr := dir.FreezeUsers(ctx, ids)
	ferr = checkCount(fs, ferr, len(ids), ClassPermanent)
	for k, i := range blocked {
		switch {
		case ferr != nil:
			results[i].ErrorMessage += fmt.Sprintf("; freezing the user failed too: %v", ferr)
		case !fs[k].OK:
			results[i].ErrorMessage += fmt.Sprintf("; freezing the user failed too: %s %s", fs[k].Code, fs[k].Message)
		default:
			results[i].ErrorMessage += "; frozen instead"
		}
	}
	return held.results(len(all), results), nil
}

// fromWrites turns per-record answers into results.
func (a *applier) fromWrites(items []item, ws []WriteResult) []Result {
	results := make([]Result, len(items))
	for i, it := range items {
		w := ws[i]
		if !w.OK {
			results[i] = a.failure(it, w.Code, w.Message, w.Class)
			continue
		}
		id := it.a.SalesforceID
		if it.a.Kind == KindCreate {
			id = w.ID
		}
		results[i] = a.applied(it, id, "")
	}
	return results
}

// applied is the result of an action that took effect on user id. A created user,
// and a user matched by a key other than the link, are linked in the same result.
func (a *applier) applied(it item, id, note string) Result {
	r := Result{Action: ActionRef{RunID: a.runID, Seq: it.seq}, Status: ResultApplied, SalesforceID: id, Note: note}
	if it.a.IdPID == "" || id == "" {
		return r
	}
	switch k := it.a.Kind; {
	case k == KindCreate:
		r.Link, r.LinkOrigin = &Link{IdPID: it.a.IdPID, SalesforceID: id}, OriginCreated
	case (k == KindAdopt || k == KindUpdate || k == KindReactivate) && it.a.MatchedBy != MatchLink:
		r.Link, r.LinkOrigin = &Link{IdPID: it.a.IdPID, SalesforceID: id}, OriginAdopted
	}
	return r
}

// failure is the result of an action Salesforce refused. A permanent refusal backs
// the person's action of this kind off: initial × 2^attempts so far, capped.
func (a *applier) failure(it item, code, message string, class ErrorClass) Result {
	r := Result{
		Action:       ActionRef{RunID: a.runID, Seq: it.seq},
		Status:       ResultFailed,
		SalesforceID: it.a.SalesforceID,
		ErrorCode:    code,
		ErrorMessage: message,
	}
	if class == ClassPermanent && it.a.IdPID != "" {
		r.NextAttemptAt = a.e.cfg.Now().Add(backoff(a.e.cfg.BackoffInitial, a.e.cfg.BackoffMax, a.attempts[backoffKey{it.a.IdPID, it.a.Kind}]))
	}
	return r
}

// backoff returns initial × 2^attempts, at most max.
func backoff(initial, max time.Duration, attempts int) time.Duration {
	d := initial
	for range attempts {
		if d >= max/2 {
			return max
		}
		d *= 2
	}
	return min(d, max)
}

// record stores a batch's results, closing the approved actions of earlier runs that
// they released, on a context that a cancellation does not cut short.
func (a *applier) record(ctx context.Context, items []item, results []Result) {
	all := slices.Clip(results) // appending never writes into results
	a.mu.Lock()
	for i, r := range results {
		if r.Status == ResultApplied {
			a.nApplied++
		} else {
			a.nFailed++
		}
		if ap := items[i].a.Approval; ap != nil {
			r.Action, r.Link, r.LinkOrigin = ActionRef{RunID: ap.RunID, Seq: ap.Seq}, nil, ""
			all = append(all, r)
		}
	}
	a.mu.Unlock()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.e.cfg.Grace)
	defer cancel()
	err := a.e.cfg.Journal.RecordResults(rctx, all)
	switch {
	case err == nil:
		a.patchMirror(rctx, items, results)
	case errors.Is(err, ErrLinkConflict):
		a.e.log.Warn("some links conflict with stored ones; the other results are recorded", zap.Error(err))
	default:
		a.setFatal(fmt.Errorf("reconcile: recording results: %w", err))
	}
}

// counts returns the actions applied, failed and never sent.
func (a *applier) counts() (applied, failed, pending int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.nApplied, a.nFailed, a.total - a.nApplied - a.nFailed
}

// pauseReason says why the budget paused the cycle, "" when it did not.
func (a *applier) pauseReason() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pause
}

// writes turns actions into Directory writes of their changed fields.
func writes(items []item) []UserWrite {
	out := make([]UserWrite, len(items))
	for i, it := range items {
		fields := make([]FieldValue, len(it.a.Changes))
		for j, c := range it.a.Changes {
			fields[j] = FieldValue{Name: c.Field, Value: c.After}
		}
		out[i] = UserWrite{ID: it.a.SalesforceID, Fields: fields}
	}
	return out
}

// after returns the value an action writes to field.
func after(a *Action, field string) (string, bool) {
	for _, c := range a.Changes {
		if c.Field == field {
			return c.After, true
		}
	}
	return "", false
}

// samePerson reports whether u is the user of the person a creates: the same
// FederationIdentifier.
func samePerson(a *Action, u Existing) bool {
	fed, ok := after(a, "FederationIdentifier")
	return ok && fed != "" && strings.EqualFold(fed, u.FederationIdentifier)
}

package reconcile

import (
	"context"
	"fmt"
)

// userIDs returns the Salesforce Ids of a batch's users.
func userIDs(items []item) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.a.SalesforceID
	}
	return ids
}

// offboardStep sends one batch of an offboarding step through the Offboarder. A
// leaver whose step fails is not deactivated in this cycle (readyToLeave): their
// access is cut by the freeze, and the next cycle finds what is left in the org.
func (a *applier) offboardStep(ctx context.Context, b batch) ([]Result, error) {
	ob := a.e.cfg.Offboarder
	ids := userIDs(b.items)
	var steps []StepResult
	var err error
	switch b.kind {
	case KindUnfreeze:
		ws, uerr := ob.UnfreezeUsers(ctx, ids)
		if uerr = checkCount(ws, uerr, len(ids), ClassPermanent); uerr != nil {
			return nil, uerr
		}
		return a.fromWrites(b.items, ws), nil
	case KindEndSessions:
		steps, err = ob.EndSessions(ctx, ids)
	case KindRevokeTokens:
		steps, err = ob.RevokeTokens(ctx, ids)
	case KindTransfer:
		moves := make([]Move, len(b.items))
		for i, it := range b.items {
			to, _ := after(it.a, "OwnerId")
			moves[i] = Move{From: it.a.SalesforceID, To: to}
		}
		steps, err = ob.TransferRecords(ctx, a.e.cfg.Policy.Offboarding.TransferObjects, moves)
	}
	if err == nil && len(steps) != len(ids) {
		err = &CallError{Class: ClassPermanent, Err: fmt.Errorf("the offboarder answered %d results for %d users", len(steps), len(ids))}
	}
	if err != nil {
		return nil, err
	}
	if b.kind == KindTransfer {
		a.recordTransfers(ctx, b.items, steps)
	}
	results := make([]Result, len(b.items))
	for i, it := range b.items {
		st := steps[i]
		if !st.OK {
			results[i] = a.failure(it, st.Code, st.Message, st.Class)
			a.leaveFailed(it.a.SalesforceID, string(b.kind)+" failed: "+st.Code+" "+st.Message)
			continue
		}
		note := st.Detail
		if st.Done == 0 && note == "" {
			note = "nothing to do"
		}
		results[i] = a.applied(it, it.a.SalesforceID, note)
	}
	return results, nil
}

// leaveFailed notes that a leaver's offboarding step failed in this cycle.
func (a *applier) leaveFailed(userID, why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stepFailed == nil {
		a.stepFailed = map[string]string{}
	}
	if _, ok := a.stepFailed[idKey(userID)]; !ok {
		a.stepFailed[idKey(userID)] = why
	}
}

// leaveHold is what readyToLeave set aside: the position in the batch of every
// item sent, and the results of the ones not sent.
type leaveHold struct {
	sent    []int
	skipped map[int]Result
}

// results merges the results of the items sent with the ones set aside, in batch
// order.
func (h leaveHold) results(n int, sent []Result) []Result {
	out := make([]Result, n)
	for k, i := range h.sent {
		out[i] = sent[k]
	}
	for i, r := range h.skipped {
		out[i] = r
	}
	return out
}

// readyToLeave returns the deactivations that may be sent: not those of leavers
// whose sessions, tokens or records could not be dealt with in this cycle, since a
// deactivated owner's records can no longer be moved (INACTIVE_OWNER_OR_USER).
func (a *applier) readyToLeave(all []item) ([]item, leaveHold) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := leaveHold{skipped: map[int]Result{}}
	var ready []item
	for i, it := range all {
		if why, ok := a.stepFailed[idKey(it.a.SalesforceID)]; ok {
			h.skipped[i] = Result{Action: ActionRef{RunID: a.runID, Seq: it.seq}, Status: ResultSkipped,
				SalesforceID: it.a.SalesforceID, ErrorMessage: "not deactivated in this cycle: offboarding step " + why}
			continue
		}
		h.sent = append(h.sent, i)
		ready = append(ready, it)
	}
	return ready, h
}

// classifyBlocked names the blocker of each refused deactivation and says how to
// clear it. A named blocker is tried again once a day (BlockedRetry), not on the
// usual back-off: nothing changes until an admin acts. Applied deactivations are
// counted by profile for the seats they free.
func (a *applier) classifyBlocked(items []item, results []Result) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range results {
		r := &results[i]
		if r.Status == ResultApplied {
			if a.freed == nil {
				a.freed = map[string]int{}
			}
			a.freed[a.profileOf(items[i].a.SalesforceID)]++
			continue
		}
		b, ok := ClassifyBlocker(r.ErrorMessage)
		if !ok {
			continue
		}
		a.blocked++
		r.ErrorMessage += "; blocker " + b.Name + ": " + b.Fix
		if a.e.cfg.Policy.Offboarding.Freeze {
			r.ErrorMessage += "; the user stays frozen"
		}
		r.NextAttemptAt = a.e.cfg.Now().Add(BlockedRetry)
	}
}

// seatsFreed returns the seats the cycle's deactivations freed, by license name
// (Names.Licenses, read with the profiles at no extra call).
func (a *applier) seatsFreed(licenses map[string]string) map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out map[string]int
	for profile, n := range a.freed {
		if l, ok := licenses[profile]; ok {
			if out == nil {
				out = map[string]int{}
			}
			out[l] += n
		}
	}
	return out
}

// blockedCount returns the deactivations refused for a named blocker.
func (a *applier) blockedCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.blocked
}

// returnRecords gives a batch of returners back what their offboarding handed
// over, and marks each transfer returned, or never to be (the record changed hands
// since), in the TransferLog.
func (a *applier) returnRecords(ctx context.Context, b batch) ([]Result, error) {
	var ts []Transfer
	for _, it := range b.items {
		ts = append(ts, a.transfers[it.a.IdPID]...)
	}
	outs, err := a.e.cfg.Offboarder.ReturnRecords(ctx, ts)
	if err == nil && len(outs) != len(ts) {
		err = &CallError{Class: ClassPermanent, Err: fmt.Errorf("the offboarder answered %d outcomes for %d transfers", len(outs), len(ts))}
	}
	if err != nil {
		return nil, err
	}
	var settled []Transfer
	type tally struct {
		back, gone int
		fail       *ReturnOutcome
	}
	byPerson := map[string]*tally{}
	for i, o := range outs {
		t := byPerson[ts[i].IdPID]
		if t == nil {
			t = &tally{}
			byPerson[ts[i].IdPID] = t
		}
		switch {
		case o.Returned:
			t.back++
			settled = append(settled, ts[i])
		case o.Gone:
			t.gone++
			settled = append(settled, ts[i])
		case t.fail == nil:
			t.fail = &outs[i]
		}
	}
	if len(settled) > 0 {
		if err := a.e.cfg.Transfers.MarkReturned(ctx, settled); err != nil {
			a.setFatal(fmt.Errorf("reconcile: recording returned records: %w", err))
		}
	}
	results := make([]Result, len(b.items))
	for i, it := range b.items {
		t := byPerson[it.a.IdPID]
		if t == nil {
			t = &tally{}
		}
		note := fmt.Sprintf("%d records given back", t.back)
		if t.gone > 0 {
			note += fmt.Sprintf("; %d had changed hands since and were left with their owner", t.gone)
		}
		if t.fail != nil {
			results[i] = a.failure(it, t.fail.Code, t.fail.Message+" ("+note+")", t.fail.Class)
			continue
		}
		results[i] = a.applied(it, it.a.SalesforceID, note)
	}
	return results, nil
}

// recordTransfers keeps what a batch of transfers moved, for returners.
func (a *applier) recordTransfers(ctx context.Context, items []item, steps []StepResult) {
	if a.e.cfg.Transfers == nil {
		return
	}
	var ts []Transfer
	for i, it := range items {
		for _, m := range steps[i].Moved {
			ts = append(ts, Transfer{Action: ActionRef{RunID: a.runID, Seq: it.seq}, IdPID: it.a.IdPID, MovedRecord: m})
		}
	}
	if len(ts) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.e.cfg.Grace)
	defer cancel()
	if err := a.e.cfg.Transfers.RecordTransfers(rctx, ts); err != nil {
		a.setFatal(fmt.Errorf("reconcile: recording transferred records: %w", err))
	}
}

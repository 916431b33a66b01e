package reconcile

import (
	"context"
	"fmt"
)

// CodeBlockerFound is the error code of a deactivation syncd did not send because a
// query found what blocks it (Offboarder.DeactivationBlockers). The result is
// otherwise the refusal Salesforce would have given: its message, the named
// blocker with the fix, the daily retry (BlockedRetry).
const CodeBlockerFound = "BLOCKER_FOUND"

// preflight looks for the blockers a query can find, once for every leaver of the
// cycle's deactivation phase (one query per object, chunked), before any of them
// is sent. Leavers whose offboarding step failed in this cycle are left out: they
// are not deactivated anyway (readyToLeave).
func (a *applier) preflight(ctx context.Context, phase []batch) {
	ob := a.e.cfg.Offboarder
	if ob == nil {
		return
	}
	var ids []string
	for _, b := range phase {
		ready, _ := a.readyToLeave(b.items)
		ids = append(ids, userIDs(ready)...)
	}
	if len(ids) == 0 {
		return
	}
	found, err := ob.DeactivationBlockers(ctx, ids)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.foreseenErr = fmt.Errorf("looking for deactivation blockers: %w", err)
		return
	}
	a.foreseen = make(map[string]string, len(found))
	for id, why := range found {
		a.foreseen[idKey(id)] = why
	}
}

// sendDeactivations deactivates the users of items the preflight found no blocker
// for, and answers for the others the refusal it found (CodeBlockerFound): one
// answer per item, in order. A failed preflight fails the batch as a whole, with its
// class, as a failed read fails the other offboarding steps: the next cycle looks
// again.
func (a *applier) sendDeactivations(ctx context.Context, items []item) ([]WriteResult, error) {
	a.mu.Lock()
	found, err := a.foreseen, a.foreseenErr
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ws := make([]WriteResult, len(items))
	var send []item
	var at []int
	for i, it := range items {
		if why, ok := found[idKey(it.a.SalesforceID)]; ok {
			ws[i] = WriteResult{Code: CodeBlockerFound, Message: why, Class: ClassPermanent}
			continue
		}
		send = append(send, it)
		at = append(at, i)
	}
	if len(send) == 0 {
		return ws, nil
	}
	sent, err := a.e.cfg.Directory.UpdateUsers(ctx, writes(send))
	if err = checkCount(sent, err, len(send), ClassPermanent); err != nil {
		return nil, err
	}
	for k, i := range at {
		ws[i] = sent[k]
	}
	return ws, nil
}

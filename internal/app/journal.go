package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/store"
)

// Journal adapts a store.Store to reconcile.Journal.
//
// It is written against today's store API and has two known gaps the store's
// coming changes close:
//   - Backoffs is derived from the action history (see Backoffs) until the store
//     keeps back-offs itself (store.Backoffs);
//   - runs carry no leader epoch yet (NewRun.Epoch, ErrFenced); StartRun must pass
//     the lease's epoch once it exists.
//
// The store has no paused run status yet: a paused run is recorded as failed with
// its Error starting "paused:".
type Journal struct {
	s store.Store
}

// NewJournal returns the store as the reconcile engine's journal.
func NewJournal(s store.Store) *Journal { return &Journal{s: s} }

var _ reconcile.Journal = (*Journal)(nil)

// StartRun records the start of a cycle.
func (j *Journal) StartRun(ctx context.Context, r reconcile.RunStart) (int64, error) {
	run, err := j.s.StartRun(ctx, store.NewRun{Trigger: r.Trigger, Mode: string(r.Mode)})
	if err != nil {
		return 0, err
	}
	return run.ID, nil
}

// SavePlan stores the plan's entries; entry i becomes action Seq i+1.
func (j *Journal) SavePlan(ctx context.Context, runID int64, entries []reconcile.Entry) error {
	actions := make([]store.Action, len(entries))
	for i, e := range entries {
		a := e.Action
		changes := make([]store.FieldChange, len(a.Changes))
		for k, c := range a.Changes {
			changes[k] = store.FieldChange{Field: c.Field, Before: c.Before, After: c.After}
		}
		actions[i] = store.Action{
			Kind: store.ActionKind(a.Kind), IdPID: a.IdPID, SalesforceID: a.SalesforceID,
			Username: a.Username, Email: a.Email, Changes: changes, Reason: e.Reason,
			Status: store.ActionStatus(e.Status),
		}
	}
	return j.s.SavePlan(ctx, runID, actions)
}

// RecordResults stores one batch's results with their links in one transaction. An
// applied result's Note goes into the error message column, the only free text a
// result has today.
func (j *Journal) RecordResults(ctx context.Context, results []reconcile.Result) error {
	out := make([]store.ActionResult, len(results))
	for i, r := range results {
		res := store.ActionResult{
			Action:       store.ActionRef{RunID: r.Action.RunID, Seq: r.Action.Seq},
			Status:       store.ActionStatus(r.Status),
			SalesforceID: r.SalesforceID, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage,
			NextAttemptAt: r.NextAttemptAt,
		}
		if res.ErrorMessage == "" {
			res.ErrorMessage = r.Note
		}
		if r.Link != nil {
			res.Link = &store.Link{IdPID: r.Link.IdPID, SalesforceID: r.Link.SalesforceID, Origin: store.LinkOrigin(r.LinkOrigin)}
		}
		out[i] = res
	}
	return j.s.RecordResults(ctx, out)
}

// FinishRun closes a run; a paused run is recorded as failed.
func (j *Journal) FinishRun(ctx context.Context, runID int64, f reconcile.Finish) error {
	status := store.RunStatus(f.Status)
	if f.Status == reconcile.RunPaused {
		status = store.RunFailed
	}
	_, err := j.s.FinishRun(ctx, runID, store.RunFinish{Status: status, Error: f.Error, Stats: store.RunStats{
		SourceRecords: f.Stats.SourceRecords, RejectedRecords: f.Stats.RejectedRecords,
		SalesforceUsers: f.Stats.SalesforceUsers, UnmanagedUsers: f.Stats.UnmanagedUsers, Disputed: f.Stats.Disputed,
	}})
	return err
}

// Links returns every link.
func (j *Journal) Links(ctx context.Context) ([]reconcile.Link, error) {
	links, err := j.s.Links(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.Link, len(links))
	for i, l := range links {
		out[i] = reconcile.Link{IdPID: l.IdPID, SalesforceID: l.SalesforceID}
	}
	return out, nil
}

// Backoffs derives each person's back-off per kind from the action history, newest
// first: the failures with a NextAttemptAt since the last applied action of that
// kind count as attempts, and the newest one says when to try again. It reads every
// applied and failed action the store keeps (Prune bounds them) and is replaced by
// store.Backoffs when that lands.
func (j *Journal) Backoffs(ctx context.Context) ([]reconcile.Backoff, error) {
	actions, err := j.s.Actions(ctx, store.ActionFilter{Statuses: []store.ActionStatus{store.ActionApplied, store.ActionFailed}})
	if err != nil {
		return nil, err
	}
	type key struct {
		idp  string
		kind store.ActionKind
	}
	settled := map[key]bool{}
	index := map[key]int{}
	var out []reconcile.Backoff
	for _, a := range actions { // newest run first
		k := key{a.IdPID, a.Kind}
		switch {
		case a.IdPID == "" || settled[k]:
		case a.Status == store.ActionApplied:
			settled[k] = true
		case !a.NextAttemptAt.IsZero(): // a failure without back-off neither counts nor ends the count
			i, ok := index[k]
			if !ok {
				i = len(out)
				index[k] = i
				out = append(out, reconcile.Backoff{IdPID: a.IdPID, Kind: reconcile.Kind(a.Kind), ErrorCode: a.ErrorCode, NextAttemptAt: a.NextAttemptAt})
			}
			out[i].Attempts++
		}
	}
	return out, nil
}

// Approved returns the approved held actions that have no result yet.
func (j *Journal) Approved(ctx context.Context) ([]reconcile.Approved, error) {
	actions, err := j.s.Actions(ctx, store.ActionFilter{Statuses: []store.ActionStatus{store.ActionApproved}})
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.Approved, len(actions))
	for i, a := range actions {
		out[i] = reconcile.Approved{RunID: a.RunID, Seq: a.Seq, Kind: reconcile.Kind(a.Kind), IdPID: a.IdPID, SalesforceID: a.SalesforceID}
	}
	return out, nil
}

// LastGoodSnapshot returns the newest complete snapshot, if any.
func (j *Journal) LastGoodSnapshot(ctx context.Context) (reconcile.Snapshot, bool, error) {
	s, err := j.s.LastGoodSnapshot(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return reconcile.Snapshot{}, false, nil
	}
	if err != nil {
		return reconcile.Snapshot{}, false, fmt.Errorf("last good snapshot: %w", err)
	}
	return reconcile.Snapshot{Count: s.Count, Digest: s.Digest, Complete: s.Complete}, true, nil
}

// SaveSnapshot records one pull.
func (j *Journal) SaveSnapshot(ctx context.Context, s reconcile.Snapshot) error {
	_, err := j.s.SaveSnapshot(ctx, store.NewSnapshot{Count: s.Count, Digest: s.Digest, Complete: s.Complete})
	return err
}

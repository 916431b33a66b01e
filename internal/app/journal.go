package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/store"
)

// Journal adapts a store.Store to reconcile.Journal. Its writes carry the leader
// epoch of the lease they are made under, so the store refuses them (ErrFenced) once
// another instance leads.
type Journal struct {
	s     store.Store
	epoch int64
}

// NewJournal returns the store as the engine's journal, writing under the epoch of
// a held lease (store.Lease.Epoch). A journal with epoch 0 only reads: a preview's.
func NewJournal(s store.Store, epoch int64) *Journal { return &Journal{s: s, epoch: epoch} }

var _ reconcile.Journal = (*Journal)(nil)

// StartRun records the start of a cycle.
func (j *Journal) StartRun(ctx context.Context, r reconcile.RunStart) (int64, error) {
	run, err := j.s.StartRun(ctx, store.NewRun{Trigger: r.Trigger, Mode: string(r.Mode), Epoch: j.epoch})
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
// result has today. Results whose link conflicts with a stored one are recorded as
// failed by the store; the error then wraps reconcile.ErrLinkConflict.
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
	err := j.s.RecordResults(ctx, j.epoch, out)
	if re := (*store.ResultsError)(nil); errors.As(err, &re) {
		return fmt.Errorf("%w: %w", reconcile.ErrLinkConflict, err)
	}
	return err
}

// FinishRun closes a run.
func (j *Journal) FinishRun(ctx context.Context, runID int64, f reconcile.Finish) error {
	_, err := j.s.FinishRun(ctx, runID, store.RunFinish{Status: store.RunStatus(f.Status), Error: f.Error, Stats: store.RunStats{
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

// Backoffs returns the people whose last write of a kind failed and must wait.
func (j *Journal) Backoffs(ctx context.Context) ([]reconcile.Backoff, error) {
	bs, err := j.s.Backoffs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.Backoff, len(bs))
	for i, b := range bs {
		out[i] = reconcile.Backoff{IdPID: b.IdPID, Kind: reconcile.Kind(b.Kind), Attempts: b.Attempts,
			ErrorCode: b.ErrorCode, NextAttemptAt: b.NextAttemptAt}
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

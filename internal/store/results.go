package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// resultTarget is what RecordResults needs to know of an action taking a result.
type resultTarget struct {
	idpID string
	kind  ActionKind
	// backedOff says a back-off is stored for (idpID, kind), which an applied
	// result deletes.
	backedOff bool
}

func (s *sqlStore) RecordResults(ctx context.Context, results []ActionResult) error {
	if err := validateResults(results); err != nil {
		return fmt.Errorf("record results: %w", err)
	}
	if len(results) == 0 {
		return nil
	}
	now := normalTime(s.now())
	var rejected []RejectedResult
	err := s.d.inTx(ctx, func(tx db) error {
		targets, err := s.resultTargets(ctx, tx, results)
		if err != nil {
			return err
		}
		if err := markBackedOff(ctx, tx, targets); err != nil {
			return err
		}
		owners, err := linkOwners(ctx, tx, results)
		if err != nil {
			return err
		}
		var stmts []statement
		stmts, rejected = resultStatements(results, targets, owners, now)
		return tx.execAll(ctx, stmts)
	})
	if err != nil {
		return fmt.Errorf("record results: %w", err)
	}
	if len(rejected) > 0 {
		return &ResultsError{Rejected: rejected}
	}
	return nil
}

// resultTargets fences every run of the batch and reads, locked, each action that
// takes a result. An action that does not exist or cannot take a result fails the
// whole batch: that is a caller's mistake, not a fact about Salesforce.
func (s *sqlStore) resultTargets(ctx context.Context, tx db, results []ActionResult) (map[ActionRef]resultTarget, error) {
	seqsByRun := map[int64][]any{}
	var runs []int64
	for _, r := range results {
		if _, ok := seqsByRun[r.Action.RunID]; !ok {
			runs = append(runs, r.Action.RunID)
		}
		seqsByRun[r.Action.RunID] = append(seqsByRun[r.Action.RunID], r.Action.Seq)
	}
	targets := make(map[ActionRef]resultTarget, len(results))
	statuses := make(map[ActionRef]ActionStatus, len(results))
	for _, runID := range runs {
		if err := s.fenceRun(ctx, tx, runID); err != nil {
			if errors.Is(err, ErrNotFound) {
				continue // its actions are reported missing below
			}
			return nil, err
		}
		seqs := seqsByRun[runID]
		rs, err := tx.query(ctx, `SELECT seq, status, idp_id, kind FROM actions WHERE run_id = $1 AND seq IN (`+
			placeholders(2, len(seqs))+`)`+s.d.lock("UPDATE"), append([]any{runID}, seqs...)...)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			ref := ActionRef{RunID: runID}
			var t resultTarget
			var status ActionStatus
			if err := rs.Scan(&ref.Seq, &status, &t.idpID, &t.kind); err != nil {
				rs.Close()
				return nil, err
			}
			targets[ref], statuses[ref] = t, status
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	for _, r := range results {
		status, ok := statuses[r.Action]
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: action %d/%d", ErrNotFound, r.Action.RunID, r.Action.Seq)
		case status != ActionPlanned && status != ActionApproved && status != ActionFailed:
			return nil, fmt.Errorf("%w: action %d/%d is %s and cannot take a result", ErrConflict,
				r.Action.RunID, r.Action.Seq, status)
		}
	}
	return targets, nil
}

// markBackedOff marks the targets that have a back-off stored, so that only those
// cost a delete.
func markBackedOff(ctx context.Context, tx db, targets map[ActionRef]resultTarget) error {
	var idpIDs []any
	for _, t := range targets {
		if t.idpID != "" {
			idpIDs = append(idpIDs, t.idpID)
		}
	}
	if len(idpIDs) == 0 {
		return nil
	}
	rs, err := tx.query(ctx, `SELECT idp_id, kind FROM backoffs WHERE idp_id IN (`+placeholders(1, len(idpIDs))+`)`, idpIDs...)
	if err != nil {
		return err
	}
	defer rs.Close()
	stored := map[resultTarget]bool{}
	for rs.Next() {
		var t resultTarget
		if err := rs.Scan(&t.idpID, &t.kind); err != nil {
			return err
		}
		stored[t] = true
	}
	for ref, t := range targets {
		t.backedOff = stored[resultTarget{idpID: t.idpID, kind: t.kind}]
		targets[ref] = t
	}
	return rs.Err()
}

// linkOwners returns, for each Salesforce Id the batch links, the IdP id it is
// linked to now, if any.
func linkOwners(ctx context.Context, tx db, results []ActionResult) (map[string]string, error) {
	var ids []any
	for _, r := range results {
		if r.Link != nil {
			ids = append(ids, r.Link.SalesforceID)
		}
	}
	owners := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return owners, nil
	}
	rs, err := tx.query(ctx, `SELECT salesforce_id, idp_id FROM links WHERE salesforce_id IN (`+placeholders(1, len(ids))+`)`, ids...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var sfID, idpID string
		if err := rs.Scan(&sfID, &idpID); err != nil {
			return nil, err
		}
		owners[sfID] = idpID
	}
	return owners, rs.Err()
}

// resultStatements turns a checked batch into its writes: each action's result,
// its link, and its back-off. A result whose link would take a Salesforce Id
// another IdP id holds (now, or earlier in the batch) is recorded as failed with
// CodeLinkConflict instead, without its link, and returned as rejected.
func resultStatements(results []ActionResult, targets map[ActionRef]resultTarget, owners map[string]string,
	now time.Time) ([]statement, []RejectedResult) {
	var stmts []statement
	var rejected []RejectedResult
	for _, r := range results {
		if l := r.Link; l != nil {
			if owner, taken := owners[l.SalesforceID]; taken && owner != l.IdPID {
				msg := fmt.Sprintf("Salesforce Id %s is already linked to IdP id %q; not linked to %q",
					l.SalesforceID, owner, l.IdPID)
				rejected = append(rejected, RejectedResult{Action: r.Action, Code: CodeLinkConflict, Message: msg})
				r.Status, r.ErrorCode, r.ErrorMessage, r.NextAttemptAt, r.Link = ActionFailed, CodeLinkConflict, msg, time.Time{}, nil
			} else {
				owners[l.SalesforceID] = l.IdPID
				stmts = append(stmts, statement{upsertLinkSQL, []any{l.IdPID, l.SalesforceID, l.Origin, now}})
			}
		}
		stmts = append(stmts, statement{`UPDATE actions SET status = $1, salesforce_id = coalesce(nullif($2, ''), salesforce_id),
			error_code = $3, error_message = $4, attempts = attempts + 1, next_attempt_at = $5, updated_at = $6
			WHERE run_id = $7 AND seq = $8`,
			[]any{r.Status, r.SalesforceID, r.ErrorCode, r.ErrorMessage, normalTime(r.NextAttemptAt), now,
				r.Action.RunID, r.Action.Seq}})
		if b := backoffStatement(r, targets[r.Action], now); b != nil {
			stmts = append(stmts, *b)
		}
	}
	return stmts, rejected
}

// backoffStatement is the back-off write a result implies, if any.
func backoffStatement(r ActionResult, t resultTarget, now time.Time) *statement {
	switch {
	case t.idpID == "":
		return nil
	case r.Status == ActionApplied && t.backedOff:
		return &statement{`DELETE FROM backoffs WHERE idp_id = $1 AND kind = $2`, []any{t.idpID, t.kind}}
	case r.Status == ActionFailed && !r.NextAttemptAt.IsZero():
		return &statement{`INSERT INTO backoffs (` + backoffColumns + `) VALUES ($1, $2, 1, $3, $4, $5, $6)
			ON CONFLICT (idp_id, kind) DO UPDATE SET attempts = backoffs.attempts + 1, error_code = excluded.error_code,
				error_message = excluded.error_message, next_attempt_at = excluded.next_attempt_at,
				updated_at = excluded.updated_at`,
			[]any{t.idpID, t.kind, r.ErrorCode, r.ErrorMessage, normalTime(r.NextAttemptAt), now}}
	default:
		return nil
	}
}

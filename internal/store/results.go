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
//
// Each action is read by its whole primary key, one query per result sent
// together: a plan's rows are usually newer than the table's statistics, and the
// planner then turned `seq IN (...)` into a filter over every row of the run (55 ms
// a batch against a 100k plan, where a key look-up takes microseconds).
func (s *sqlStore) resultTargets(ctx context.Context, tx db, results []ActionResult) (map[ActionRef]resultTarget, error) {
	fenced := map[int64]bool{}
	for _, r := range results {
		if fenced[r.Action.RunID] {
			continue
		}
		fenced[r.Action.RunID] = true
		if err := s.fenceRun(ctx, tx, r.Action.RunID); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err // a missing run's actions are reported missing below
		}
	}
	stmts := make([]statement, len(results))
	for i, r := range results {
		stmts[i] = statement{`SELECT a.status, a.idp_id, a.kind,
				EXISTS (SELECT 1 FROM backoffs b WHERE b.idp_id = a.idp_id AND b.kind = a.kind)
			FROM actions a WHERE a.run_id = $1 AND a.seq = $2` + s.d.lock("UPDATE"), []any{r.Action.RunID, r.Action.Seq}}
	}
	targets := make(map[ActionRef]resultTarget, len(results))
	err := tx.queryEach(ctx, stmts, func(i int, rw row) error {
		ref := results[i].Action
		var t resultTarget
		var status ActionStatus
		if err := rw.Scan(&status, &t.idpID, &t.kind, &t.backedOff); err != nil {
			return fmt.Errorf("action %d/%d: %w", ref.RunID, ref.Seq, err)
		}
		if status != ActionPlanned && status != ActionApproved && status != ActionFailed {
			return fmt.Errorf("%w: action %d/%d is %s and cannot take a result", ErrConflict, ref.RunID, ref.Seq, status)
		}
		targets[ref] = t
		return nil
	})
	return targets, err
}

// linkOwners returns, for each Salesforce Id the batch links, the IdP id it is
// linked to now, if any.
func linkOwners(ctx context.Context, tx db, results []ActionResult) (map[string]string, error) {
	var stmts []statement
	for _, r := range results {
		if r.Link != nil {
			stmts = append(stmts, statement{`SELECT salesforce_id, idp_id FROM links WHERE salesforce_id = $1`,
				[]any{r.Link.SalesforceID}})
		}
	}
	owners := make(map[string]string, len(stmts))
	err := tx.queryEach(ctx, stmts, func(_ int, rw row) error {
		var sfID, idpID string
		err := rw.Scan(&sfID, &idpID)
		if errors.Is(err, ErrNotFound) {
			return nil // not linked yet
		}
		owners[sfID] = idpID
		return err
	})
	return owners, err
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

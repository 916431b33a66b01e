package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// resultTarget is what RecordResults learns of an action as it records its result.
type resultTarget struct {
	idpID string
	kind  ActionKind
}

func (s *sqlStore) RecordResults(ctx context.Context, epoch int64, results []ActionResult) error {
	if err := validateResults(results); err != nil {
		return fmt.Errorf("record results: %w", err)
	}
	if len(results) == 0 {
		return nil
	}
	now := normalTime(s.now())
	var rejected []RejectedResult
	err := s.d.inTx(ctx, func(tx db) error {
		if err := s.fence(ctx, tx, epoch); err != nil {
			return err
		}
		owners, err := linkOwners(ctx, tx, results)
		if err != nil {
			return err
		}
		var recorded []ActionResult
		recorded, rejected = resolveLinks(results, owners)
		targets, err := s.updateActions(ctx, tx, recorded, now)
		if err != nil {
			return err
		}
		backedOff, err := storedBackoffs(ctx, tx, targets)
		if err != nil {
			return err
		}
		return tx.execAll(ctx, followUps(recorded, targets, backedOff, now))
	})
	if err != nil {
		return fmt.Errorf("record results: %w", err)
	}
	if len(rejected) > 0 {
		return &ResultsError{Rejected: rejected}
	}
	return nil
}

// linkOwners returns, for each Salesforce Id the batch links, the IdP id it is
// linked to now, if any. Every look-up in a batch goes by a whole key, one
// statement each, sent together: right after a plan is copied in, the tables'
// statistics are stale, and PostgreSQL planned a `seq IN (...)` list of 200 as a
// filter over every row of the run (55 ms a batch against a 100k plan).
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

// resolveLinks returns the results as they are to be recorded: one whose link
// would take a Salesforce Id another IdP id holds (now, or earlier in the batch)
// becomes a failure with CodeLinkConflict and no link, and is returned as
// rejected.
func resolveLinks(results []ActionResult, owners map[string]string) ([]ActionResult, []RejectedResult) {
	recorded := make([]ActionResult, len(results))
	var rejected []RejectedResult
	for i, r := range results {
		if l := r.Link; l != nil {
			if owner, taken := owners[l.SalesforceID]; taken && owner != l.IdPID {
				msg := fmt.Sprintf("Salesforce Id %s is already linked to IdP id %q; not linked to %q",
					l.SalesforceID, owner, l.IdPID)
				rejected = append(rejected, RejectedResult{Action: r.Action, Code: CodeLinkConflict, Message: msg})
				r.Status, r.ErrorCode, r.ErrorMessage, r.NextAttemptAt, r.Link = ActionFailed, CodeLinkConflict, msg, time.Time{}, nil
			} else {
				owners[l.SalesforceID] = l.IdPID
			}
		}
		recorded[i] = r
	}
	return recorded, rejected
}

// errNoResult stops updateActions at the first action that took no result.
var errNoResult = errors.New("action took no result")

// updateActions records each result on its action, if the action can take one,
// and returns the actions' IdP ids and kinds. The UPDATE's own condition is the
// check, so an action costs one statement; when one does not match, the whole
// batch fails, with the reason looked up afterwards: it is a caller's mistake, not
// a fact about Salesforce. The statuses are compared one by one, not with IN:
// SQLite builds a constant IN list as a temporary table on every execution, a
// tenth of recording a result (measured for issue 4).
func (s *sqlStore) updateActions(ctx context.Context, tx db, results []ActionResult, now time.Time) ([]resultTarget, error) {
	stmts := make([]statement, len(results))
	for i, r := range results {
		stmts[i] = statement{`UPDATE actions SET status = $1, salesforce_id = coalesce(nullif($2, ''), salesforce_id),
				error_code = $3, error_message = $4, attempts = attempts + 1, next_attempt_at = $5, updated_at = $6
			WHERE run_id = $7 AND seq = $8 AND (status = 'planned' OR status = 'approved' OR status = 'failed')
			RETURNING idp_id, kind`,
			[]any{r.Status, r.SalesforceID, r.ErrorCode, r.ErrorMessage, normalTime(r.NextAttemptAt), now,
				r.Action.RunID, r.Action.Seq}}
	}
	targets := make([]resultTarget, len(results))
	missed := -1
	err := tx.queryEach(ctx, stmts, func(i int, rw row) error {
		err := rw.Scan(&targets[i].idpID, &targets[i].kind)
		if errors.Is(err, ErrNotFound) {
			missed = i
			return errNoResult
		}
		return err
	})
	if missed >= 0 {
		ref := results[missed].Action
		var status ActionStatus
		err := tx.queryRow(ctx, `SELECT status FROM actions WHERE run_id = $1 AND seq = $2`, ref.RunID, ref.Seq).Scan(&status)
		if err != nil {
			return nil, fmt.Errorf("action %d/%d: %w", ref.RunID, ref.Seq, err)
		}
		return nil, fmt.Errorf("%w: action %d/%d is %s and cannot take a result", ErrConflict, ref.RunID, ref.Seq, status)
	}
	return targets, err
}

// storedBackoffs returns which of the targets' (IdP id, kind) have a back-off, so
// that only those cost a delete when applied. Few users have one; the look-up by
// the key's leading column is one statement for the batch.
func storedBackoffs(ctx context.Context, tx db, targets []resultTarget) (map[resultTarget]bool, error) {
	var idpIDs []any
	for _, t := range targets {
		if t.idpID != "" {
			idpIDs = append(idpIDs, t.idpID)
		}
	}
	stored := map[resultTarget]bool{}
	if len(idpIDs) == 0 {
		return stored, nil
	}
	rs, err := tx.query(ctx, `SELECT idp_id, kind FROM backoffs WHERE idp_id IN (`+placeholders(1, len(idpIDs))+`)`, idpIDs...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var t resultTarget
		if err := rs.Scan(&t.idpID, &t.kind); err != nil {
			return nil, err
		}
		stored[t] = true
	}
	return stored, rs.Err()
}

// followUps are the writes recorded results imply besides their actions: their
// links, and the back-offs of their IdP ids and kinds.
func followUps(results []ActionResult, targets []resultTarget, backedOff map[resultTarget]bool, now time.Time) []statement {
	var stmts []statement
	for i, r := range results {
		if l := r.Link; l != nil {
			stmts = append(stmts, statement{upsertLinkSQL, []any{l.IdPID, l.SalesforceID, l.Origin, now}})
		}
		t := targets[i]
		switch {
		case t.idpID == "":
		case r.Status == ActionApplied && backedOff[t]:
			stmts = append(stmts, statement{`DELETE FROM backoffs WHERE idp_id = $1 AND kind = $2`, []any{t.idpID, t.kind}})
		case r.Status == ActionFailed && !r.NextAttemptAt.IsZero():
			stmts = append(stmts, statement{`INSERT INTO backoffs (` + backoffColumns + `) VALUES ($1, $2, 1, $3, $4, $5, $6)
				ON CONFLICT (idp_id, kind) DO UPDATE SET attempts = backoffs.attempts + 1, error_code = excluded.error_code,
					error_message = excluded.error_message, next_attempt_at = excluded.next_attempt_at,
					updated_at = excluded.updated_at`,
				[]any{t.idpID, t.kind, r.ErrorCode, r.ErrorMessage, normalTime(r.NextAttemptAt), now}})
		}
	}
	return stmts
}

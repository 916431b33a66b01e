package store

import (
	"encoding/json"
	"fmt"
	"strings"
)

// What both backends share: the columns they select, the rules a write checks, and
// the SQL that differs only in how a parameter is written.

// runColumns, actionColumns and linkColumns are what both backends select.
const runColumns = `id, trigger, mode, status, error, started_at, planned_at, finished_at,
	source_records, rejected_records, salesforce_users, unmanaged_users, disputed`

// checkPlannable refuses a plan for a run that is finished or already planned.
func checkPlannable(runID int64, status RunStatus, planned bool) error {
	if status != RunRunning {
		return fmt.Errorf("%w: run %d is %s", ErrConflict, runID, status)
	}
	if planned {
		return fmt.Errorf("%w: run %d already has a plan; a plan is saved once", ErrConflict, runID)
	}
	return nil
}

func marshalChanges(c []FieldChange) (string, error) {
	if len(c) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode field changes: %w", err)
	}
	return string(b), nil
}

func unmarshalChanges(b []byte) ([]FieldChange, error) {
	var c []FieldChange
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decode field changes: %w", err)
	}
	if len(c) == 0 {
		return nil, nil
	}
	return c, nil
}

// resultable is the SQL condition that the action whose status is in column may take
// a result: its status is planned, approved or failed. It is spelled as comparisons
// joined by OR, not as `IN (...)`, because SQLite evaluates a constant IN list
// through an ephemeral table that it builds and drops on every execution, which cost
// a tenth of recording a result (docs/benchmarks-store.md).
func resultable(column string) string {
	return "(" + column + " = 'planned' OR " + column + " = 'approved' OR " + column + " = 'failed')"
}

// noResultError explains why an action took no result, given its current status
// (empty when it does not exist).
func noResultError(ref ActionRef, status ActionStatus, exists bool) error {
	if !exists {
		return fmt.Errorf("%w: action %d/%d", ErrNotFound, ref.RunID, ref.Seq)
	}
	return fmt.Errorf("%w: action %d/%d is %s and cannot take a result", ErrConflict, ref.RunID, ref.Seq, status)
}

func runIDRange(runs []Run) (lo, hi int64) {
	lo, hi = runs[0].ID, runs[0].ID
	for _, r := range runs {
		lo, hi = min(lo, r.ID), max(hi, r.ID)
	}
	return lo, hi
}

// addCounts reads (run id, status, count) rows into the runs they belong to.
func addCounts(runs []Run, rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}) ([]Run, error) {
	index := make(map[int64]int, len(runs))
	for i, r := range runs {
		index[r.ID] = i
	}
	for rows.Next() {
		var id int64
		var status ActionStatus
		var n int
		if err := rows.Scan(&id, &status, &n); err != nil {
			return nil, err
		}
		if i, ok := index[id]; ok {
			runs[i].Counts.add(status, n)
		}
	}
	return runs, rows.Err()
}

// actionQuery builds the WHERE clause of an action listing. Statuses are checked
// against the known ones and inlined, so partial indexes on status apply. The
// placeholder function renders the n-th (1-based) argument.
func actionQuery(columns string, f ActionFilter, placeholder func(n int) string) (string, []any, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return placeholder(len(args))
	}
	if f.RunID != 0 {
		where = append(where, "run_id = "+arg(f.RunID))
	}
	if len(f.Statuses) > 0 {
		quoted := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			switch st {
			case ActionPlanned, ActionHeld, ActionApproved, ActionApplied, ActionFailed, ActionSkipped:
				quoted[i] = "'" + string(st) + "'"
			default:
				return "", nil, invalidf("action status %q is unknown", st)
			}
		}
		where = append(where, "status IN ("+strings.Join(quoted, ", ")+")")
		if pendingOnly(f.Statuses) {
			where = append(where, "pending") // implied, but it selects the actions_pending index
		}
	}
	if f.Key != "" {
		// The Salesforce Id a result recorded (result_salesforce_id) is not indexed,
		// so that recording a result changes no indexed column; such an action, a
		// create, is found through the link from its IdP id to that Id
		// (links.salesforce_id is unique: the sub-select yields one IdP id at most).
		k := arg(f.Key)
		where = append(where, fmt.Sprintf(`(idp_id = %[1]s OR salesforce_id = %[1]s OR lower(email) = lower(%[1]s)
			OR lower(username) = lower(%[1]s)
			OR (idp_id = (SELECT l.idp_id FROM links l WHERE l.salesforce_id = %[1]s) AND result_salesforce_id = %[1]s))`, k))
	}
	q := "SELECT " + columns + " FROM actions"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY run_id DESC, seq"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	return q, args, nil
}

// pendingOnly reports whether every status in statuses is held or approved, the
// statuses the journal's column pending (and its index) stands for.
func pendingOnly(statuses []ActionStatus) bool {
	for _, st := range statuses {
		if st != ActionHeld && st != ActionApproved {
			return false
		}
	}
	return true
}

// actionColumns reads an action's Salesforce Id from the result when one recorded
// it, else from the plan (see migration 00002).
const actionColumns = `run_id, seq, kind, idp_id,
	CASE WHEN result_salesforce_id <> '' THEN result_salesforce_id ELSE salesforce_id END, username, email, changes, reason, status,
	error_code, error_message, attempts, next_attempt_at, updated_at, approval_id`

const linkColumns = `idp_id, salesforce_id, origin, created_at, updated_at`

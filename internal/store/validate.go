package store

import (
	"errors"
	"fmt"
	"time"
)

// The checks below run before any backend touches the database, so both backends
// reject the same input with the same words and nothing is half-written.

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func validateNewRun(r NewRun) error {
	if r.Trigger == "" {
		return invalidf("run trigger is empty")
	}
	if r.Mode == "" {
		return invalidf("run mode is empty")
	}
	if r.Epoch <= 0 {
		return invalidf("run epoch is %d; a run belongs to a leader: pass the Epoch of the lease from TryLeaderLock", r.Epoch)
	}
	return nil
}

func validatePlan(actions []Action) error {
	for i, a := range actions {
		if a.Kind == "" {
			return invalidf("action %d: kind is empty", i+1)
		}
		switch a.Status {
		case ActionPlanned, ActionHeld, ActionSkipped:
		default:
			return invalidf("action %d: status %q cannot be planned (want planned, held or skipped)", i+1, a.Status)
		}
		if a.IdPID == "" && a.SalesforceID == "" && a.Email == "" && a.Username == "" {
			return invalidf("action %d: no key (IdP id, Salesforce Id, email or username)", i+1)
		}
	}
	return nil
}

func validateResults(results []ActionResult) error {
	seen := make(map[ActionRef]bool, len(results))
	linked := make(map[string]bool)
	for i, r := range results {
		if r.Action.RunID <= 0 || r.Action.Seq <= 0 {
			return invalidf("result %d: action %d/%d does not name an action", i+1, r.Action.RunID, r.Action.Seq)
		}
		if seen[r.Action] {
			return invalidf("result %d: action %d/%d has two results in one batch", i+1, r.Action.RunID, r.Action.Seq)
		}
		seen[r.Action] = true
		switch r.Status {
		case ActionApplied, ActionFailed, ActionSkipped:
		default:
			return invalidf("result %d: status %q is not an outcome (want applied, failed or skipped)", i+1, r.Status)
		}
		if r.Link != nil {
			if err := validateLink(*r.Link); err != nil {
				return fmt.Errorf("result %d: %w", i+1, err)
			}
			if linked[r.Link.IdPID] {
				return invalidf("result %d: IdP id %q is linked twice in one batch", i+1, r.Link.IdPID)
			}
			linked[r.Link.IdPID] = true
		}
	}
	return nil
}

func validateFinish(f RunFinish) error {
	switch f.Status {
	case RunSucceeded, RunFailed, RunAborted, RunPaused:
		return nil
	default:
		return invalidf("run status %q is not final (want succeeded, failed, aborted or paused)", f.Status)
	}
}

func validateApproval(req ApprovalRequest) error {
	if req.By == "" {
		return invalidf("approval names no approver")
	}
	seen := make(map[int]bool, len(req.Seqs))
	for _, s := range req.Seqs {
		if s <= 0 {
			return invalidf("approval names action %d; actions are numbered from 1", s)
		}
		if seen[s] {
			return invalidf("approval names action %d twice", s)
		}
		seen[s] = true
	}
	return nil
}

func validateLink(l Link) error {
	if l.IdPID == "" {
		return invalidf("link has no IdP id")
	}
	if l.SalesforceID == "" {
		return invalidf("link of %q has no Salesforce Id", l.IdPID)
	}
	switch l.Origin {
	case OriginCreated, OriginAdopted:
		return nil
	default:
		return invalidf("link of %q has origin %q (want created or adopted)", l.IdPID, l.Origin)
	}
}

func validateSnapshot(s NewSnapshot) error {
	if s.Count < 0 {
		return invalidf("snapshot count %d is negative", s.Count)
	}
	return nil
}

// normalTime is how every backend keeps a time: microseconds, UTC.
func normalTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// add adds n actions of status s to c.
func (c *ActionCounts) add(s ActionStatus, n int) {
	switch s {
	case ActionPlanned:
		c.Planned += n
	case ActionHeld:
		c.Held += n
	case ActionApproved:
		c.Approved += n
	case ActionApplied:
		c.Applied += n
	case ActionFailed:
		c.Failed += n
	case ActionSkipped:
		c.Skipped += n
	}
}

const defaultRunLimit = 50

func runLimit(f RunFilter) int {
	if f.Limit <= 0 {
		return defaultRunLimit
	}
	return f.Limit
}

// approvalError explains why a run has nothing left to approve.
func approvalError(approvedBefore bool) error {
	if approvedBefore {
		return fmt.Errorf("its held actions were %w", ErrAlreadyApproved)
	}
	return fmt.Errorf("%w: the run held no actions", ErrNothingToApprove)
}

// approveError explains why a named action cannot be approved.
func approveError(seq int, status ActionStatus, exists bool) error {
	switch {
	case !exists:
		return fmt.Errorf("action %d: %w", seq, ErrNotFound)
	case status == ActionApproved:
		return fmt.Errorf("action %d was %w", seq, ErrAlreadyApproved)
	default:
		return fmt.Errorf("%w: action %d is %s, not held", ErrConflict, seq, status)
	}
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

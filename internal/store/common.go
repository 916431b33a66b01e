package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// sqlStore is the Store both backends share: every method whose SQL reads the same
// on PostgreSQL and SQLite, which is all of them but opening, closing, the leader
// lock and reconcile requests. Queries are written with PostgreSQL's $n
// placeholders and time.Time arguments; each backend's db adapter turns them into
// what its driver takes.
type sqlStore struct {
	d   dialect
	now func() time.Time
}

// dialect is what differs between the backends.
type dialect interface {
	// reader is where reads go, outside any write transaction.
	reader() db
	// inTx runs fn in one write transaction, committed when fn returns nil.
	inTx(ctx context.Context, fn func(tx db) error) error
	// insertRows writes many rows of one table (a plan's, a mirror's) in tx, the
	// fastest way the driver has.
	insertRows(ctx context.Context, tx db, table string, columns []string, rows [][]any) error
	// lock is the row-locking clause that ends a SELECT: " FOR UPDATE" or
	// " FOR SHARE" on PostgreSQL, nothing on SQLite, whose write transactions run
	// one at a time anyway.
	lock(mode string) string
}

// db runs SQL on a pool, a handle or a transaction of either driver. Errors come
// back mapped onto the store's sentinels.
type db interface {
	exec(ctx context.Context, query string, args ...any) (int64, error)
	query(ctx context.Context, query string, args ...any) (rows, error)
	queryRow(ctx context.Context, query string, args ...any) row
	// execAll runs statements in order, in as few round trips as the driver allows.
	execAll(ctx context.Context, stmts []statement) error
	// queryEach runs statements that each select at most one row, in order and in
	// as few round trips as the driver allows, and hands each row to scan with
	// the statement's index. A missing row's Scan fails with ErrNotFound.
	queryEach(ctx context.Context, stmts []statement, scan func(i int, r row) error) error
}

type statement struct {
	query string
	args  []any
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type row interface {
	Scan(dest ...any) error
}

// mappedRow maps the error of Scan, where QueryRow's errors surface.
type mappedRow struct {
	row
	mapErr func(error) error
}

func (r mappedRow) Scan(dest ...any) error { return r.mapErr(r.row.Scan(dest...)) }

// timeColumn scans a nullable time in either backend's form: a time from
// PostgreSQL, INTEGER microseconds since the Unix epoch from SQLite. NULL is the
// zero time.
type timeColumn struct{ t *time.Time }

func timeCol(t *time.Time) *timeColumn { return &timeColumn{t} }

// ScanTimestamptz is pgx's direct path for a PostgreSQL time, which skips the
// conversions of its database/sql path (a third of loading 100k links).
func (c *timeColumn) ScanTimestamptz(v pgtype.Timestamptz) error {
	*c.t = time.Time{}
	if v.Valid {
		*c.t = v.Time.UTC()
	}
	return nil
}

// Scan is database/sql's path, which SQLite's driver takes.
func (c *timeColumn) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
	case time.Time:
		*c.t = v.UTC()
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("scan time: unexpected %T", v)
	}
	return nil
}

// placeholders returns "$from, $from+1, ..." for n arguments.
func placeholders(from, n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(p, ", ")
}

const (
	runColumns = `id, trigger, mode, epoch, status, error, started_at, planned_at, finished_at,
	source_records, rejected_records, salesforce_users, unmanaged_users, disputed`
	actionColumns = `run_id, seq, kind, idp_id, salesforce_id, username, email, changes, reason, status,
	error_code, error_message, attempts, next_attempt_at, updated_at, approval_id`
	linkColumns    = `idp_id, salesforce_id, origin, created_at, updated_at`
	backoffColumns = `idp_id, kind, attempts, error_code, error_message, next_attempt_at, updated_at`
	// upsertLinkSQL takes the link's IdP id, Salesforce Id, origin and the time.
	upsertLinkSQL = `INSERT INTO links (idp_id, salesforce_id, origin, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (idp_id) DO UPDATE SET salesforce_id = excluded.salesforce_id, origin = excluded.origin,
			updated_at = excluded.updated_at`
)

// actionInsertColumns are the columns of a plan's rows, in the order SavePlan gives them.
var actionInsertColumns = []string{"run_id", "seq", "kind", "idp_id", "salesforce_id", "username", "email",
	"changes", "reason", "status", "updated_at"}

// fence fails with ErrFenced unless epoch is the current leader epoch. On
// PostgreSQL it share-locks the epoch row until tx ends, so a new leader's bump
// (TryLeaderLock) waits for this transaction, and every transaction after the bump
// sees the new epoch.
func (s *sqlStore) fence(ctx context.Context, tx db, epoch int64) error {
	var current int64
	if err := tx.queryRow(ctx, `SELECT epoch FROM leader_epoch WHERE id = 1`+s.d.lock("SHARE")).Scan(&current); err != nil {
		return fmt.Errorf("read leader epoch: %w", err)
	}
	if epoch != current {
		return fmt.Errorf("%w: written under leader epoch %d, the current epoch is %d", ErrFenced, epoch, current)
	}
	return nil
}

// fenceRun fences a write to run runID by the epoch it was started under; the
// epoch row is locked before the run's row, as TryLeaderLock locks them, so the
// two never wait on each other.
func (s *sqlStore) fenceRun(ctx context.Context, tx db, runID int64) error {
	var epoch int64
	if err := tx.queryRow(ctx, `SELECT epoch FROM runs WHERE id = $1`, runID).Scan(&epoch); err != nil {
		return fmt.Errorf("run %d: %w", runID, err)
	}
	return s.fence(ctx, tx, epoch)
}

// lead starts a new leader epoch and closes the runs earlier leaders left running,
// in tx, right after the leader lock was taken. The epoch row's update waits for
// every write of the previous leader in flight (they share-lock it).
func (s *sqlStore) lead(ctx context.Context, tx db) (int64, error) {
	var epoch int64
	if err := tx.queryRow(ctx, `UPDATE leader_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch`).Scan(&epoch); err != nil {
		return 0, fmt.Errorf("start leader epoch: %w", err)
	}
	if _, err := tx.exec(ctx, `UPDATE runs SET status = $1, error = $2, finished_at = $3 WHERE status = $4`,
		RunAborted, AbandonedRunError, normalTime(s.now()), RunRunning); err != nil {
		return 0, fmt.Errorf("close abandoned runs: %w", err)
	}
	return epoch, nil
}

func (s *sqlStore) StartRun(ctx context.Context, r NewRun) (Run, error) {
	if err := validateNewRun(r); err != nil {
		return Run{}, fmt.Errorf("start run: %w", err)
	}
	run := Run{Trigger: r.Trigger, Mode: r.Mode, Epoch: r.Epoch, Status: RunRunning, StartedAt: normalTime(s.now())}
	err := s.d.inTx(ctx, func(tx db) error {
		if err := s.fence(ctx, tx, r.Epoch); err != nil {
			return err
		}
		return tx.queryRow(ctx, `INSERT INTO runs (trigger, mode, epoch, status, started_at) VALUES ($1, $2, $3, $4, $5)
			RETURNING id`, run.Trigger, run.Mode, run.Epoch, run.Status, run.StartedAt).Scan(&run.ID)
	})
	if err != nil {
		return Run{}, fmt.Errorf("start run: %w", err)
	}
	return run, nil
}

func (s *sqlStore) SavePlan(ctx context.Context, runID int64, actions []Action) error {
	if err := validatePlan(actions); err != nil {
		return fmt.Errorf("save plan of run %d: %w", runID, err)
	}
	now := normalTime(s.now())
	rows := make([][]any, len(actions))
	for i, a := range actions {
		changes, err := marshalChanges(a.Changes)
		if err != nil {
			return fmt.Errorf("save plan of run %d: action %d: %w", runID, i+1, err)
		}
		rows[i] = []any{runID, i + 1, string(a.Kind), a.IdPID, a.SalesforceID, a.Username, a.Email,
			changes, a.Reason, string(a.Status), now}
	}
	err := s.d.inTx(ctx, func(tx db) error {
		if err := s.fenceRun(ctx, tx, runID); err != nil {
			return err
		}
		var status RunStatus
		var plannedAt time.Time
		if err := tx.queryRow(ctx, `SELECT status, planned_at FROM runs WHERE id = $1`+s.d.lock("UPDATE"), runID).
			Scan(&status, timeCol(&plannedAt)); err != nil {
			return err
		}
		if status != RunRunning {
			return fmt.Errorf("%w: run %d is %s", ErrConflict, runID, status)
		}
		if !plannedAt.IsZero() {
			return fmt.Errorf("%w: run %d already has a plan; a plan is saved once", ErrConflict, runID)
		}
		if err := s.d.insertRows(ctx, tx, "actions", actionInsertColumns, rows); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `UPDATE runs SET planned_at = $1 WHERE id = $2`, now, runID)
		return err
	})
	if err != nil {
		return fmt.Errorf("save plan of run %d: %w", runID, err)
	}
	return nil
}

func (s *sqlStore) FinishRun(ctx context.Context, runID int64, f RunFinish) (Run, error) {
	if err := validateFinish(f); err != nil {
		return Run{}, fmt.Errorf("finish run %d: %w", runID, err)
	}
	err := s.d.inTx(ctx, func(tx db) error {
		if err := s.fenceRun(ctx, tx, runID); err != nil {
			return err
		}
		var status RunStatus
		if err := tx.queryRow(ctx, `SELECT status FROM runs WHERE id = $1`+s.d.lock("UPDATE"), runID).Scan(&status); err != nil {
			return err
		}
		if status != RunRunning {
			return fmt.Errorf("%w: run %d is already %s", ErrConflict, runID, status)
		}
		_, err := tx.exec(ctx, `UPDATE runs SET status = $1, error = $2, finished_at = $3,
			source_records = $4, rejected_records = $5, salesforce_users = $6, unmanaged_users = $7, disputed = $8
			WHERE id = $9`, f.Status, f.Error, normalTime(s.now()),
			f.Stats.SourceRecords, f.Stats.RejectedRecords, f.Stats.SalesforceUsers, f.Stats.UnmanagedUsers,
			f.Stats.Disputed, runID)
		return err
	})
	if err != nil {
		return Run{}, fmt.Errorf("finish run %d: %w", runID, err)
	}
	return s.Run(ctx, runID)
}

func (s *sqlStore) Run(ctx context.Context, id int64) (Run, error) {
	runs, err := s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id)
	if err != nil {
		return Run{}, fmt.Errorf("read run %d: %w", id, err)
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("read run %d: %w", id, ErrNotFound)
	}
	return runs[0], nil
}

func (s *sqlStore) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	before := f.BeforeID
	if before == 0 {
		before = math.MaxInt64
	}
	runs, err := s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE id < $1 ORDER BY id DESC LIMIT $2`,
		before, runLimit(f))
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

// queryRuns reads runs and fills in their action counts with one more query over
// the id range the runs span.
func (s *sqlStore) queryRuns(ctx context.Context, query string, args ...any) ([]Run, error) {
	rs, err := s.d.reader().query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var runs []Run
	for rs.Next() {
		var r Run
		if err := rs.Scan(&r.ID, &r.Trigger, &r.Mode, &r.Epoch, &r.Status, &r.Error, timeCol(&r.StartedAt),
			timeCol(&r.PlannedAt), timeCol(&r.FinishedAt), &r.Stats.SourceRecords, &r.Stats.RejectedRecords,
			&r.Stats.SalesforceUsers, &r.Stats.UnmanagedUsers, &r.Stats.Disputed); err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	if err := rs.Err(); err != nil || len(runs) == 0 {
		return nil, err
	}
	lo, hi := runs[0].ID, runs[0].ID
	for _, r := range runs {
		lo, hi = min(lo, r.ID), max(hi, r.ID)
	}
	counts, err := s.d.reader().query(ctx,
		`SELECT run_id, status, count(*) FROM actions WHERE run_id BETWEEN $1 AND $2 GROUP BY run_id, status`, lo, hi)
	if err != nil {
		return nil, err
	}
	defer counts.Close()
	index := make(map[int64]int, len(runs))
	for i, r := range runs {
		index[r.ID] = i
	}
	for counts.Next() {
		var id int64
		var status ActionStatus
		var n int
		if err := counts.Scan(&id, &status, &n); err != nil {
			return nil, err
		}
		if i, ok := index[id]; ok {
			runs[i].Counts.add(status, n)
		}
	}
	return runs, counts.Err()
}

func (s *sqlStore) Actions(ctx context.Context, f ActionFilter) ([]Action, error) {
	q, args, err := actionQuery(f)
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	rs, err := s.d.reader().query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	defer rs.Close()
	var out []Action
	for rs.Next() {
		var a Action
		var changes []byte
		var approval sql.NullInt64
		if err := rs.Scan(&a.RunID, &a.Seq, &a.Kind, &a.IdPID, &a.SalesforceID, &a.Username, &a.Email, &changes,
			&a.Reason, &a.Status, &a.ErrorCode, &a.ErrorMessage, &a.Attempts, timeCol(&a.NextAttemptAt),
			timeCol(&a.UpdatedAt), &approval); err != nil {
			return nil, fmt.Errorf("list actions: %w", err)
		}
		if a.Changes, err = unmarshalChanges(changes); err != nil {
			return nil, fmt.Errorf("list actions: action %d/%d: %w", a.RunID, a.Seq, err)
		}
		a.ApprovalID = approval.Int64
		out = append(out, a)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	return out, nil
}

// actionQuery builds an action listing. Statuses are checked against the known ones
// and inlined, so the partial index on held and approved actions applies.
func actionQuery(f ActionFilter) (string, []any, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
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
	}
	if f.Key != "" {
		k := arg(f.Key)
		where = append(where, fmt.Sprintf(`(idp_id = %[1]s OR salesforce_id = %[1]s
			OR lower(email) = lower(%[1]s) OR lower(username) = lower(%[1]s))`, k))
	}
	q := "SELECT " + actionColumns + " FROM actions"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY run_id DESC, seq"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	return q, args, nil
}

func (s *sqlStore) Approve(ctx context.Context, runID int64, req ApprovalRequest) (Approval, error) {
	if err := validateApproval(req); err != nil {
		return Approval{}, fmt.Errorf("approve run %d: %w", runID, err)
	}
	ap := Approval{RunID: runID, By: req.By, Comment: req.Comment, At: normalTime(s.now())}
	err := s.d.inTx(ctx, func(tx db) error {
		// Locking the run serialises approvals of one run: the second sees the first's.
		var exists int
		if err := tx.queryRow(ctx, `SELECT 1 FROM runs WHERE id = $1`+s.d.lock("UPDATE"), runID).Scan(&exists); err != nil {
			return err
		}
		if len(req.Seqs) == 0 {
			var approvals int
			if err := tx.queryRow(ctx, `SELECT
					(SELECT count(*) FROM actions WHERE run_id = $1 AND status = 'held'),
					(SELECT count(*) FROM approvals WHERE run_id = $1)`, runID).Scan(&ap.Actions, &approvals); err != nil {
				return err
			}
			if ap.Actions == 0 {
				return approvalError(approvals > 0)
			}
		}
		for _, seq := range req.Seqs {
			var status ActionStatus
			err := tx.queryRow(ctx, `SELECT status FROM actions WHERE run_id = $1 AND seq = $2`, runID, seq).Scan(&status)
			if err != nil && !isNotFound(err) {
				return err
			}
			if err != nil || status != ActionHeld {
				return approveError(seq, status, err == nil)
			}
		}
		if len(req.Seqs) > 0 {
			ap.Actions = len(req.Seqs)
		}
		if err := tx.queryRow(ctx, `INSERT INTO approvals (run_id, approved_by, comment, approved_at, actions)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, runID, ap.By, ap.Comment, ap.At, ap.Actions).Scan(&ap.ID); err != nil {
			return err
		}
		const release = `UPDATE actions SET status = 'approved', approval_id = $1, updated_at = $2
			WHERE run_id = $3 AND status = 'held'`
		if len(req.Seqs) == 0 {
			_, err := tx.exec(ctx, release, ap.ID, ap.At, runID)
			return err
		}
		stmts := make([]statement, len(req.Seqs))
		for i, seq := range req.Seqs {
			stmts[i] = statement{release + ` AND seq = $4`, []any{ap.ID, ap.At, runID, seq}}
		}
		return tx.execAll(ctx, stmts)
	})
	if err != nil {
		return Approval{}, fmt.Errorf("approve run %d: %w", runID, err)
	}
	return ap, nil
}

func scanLinks(rs rows, err error) ([]Link, error) {
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var links []Link
	for rs.Next() {
		var l Link
		if err := rs.Scan(&l.IdPID, &l.SalesforceID, &l.Origin, timeCol(&l.CreatedAt), timeCol(&l.UpdatedAt)); err != nil {
			return nil, err
		}
		links = append(links, l)
	}
	return links, rs.Err()
}

func (s *sqlStore) Links(ctx context.Context) ([]Link, error) {
	links, err := scanLinks(s.d.reader().query(ctx, `SELECT `+linkColumns+` FROM links ORDER BY idp_id`))
	if err != nil {
		return nil, fmt.Errorf("load links: %w", err)
	}
	return links, nil
}

func (s *sqlStore) linkWhere(ctx context.Context, column, value string) (Link, error) {
	links, err := scanLinks(s.d.reader().query(ctx, `SELECT `+linkColumns+` FROM links WHERE `+column+` = $1`, value))
	if err != nil {
		return Link{}, err
	}
	if len(links) == 0 {
		return Link{}, ErrNotFound
	}
	return links[0], nil
}

func (s *sqlStore) LinkByIdPID(ctx context.Context, idpID string) (Link, error) {
	l, err := s.linkWhere(ctx, "idp_id", idpID)
	if err != nil {
		return Link{}, fmt.Errorf("link of IdP id %q: %w", idpID, err)
	}
	return l, nil
}

func (s *sqlStore) LinkBySalesforceID(ctx context.Context, salesforceID string) (Link, error) {
	l, err := s.linkWhere(ctx, "salesforce_id", salesforceID)
	if err != nil {
		return Link{}, fmt.Errorf("link of Salesforce Id %q: %w", salesforceID, err)
	}
	return l, nil
}

func (s *sqlStore) UpsertLink(ctx context.Context, epoch int64, l Link) (Link, error) {
	if err := validateLink(l); err != nil {
		return Link{}, fmt.Errorf("upsert link: %w", err)
	}
	var stored []Link
	err := s.d.inTx(ctx, func(tx db) error {
		if err := s.fence(ctx, tx, epoch); err != nil {
			return err
		}
		var err error
		stored, err = scanLinks(tx.query(ctx, upsertLinkSQL+` RETURNING `+linkColumns,
			l.IdPID, l.SalesforceID, l.Origin, normalTime(s.now())))
		return err
	})
	if err != nil {
		return Link{}, fmt.Errorf("upsert link %q to %q: %w", l.IdPID, l.SalesforceID, err)
	}
	return stored[0], nil
}

func (s *sqlStore) DeleteLink(ctx context.Context, epoch int64, idpID string) error {
	err := s.d.inTx(ctx, func(tx db) error {
		if err := s.fence(ctx, tx, epoch); err != nil {
			return err
		}
		n, err := tx.exec(ctx, `DELETE FROM links WHERE idp_id = $1`, idpID)
		if err == nil && n == 0 {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete link of IdP id %q: %w", idpID, err)
	}
	return nil
}

func (s *sqlStore) Backoffs(ctx context.Context) ([]Backoff, error) {
	rs, err := s.d.reader().query(ctx, `SELECT `+backoffColumns+` FROM backoffs ORDER BY idp_id, kind`)
	if err != nil {
		return nil, fmt.Errorf("list back-offs: %w", err)
	}
	defer rs.Close()
	var out []Backoff
	for rs.Next() {
		var b Backoff
		if err := rs.Scan(&b.IdPID, &b.Kind, &b.Attempts, &b.ErrorCode, &b.ErrorMessage, timeCol(&b.NextAttemptAt),
			timeCol(&b.UpdatedAt)); err != nil {
			return nil, fmt.Errorf("list back-offs: %w", err)
		}
		out = append(out, b)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("list back-offs: %w", err)
	}
	return out, nil
}

func (s *sqlStore) ClearBackoff(ctx context.Context, idpID string) error {
	err := s.d.inTx(ctx, func(tx db) error {
		n, err := tx.exec(ctx, `DELETE FROM backoffs WHERE idp_id = $1`, idpID)
		if err == nil && n == 0 {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("clear back-off of IdP id %q: %w", idpID, err)
	}
	return nil
}

func (s *sqlStore) SaveSnapshot(ctx context.Context, n NewSnapshot) (Snapshot, error) {
	if err := validateSnapshot(n); err != nil {
		return Snapshot{}, fmt.Errorf("save snapshot: %w", err)
	}
	snap := Snapshot{TakenAt: normalTime(s.now()), Count: n.Count, Digest: n.Digest, Complete: n.Complete}
	err := s.d.inTx(ctx, func(tx db) error {
		return tx.queryRow(ctx, `INSERT INTO snapshots (taken_at, record_count, digest, complete)
			VALUES ($1, $2, $3, $4) RETURNING id`, snap.TakenAt, snap.Count, snap.Digest, snap.Complete).Scan(&snap.ID)
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("save snapshot: %w", err)
	}
	return snap, nil
}

func (s *sqlStore) LastGoodSnapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	err := s.d.reader().queryRow(ctx, `SELECT id, taken_at, record_count, digest, complete FROM snapshots
		WHERE complete ORDER BY id DESC LIMIT 1`).Scan(&snap.ID, timeCol(&snap.TakenAt), &snap.Count, &snap.Digest, &snap.Complete)
	if err != nil {
		return Snapshot{}, fmt.Errorf("last good snapshot: %w", err)
	}
	return snap, nil
}

func (s *sqlStore) Prune(ctx context.Context, cutoff time.Time) (PruneResult, error) {
	c := normalTime(cutoff)
	var res PruneResult
	err := s.d.inTx(ctx, func(tx db) error {
		steps := []struct {
			n     *int
			query string
		}{
			{&res.Actions, `DELETE FROM actions WHERE run_id IN (SELECT id FROM runs WHERE started_at < $1)`},
			{&res.Runs, `DELETE FROM runs WHERE started_at < $1`},
			{&res.Snapshots, `DELETE FROM snapshots WHERE taken_at < $1
				AND id <> coalesce((SELECT max(id) FROM snapshots WHERE complete), 0)`},
		}
		for _, step := range steps {
			n, err := tx.exec(ctx, step.query, c)
			if err != nil {
				return err
			}
			*step.n = int(n)
		}
		return nil
	})
	if err != nil {
		return PruneResult{}, fmt.Errorf("prune before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	return res, nil
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

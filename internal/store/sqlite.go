package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/syncd-io/syncd/migrations"
)

// sqliteStore keeps syncd's state in one SQLite file in WAL mode. Writes go through
// one connection (SQLite has one writer at a time anyway) whose transactions begin
// IMMEDIATE, so a second process waits on the busy timeout rather than failing;
// reads use a pool of read-only connections. Leadership is an OS file lock and
// reconcile requests travel in-process only: SQLite serves a single instance.
type sqliteStore struct {
	write    *sql.DB
	read     *sql.DB
	lockPath string
	now      func() time.Time
	requests *requestHub
}

func openSQLite(ctx context.Context, cfg Config) (*sqliteStore, error) {
	dsn, err := parseSQLiteDSN(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	write, err := sql.Open("sqlite", dsn.writer())
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", dsn.path, err)
	}
	write.SetMaxOpenConns(1)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", dsn.path, err)
	}
	if err := prepareSchema(ctx, write, migrations.SQLite, cfg.AutoMigrate); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", dsn.path, err)
	}
	read, err := sql.Open("sqlite", dsn.reader())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", dsn.path, err)
	}
	read.SetMaxOpenConns(4)
	return &sqliteStore{
		write:    write,
		read:     read,
		lockPath: dsn.lockPath(),
		now:      cfg.clock(),
		requests: newRequestHub(),
	}, nil
}

func (s *sqliteStore) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// micros and fromMicros convert between time.Time and the schema's INTEGER times.
func micros(t time.Time) int64 { return t.UnixMicro() }

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

// sqliteError maps SQLite's constraint errors onto the store's sentinels.
func sqliteError(err error) error {
	if e, ok := errorsAs[*sqlite.Error](err); ok {
		switch e.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// inWriteTx runs fn in one write transaction and commits it, or rolls back on error.
func (s *sqliteStore) inWriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, rollback(tx))
	}
	return sqliteError(tx.Commit())
}

func rollback(tx *sql.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}

func (s *sqliteStore) StartRun(ctx context.Context, r NewRun) (Run, error) {
	if err := validateNewRun(r); err != nil {
		return Run{}, fmt.Errorf("start run: %w", err)
	}
	run := Run{Trigger: r.Trigger, Mode: r.Mode, Status: RunRunning, StartedAt: normalTime(s.now())}
	err := s.write.QueryRowContext(ctx,
		`INSERT INTO runs (trigger, mode, status, started_at) VALUES (?, ?, ?, ?) RETURNING id`,
		run.Trigger, run.Mode, run.Status, micros(run.StartedAt)).Scan(&run.ID)
	if err != nil {
		return Run{}, fmt.Errorf("start run: %w", sqliteError(err))
	}
	return run, nil
}

func (s *sqliteStore) SavePlan(ctx context.Context, runID int64, actions []Action) error {
	if err := validatePlan(actions); err != nil {
		return fmt.Errorf("save plan of run %d: %w", runID, err)
	}
	now := micros(normalTime(s.now()))
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		var status RunStatus
		var plannedAt sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT status, planned_at FROM runs WHERE id = ?`, runID).Scan(&status, &plannedAt)
		if err != nil {
			return sqliteError(err)
		}
		if err := checkPlannable(runID, status, plannedAt.Valid); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO actions
			(run_id, seq, kind, idp_id, salesforce_id, username, email, changes, reason, status, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, a := range actions {
			changes, err := marshalChanges(a.Changes)
			if err != nil {
				return fmt.Errorf("action %d: %w", i+1, err)
			}
			if _, err := stmt.ExecContext(ctx, runID, i+1, a.Kind, a.IdPID, a.SalesforceID, a.Username, a.Email,
				changes, a.Reason, a.Status, now); err != nil {
				return fmt.Errorf("action %d: %w", i+1, sqliteError(err))
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE runs SET planned_at = ? WHERE id = ?`, now, runID)
		return err
	})
	if err != nil {
		return fmt.Errorf("save plan of run %d: %w", runID, err)
	}
	return nil
}

func (s *sqliteStore) RecordResults(ctx context.Context, results []ActionResult) error {
	if err := validateResults(results); err != nil {
		return fmt.Errorf("record results: %w", err)
	}
	if len(results) == 0 {
		return nil
	}
	now := normalTime(s.now())
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		update, err := tx.PrepareContext(ctx, `UPDATE actions SET status = ?,
			result_salesforce_id = CASE WHEN ? <> '' THEN ? ELSE result_salesforce_id END,
			error_code = ?, error_message = ?, attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
			WHERE run_id = ? AND seq = ? AND `+resultable("status"))
		if err != nil {
			return err
		}
		defer update.Close()
		for _, r := range results {
			res, err := update.ExecContext(ctx, r.Status, r.SalesforceID, r.SalesforceID, r.ErrorCode, r.ErrorMessage,
				nullMicros(normalTime(r.NextAttemptAt)), micros(now), r.Action.RunID, r.Action.Seq)
			if err != nil {
				return sqliteError(err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				var status ActionStatus
				err := tx.QueryRowContext(ctx, `SELECT status FROM actions WHERE run_id = ? AND seq = ?`,
					r.Action.RunID, r.Action.Seq).Scan(&status)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				return noResultError(r.Action, status, err == nil)
			}
			if r.Link != nil {
				if _, err := upsertLinkSQLite(ctx, tx, *r.Link, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record results: %w", err)
	}
	return nil
}

func (s *sqliteStore) FinishRun(ctx context.Context, runID int64, f RunFinish) (Run, error) {
	if err := validateFinish(f); err != nil {
		return Run{}, fmt.Errorf("finish run %d: %w", runID, err)
	}
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		var status RunStatus
		if err := tx.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = ?`, runID).Scan(&status); err != nil {
			return sqliteError(err)
		}
		if status != RunRunning {
			return fmt.Errorf("%w: run %d is already %s", ErrConflict, runID, status)
		}
		_, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, error = ?, finished_at = ?,
			source_records = ?, rejected_records = ?, salesforce_users = ?, unmanaged_users = ?, disputed = ?
			WHERE id = ?`, f.Status, f.Error, micros(normalTime(s.now())),
			f.Stats.SourceRecords, f.Stats.RejectedRecords, f.Stats.SalesforceUsers, f.Stats.UnmanagedUsers,
			f.Stats.Disputed, runID)
		return err
	})
	if err != nil {
		return Run{}, fmt.Errorf("finish run %d: %w", runID, err)
	}
	return s.Run(ctx, runID)
}

func scanSQLiteRun(row interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var started, planned, finished sql.NullInt64
	err := row.Scan(&r.ID, &r.Trigger, &r.Mode, &r.Status, &r.Error, &started, &planned, &finished,
		&r.Stats.SourceRecords, &r.Stats.RejectedRecords, &r.Stats.SalesforceUsers, &r.Stats.UnmanagedUsers,
		&r.Stats.Disputed)
	r.StartedAt, r.PlannedAt, r.FinishedAt = fromMicros(started), fromMicros(planned), fromMicros(finished)
	return r, err
}

func (s *sqliteStore) Run(ctx context.Context, id int64) (Run, error) {
	runs, err := s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id)
	if err != nil {
		return Run{}, fmt.Errorf("read run %d: %w", id, err)
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("read run %d: %w", id, ErrNotFound)
	}
	return runs[0], nil
}

func (s *sqliteStore) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	runs, err := s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE ? = 0 OR id < ? ORDER BY id DESC LIMIT ?`,
		f.BeforeID, f.BeforeID, runLimit(f))
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

// queryRuns reads runs and fills in their action counts with one more query over
// the id range the runs span.
func (s *sqliteStore) queryRuns(ctx context.Context, query string, args ...any) ([]Run, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []Run
	for rows.Next() {
		r, err := scanSQLiteRun(rows)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, nil
	}
	lo, hi := runIDRange(runs)
	counts, err := s.read.QueryContext(ctx,
		`SELECT run_id, status, count(*) FROM actions WHERE run_id BETWEEN ? AND ? GROUP BY run_id, status`, lo, hi)
	if err != nil {
		return nil, err
	}
	defer counts.Close()
	return addCounts(runs, counts)
}

func (s *sqliteStore) Actions(ctx context.Context, f ActionFilter) ([]Action, error) {
	q, args, err := actionQuery(actionColumns, f, func(n int) string { return "?" + strconv.Itoa(n) })
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	defer rows.Close()
	var out []Action
	for rows.Next() {
		var a Action
		var changes []byte
		var next, updated, approval sql.NullInt64
		if err := rows.Scan(&a.RunID, &a.Seq, &a.Kind, &a.IdPID, &a.SalesforceID, &a.Username, &a.Email, &changes,
			&a.Reason, &a.Status, &a.ErrorCode, &a.ErrorMessage, &a.Attempts, &next, &updated, &approval); err != nil {
			return nil, fmt.Errorf("list actions: %w", err)
		}
		if a.Changes, err = unmarshalChanges(changes); err != nil {
			return nil, fmt.Errorf("list actions: action %d/%d: %w", a.RunID, a.Seq, err)
		}
		a.NextAttemptAt, a.UpdatedAt, a.ApprovalID = fromMicros(next), fromMicros(updated), approval.Int64
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	return out, nil
}

func (s *sqliteStore) Approve(ctx context.Context, runID int64, req ApprovalRequest) (Approval, error) {
	if err := validateApproval(req); err != nil {
		return Approval{}, fmt.Errorf("approve run %d: %w", runID, err)
	}
	ap := Approval{RunID: runID, By: req.By, Comment: req.Comment, At: normalTime(s.now())}
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id = ?`, runID).Scan(&exists); err != nil {
			return sqliteError(err)
		}
		if len(req.Seqs) == 0 {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM actions WHERE run_id = ? AND status = 'held'`,
				runID).Scan(&ap.Actions); err != nil {
				return err
			}
			if ap.Actions == 0 {
				var approvals int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM approvals WHERE run_id = ?`,
					runID).Scan(&approvals); err != nil {
					return err
				}
				return approvalError(approvals > 0)
			}
		}
		for _, seq := range req.Seqs {
			var status ActionStatus
			err := tx.QueryRowContext(ctx, `SELECT status FROM actions WHERE run_id = ? AND seq = ?`, runID, seq).Scan(&status)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err != nil || status != ActionHeld {
				return approveError(seq, status, err == nil)
			}
		}
		if len(req.Seqs) > 0 {
			ap.Actions = len(req.Seqs)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO approvals (run_id, approved_by, comment, approved_at, actions)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, runID, ap.By, ap.Comment, micros(ap.At), ap.Actions).Scan(&ap.ID); err != nil {
			return err
		}
		if len(req.Seqs) == 0 {
			_, err := tx.ExecContext(ctx, `UPDATE actions SET status = 'approved', approval_id = ?, updated_at = ?
				WHERE run_id = ? AND status = 'held'`, ap.ID, micros(ap.At), runID)
			return err
		}
		for _, seq := range req.Seqs {
			if _, err := tx.ExecContext(ctx, `UPDATE actions SET status = 'approved', approval_id = ?, updated_at = ?
				WHERE run_id = ? AND seq = ?`, ap.ID, micros(ap.At), runID, seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Approval{}, fmt.Errorf("approve run %d: %w", runID, err)
	}
	return ap, nil
}

func scanSQLiteLink(row interface{ Scan(...any) error }) (Link, error) {
	var l Link
	var created, updated sql.NullInt64
	err := row.Scan(&l.IdPID, &l.SalesforceID, &l.Origin, &created, &updated)
	l.CreatedAt, l.UpdatedAt = fromMicros(created), fromMicros(updated)
	return l, err
}

func (s *sqliteStore) Links(ctx context.Context) ([]Link, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+linkColumns+` FROM links ORDER BY idp_id`)
	if err != nil {
		return nil, fmt.Errorf("load links: %w", err)
	}
	defer rows.Close()
	var links []Link
	for rows.Next() {
		l, err := scanSQLiteLink(rows)
		if err != nil {
			return nil, fmt.Errorf("load links: %w", err)
		}
		links = append(links, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load links: %w", err)
	}
	return links, nil
}

func (s *sqliteStore) LinkByIdPID(ctx context.Context, idpID string) (Link, error) {
	l, err := scanSQLiteLink(s.read.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM links WHERE idp_id = ?`, idpID))
	if err != nil {
		return Link{}, fmt.Errorf("link of IdP id %q: %w", idpID, sqliteError(err))
	}
	return l, nil
}

func (s *sqliteStore) LinkBySalesforceID(ctx context.Context, salesforceID string) (Link, error) {
	l, err := scanSQLiteLink(s.read.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM links WHERE salesforce_id = ?`, salesforceID))
	if err != nil {
		return Link{}, fmt.Errorf("link of Salesforce Id %q: %w", salesforceID, sqliteError(err))
	}
	return l, nil
}

func upsertLinkSQLite(ctx context.Context, tx *sql.Tx, l Link, now time.Time) (Link, error) {
	row := tx.QueryRowContext(ctx, `INSERT INTO links (idp_id, salesforce_id, origin, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (idp_id) DO UPDATE SET salesforce_id = excluded.salesforce_id, origin = excluded.origin,
			updated_at = excluded.updated_at
		RETURNING `+linkColumns, l.IdPID, l.SalesforceID, l.Origin, micros(now), micros(now))
	stored, err := scanSQLiteLink(row)
	if err != nil {
		return Link{}, fmt.Errorf("link %q to %q: %w", l.IdPID, l.SalesforceID, sqliteError(err))
	}
	return stored, nil
}

func (s *sqliteStore) UpsertLink(ctx context.Context, l Link) (Link, error) {
	if err := validateLink(l); err != nil {
		return Link{}, fmt.Errorf("upsert link: %w", err)
	}
	var stored Link
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		stored, err = upsertLinkSQLite(ctx, tx, l, normalTime(s.now()))
		return err
	})
	if err != nil {
		return Link{}, fmt.Errorf("upsert link: %w", err)
	}
	return stored, nil
}

func (s *sqliteStore) DeleteLink(ctx context.Context, idpID string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM links WHERE idp_id = ?`, idpID)
	if err != nil {
		return fmt.Errorf("delete link of IdP id %q: %w", idpID, sqliteError(err))
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("delete link of IdP id %q: %w", idpID, ErrNotFound)
	}
	return nil
}

func (s *sqliteStore) SaveSnapshot(ctx context.Context, n NewSnapshot) (Snapshot, error) {
	if err := validateSnapshot(n); err != nil {
		return Snapshot{}, fmt.Errorf("save snapshot: %w", err)
	}
	snap := Snapshot{TakenAt: normalTime(s.now()), Count: n.Count, Digest: n.Digest, Complete: n.Complete}
	err := s.write.QueryRowContext(ctx, `INSERT INTO snapshots (taken_at, record_count, digest, complete)
		VALUES (?, ?, ?, ?) RETURNING id`, micros(snap.TakenAt), snap.Count, snap.Digest, snap.Complete).Scan(&snap.ID)
	if err != nil {
		return Snapshot{}, fmt.Errorf("save snapshot: %w", sqliteError(err))
	}
	return snap, nil
}

func (s *sqliteStore) LastGoodSnapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	var taken sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT id, taken_at, record_count, digest, complete FROM snapshots
		WHERE complete ORDER BY id DESC LIMIT 1`).Scan(&snap.ID, &taken, &snap.Count, &snap.Digest, &snap.Complete)
	if err != nil {
		return Snapshot{}, fmt.Errorf("last good snapshot: %w", sqliteError(err))
	}
	snap.TakenAt = fromMicros(taken)
	return snap, nil
}

func (s *sqliteStore) Prune(ctx context.Context, cutoff time.Time) (PruneResult, error) {
	c := micros(normalTime(cutoff))
	var res PruneResult
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		steps := []struct {
			n     *int
			query string
		}{
			{&res.Actions, `DELETE FROM actions WHERE run_id IN (SELECT id FROM runs WHERE started_at < ?)`},
			{&res.Runs, `DELETE FROM runs WHERE started_at < ?`},
			{&res.Snapshots, `DELETE FROM snapshots WHERE taken_at < ?
				AND id <> coalesce((SELECT max(id) FROM snapshots WHERE complete), 0)`},
		}
		for _, step := range steps {
			r, err := tx.ExecContext(ctx, step.query, c)
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
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

func (s *sqliteStore) TryLeaderLock(ctx context.Context) (Lease, error) {
	return tryFileLock(s.lockPath)
}

func (s *sqliteStore) RequestReconcile(ctx context.Context) error {
	s.requests.publish()
	return nil
}

func (s *sqliteStore) ReconcileRequests(ctx context.Context) <-chan struct{} {
	return s.requests.subscribe(ctx)
}

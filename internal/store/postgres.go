package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/syncd-io/syncd/migrations"
)

// postgresStore keeps syncd's state in PostgreSQL, shared by every replica. Besides
// the pool it opens two kinds of dedicated connections: one per leader lease, holding
// the session advisory lock, and one per ReconcileRequests subscription, LISTENing.
type postgresStore struct {
	pool          *pgxpool.Pool
	connConfig    *pgx.ConnConfig // for the dedicated connections
	now           func() time.Time
	checkInterval time.Duration

	closed    context.Context // done when Close is called
	close     context.CancelFunc
	listeners sync.WaitGroup
}

const (
	// leaderLockKey is the advisory lock key of syncd's leader lock ("syncd" in ASCII).
	leaderLockKey int64 = 0x73796e6364
	// reconcileChannel is the LISTEN/NOTIFY channel of reconcile requests.
	reconcileChannel = "syncd_reconcile"
)

func openPostgres(ctx context.Context, cfg Config) (*postgresStore, error) {
	poolConfig, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w: %w", ErrInvalid, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolConfig)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	err = prepareSchema(ctx, db, migrations.Postgres, cfg.AutoMigrate)
	db.Close()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	closed, closeFn := context.WithCancel(context.Background())
	return &postgresStore{
		pool:          pool,
		connConfig:    poolConfig.ConnConfig,
		now:           cfg.clock(),
		checkInterval: cfg.leaderCheckInterval(),
		closed:        closed,
		close:         closeFn,
	}, nil
}

// openPostgresSQL opens a database/sql handle for goose.
func openPostgresSQL(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return stdlib.OpenDB(*cfg), nil
}

func (s *postgresStore) Close() error {
	s.close()
	s.listeners.Wait()
	s.pool.Close()
	return nil
}

// postgresError maps PostgreSQL's errors onto the store's sentinels.
func postgresError(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if e, ok := errorsAs[*pgconn.PgError](err); ok {
		switch e.Code {
		case "23505", "23503": // unique_violation, foreign_key_violation
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
	}
	return err
}

func (s *postgresStore) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return postgresError(pgx.BeginFunc(ctx, s.pool, fn))
}

func nullTime(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

func fromNullTime(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func (s *postgresStore) StartRun(ctx context.Context, r NewRun) (Run, error) {
	if err := validateNewRun(r); err != nil {
		return Run{}, fmt.Errorf("start run: %w", err)
	}
	run := Run{Trigger: r.Trigger, Mode: r.Mode, Status: RunRunning, StartedAt: normalTime(s.now())}
	err := s.pool.QueryRow(ctx, `INSERT INTO runs (trigger, mode, status, started_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		run.Trigger, run.Mode, run.Status, run.StartedAt).Scan(&run.ID)
	if err != nil {
		return Run{}, fmt.Errorf("start run: %w", postgresError(err))
	}
	return run, nil
}

func (s *postgresStore) SavePlan(ctx context.Context, runID int64, actions []Action) error {
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
		rows[i] = []any{runID, int32(i + 1), string(a.Kind), a.IdPID, a.SalesforceID, a.Username, a.Email,
			changes, a.Reason, string(a.Status), now}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var status RunStatus
		var planned bool
		err := tx.QueryRow(ctx, `SELECT status, planned_at IS NOT NULL FROM runs WHERE id = $1 FOR UPDATE`, runID).
			Scan(&status, &planned)
		if err != nil {
			return err
		}
		if err := checkPlannable(runID, status, planned); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"actions"}, []string{"run_id", "seq", "kind", "idp_id",
			"salesforce_id", "username", "email", "changes", "reason", "status", "updated_at"},
			pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE runs SET planned_at = $1 WHERE id = $2`, now, runID)
		return err
	})
	if err != nil {
		return fmt.Errorf("save plan of run %d: %w", runID, err)
	}
	return nil
}

func (s *postgresStore) RecordResults(ctx context.Context, results []ActionResult) error {
	if err := validateResults(results); err != nil {
		return fmt.Errorf("record results: %w", err)
	}
	if len(results) == 0 {
		return nil
	}
	now := normalTime(s.now())
	n := len(results)
	var (
		runIDs                       = make([]int64, n)
		seqs                         = make([]int32, n)
		statuses, sfIDs, codes, msgs = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		next                         = make([]pgtype.Timestamptz, n)
		linkIdP, linkSF, linkOrigin  []string
	)
	for i, r := range results {
		runIDs[i], seqs[i] = r.Action.RunID, int32(r.Action.Seq)
		statuses[i], sfIDs[i], codes[i], msgs[i] = string(r.Status), r.SalesforceID, r.ErrorCode, r.ErrorMessage
		next[i] = nullTime(normalTime(r.NextAttemptAt))
		if r.Link != nil {
			linkIdP = append(linkIdP, r.Link.IdPID)
			linkSF = append(linkSF, r.Link.SalesforceID)
			linkOrigin = append(linkOrigin, string(r.Link.Origin))
		}
	}
	// One statement, so one round trip and its own transaction: the UPDATE and the
	// link upsert are data-modifying CTEs, and the final division fails the whole
	// statement (division_by_zero) unless every result found an action that could
	// take it. Which one did not is worked out afterwards, nothing having changed.
	_, err := s.pool.Exec(ctx, `WITH updated AS (
			UPDATE actions a SET status = r.status,
				result_salesforce_id = CASE WHEN r.sf_id <> '' THEN r.sf_id ELSE a.result_salesforce_id END,
				error_code = r.code, error_message = r.msg, attempts = a.attempts + 1,
				next_attempt_at = r.next, updated_at = $8
			FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
				AS r(run_id, seq, status, sf_id, code, msg, next)
			WHERE a.run_id = r.run_id AND a.seq = r.seq AND `+resultable("a.status")+`
			RETURNING 1
		), linked AS (
			INSERT INTO links (idp_id, salesforce_id, origin, created_at, updated_at)
			SELECT idp_id, sf_id, origin, $8, $8 FROM unnest($9::text[], $10::text[], $11::text[]) AS l(idp_id, sf_id, origin)
			ON CONFLICT (idp_id) DO UPDATE SET salesforce_id = excluded.salesforce_id, origin = excluded.origin,
				updated_at = excluded.updated_at
		)
		SELECT 1 / (SELECT CASE WHEN count(*) = $12 THEN 1 ELSE 0 END FROM updated)`,
		runIDs, seqs, statuses, sfIDs, codes, msgs, next, now, linkIdP, linkSF, linkOrigin, n)
	if e, ok := errorsAs[*pgconn.PgError](err); ok && e.Code == "22012" {
		err = s.explainNoResult(ctx, results)
	}
	if err != nil {
		return fmt.Errorf("record results: %w", postgresError(err))
	}
	return nil
}

// explainNoResult finds the first result whose action could not take it.
func (s *postgresStore) explainNoResult(ctx context.Context, results []ActionResult) error {
	for _, r := range results {
		var status ActionStatus
		err := s.pool.QueryRow(ctx, `SELECT status FROM actions WHERE run_id = $1 AND seq = $2`,
			r.Action.RunID, r.Action.Seq).Scan(&status)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		switch {
		case err != nil:
			return noResultError(r.Action, status, false)
		case status != ActionPlanned && status != ActionApproved && status != ActionFailed:
			return noResultError(r.Action, status, true)
		}
	}
	return fmt.Errorf("%w: the actions changed while their results were recorded", ErrConflict)
}

func (s *postgresStore) FinishRun(ctx context.Context, runID int64, f RunFinish) (Run, error) {
	if err := validateFinish(f); err != nil {
		return Run{}, fmt.Errorf("finish run %d: %w", runID, err)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var status RunStatus
		if err := tx.QueryRow(ctx, `SELECT status FROM runs WHERE id = $1 FOR UPDATE`, runID).Scan(&status); err != nil {
			return err
		}
		if status != RunRunning {
			return fmt.Errorf("%w: run %d is already %s", ErrConflict, runID, status)
		}
		_, err := tx.Exec(ctx, `UPDATE runs SET status = $1, error = $2, finished_at = $3,
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

func (s *postgresStore) Run(ctx context.Context, id int64) (Run, error) {
	runs, err := s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id)
	if err != nil {
		return Run{}, fmt.Errorf("read run %d: %w", id, err)
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("read run %d: %w", id, ErrNotFound)
	}
	return runs[0], nil
}

func (s *postgresStore) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	runs, err := s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs
		WHERE $1::bigint = 0 OR id < $1 ORDER BY id DESC LIMIT $2`, f.BeforeID, runLimit(f))
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

func (s *postgresStore) queryRuns(ctx context.Context, query string, args ...any) ([]Run, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var runs []Run
	var r Run
	var started, planned, finished pgtype.Timestamptz
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Trigger, &r.Mode, &r.Status, &r.Error, &started, &planned, &finished,
		&r.Stats.SourceRecords, &r.Stats.RejectedRecords, &r.Stats.SalesforceUsers, &r.Stats.UnmanagedUsers,
		&r.Stats.Disputed}, func() error {
		r.StartedAt, r.PlannedAt, r.FinishedAt = fromNullTime(started), fromNullTime(planned), fromNullTime(finished)
		runs = append(runs, r)
		return nil
	})
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	lo, hi := runIDRange(runs)
	counts, err := s.pool.Query(ctx,
		`SELECT run_id, status, count(*) FROM actions WHERE run_id BETWEEN $1 AND $2 GROUP BY run_id, status`, lo, hi)
	if err != nil {
		return nil, err
	}
	defer counts.Close()
	return addCounts(runs, counts)
}

func (s *postgresStore) Actions(ctx context.Context, f ActionFilter) ([]Action, error) {
	q, args, err := actionQuery(actionColumns, f, func(n int) string { return "$" + strconv.Itoa(n) })
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	var out []Action
	var a Action
	var changes []byte
	var next, updated pgtype.Timestamptz
	var approval pgtype.Int8
	_, err = pgx.ForEachRow(rows, []any{&a.RunID, &a.Seq, &a.Kind, &a.IdPID, &a.SalesforceID, &a.Username, &a.Email,
		&changes, &a.Reason, &a.Status, &a.ErrorCode, &a.ErrorMessage, &a.Attempts, &next, &updated, &approval},
		func() error {
			var err error
			if a.Changes, err = unmarshalChanges(changes); err != nil {
				return fmt.Errorf("action %d/%d: %w", a.RunID, a.Seq, err)
			}
			a.NextAttemptAt, a.UpdatedAt, a.ApprovalID = fromNullTime(next), fromNullTime(updated), approval.Int64
			out = append(out, a)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	return out, nil
}

func (s *postgresStore) Approve(ctx context.Context, runID int64, req ApprovalRequest) (Approval, error) {
	if err := validateApproval(req); err != nil {
		return Approval{}, fmt.Errorf("approve run %d: %w", runID, err)
	}
	ap := Approval{RunID: runID, By: req.By, Comment: req.Comment, At: normalTime(s.now())}
	seqs := make([]int32, len(req.Seqs))
	for i, seq := range req.Seqs {
		seqs[i] = int32(seq)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Locking the run serialises approvals of one run: the second sees the first's.
		var exists int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM runs WHERE id = $1 FOR UPDATE`, runID).Scan(&exists); err != nil {
			return err
		}
		if len(seqs) == 0 {
			var approvedBefore bool
			if err := tx.QueryRow(ctx, `SELECT
					(SELECT count(*) FROM actions WHERE run_id = $1 AND status = 'held'),
					EXISTS (SELECT 1 FROM approvals WHERE run_id = $1)`, runID).Scan(&ap.Actions, &approvedBefore); err != nil {
				return err
			}
			if ap.Actions == 0 {
				return approvalError(approvedBefore)
			}
		} else {
			rows, err := tx.Query(ctx, `SELECT seq, status FROM actions WHERE run_id = $1 AND seq = ANY($2)`, runID, seqs)
			if err != nil {
				return err
			}
			found := make(map[int]ActionStatus, len(seqs))
			var seq int
			var status ActionStatus
			if _, err := pgx.ForEachRow(rows, []any{&seq, &status}, func() error {
				found[seq] = status
				return nil
			}); err != nil {
				return err
			}
			for _, seq := range req.Seqs {
				status, ok := found[seq]
				if !ok || status != ActionHeld {
					return approveError(seq, status, ok)
				}
			}
			ap.Actions = len(seqs)
		}
		if err := tx.QueryRow(ctx, `INSERT INTO approvals (run_id, approved_by, comment, approved_at, actions)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, runID, ap.By, ap.Comment, ap.At, ap.Actions).Scan(&ap.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE actions SET status = 'approved', approval_id = $1, updated_at = $2
			WHERE run_id = $3 AND status = 'held' AND (cardinality($4::int[]) = 0 OR seq = ANY($4))`,
			ap.ID, ap.At, runID, seqs)
		return err
	})
	if err != nil {
		return Approval{}, fmt.Errorf("approve run %d: %w", runID, err)
	}
	return ap, nil
}

func scanPostgresLinks(rows pgx.Rows, capacity int) ([]Link, error) {
	links := make([]Link, 0, capacity)
	var l Link
	_, err := pgx.ForEachRow(rows, []any{&l.IdPID, &l.SalesforceID, &l.Origin, &l.CreatedAt, &l.UpdatedAt}, func() error {
		l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
		links = append(links, l)
		return nil
	})
	return links, err
}

func (s *postgresStore) Links(ctx context.Context) ([]Link, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+linkColumns+` FROM links ORDER BY idp_id`)
	if err != nil {
		return nil, fmt.Errorf("load links: %w", err)
	}
	links, err := scanPostgresLinks(rows, 0)
	if err != nil {
		return nil, fmt.Errorf("load links: %w", err)
	}
	if len(links) == 0 {
		return nil, nil
	}
	return links, nil
}

func (s *postgresStore) linkWhere(ctx context.Context, column, value string) (Link, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+linkColumns+` FROM links WHERE `+column+` = $1`, value)
	if err != nil {
		return Link{}, err
	}
	links, err := scanPostgresLinks(rows, 1)
	if err != nil {
		return Link{}, err
	}
	if len(links) == 0 {
		return Link{}, ErrNotFound
	}
	return links[0], nil
}

func (s *postgresStore) LinkByIdPID(ctx context.Context, idpID string) (Link, error) {
	l, err := s.linkWhere(ctx, "idp_id", idpID)
	if err != nil {
		return Link{}, fmt.Errorf("link of IdP id %q: %w", idpID, err)
	}
	return l, nil
}

func (s *postgresStore) LinkBySalesforceID(ctx context.Context, salesforceID string) (Link, error) {
	l, err := s.linkWhere(ctx, "salesforce_id", salesforceID)
	if err != nil {
		return Link{}, fmt.Errorf("link of Salesforce Id %q: %w", salesforceID, err)
	}
	return l, nil
}

func (s *postgresStore) UpsertLink(ctx context.Context, l Link) (Link, error) {
	if err := validateLink(l); err != nil {
		return Link{}, fmt.Errorf("upsert link: %w", err)
	}
	now := normalTime(s.now())
	rows, err := s.pool.Query(ctx, `INSERT INTO links (idp_id, salesforce_id, origin, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (idp_id) DO UPDATE SET salesforce_id = excluded.salesforce_id, origin = excluded.origin,
			updated_at = excluded.updated_at
		RETURNING `+linkColumns, l.IdPID, l.SalesforceID, l.Origin, now)
	if err != nil {
		return Link{}, fmt.Errorf("upsert link %q to %q: %w", l.IdPID, l.SalesforceID, postgresError(err))
	}
	links, err := scanPostgresLinks(rows, 1)
	if err != nil {
		return Link{}, fmt.Errorf("upsert link %q to %q: %w", l.IdPID, l.SalesforceID, postgresError(err))
	}
	return links[0], nil
}

func (s *postgresStore) DeleteLink(ctx context.Context, idpID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM links WHERE idp_id = $1`, idpID)
	if err != nil {
		return fmt.Errorf("delete link of IdP id %q: %w", idpID, postgresError(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete link of IdP id %q: %w", idpID, ErrNotFound)
	}
	return nil
}

func (s *postgresStore) SaveSnapshot(ctx context.Context, n NewSnapshot) (Snapshot, error) {
	if err := validateSnapshot(n); err != nil {
		return Snapshot{}, fmt.Errorf("save snapshot: %w", err)
	}
	snap := Snapshot{TakenAt: normalTime(s.now()), Count: n.Count, Digest: n.Digest, Complete: n.Complete}
	err := s.pool.QueryRow(ctx, `INSERT INTO snapshots (taken_at, record_count, digest, complete)
		VALUES ($1, $2, $3, $4) RETURNING id`, snap.TakenAt, snap.Count, snap.Digest, snap.Complete).Scan(&snap.ID)
	if err != nil {
		return Snapshot{}, fmt.Errorf("save snapshot: %w", postgresError(err))
	}
	return snap, nil
}

func (s *postgresStore) LastGoodSnapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	err := s.pool.QueryRow(ctx, `SELECT id, taken_at, record_count, digest, complete FROM snapshots
		WHERE complete ORDER BY id DESC LIMIT 1`).Scan(&snap.ID, &snap.TakenAt, &snap.Count, &snap.Digest, &snap.Complete)
	if err != nil {
		return Snapshot{}, fmt.Errorf("last good snapshot: %w", postgresError(err))
	}
	snap.TakenAt = snap.TakenAt.UTC()
	return snap, nil
}

func (s *postgresStore) Prune(ctx context.Context, cutoff time.Time) (PruneResult, error) {
	c := normalTime(cutoff)
	var res PruneResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
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
			tag, err := tx.Exec(ctx, step.query, c)
			if err != nil {
				return err
			}
			*step.n = int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return PruneResult{}, fmt.Errorf("prune before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	return res, nil
}

func (s *postgresStore) RequestReconcile(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, '')`, reconcileChannel); err != nil {
		return fmt.Errorf("request reconcile: %w", err)
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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
	*sqlStore
	write    *sql.DB
	read     *sql.DB
	lockPath string
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
		_ = write.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", dsn.path, err)
	}
	if err := prepareSchema(ctx, write, migrations.SQLite, cfg.AutoMigrate); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", dsn.path, err)
	}
	read, err := sql.Open("sqlite", dsn.reader())
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", dsn.path, err)
	}
	read.SetMaxOpenConns(4)
	return &sqliteStore{
		sqlStore: &sqlStore{d: sqliteDialect{write: write, read: read}, now: cfg.clock()},
		write:    write,
		read:     read,
		lockPath: dsn.lockPath(),
		requests: newRequestHub(),
	}, nil
}

func (s *sqliteStore) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// TryLeaderLock takes the file lock, then starts a new epoch in a write
// transaction, which SQLite runs after any other write in flight.
func (s *sqliteStore) TryLeaderLock(ctx context.Context) (Lease, error) {
	l, err := tryFileLock(s.lockPath)
	if err != nil {
		return nil, err
	}
	err = s.d.inTx(ctx, func(tx db) error {
		var err error
		l.epoch, err = s.lead(ctx, tx)
		return err
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("leader lock: %w", err), l.Release(ctx))
	}
	return l, nil
}

func (s *sqliteStore) RequestReconcile(ctx context.Context) error {
	s.requests.publish()
	return nil
}

func (s *sqliteStore) ReconcileRequests(ctx context.Context) <-chan struct{} {
	return s.requests.subscribe(ctx)
}

// sqliteDialect runs the shared SQL on the write connection and the read pool.
type sqliteDialect struct{ write, read *sql.DB }

func (d sqliteDialect) reader() db { return sqliteDB{d.read} }

func (d sqliteDialect) inTx(ctx context.Context, fn func(tx db) error) error {
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return sqliteError(err)
	}
	if err := fn(sqliteDB{tx}); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	return sqliteError(tx.Commit())
}

func (sqliteDialect) insertRows(ctx context.Context, tx db, table string, columns []string, rows [][]any) error {
	stmts := make([]statement, len(rows))
	q := `INSERT INTO ` + table + ` (` + strings.Join(columns, ", ") + `) VALUES (` +
		placeholders(1, len(columns)) + `)`
	for i, r := range rows {
		stmts[i] = statement{q, r}
	}
	return tx.execAll(ctx, stmts)
}

func (sqliteDialect) lock(string) string { return "" }

// sqliteQuerier is what a database/sql handle and transaction both offer.
type sqliteQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// sqliteDB adapts database/sql on SQLite to db. SQLite reads ?n as PostgreSQL
// reads $n; times are INTEGER microseconds since the Unix epoch, NULL for zero.
type sqliteDB struct{ q sqliteQuerier }

func sqliteQuery(q string) string { return strings.ReplaceAll(q, "$", "?") }

func sqliteArgs(args []any) []any {
	for i, a := range args {
		if t, ok := a.(time.Time); ok {
			if t.IsZero() {
				args[i] = nil
			} else {
				args[i] = t.UnixMicro()
			}
		}
	}
	return args
}

func (d sqliteDB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := d.q.ExecContext(ctx, sqliteQuery(query), sqliteArgs(args)...)
	if err != nil {
		return 0, sqliteError(err)
	}
	return res.RowsAffected()
}

type sqliteRows struct{ *sql.Rows }

func (r sqliteRows) Close() { _ = r.Rows.Close() }

func (d sqliteDB) query(ctx context.Context, query string, args ...any) (rows, error) {
	rs, err := d.q.QueryContext(ctx, sqliteQuery(query), sqliteArgs(args)...)
	if err != nil {
		return nil, sqliteError(err)
	}
	return sqliteRows{rs}, nil
}

func (d sqliteDB) queryRow(ctx context.Context, query string, args ...any) row {
	return mappedRow{d.q.QueryRowContext(ctx, sqliteQuery(query), sqliteArgs(args)...), sqliteError}
}

// execAll prepares each distinct statement once and runs them in order.
func (d sqliteDB) execAll(ctx context.Context, stmts []statement) error {
	return d.each(ctx, stmts, func(_ int, p *sql.Stmt, args []any) error {
		_, err := p.ExecContext(ctx, args...)
		return sqliteError(err)
	})
}

// queryEach prepares each distinct query once and runs them in order.
func (d sqliteDB) queryEach(ctx context.Context, stmts []statement, scan func(i int, r row) error) error {
	return d.each(ctx, stmts, func(i int, p *sql.Stmt, args []any) error {
		return scan(i, mappedRow{p.QueryRowContext(ctx, args...), sqliteError})
	})
}

// each runs fn on every statement, prepared once per distinct query.
func (d sqliteDB) each(ctx context.Context, stmts []statement, fn func(i int, p *sql.Stmt, args []any) error) error {
	prepared := map[string]*sql.Stmt{}
	defer func() {
		for _, p := range prepared {
			_ = p.Close()
		}
	}()
	for i, s := range stmts {
		p, ok := prepared[s.query]
		if !ok {
			var err error
			if p, err = d.q.PrepareContext(ctx, sqliteQuery(s.query)); err != nil {
				return sqliteError(err)
			}
			prepared[s.query] = p
		}
		if err := fn(i, p, sqliteArgs(s.args)); err != nil {
			return err
		}
	}
	return nil
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

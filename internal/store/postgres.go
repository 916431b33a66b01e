package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/syncd-io/syncd/migrations"
)

// postgresStore keeps syncd's state in PostgreSQL, shared by every replica. Besides
// the pool it opens two kinds of dedicated connections: one per leader lease, holding
// the session advisory lock, and one per ReconcileRequests subscription, LISTENing.
type postgresStore struct {
	*sqlStore
	pool          *pgxpool.Pool
	connConfig    *pgx.ConnConfig // for the dedicated connections
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
	_ = db.Close() // closes only the wrapper; the pool stays open
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	closed, closeFn := context.WithCancel(context.Background())
	return &postgresStore{
		sqlStore:      &sqlStore{d: postgresDialect{pool}, now: cfg.clock()},
		pool:          pool,
		connConfig:    poolConfig.ConnConfig,
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

func (s *postgresStore) RequestReconcile(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, '')`, reconcileChannel); err != nil {
		return fmt.Errorf("request reconcile: %w", err)
	}
	return nil
}

// postgresDialect runs the shared SQL on the pool.
type postgresDialect struct{ pool *pgxpool.Pool }

func (d postgresDialect) reader() db { return pgDB{d.pool} }

func (d postgresDialect) inTx(ctx context.Context, fn func(tx db) error) error {
	return postgresError(pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return fn(pgDB{tx}) }))
}

// insertRows copies rows in (a plan, a mirror): COPY is several times faster than
// inserting 100k rows one statement at a time.
func (postgresDialect) insertRows(ctx context.Context, tx db, table string, columns []string, rows [][]any) error {
	_, err := tx.(pgDB).q.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
	return postgresError(err)
}

func (postgresDialect) lock(mode string) string { return " FOR " + mode }

// pgQuerier is what a pgx pool, connection and transaction all offer.
type pgQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// pgDB adapts pgx to db.
type pgDB struct{ q pgQuerier }

// pgArgs passes a zero time as NULL, what the store means by it.
func pgArgs(args []any) []any {
	for i, a := range args {
		if t, ok := a.(time.Time); ok && t.IsZero() {
			args[i] = nil
		}
	}
	return args
}

func (p pgDB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, query, pgArgs(args)...)
	return tag.RowsAffected(), postgresError(err)
}

func (p pgDB) query(ctx context.Context, query string, args ...any) (rows, error) {
	rs, err := p.q.Query(ctx, query, pgArgs(args)...)
	if err != nil {
		return nil, postgresError(err)
	}
	return rs, nil
}

func (p pgDB) queryRow(ctx context.Context, query string, args ...any) row {
	return mappedRow{p.q.QueryRow(ctx, query, pgArgs(args)...), postgresError}
}

// execAll sends the statements as one pipelined batch: one round trip.
func (p pgDB) execAll(ctx context.Context, stmts []statement) error {
	var b pgx.Batch
	for _, s := range stmts {
		b.Queue(s.query, pgArgs(s.args)...)
	}
	return postgresError(p.q.SendBatch(ctx, &b).Close())
}

// queryEach sends the queries as one pipelined batch: one round trip.
func (p pgDB) queryEach(ctx context.Context, stmts []statement, scan func(i int, r row) error) error {
	var b pgx.Batch
	for _, s := range stmts {
		b.Queue(s.query, pgArgs(s.args)...)
	}
	br := p.q.SendBatch(ctx, &b)
	for i := range stmts {
		if err := scan(i, mappedRow{br.QueryRow(), postgresError}); err != nil {
			return errors.Join(err, br.Close())
		}
	}
	return postgresError(br.Close())
}

// postgresError maps PostgreSQL's errors onto the store's sentinels.
func postgresError(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return err // mapped already, inside a transaction
	}
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

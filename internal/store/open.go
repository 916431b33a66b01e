package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/syncd-io/syncd/migrations"
)

// Driver names accepted in Config.Driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Config says which database to open and how.
type Config struct {
	// Driver is DriverSQLite or DriverPostgres.
	Driver string
	// DSN is a file path or file: URI for SQLite, a PostgreSQL URL or keyword/value
	// string for PostgreSQL.
	DSN string
	// AutoMigrate applies pending migrations on Open. Without it Open refuses a
	// database whose schema is behind, with ErrSchemaOutdated.
	AutoMigrate bool
	// Now is the clock every recorded time comes from; nil means time.Now.
	Now func() time.Time
	// LeaderCheckInterval is how often a held PostgreSQL leader lock's connection is
	// checked; a lease is reported lost at most about this long after its
	// connection dies. Zero means one second.
	LeaderCheckInterval time.Duration
}

func (c Config) clock() func() time.Time {
	if c.Now == nil {
		return time.Now
	}
	return c.Now
}

func (c Config) leaderCheckInterval() time.Duration {
	if c.LeaderCheckInterval <= 0 {
		return time.Second
	}
	return c.LeaderCheckInterval
}

// Open connects to the configured database, applies migrations when
// cfg.AutoMigrate is set, and checks that the schema is current.
func Open(ctx context.Context, cfg Config) (Store, error) {
	switch cfg.Driver {
	case DriverSQLite:
		return openSQLite(ctx, cfg)
	case DriverPostgres:
		return openPostgres(ctx, cfg)
	default:
		return nil, fmt.Errorf("open store: %w: driver %q (want %q or %q)", ErrInvalid, cfg.Driver, DriverSQLite, DriverPostgres)
	}
}

// MigrationReport says what Migrate did.
type MigrationReport struct {
	// Applied lists the versions applied by this call, oldest first; empty when the
	// schema was already current.
	Applied []int64
	// Version is the schema version after the call.
	Version int64
}

// Migrate applies the pending migrations of cfg's database, each in its own
// transaction and recorded in goose's version table, and reports what it did. It is
// what `syncd migrate` runs. On PostgreSQL concurrent callers are serialised by an
// advisory lock, so replicas starting together migrate once.
func Migrate(ctx context.Context, cfg Config) (MigrationReport, error) {
	switch cfg.Driver {
	case DriverSQLite:
		dsn, err := parseSQLiteDSN(cfg.DSN)
		if err != nil {
			return MigrationReport{}, fmt.Errorf("migrate: %w", err)
		}
		db, err := sql.Open("sqlite", dsn.writer())
		if err != nil {
			return MigrationReport{}, fmt.Errorf("migrate: open sqlite: %w", err)
		}
		defer db.Close()
		return migrate(ctx, db, migrations.SQLite)
	case DriverPostgres:
		db, err := openPostgresSQL(cfg.DSN)
		if err != nil {
			return MigrationReport{}, fmt.Errorf("migrate: %w", err)
		}
		defer db.Close()
		return migrate(ctx, db, migrations.Postgres)
	default:
		return MigrationReport{}, fmt.Errorf("migrate: %w: driver %q (want %q or %q)", ErrInvalid, cfg.Driver, DriverSQLite, DriverPostgres)
	}
}

func newMigrator(db *sql.DB, d migrations.Dialect) (*goose.Provider, error) {
	fsys, err := migrations.FS(d)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(slog.New(slog.DiscardHandler)),
	}
	gooseDialect := goose.DialectSQLite3
	if d == migrations.Postgres {
		gooseDialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gooseDialect, db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("load %s migrations: %w", d, err)
	}
	return p, nil
}

func migrate(ctx context.Context, db *sql.DB, d migrations.Dialect) (MigrationReport, error) {
	p, err := newMigrator(db, d)
	if err != nil {
		return MigrationReport{}, fmt.Errorf("migrate: %w", err)
	}
	results, err := p.Up(ctx)
	var report MigrationReport
	for _, r := range results {
		if r.Error == nil {
			report.Applied = append(report.Applied, r.Source.Version)
		}
	}
	if err != nil {
		return report, fmt.Errorf("migrate %s: %w", d, err)
	}
	report.Version, err = p.GetDBVersion(ctx)
	if err != nil {
		return report, fmt.Errorf("migrate %s: read schema version: %w", d, err)
	}
	return report, nil
}

// prepareSchema migrates (when asked) or checks that nothing is pending.
func prepareSchema(ctx context.Context, db *sql.DB, d migrations.Dialect, auto bool) error {
	if auto {
		_, err := migrate(ctx, db, d)
		return err
	}
	p, err := newMigrator(db, d)
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("check schema version: %w", err)
	}
	if pending {
		return ErrSchemaOutdated
	}
	return nil
}

// errorsAs is errors.As with a generic target, to keep the error mapping short.
func errorsAs[T error](err error) (T, bool) {
	var target T
	ok := errors.As(err, &target)
	return target, ok
}

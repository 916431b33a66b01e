package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/syncd-io/syncd/internal/store"
	"github.com/syncd-io/syncd/internal/store/pgtest"
	"github.com/syncd-io/syncd/internal/store/storetest"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, &pg)) }

func sqliteConfig(t testing.TB) store.Config {
	return store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(t.TempDir(), "syncd.db")}
}

func postgresConfig(t testing.TB) store.Config {
	return store.Config{Driver: store.DriverPostgres, DSN: pg.NewDatabase(t)}
}

func TestSQLiteConformance(t *testing.T) {
	storetest.RunConformance(t, storetest.Harness{
		NewDatabase: func(t *testing.T) store.Config { return sqliteConfig(t) },
	})
}

func TestPostgresConformance(t *testing.T) {
	storetest.RunConformance(t, storetest.Harness{
		NewDatabase:          func(t *testing.T) store.Config { return postgresConfig(t) },
		KillLeaderConnection: terminateAdvisoryLockHolder,
		SharedRequests:       true,
	})
}

// terminateAdvisoryLockHolder ends, from another connection, every session holding
// an advisory lock in cfg's database.
func terminateAdvisoryLockHolder(t *testing.T, cfg store.Config) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cfg.DSN)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminate the lock holder: %d sessions, %v", n, err)
	}
}

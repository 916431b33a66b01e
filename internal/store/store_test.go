package store_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd-io/syncd/internal/store"
	"github.com/syncd-io/syncd/internal/store/pgtest"
	"github.com/syncd-io/syncd/internal/store/storetest"
)

var pg *pgtest.Server

func TestMain(m *testing.M) {
	if dsn := os.Getenv(envHoldLock); dsn != "" {
		holdLockAndWait(dsn)
	}
	os.Exit(pgtest.Run(m, &pg))
}

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

func openStore(t testing.TB, cfg store.Config) store.Store {
	t.Helper()
	cfg.AutoMigrate = true
	s, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openLeader opens a store and takes its leader lock until cleanup, for writing runs.
func openLeader(t testing.TB, cfg store.Config) (store.Store, int64) {
	t.Helper()
	s := openStore(t, cfg)
	lease, err := s.TryLeaderLock(context.Background())
	if err != nil {
		t.Fatalf("take the leader lock: %v", err)
	}
	t.Cleanup(func() { lease.Release(context.Background()) })
	return s, lease.Epoch()
}

// TestPostgresLeaseSurvivesSessionTimeouts takes the leader lock on a database whose
// sessions end after 50 ms idle, as managed PostgreSQL services configure: the lock
// connection turns the timeout off for itself, so a holder whose watchdog checks far
// less often than that keeps the lock. Without it, the session ends at the first
// idle gap and the lease is lost at the next check.
func TestPostgresLeaseSurvivesSessionTimeouts(t *testing.T) {
	ctx := context.Background()
	cfg := postgresConfig(t)
	cfg.LeaderCheckInterval = 200 * time.Millisecond
	s := openStore(t, cfg)

	admin, err := pgx.Connect(ctx, cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var db string
	if err := admin.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	for _, setting := range []string{"idle_session_timeout", "idle_in_transaction_session_timeout", "statement_timeout"} {
		if _, err := admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{db}.Sanitize()+` SET `+setting+` = '50ms'`); err != nil {
			t.Fatal(err)
		}
	}
	lease, err := s.TryLeaderLock(ctx)
	if err != nil {
		t.Fatalf("take the lock: %v", err)
	}
	defer lease.Release(ctx)
	// Five watchdog checks, each after an idle gap four times the timeout. Waiting
	// longer can only make a lost session more visible, never hide one.
	time.Sleep(5 * cfg.LeaderCheckInterval)
	select {
	case <-lease.Lost():
		t.Fatal("lease lost: the server ended the idle lock session")
	default:
	}
	var held int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	if held != 1 {
		t.Errorf("advisory locks held: %d, want 1", held)
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  store.Config
	}{
		{"unknown driver", store.Config{Driver: "mysql", DSN: "x"}},
		{"in-memory sqlite", store.Config{Driver: store.DriverSQLite, DSN: ":memory:"}},
		{"empty sqlite DSN", store.Config{Driver: store.DriverSQLite}},
		{"unparsable postgres DSN", store.Config{Driver: store.DriverPostgres, DSN: "postgres://%zz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := store.Open(ctx, tc.cfg); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("Open: got %v, want ErrInvalid", err)
			}
			if _, err := store.Migrate(ctx, tc.cfg); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("Migrate: got %v, want ErrInvalid", err)
			}
		})
	}
}

func TestSQLiteUsesWAL(t *testing.T) {
	cfg := sqliteConfig(t)
	openStore(t, cfg)
	db, err := sql.Open("sqlite", cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
}

// envHoldLock makes the test binary a helper process that takes the SQLite leader
// lock of the database it names, says so, and waits to be killed.
const envHoldLock = "SYNCD_STORE_TEST_HOLD_LOCK"

func holdLockAndWait(dsn string) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{Driver: store.DriverSQLite, DSN: dsn})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	if _, err := s.TryLeaderLock(ctx); err != nil {
		fmt.Println("lock:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	select {}
}

// TestSQLiteLeaderLockFreedWhenHolderDies kills a process holding the lock with
// SIGKILL: the kernel frees the lock and another instance takes it at once.
func TestSQLiteLeaderLockFreedWhenHolderDies(t *testing.T) {
	ctx := context.Background()
	cfg := sqliteConfig(t)
	s := openStore(t, cfg)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHoldLock+"="+cfg.DSN)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	if _, err := s.TryLeaderLock(ctx); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("lock while the helper holds it: %v, want ErrLocked", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	lease, err := s.TryLeaderLock(ctx)
	if err != nil {
		t.Fatalf("lock after the holder died: %v", err)
	}
	lease.Release(ctx)
}

// TestPostgresReconcileRequestsSurviveReconnect kills the listening connection: the
// subscriber reconnects, reports the gap as a request, and hears later requests.
func TestPostgresReconcileRequestsSurviveReconnect(t *testing.T) {
	cfg := postgresConfig(t)
	a, b := openStore(t, cfg), openStore(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	requests := a.ReconcileRequests(ctx)

	conn, err := pgx.Connect(ctx, cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminate the listener: %d sessions, %v", n, err)
	}
	receive := func(what string) {
		t.Helper()
		select {
		case <-requests:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: nothing within 10s", what)
		}
	}
	receive("request standing in for those missed while reconnecting")
	// The listener is back once a request from elsewhere arrives; requests are
	// coalesced, so keep asking until one does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := b.RequestReconcile(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-requests:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no request heard after reconnecting")
		}
	}
}

// TestPostgresReplicasMigrateOnce starts migrations from several replicas at once:
// goose's advisory lock lets one apply them; the others find nothing to do.
func TestPostgresReplicasMigrateOnce(t *testing.T) {
	cfg := postgresConfig(t)
	const replicas = 3
	reports := make(chan store.MigrationReport, replicas)
	errs := make(chan error, replicas)
	for range replicas {
		go func() {
			r, err := store.Migrate(context.Background(), cfg)
			reports <- r
			errs <- err
		}()
	}
	appliers := 0
	for range replicas {
		if err := <-errs; err != nil {
			t.Fatalf("migrate: %v", err)
		}
		r := <-reports
		if len(r.Applied) > 0 {
			appliers++
		}
		if r.Version == 0 {
			t.Errorf("a replica reports schema version 0")
		}
	}
	if appliers != 1 {
		t.Errorf("%d replicas applied migrations, want exactly one", appliers)
	}
}

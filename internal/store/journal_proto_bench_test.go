package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd-io/syncd/internal/store"
)

// BenchmarkAttemptJournal100k evaluates a design the store does not use: recording
// results as rows appended to a narrow table action_attempts instead of updating
// the journal's actions rows. It writes the same 100k results as
// BenchmarkRecordResults100k (500 transactions of 200, one in ten a failure)
// against the store's own schema plus that table, in several variants, so that the
// cost of the append itself and of the check RecordResults' contract needs (every
// action exists and may take a result) can be told apart. The figures and the
// conclusion, that the design does not bring recording well under one second on
// either backend, are in docs/benchmarks-store.md.
func BenchmarkAttemptJournal100k(b *testing.B) {
	for _, v := range []struct {
		name   string
		config func(testing.TB) store.Config
		ddl    string
		batch  func(ctx context.Context, b *testing.B, db journalDB, runID int64, batch []attemptRow)
	}{
		{"postgres/copy-only", postgresConfig, attemptsDDLPostgres, copyAttempts},
		{"postgres/copy-validated", postgresConfig, attemptsDDLPostgres, copyValidatedAttempts},
		{"postgres/insert-select-validated", postgresConfig, attemptsDDLPostgres, insertSelectAttempts},
		{"sqlite/insert-only", sqliteConfig, attemptsDDLSQLite, sqliteInsertAttempts(false)},
		{"sqlite/insert-range-validated", sqliteConfig, attemptsDDLSQLite, sqliteInsertAttempts(true)},
		{"sqlite/insert-select-validated", sqliteConfig, attemptsDDLSQLite, sqliteInsertSelectAttempts},
	} {
		b.Run(v.name, func(b *testing.B) {
			ctx := context.Background()
			cfg := v.config(b)
			s := openStore(b, cfg)
			db := openJournalDB(ctx, b, cfg)
			db.exec(ctx, b, v.ddl)
			plan := benchPlan()
			b.ReportAllocs()
			var cpu cpuClock
			ops := 0
			for b.Loop() {
				b.StopTimer()
				run, err := s.StartRun(ctx, store.NewRun{Trigger: "bench", Mode: "sync"})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.SavePlan(ctx, run.ID, plan); err != nil {
					b.Fatal(err)
				}
				batches := attemptBatches()
				cpu.startTimer(b)
				for _, batch := range batches {
					v.batch(ctx, b, db, run.ID, batch)
				}
				cpu.stopTimer(b)
				b.StartTimer()
				ops++
			}
			cpu.report(b, ops)
		})
	}
}

// attemptsDDLPostgres and attemptsDDLSQLite are the table as proposed: one row per
// attempt, keyed by action and attempt number. No foreign key to actions: the
// validating variants check existence themselves, as RecordResults would.
const (
	attemptsDDLPostgres = `CREATE TABLE action_attempts (run_id BIGINT NOT NULL, seq INTEGER NOT NULL,
		attempt INTEGER NOT NULL, status TEXT NOT NULL, salesforce_id TEXT NOT NULL DEFAULT '',
		error_code TEXT NOT NULL DEFAULT '', error_message TEXT NOT NULL DEFAULT '', next_attempt_at TIMESTAMPTZ,
		recorded_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (run_id, seq, attempt))`
	attemptsDDLSQLite = `CREATE TABLE action_attempts (run_id INTEGER NOT NULL, seq INTEGER NOT NULL,
		attempt INTEGER NOT NULL, status TEXT NOT NULL, salesforce_id TEXT NOT NULL DEFAULT '',
		error_code TEXT NOT NULL DEFAULT '', error_message TEXT NOT NULL DEFAULT '', next_attempt_at INTEGER,
		recorded_at INTEGER NOT NULL, PRIMARY KEY (run_id, seq, attempt)) WITHOUT ROWID`
)

var attemptColumns = []string{"run_id", "seq", "attempt", "status", "salesforce_id", "error_code", "error_message",
	"next_attempt_at", "recorded_at"}

// attemptRow is one result as the attempt table takes it.
type attemptRow struct {
	seq             int
	status, sfID    string
	errCode, errMsg string
}

// attemptBatches builds the results BenchmarkRecordResults100k records.
func attemptBatches() [][]attemptRow {
	batches := make([][]attemptRow, 0, benchUsers/200)
	for start := 0; start < benchUsers; start += 200 {
		batch := make([]attemptRow, 200)
		for i := range batch {
			seq := start + i + 1
			batch[i] = attemptRow{seq: seq, status: "applied", sfID: fmt.Sprintf("005%015d", seq)}
			if seq%10 == 0 {
				batch[i].status, batch[i].errCode, batch[i].errMsg = "failed", "DUPLICATE_USERNAME",
					"Duplicate Username.<br>The username already exists in this or another Salesforce organization."
			}
		}
		batches = append(batches, batch)
	}
	return batches
}

// journalDB is a direct connection to the store's database, one of the two set.
type journalDB struct {
	pg     *pgx.Conn
	sqlite *sql.DB
}

func openJournalDB(ctx context.Context, b *testing.B, cfg store.Config) journalDB {
	if cfg.Driver == store.DriverPostgres {
		conn, err := pgx.Connect(ctx, cfg.DSN)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close(ctx) })
		return journalDB{pg: conn}
	}
	// As the store's writer: WAL, synchronous=NORMAL, BEGIN IMMEDIATE.
	db, err := sql.Open("sqlite", "file:"+cfg.DSN+
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	return journalDB{sqlite: db}
}

func (db journalDB) exec(ctx context.Context, b *testing.B, ddl string) {
	var err error
	if db.pg != nil {
		_, err = db.pg.Exec(ctx, ddl)
	} else {
		_, err = db.sqlite.ExecContext(ctx, ddl)
	}
	if err != nil {
		b.Fatal(err)
	}
}

func copyRows(runID int64, batch []attemptRow, attempts map[int]int, now time.Time) [][]any {
	rows := make([][]any, len(batch))
	for i, r := range batch {
		rows[i] = []any{runID, int32(r.seq), int32(attempts[r.seq] + 1), r.status, r.sfID, r.errCode, r.errMsg, nil, now}
	}
	return rows
}

// copyAttempts is the floor of the design on PostgreSQL: COPY of the batch, nothing checked.
func copyAttempts(ctx context.Context, b *testing.B, db journalDB, runID int64, batch []attemptRow) {
	if _, err := db.pg.CopyFrom(ctx, pgx.Identifier{"action_attempts"}, attemptColumns,
		pgx.CopyFromRows(copyRows(runID, batch, nil, time.Now()))); err != nil {
		b.Fatal(err)
	}
}

// copyValidatedAttempts is the design as proposed: in one transaction, one indexed
// SELECT of the batch's actions and their latest attempts (locking the actions),
// then COPY of the batch with the next attempt numbers.
func copyValidatedAttempts(ctx context.Context, b *testing.B, db journalDB, runID int64, batch []attemptRow) {
	seqs := make([]int32, len(batch))
	for i, r := range batch {
		seqs[i] = int32(r.seq)
	}
	err := pgx.BeginFunc(ctx, db.pg, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT a.seq, coalesce(t.status, a.status), coalesce(t.attempt, 0) FROM actions a
			LEFT JOIN LATERAL (SELECT attempt, status FROM action_attempts t WHERE t.run_id = a.run_id AND t.seq = a.seq
				ORDER BY attempt DESC LIMIT 1) t ON true
			WHERE a.run_id = $1 AND a.seq = ANY($2) FOR UPDATE OF a`, runID, seqs)
		if err != nil {
			return err
		}
		attempts := make(map[int]int, len(batch))
		var seq, attempt int
		var status string
		if _, err := pgx.ForEachRow(rows, []any{&seq, &status, &attempt}, func() error {
			if status != "planned" && status != "approved" && status != "failed" {
				return fmt.Errorf("action %d is %s", seq, status)
			}
			attempts[seq] = attempt
			return nil
		}); err != nil {
			return err
		}
		if len(attempts) != len(batch) {
			return fmt.Errorf("%d of %d actions found", len(attempts), len(batch))
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"action_attempts"}, attemptColumns,
			pgx.CopyFromRows(copyRows(runID, batch, attempts, time.Now())))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

// insertSelectAttempts checks and appends in one statement, as RecordResults
// updates today: INSERT … SELECT from the unnested batch joined to the actions and
// their latest attempts, failing unless every result found an action that may take it.
func insertSelectAttempts(ctx context.Context, b *testing.B, db journalDB, runID int64, batch []attemptRow) {
	n := len(batch)
	seqs := make([]int32, n)
	status, sfID, code, msg := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range batch {
		seqs[i], status[i], sfID[i], code[i], msg[i] = int32(r.seq), r.status, r.sfID, r.errCode, r.errMsg
	}
	_, err := db.pg.Exec(ctx, `WITH ins AS (
			INSERT INTO action_attempts (run_id, seq, attempt, status, salesforce_id, error_code, error_message, recorded_at)
			SELECT a.run_id, a.seq, coalesce(t.attempt, 0) + 1, r.status, r.sf, r.code, r.msg, $7
			FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[]) AS r(seq, status, sf, code, msg)
			JOIN actions a ON a.run_id = $1 AND a.seq = r.seq
			LEFT JOIN LATERAL (SELECT attempt, status FROM action_attempts t WHERE t.run_id = a.run_id AND t.seq = a.seq
				ORDER BY attempt DESC LIMIT 1) t ON true
			WHERE coalesce(t.status, a.status) IN ('planned', 'approved', 'failed')
			RETURNING 1)
		SELECT 1 / (SELECT CASE WHEN count(*) = $8 THEN 1 ELSE 0 END FROM ins)`,
		runID, seqs, status, sfID, code, msg, time.Now(), n)
	if err != nil {
		b.Fatal(err)
	}
}

// sqliteInsertAttempts appends with one prepared INSERT per row: unchecked (the
// floor of the design on SQLite), or after reading the batch's actions and attempts
// with two range scans, the cheapest check found (it assumes the batch's sequence
// numbers are contiguous, as in this benchmark).
func sqliteInsertAttempts(validate bool) func(ctx context.Context, b *testing.B, db journalDB, runID int64, batch []attemptRow) {
	return func(ctx context.Context, b *testing.B, db journalDB, runID int64, batch []attemptRow) {
		tx, err := db.sqlite.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer tx.Rollback()
		attempts := make(map[int]int, len(batch))
		if validate {
			lo, hi := batch[0].seq, batch[len(batch)-1].seq
			latest := make(map[int]string, len(batch))
			for _, q := range []string{
				`SELECT seq, status, 0 FROM actions WHERE run_id = ? AND seq BETWEEN ? AND ?`,
				`SELECT seq, status, attempt FROM action_attempts WHERE run_id = ? AND seq BETWEEN ? AND ? ORDER BY seq, attempt`,
			} {
				rows, err := tx.QueryContext(ctx, q, runID, lo, hi)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
					var seq, attempt int
					var status string
					if err := rows.Scan(&seq, &status, &attempt); err != nil {
						b.Fatal(err)
					}
					latest[seq], attempts[seq] = status, attempt
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
			}
			for _, r := range batch {
				if st, ok := latest[r.seq]; !ok || (st != "planned" && st != "approved" && st != "failed") {
					b.Fatalf("action %d is %q", r.seq, st)
				}
			}
		}
		insert, err := tx.PrepareContext(ctx, `INSERT INTO action_attempts (run_id, seq, attempt, status, salesforce_id,
			error_code, error_message, next_attempt_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		defer insert.Close()
		now := time.Now().UnixMicro()
		for _, r := range batch {
			if _, err := insert.ExecContext(ctx, runID, r.seq, attempts[r.seq]+1, r.status, r.sfID, r.errCode, r.errMsg,
				nil, now); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// sqliteInsertSelectAttempts checks and appends in one prepared statement per row,
// as RecordResults updates today: INSERT … SELECT from the action, with its latest
// attempt looked up by primary key; a row not inserted is a refused result.
func sqliteInsertSelectAttempts(ctx context.Context, b *testing.B, db journalDB, runID int64, batch []attemptRow) {
	tx, err := db.sqlite.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	insert, err := tx.PrepareContext(ctx, `INSERT INTO action_attempts (run_id, seq, attempt, status, salesforce_id,
			error_code, error_message, next_attempt_at, recorded_at)
		SELECT a.run_id, a.seq, coalesce((SELECT attempt FROM action_attempts WHERE run_id = ?1 AND seq = ?2
			ORDER BY attempt DESC LIMIT 1), 0) + 1, ?3, ?4, ?5, ?6, NULL, ?7
		FROM actions a WHERE a.run_id = ?1 AND a.seq = ?2
			AND CASE coalesce((SELECT status FROM action_attempts WHERE run_id = ?1 AND seq = ?2
				ORDER BY attempt DESC LIMIT 1), a.status) WHEN 'planned' THEN 1 WHEN 'approved' THEN 1 WHEN 'failed' THEN 1 ELSE 0 END`)
	if err != nil {
		b.Fatal(err)
	}
	defer insert.Close()
	now := time.Now().UnixMicro()
	for _, r := range batch {
		res, err := insert.ExecContext(ctx, runID, r.seq, r.status, r.sfID, r.errCode, r.errMsg, now)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			b.Fatalf("action %d took no result: %d, %v", r.seq, n, err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

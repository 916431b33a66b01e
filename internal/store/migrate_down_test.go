package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"

	"github.com/syncd-io/syncd/internal/store"
	"github.com/syncd-io/syncd/migrations"
)

// TestMigrationsAreReversible takes a journal written under the latest schema back
// to 00001 and up again, through 00002's separate result column and back: the
// Salesforce Id a result recorded must survive the round trip, and held work must
// stay findable. Installations that roll back a release depend on it.
func TestMigrationsAreReversible(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		config  func(testing.TB) store.Config
		driver  string // database/sql driver, registered by the store's imports
		dialect goose.Dialect
		fsys    migrations.Dialect
	}{
		{"sqlite", sqliteConfig, "sqlite", goose.DialectSQLite3, migrations.SQLite},
		{"postgres", postgresConfig, "pgx", goose.DialectPostgres, migrations.Postgres},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.config(t)
			cfg.AutoMigrate = true
			s, err := store.Open(ctx, cfg)
			if err != nil {
				t.Fatalf("open store: %v", err)
			}
			lease, err := s.TryLeaderLock(ctx)
			if err != nil {
				t.Fatal(err)
			}
			run, err := s.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: lease.Epoch()})
			if err != nil {
				t.Fatal(err)
			}
			const createdID = "005000000000001AAA"
			plan := []store.Action{
				{Kind: store.KindCreate, IdPID: "u1", Email: "ada@acme.com", Status: store.ActionPlanned},
				{Kind: store.KindDeactivate, IdPID: "u2", SalesforceID: "005000000000002AAA", Status: store.ActionHeld},
			}
			if err := s.SavePlan(ctx, run.ID, plan); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordResults(ctx, lease.Epoch(), []store.ActionResult{{Action: store.ActionRef{RunID: run.ID, Seq: 1},
				Status: store.ActionApplied, SalesforceID: createdID,
				Link: &store.Link{IdPID: "u1", SalesforceID: createdID, Origin: store.OriginCreated}}}); err != nil {
				t.Fatal(err)
			}
			before, err := s.Actions(ctx, store.ActionFilter{RunID: run.ID})
			if err != nil {
				t.Fatal(err)
			}
			if err := lease.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			db, err := sql.Open(tc.driver, cfg.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			fsys, err := migrations.FS(tc.fsys)
			if err != nil {
				t.Fatal(err)
			}
			p, err := goose.NewProvider(tc.dialect, db, fsys, goose.WithDisableGlobalRegistry(true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 1); err != nil {
				t.Fatalf("migrate down to 1: %v", err)
			}
			var salesforceID string
			if err := db.QueryRowContext(ctx, `SELECT salesforce_id FROM actions WHERE seq = 1`).Scan(&salesforceID); err != nil {
				t.Fatal(err)
			}
			if salesforceID != createdID {
				t.Errorf("after migrating down, salesforce_id = %q, want the result's %q", salesforceID, createdID)
			}

			report, err := store.Migrate(ctx, cfg)
			if err != nil {
				t.Fatalf("migrate up again: %v", err)
			}
			var above1 []int64 // every migration but 00001, whatever other branches add
			for _, src := range p.ListSources() {
				if src.Version > 1 {
					above1 = append(above1, src.Version)
				}
			}
			if d := cmp.Diff(above1, report.Applied); d != "" {
				t.Errorf("migrations applied going up again (-want +got):\n%s", d)
			}
			s = openStore(t, cfg)
			for _, q := range []struct {
				what   string
				filter store.ActionFilter
				want   []store.Action
			}{
				{"the run's actions", store.ActionFilter{RunID: run.ID}, before},
				{"the create by its Salesforce Id", store.ActionFilter{Key: createdID}, before[:1]},
				{"held actions", store.ActionFilter{Statuses: []store.ActionStatus{store.ActionHeld}}, before[1:]},
			} {
				got, err := s.Actions(ctx, q.filter)
				if err != nil {
					t.Fatalf("%s: %v", q.what, err)
				}
				if d := cmp.Diff(q.want, got); d != "" {
					t.Errorf("%s after down and up (-want +got):\n%s", q.what, d)
				}
			}
		})
	}
}

package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/store"
)

// TestLeadClosesRunsLeftRunning: a process killed mid-cycle leaves its run running;
// the next one-shot cycle's Lead records it as aborted and leaves finished runs alone.
func TestLeadClosesRunsLeftRunning(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	s := openSQLite(t, now)
	start := func() int64 {
		t.Helper()
		r, err := s.StartRun(ctx, store.NewRun{Trigger: "manual", Mode: "sync"})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	finished := start()
	if _, err := s.FinishRun(ctx, finished, store.RunFinish{Status: store.RunSucceeded}); err != nil {
		t.Fatal(err)
	}
	killed := start()

	a := &App{Store: s, opts: Options{Logger: zap.NewNop()}}
	lease, _, err := a.Lead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lease.Release(ctx) })

	runs, err := s.Runs(ctx, store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		ID     int64
		Status store.RunStatus
		Error  string
	}
	var got []summary
	for _, r := range runs {
		got = append(got, summary{r.ID, r.Status, r.Error})
	}
	want := []summary{{killed, store.RunAborted, orphanedRunError}, {finished, store.RunSucceeded, ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runs after Lead (-want +got):\n%s", diff)
	}
}

// openSQLite opens a fresh SQLite store whose clock stands at now, closed when the
// test ends.
func openSQLite(t *testing.T, now time.Time) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(t.TempDir(), "syncd.db"),
		AutoMigrate: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

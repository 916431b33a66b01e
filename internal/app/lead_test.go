package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/store"
)

// TestLeadClosesRunsLeftRunning: a process killed mid-cycle leaves its run running;
// the next one-shot cycle's Lead records it as aborted, leaves finished runs alone,
// and journals under its own, newer epoch.
func TestLeadClosesRunsLeftRunning(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	s := openSQLite(t, now)
	first, err := s.TryLeaderLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := func() int64 {
		t.Helper()
		r, err := s.StartRun(ctx, store.NewRun{Trigger: "manual", Mode: "sync", Epoch: first.Epoch()})
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
	if err := first.Release(ctx); err != nil { // the killed process's lock is gone
		t.Fatal(err)
	}

	a := &App{Store: s, opts: Options{Logger: zap.NewNop()}}
	lease, journal, err := a.Lead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lease.Release(ctx) })
	if lease.Epoch() <= first.Epoch() {
		t.Errorf("Lead's epoch %d is not newer than the killed process's %d", lease.Epoch(), first.Epoch())
	}
	runID, err := journal.StartRun(ctx, reconcile.RunStart{Trigger: "manual", Mode: reconcile.ModeSync})
	if err != nil {
		t.Fatalf("the journal Lead returns cannot start a run: %v", err)
	}
	if r, err := s.Run(ctx, runID); err != nil || r.Epoch != lease.Epoch() {
		t.Errorf("run %d: epoch %d, err %v; want the lease's epoch %d", runID, r.Epoch, err, lease.Epoch())
	}

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
	want := []summary{{runID, store.RunRunning, ""}, {killed, store.RunAborted, store.AbandonedRunError}, {finished, store.RunSucceeded, ""}}
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

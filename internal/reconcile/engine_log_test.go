package reconcile_test

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd-io/syncd/internal/reconcile"
)

// TestEveryLineOfACycleCarriesItsRun checks that the cycle's lines carry the run id
// (so that a log collector can gather one cycle), that the closing line has its
// trigger and counts, and that the summary says whether the pull was complete.
func TestEveryLineOfACycleCarriesItsRun(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	org := newSimOrg(t, nil)
	e := newEnv(t, org, people(0, 3), func(c *reconcile.Config) { c.Logger = zap.New(core) })
	s, _ := e.runOnce(t)
	if !s.SourceComplete {
		t.Errorf("summary says the complete pull was incomplete: %+v", s)
	}
	if logs.Len() == 0 {
		t.Fatal("the cycle logged nothing")
	}
	for _, entry := range logs.All() {
		if got, ok := entry.ContextMap()["run"]; !ok || got != s.RunID {
			t.Errorf("line %q has run %v, want %d", entry.Message, got, s.RunID)
		}
	}
	last := logs.FilterMessage("cycle finished").All()
	if len(last) != 1 {
		t.Fatalf("%d 'cycle finished' lines, want 1", len(last))
	}
	fields := last[0].ContextMap()
	for key, want := range map[string]any{"trigger": "manual", "status": "succeeded", "applied": int64(3), "source_complete": true} {
		if fields[key] != want {
			t.Errorf("cycle finished %s = %v, want %v", key, fields[key], want)
		}
	}
}

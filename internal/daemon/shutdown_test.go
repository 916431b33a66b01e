package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
)

func TestShutdownRunsStepsLastAddedFirst(t *testing.T) {
	var order []string
	s := NewShutdown(zap.NewNop())
	for _, name := range []string{"store", "lease", "cycle", "http"} {
		s.Add(name, func(ctx context.Context) error {
			order = append(order, name)
			if _, ok := ctx.Deadline(); !ok {
				t.Errorf("step %s runs without the shared deadline", name)
			}
			if name == "cycle" {
				return errors.New("still running")
			}
			return nil
		})
	}
	err := s.Run(context.Background(), time.Minute)
	if diff := cmp.Diff([]string{"http", "cycle", "lease", "store"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if err == nil || !strings.Contains(err.Error(), "cycle: still running") {
		t.Errorf("err = %v, want the failed step named", err)
	}
}

// TestShutdownOutlivesTheCancelledContext runs the steps after the process context
// (SIGTERM) is cancelled: they still get their own timeout.
func TestShutdownOutlivesTheCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := NewShutdown(zap.NewNop())
	s.Add("store", func(ctx context.Context) error { return ctx.Err() })
	if err := s.Run(ctx, time.Minute); err != nil {
		t.Errorf("a step saw the cancelled process context: %v", err)
	}
}

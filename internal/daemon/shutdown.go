package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Shutdown is an ordered list of named cleanup steps, run last-added first under one
// timeout, like alertmanager's Stop: what was started last (the HTTP server) stops
// first, and what everything stands on (the store) closes last.
type Shutdown struct {
	steps []step
	log   *zap.Logger
}

type step struct {
	name string
	fn   func(ctx context.Context) error
}

// NewShutdown returns an empty list.
func NewShutdown(log *zap.Logger) *Shutdown { return &Shutdown{log: log} }

// Add appends a step; it runs before every step added earlier.
func (s *Shutdown) Add(name string, fn func(ctx context.Context) error) {
	s.steps = append(s.steps, step{name, fn})
}

// Run runs every step, last added first, sharing one timeout: a step that overruns
// leaves the rest less time, never more. Every step runs even when one fails; the
// errors are joined, each named.
func (s *Shutdown) Run(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var errs []error
	for i := len(s.steps) - 1; i >= 0; i-- {
		st := s.steps[i]
		if err := st.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %s: %w", st.name, err))
			s.log.Warn("shutdown step failed", zap.String("step", st.name), zap.Error(err))
			continue
		}
		s.log.Info("shutdown step done", zap.String("step", st.name))
	}
	s.steps = nil
	return errors.Join(errs...)
}

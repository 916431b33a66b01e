// Package clocktest holds the one clock tests pass where the code takes a clock: it
// moves only when the test says, so tests of schedules, back-offs and expiry never
// sleep.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a clock stopped at a time until Advance moves it. It is safe for
// concurrent use, since the code under test reads it from its own goroutines.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock stopped at at.
func New(at time.Time) *Clock { return &Clock{now: at} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d (back, when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

package daemon

import (
	"sync"
	"time"
)

// Triggers name why a cycle ran; they are recorded with the run.
const (
	TriggerSchedule = "schedule" // the interval elapsed, or the instance just became leader
	TriggerSignal   = "signal"   // SIGUSR1
	TriggerAPI      = "api"      // POST /v1/reconcile
	TriggerRequest  = "request"  // a reconcile request through the store (`syncd trigger`, another replica)
)

// Schedule decides when the next cycle is due: one interval after the start of the
// last one, spread by jitter, or as soon as possible after a trigger. It is safe for
// concurrent use: triggers arrive from the HTTP server and the signal handler.
type Schedule struct {
	// interval returns the interval and the jitter (a fraction: 0.1 spreads each
	// interval by up to 10 % either way) in force; they change on reload.
	interval func() (time.Duration, float64)
	// rand returns a number in [0, 1); it places each interval inside its jitter.
	rand func() float64

	mu      sync.Mutex
	next    time.Time // when the next scheduled cycle is due; zero: at once
	pending string    // the trigger of a requested cycle; "" when none
	due     string    // the trigger of the cycle ShouldRunOnce last allowed
	// pendingFull says a requested cycle must read Salesforce in full; dueFull
	// says so of the cycle ShouldRunOnce last allowed.
	pendingFull, dueFull bool
}

// NewSchedule returns a schedule whose first cycle is due at once.
func NewSchedule(interval func() (time.Duration, float64), rand func() float64) *Schedule {
	return &Schedule{interval: interval, rand: rand}
}

// ScheduleRunOnce asks for a cycle as soon as possible. Requests made before that
// cycle starts coalesce into it; the first request's trigger is recorded.
func (s *Schedule) ScheduleRunOnce(_ time.Time, trigger string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == "" {
		s.pending = trigger
	}
}

// ScheduleFullRunOnce is ScheduleRunOnce for a cycle that reads every Salesforce
// user. A request for a full read coalesces with others into one full cycle.
func (s *Schedule) ScheduleFullRunOnce(now time.Time, trigger string) {
	s.ScheduleRunOnce(now, trigger)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pendingFull = true
}

// ShouldRunOnce reports whether a cycle is due at now. When it is, the next
// scheduled cycle is set one jittered interval after now, pending requests are
// consumed, and Trigger says why this one runs.
func (s *Schedule) ShouldRunOnce(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.pending != "":
		s.due, s.pending = s.pending, ""
		s.dueFull, s.pendingFull = s.pendingFull, false
	case !now.Before(s.next):
		s.due, s.dueFull = TriggerSchedule, false
	default:
		return false
	}
	s.next = now.Add(s.jittered())
	return true
}

// Trigger is why the cycle ShouldRunOnce last allowed runs.
func (s *Schedule) Trigger() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.due
}

// Full reports whether the cycle ShouldRunOnce last allowed must read Salesforce in
// full.
func (s *Schedule) Full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dueFull
}

// Wait returns how long after now the next cycle is due: zero when a request is
// pending.
func (s *Schedule) Wait(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != "" {
		return 0
	}
	return max(s.next.Sub(now), 0)
}

// Reset makes the next cycle due at once, as when an instance becomes leader: the
// previous leader's schedule is unknown, so the new one starts by reconciling.
func (s *Schedule) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = time.Time{}
}

// jittered returns the interval spread by up to ± jitter of itself.
func (s *Schedule) jittered() time.Duration {
	interval, jitter := s.interval()
	return interval + time.Duration(float64(interval)*jitter*(2*s.rand()-1))
}

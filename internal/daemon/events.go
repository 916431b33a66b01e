package daemon

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/store"
)

// DefaultEventWindow is how long the first of several events waits for the others:
// an IdP sends a burst of notifications for one change (Okta one per event type,
// Graph one per attribute), and a burst should cost one targeted run, not one each.
const DefaultEventWindow = 500 * time.Millisecond

// TargetedFunc runs one targeted reconcile under lease: in production, the engine
// of the configuration in force (reconcile.Engine.Reconcile).
type TargetedFunc func(ctx context.Context, lease store.Lease, t reconcile.Target) (reconcile.Summary, error)

// Events coalesces pushed change notifications into targeted runs: the people named
// within one window (measured from the first of them) are reconciled together in one
// run. It is safe for concurrent use: the HTTP server adds, the daemon's loop takes.
type Events struct {
	window time.Duration

	mu       sync.Mutex
	pending  map[string]time.Time // key → when the first notification naming it arrived
	order    []string             // pending keys in arrival order
	first    time.Time            // when the oldest pending notification arrived
	received int                  // notifications since the last Take
}

// NewEvents returns an empty queue with the given coalescing window (DefaultEventWindow
// when not positive).
func NewEvents(window time.Duration) *Events {
	if window <= 0 {
		window = DefaultEventWindow
	}
	return &Events{window: window, pending: map[string]time.Time{}}
}

// Add queues the keys of one notification that arrived at now. It reports whether the
// notification joined a run already pending (coalesced) rather than starting one.
func (q *Events) Add(keys []string, now time.Time) (coalesced bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	coalesced = q.received > 0
	if !coalesced {
		q.first = now
	}
	q.received++
	for _, k := range keys {
		if _, ok := q.pending[k]; !ok {
			q.pending[k] = now
			q.order = append(q.order, k)
		}
	}
	return coalesced
}

// Due reports whether a targeted run is due at now: something is pending and the
// window since the first of it has passed.
func (q *Events) Due(now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.received > 0 && !now.Before(q.first.Add(q.window))
}

// Wait returns how long after now the pending run is due, and false when nothing is
// pending.
func (q *Events) Wait(now time.Time) (time.Duration, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.received == 0 {
		return 0, false
	}
	return max(q.first.Add(q.window).Sub(now), 0), true
}

// Take empties the queue and returns the keys pending, in arrival order, with when
// each first arrived.
func (q *Events) Take() (keys []string, received []time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	keys = q.order
	for _, k := range keys {
		received = append(received, q.pending[k])
	}
	q.pending, q.order, q.received = map[string]time.Time{}, nil, 0
	return keys, received
}

// Notify queues a notification's people for a targeted run and wakes the loop. On a
// standby (which cannot write) it asks the leader for a full cycle instead, through
// the store: slower, but the change is not lost.
func (d *Daemon) Notify(ctx context.Context, n Notification) error {
	if d.cfg.Events == nil || d.cfg.Targeted == nil {
		return errors.New("daemon: pushed events are not configured")
	}
	now := d.cfg.Now()
	if d.cfg.Metrics != nil {
		d.cfg.Metrics.eventsReceived.WithLabelValues(n.Format).Inc()
	}
	if !d.Leader() {
		return d.Trigger(ctx, TriggerRequest)
	}
	if d.cfg.Events.Add(n.Keys, now) && d.cfg.Metrics != nil {
		d.cfg.Metrics.eventsCoalesced.Inc()
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return nil
}

// runTargeted reconciles the people pending in the event queue, under the lease,
// counting what earlier targeted runs deactivated against the cap.
func (d *Daemon) runTargeted(ctx context.Context) {
	lease := d.currentLease()
	if lease == nil {
		return
	}
	keys, received := d.cfg.Events.Take()
	if len(keys) == 0 {
		return
	}
	cctx, release := leased(ctx, lease)
	defer release()
	s, err := d.cfg.Targeted(cctx, lease, reconcile.Target{Keys: keys, Deactivated: d.spent()})
	end := d.cfg.Now()
	d.mu.Lock()
	d.eventDeactivations += s.Planned[reconcile.KindDeactivate]
	d.mu.Unlock()
	if err != nil {
		// Not retried: a source or org that fails now would fail every half second.
		// The next scheduled cycle reconciles everyone, these people included.
		d.log.Warn("targeted run failed; its people wait for the next event or full cycle", zap.Int("people", len(keys)), zap.Error(err))
	}
	if d.cfg.Metrics != nil {
		d.observeTargeted(ctx, s, received, end)
	}
}

// spent is how many deactivations targeted runs planned since the last full cycle.
func (d *Daemon) spent() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.eventDeactivations
}

// observeTargeted records a targeted run's actions and, when it succeeded, the
// latency from each person's first notification to the run's last write result.
func (d *Daemon) observeTargeted(ctx context.Context, s reconcile.Summary, received []time.Time, end time.Time) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	d.cfg.Metrics.countActions(d.runActions(rctx, s.RunID))
	if s.Status != reconcile.RunSucceeded || s.RunID == 0 {
		return // nothing was applied (a failure, or a dry run)
	}
	for _, at := range received {
		d.cfg.Metrics.eventLatency.Observe(end.Sub(at).Seconds())
	}
}

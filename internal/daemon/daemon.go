package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/store"
)

// DefaultLockRetry is how often a standby tries the leader lock: a replica takes
// over within about this long after the holder's lock is gone.
const DefaultLockRetry = 2 * time.Second

// ErrLeadershipLost is the cause of a cycle cancelled because the lease was lost.
var ErrLeadershipLost = errors.New("leadership lost")

// ErrNotLeader is returned by RunOnce when this instance does not hold the lock.
var ErrNotLeader = errors.New("this instance does not hold the leader lock")

// CycleFunc runs one reconcile cycle under lease: in production, the engine of the
// configuration in force (reconcile.Engine.RunOnce) writing through a journal fenced
// by the lease.
type CycleFunc func(ctx context.Context, lease store.Lease, trigger string) (reconcile.Summary, error)

// Config is what a Daemon is built from. Store, Cycle and Schedule are required.
type Config struct {
	// Store holds the leader lock and carries reconcile requests between replicas;
	// its journal is read for the metrics of each cycle.
	Store store.Store
	// Cycle runs one cycle.
	Cycle CycleFunc
	// FullCycle runs one cycle that reads every Salesforce user, when a full read
	// was asked for (TriggerFull); nil runs Cycle.
	FullCycle CycleFunc
	// Schedule decides when cycles are due.
	Schedule *Schedule
	// Metrics, when set, records cycles and leadership.
	Metrics *Metrics
	// Reconcile receives a value for each SIGUSR1 (from main, which owns signals).
	Reconcile <-chan struct{}
	// Reload receives a value for each SIGHUP; Reloader is then called.
	Reload <-chan struct{}
	// Reloader reloads the configuration (Coordinator.Reload).
	Reloader func() error
	// Events, with Targeted, turns pushed notifications (Notify) into targeted runs
	// of the people they name; nil when pushed events are not served.
	Events   *Events
	Targeted TargetedFunc
	// LockRetry is how often a standby tries the lock; default DefaultLockRetry.
	LockRetry time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; default zap.NewNop().
	Logger *zap.Logger
}

// Daemon reconciles on a schedule and on request, as the leader only.
type Daemon struct {
	cfg   Config
	sched *Schedule
	log   *zap.Logger
	// wake is signalled when a trigger schedules a cycle, so the loop stops waiting.
	wake chan struct{}

	mu    sync.Mutex
	lease store.Lease // nil on standby
	// eventDeactivations counts the deactivations targeted runs planned since the
	// last full cycle began, which the cap counts against the next targeted run.
	eventDeactivations int
}

// New checks cfg and returns a Daemon.
func New(cfg Config) (*Daemon, error) {
	if cfg.Store == nil || cfg.Cycle == nil || cfg.Schedule == nil {
		return nil, errors.New("daemon: Config needs Store, Cycle and Schedule")
	}
	if cfg.LockRetry <= 0 {
		cfg.LockRetry = DefaultLockRetry
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Reloader == nil {
		cfg.Reloader = func() error { return nil }
	}
	return &Daemon{cfg: cfg, sched: cfg.Schedule, log: cfg.Logger, wake: make(chan struct{}, 1)}, nil
}

// Leader reports whether this instance holds the leader lock.
func (d *Daemon) Leader() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lease != nil
}

// Trigger asks for a cycle now. On the leader it schedules one; on a standby it asks
// the leader through the store, wherever the leader runs.
func (d *Daemon) Trigger(ctx context.Context, trigger string) error {
	if !d.Leader() {
		if err := d.cfg.Store.RequestReconcile(ctx); err != nil {
			return fmt.Errorf("asking the leader to reconcile: %w", err)
		}
		return nil
	}
	d.schedule(trigger)
	return nil
}

// ErrFullOnStandby is returned by TriggerFull on a standby: a request through the
// store cannot say "full", and a plain one would quietly read only what changed.
var ErrFullOnStandby = errors.New("this instance is on standby: ask the leader for a full read (or run `syncd apply --once --full` while no daemon leads)")

// TriggerFull asks for a cycle now that reads every Salesforce user. Only the
// leader takes it (ErrFullOnStandby otherwise).
func (d *Daemon) TriggerFull(ctx context.Context, trigger string) error {
	if !d.Leader() {
		return ErrFullOnStandby
	}
	d.sched.ScheduleFullRunOnce(d.cfg.Now(), trigger)
	d.wakeUp()
	return nil
}

// Run reconciles until ctx is done: it takes the leader lock when it can, runs each
// cycle when ShouldRunOnce says so, and stands by otherwise. Triggers are listened to
// throughout, during cycles too, so that those arriving during a cycle coalesce into
// one more. It returns once the cycle in flight has finished (the engine finishes its
// batch in flight and marks the run aborted); the lease is kept until Release, so
// the caller orders shutdown.
func (d *Daemon) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.listen(ctx)
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		d.tryLead(ctx)
		wait := d.cfg.LockRetry
		var lost <-chan struct{}
		if lease := d.currentLease(); lease != nil {
			lost = lease.Lost()
			select {
			case <-lost:
				d.dropLease("the leader lock was lost")
				continue
			default:
			}
			now := d.cfg.Now()
			if d.sched.ShouldRunOnce(now) {
				if err := d.RunOnce(ctx); err != nil && !errors.Is(err, ErrNotLeader) {
					d.log.Warn("cycle failed; the next one is scheduled as usual", zap.Error(err))
				}
				continue
			}
			if d.eventsDue(now) {
				d.runTargeted(ctx)
				continue
			}
			wait = d.sched.Wait(now)
			if d.cfg.Events != nil {
				if w, ok := d.cfg.Events.Wait(now); ok {
					wait = min(wait, w)
				}
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-d.wake:
		case <-lost:
			d.dropLease("the leader lock was lost")
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// eventsDue reports whether a targeted run of pushed events is due.
func (d *Daemon) eventsDue(now time.Time) bool {
	return d.cfg.Events != nil && d.cfg.Targeted != nil && d.cfg.Events.Due(now)
}

// listen turns signals and store requests into triggers, and SIGHUP into a reload,
// until ctx is done.
func (d *Daemon) listen(ctx context.Context) {
	requests := d.cfg.Store.ReconcileRequests(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-requests:
			if !ok {
				requests = nil
				continue
			}
			if d.Leader() { // on a standby, the leader has received the request too
				d.schedule(TriggerRequest)
			}
		case <-d.cfg.Reconcile:
			if err := d.Trigger(ctx, TriggerSignal); err != nil {
				d.log.Warn("SIGUSR1: reconcile now", zap.Error(err))
			}
		case <-d.cfg.Reload:
			_ = d.cfg.Reloader() // the coordinator logs and exports the outcome
		}
	}
}

// schedule asks for a cycle as soon as possible and wakes the loop.
func (d *Daemon) schedule(trigger string) {
	d.sched.ScheduleRunOnce(d.cfg.Now(), trigger)
	d.wakeUp()
}

// wakeUp stops the loop's wait for the next cycle.
func (d *Daemon) wakeUp() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// RunOnce runs one cycle now, with the trigger the schedule last allowed, under
// the lease: the cycle's context is cancelled the moment the lease is lost. It
// records the cycle's metrics. It returns ErrNotLeader on a standby, and otherwise
// the cycle's error.
func (d *Daemon) RunOnce(ctx context.Context) error {
	lease := d.currentLease()
	if lease == nil {
		return ErrNotLeader
	}
	cctx, release := leased(ctx, lease)
	defer release()
	d.mu.Lock()
	d.eventDeactivations = 0 // a full cycle's cap starts afresh
	d.mu.Unlock()
	trigger := d.sched.Trigger()
	cycle := d.cfg.Cycle
	if d.sched.Full() && d.cfg.FullCycle != nil {
		cycle = d.cfg.FullCycle
	}
	start := d.cfg.Now()
	s, err := cycle(cctx, lease, trigger)
	end := d.cfg.Now()
	if d.cfg.Metrics != nil {
		d.observe(ctx, s, end.Sub(start), end)
	}
	return err
}

// leased returns a context that is cancelled, with ErrLeadershipLost as its cause,
// the moment the lease is lost; release stops watching the lease.
func leased(ctx context.Context, lease store.Lease) (context.Context, func()) {
	cctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		select {
		case <-lease.Lost():
			cancel(ErrLeadershipLost)
		case <-done:
		}
	}()
	return cctx, func() {
		close(done)
		cancel(nil)
	}
}

// observe records a cycle's metrics, reading its actions and the held ones from the
// journal (under a short timeout of its own: the cycle's context may be cancelled).
func (d *Daemon) observe(ctx context.Context, s reconcile.Summary, took time.Duration, end time.Time) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	d.cfg.Metrics.observeCycle(s, took, end, d.runActions(rctx, s.RunID))
	held, err := d.cfg.Store.Actions(rctx, store.ActionFilter{Statuses: []store.ActionStatus{store.ActionHeld}})
	if err != nil {
		d.log.Warn("reading held actions for metrics", zap.Error(err))
		return
	}
	d.cfg.Metrics.held.Set(float64(len(held)))
}

// runActions reads a run's actions for the metrics; none for run 0 (a run that
// never started) or when the journal cannot be read (logged).
func (d *Daemon) runActions(ctx context.Context, runID int64) []store.Action {
	if runID == 0 {
		return nil
	}
	actions, err := d.cfg.Store.Actions(ctx, store.ActionFilter{RunID: runID})
	if err != nil {
		d.log.Warn("reading the run's actions for metrics", zap.Int64("run", runID), zap.Error(err))
	}
	return actions
}

// tryLead takes the leader lock if this instance does not hold it and no one else
// does.
func (d *Daemon) tryLead(ctx context.Context) {
	if d.Leader() {
		return
	}
	lease, err := d.cfg.Store.TryLeaderLock(ctx)
	switch {
	case errors.Is(err, store.ErrLocked):
		return
	case err != nil:
		if ctx.Err() == nil {
			d.log.Warn("trying the leader lock; standing by", zap.Error(err))
		}
		return
	}
	d.mu.Lock()
	d.lease = lease
	d.mu.Unlock()
	d.sched.Reset()
	d.setLeader(true)
	d.log.Info("took the leader lock: reconciling")
}

func (d *Daemon) currentLease() store.Lease {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lease
}

// dropLease forgets a lost lease and stands by.
func (d *Daemon) dropLease(why string) {
	d.mu.Lock()
	lease := d.lease
	d.lease = nil
	d.mu.Unlock()
	if lease == nil {
		return
	}
	d.setLeader(false)
	d.log.Warn(why + ": standing by")
}

func (d *Daemon) setLeader(leader bool) {
	if d.cfg.Metrics != nil {
		d.cfg.Metrics.leader.Set(boolGauge(leader))
	}
}

// Release gives the leader lock up, if held, so that a standby takes over at once.
func (d *Daemon) Release(ctx context.Context) error {
	d.mu.Lock()
	lease := d.lease
	d.lease = nil
	d.mu.Unlock()
	if lease == nil {
		return nil
	}
	d.setLeader(false)
	return lease.Release(ctx)
}

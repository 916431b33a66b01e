package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/store"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// hour is a schedule of one cycle an hour without jitter.
func hour() (time.Duration, float64) { return time.Hour, 0 }

func TestScheduleDecidesWithInjectedTimes(t *testing.T) {
	type step struct {
		at       time.Duration // after t0
		triggers []string      // ScheduleRunOnce with each of these first
		want     string        // the trigger of the cycle due, or "" for none
	}
	tests := []struct {
		name   string
		jitter float64
		rand   float64
		steps  []step
	}{
		{name: "the first cycle is due at once, the next one interval after its start", steps: []step{
			{at: 0, want: TriggerSchedule},
			{at: 59 * time.Minute},
			{at: time.Hour, want: TriggerSchedule},
			{at: time.Hour + time.Second},
		}},
		{name: "a trigger makes a cycle due before the interval, and restarts the interval", steps: []step{
			{at: 0, want: TriggerSchedule},
			{at: 10 * time.Minute, triggers: []string{TriggerAPI}, want: TriggerAPI},
			{at: time.Hour},
			{at: 70 * time.Minute, want: TriggerSchedule},
		}},
		{name: "triggers before the cycle starts coalesce into one, named by the first", steps: []step{
			{at: 0, want: TriggerSchedule},
			{at: time.Minute, triggers: []string{TriggerSignal, TriggerAPI, TriggerRequest}, want: TriggerSignal},
			{at: 2 * time.Minute},
		}},
		{name: "jitter shortens the interval by up to its fraction", jitter: 0.1, rand: 0, steps: []step{
			{at: 0, want: TriggerSchedule},
			{at: 53 * time.Minute},
			{at: 54 * time.Minute, want: TriggerSchedule},
		}},
		{name: "jitter lengthens the interval by up to its fraction", jitter: 0.1, rand: 0.9999, steps: []step{
			{at: 0, want: TriggerSchedule},
			{at: 65 * time.Minute},
			{at: 66 * time.Minute, want: TriggerSchedule},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSchedule(func() (time.Duration, float64) { return time.Hour, tt.jitter }, func() float64 { return tt.rand })
			for i, st := range tt.steps {
				now := t0.Add(st.at)
				for _, tr := range st.triggers {
					s.ScheduleRunOnce(now, tr)
				}
				got := ""
				if s.ShouldRunOnce(now) {
					got = s.Trigger()
				}
				if got != st.want {
					t.Errorf("step %d at +%v: due %q, want %q", i, st.at, got, st.want)
				}
			}
		})
	}
}

func TestScheduleWait(t *testing.T) {
	s := NewSchedule(hour, func() float64 { return 0.5 })
	if got := s.Wait(t0); got != 0 {
		t.Errorf("before the first cycle, Wait = %v, want 0", got)
	}
	s.ShouldRunOnce(t0)
	if got := s.Wait(t0.Add(15 * time.Minute)); got != 45*time.Minute {
		t.Errorf("Wait = %v, want 45m", got)
	}
	s.ScheduleRunOnce(t0.Add(15*time.Minute), TriggerAPI)
	if got := s.Wait(t0.Add(15 * time.Minute)); got != 0 {
		t.Errorf("with a trigger pending, Wait = %v, want 0", got)
	}
	s.ShouldRunOnce(t0.Add(15 * time.Minute))
	s.Reset()
	if !s.ShouldRunOnce(t0.Add(16 * time.Minute)) {
		t.Error("after Reset (a new leader), no cycle is due at once")
	}
}

// fakeLease is a lease the test loses at will.
type fakeLease struct {
	lost     chan struct{}
	once     sync.Once
	released bool
}

func (l *fakeLease) Lost() <-chan struct{} { return l.lost }
func (l *fakeLease) Epoch() int64          { return 1 }
func (l *fakeLease) lose()                 { l.once.Do(func() { close(l.lost) }) }
func (l *fakeLease) Release(context.Context) error {
	l.released = true
	l.lose()
	return nil
}

// leaseStore is a real SQLite store whose leader lock the test controls: leases
// hands out the next lease (or ErrLocked when empty).
type leaseStore struct {
	store.Store
	mu     sync.Mutex
	leases []*fakeLease
}

func (s *leaseStore) TryLeaderLock(context.Context) (store.Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.leases) == 0 {
		return nil, store.ErrLocked
	}
	l := s.leases[0]
	s.leases = s.leases[1:]
	return l, nil
}

func (s *leaseStore) grant(l *fakeLease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leases = append(s.leases, l)
}

func newLeaseStore(t *testing.T) *leaseStore {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Driver: store.DriverSQLite,
		DSN: filepath.Join(t.TempDir(), "syncd.db"), AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &leaseStore{Store: st}
}

// recorder is a cycle that records its triggers; during, when set, runs inside each
// cycle.
type recorder struct {
	mu       sync.Mutex
	triggers []string
	during   func(ctx context.Context, n int) error
	ran      chan string
}

func (r *recorder) cycle(ctx context.Context, _ store.Lease, trigger string) (reconcile.Summary, error) {
	r.mu.Lock()
	r.triggers = append(r.triggers, trigger)
	n := len(r.triggers)
	r.mu.Unlock()
	var err error
	if r.during != nil {
		err = r.during(ctx, n)
	}
	if r.ran != nil {
		r.ran <- trigger
	}
	status := reconcile.RunSucceeded
	if err != nil {
		status = reconcile.RunAborted
	}
	return reconcile.Summary{Status: status}, err
}

func newDaemon(t *testing.T, st store.Store, r *recorder, mod func(*Config)) *Daemon {
	t.Helper()
	cfg := Config{Store: st, Cycle: r.cycle, Schedule: NewSchedule(hour, func() float64 { return 0 }),
		Now: func() time.Time { return t0 }}
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestTriggersDuringACycleCoalesce fires five triggers while a cycle runs: exactly
// one more cycle follows.
func TestTriggersDuringACycleCoalesce(t *testing.T) {
	st := newLeaseStore(t)
	st.grant(&fakeLease{lost: make(chan struct{})})
	r := &recorder{}
	d := newDaemon(t, st, r, nil)
	ctx := context.Background()
	r.during = func(ctx context.Context, n int) error {
		if n == 1 {
			for _, tr := range []string{TriggerAPI, TriggerSignal, TriggerAPI, TriggerRequest, TriggerAPI} {
				if err := d.Trigger(ctx, tr); err != nil {
					t.Error(err)
				}
			}
		}
		return nil
	}
	d.tryLead(ctx)
	for d.sched.ShouldRunOnce(t0) {
		if err := d.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{TriggerSchedule, TriggerAPI}, r.triggers); diff != "" {
		t.Errorf("cycles (-want +got):\n%s", diff)
	}
}

// TestLosingTheLeaseCancelsTheCycle loses the lease in the middle of a cycle: the
// cycle's context ends at once with ErrLeadershipLost as its cause, the instance
// stands by, and it reconciles again only once it holds a new lease.
func TestLosingTheLeaseCancelsTheCycle(t *testing.T) {
	st := newLeaseStore(t)
	first := &fakeLease{lost: make(chan struct{})}
	st.grant(first)
	r := &recorder{ran: make(chan string, 10)}
	causes := make(chan error, 10)
	r.during = func(ctx context.Context, n int) error {
		if n == 1 {
			first.lose()
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return ctx.Err()
		}
		return nil
	}
	d := newDaemon(t, st, r, func(c *Config) { c.LockRetry = time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()

	<-r.ran
	if cause := <-causes; !errors.Is(cause, ErrLeadershipLost) {
		t.Errorf("the cycle's context ended with %v, want ErrLeadershipLost", cause)
	}
	st.grant(&fakeLease{lost: make(chan struct{})}) // the lock is free again
	if got := <-r.ran; got != TriggerSchedule {
		t.Errorf("the new leader's first cycle ran for %q, want %q", got, TriggerSchedule)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if !d.Leader() {
		t.Error("after Run, the daemon no longer holds its second lease; Release must give it up")
	}
}

// TestRunCyclesOnTriggersOnlyAsLeader runs the loop: a standby runs nothing and
// forwards a trigger through the store; once leader, SIGUSR1, an API trigger and a
// store request each cause one cycle; shutdown keeps the lease for Release.
func TestRunCyclesOnTriggersOnlyAsLeader(t *testing.T) {
	st := newLeaseStore(t)
	r := &recorder{ran: make(chan string, 10)}
	usr1 := make(chan struct{}, 1)
	d := newDaemon(t, st, r, func(c *Config) { c.LockRetry = time.Millisecond; c.Reconcile = usr1 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	requests := st.ReconcileRequests(ctx) // what the leader, elsewhere, would receive
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()

	if err := d.Trigger(ctx, TriggerAPI); err != nil {
		t.Fatal(err)
	}
	<-requests // the standby asked the leader through the store
	lease := &fakeLease{lost: make(chan struct{})}
	st.grant(lease)
	var got []string
	got = append(got, <-r.ran)
	usr1 <- struct{}{}
	got = append(got, <-r.ran)
	if err := d.Trigger(ctx, TriggerAPI); err != nil {
		t.Fatal(err)
	}
	got = append(got, <-r.ran)
	if err := st.RequestReconcile(ctx); err != nil {
		t.Fatal(err)
	}
	got = append(got, <-r.ran)
	if diff := cmp.Diff([]string{TriggerSchedule, TriggerSignal, TriggerAPI, TriggerRequest}, got); diff != "" {
		t.Errorf("cycles (-want +got):\n%s", diff)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if lease.released {
		t.Error("Run released the lease; the caller's shutdown does, after the cycle")
	}
	if err := d.Release(context.Background()); err != nil || !lease.released {
		t.Errorf("Release: %v, released %v", err, lease.released)
	}
}

// TestSignalsDuringACycleCoalesceWithOtherTriggers sends SIGUSR1 and an API trigger
// while the loop runs a cycle: the signal is taken at once, not after the cycle, so
// the two make one more cycle, not two.
func TestSignalsDuringACycleCoalesceWithOtherTriggers(t *testing.T) {
	st := newLeaseStore(t)
	st.grant(&fakeLease{lost: make(chan struct{})})
	usr1 := make(chan struct{}, 1)
	r := &recorder{ran: make(chan string, 10)}
	d := newDaemon(t, st, r, func(c *Config) { c.Reconcile = usr1 })
	r.during = func(ctx context.Context, n int) error {
		if n != 1 {
			return nil
		}
		usr1 <- struct{}{}
		deadline := time.Now().Add(30 * time.Second)
		for d.pending() == "" {
			if time.Now().After(deadline) {
				t.Error("SIGUSR1 was not taken during the cycle")
				break
			}
			time.Sleep(time.Millisecond)
		}
		return d.Trigger(ctx, TriggerAPI)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	got := []string{<-r.ran, <-r.ran}
	if err := d.Trigger(ctx, TriggerAPI); err != nil { // marks the end: a stray cycle would come first
		t.Fatal(err)
	}
	got = append(got, <-r.ran)
	cancel()
	<-done
	if diff := cmp.Diff([]string{TriggerSchedule, TriggerSignal, TriggerAPI}, got); diff != "" {
		t.Errorf("cycles (-want +got):\n%s", diff)
	}
}

func (d *Daemon) pending() string {
	d.sched.mu.Lock()
	defer d.sched.mu.Unlock()
	return d.sched.pending
}

// TestFullTriggerRunsTheFullCycle runs FullCycle for a full request, also when
// plain requests coalesce with it, and Cycle again afterwards; a standby refuses a
// full request.
func TestFullTriggerRunsTheFullCycle(t *testing.T) {
	st := newLeaseStore(t)
	r, full := &recorder{}, &recorder{}
	d := newDaemon(t, st, r, func(c *Config) { c.FullCycle = full.cycle })
	ctx := context.Background()
	if err := d.TriggerFull(ctx, TriggerAPI); !errors.Is(err, ErrFullOnStandby) {
		t.Fatalf("TriggerFull on a standby: %v, want ErrFullOnStandby", err)
	}
	st.grant(&fakeLease{lost: make(chan struct{})})
	d.tryLead(ctx)
	run := func() {
		for d.sched.ShouldRunOnce(t0) {
			if err := d.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	run() // the first, scheduled cycle
	if err := d.Trigger(ctx, TriggerSignal); err != nil {
		t.Fatal(err)
	}
	if err := d.TriggerFull(ctx, TriggerAPI); err != nil {
		t.Fatal(err)
	}
	run()
	if err := d.Trigger(ctx, TriggerAPI); err != nil {
		t.Fatal(err)
	}
	run()
	if diff := cmp.Diff([]string{TriggerSchedule, TriggerAPI}, r.triggers); diff != "" {
		t.Errorf("plain cycles (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{TriggerSignal}, full.triggers); diff != "" {
		t.Errorf("full cycles (-want +got):\n%s", diff)
	}
}

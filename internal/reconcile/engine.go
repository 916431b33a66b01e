package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/source"
)

// OnBlocked says what to do when Salesforce refuses a deactivation (a blocker).
type OnBlocked string

// What to do with a blocked deactivation (policy on_blocked_deactivation).
const (
	// OnBlockedFreeze freezes the user, so access is cut while the blocker stands.
	OnBlockedFreeze OnBlocked = "freeze"
	// OnBlockedReport only records the refusal.
	OnBlockedReport OnBlocked = "report"
)

// Defaults of Config.
const (
	DefaultConcurrency    = 4
	MaxConcurrency        = 25 // Salesforce allows 25 concurrent long requests per org
	DefaultBackoffInitial = time.Hour
	DefaultBackoffMax     = 24 * time.Hour
	DefaultGrace          = 30 * time.Second
)

// Config is what an Engine is built from. Source, Mapper, Directory, Journal and Plan
// are required.
type Config struct {
	Source    source.Source
	Mapper    Mapper
	Directory Directory
	Journal   Journal
	// Mirror, when set, remembers the org between cycles so that cycles between
	// full reads read only what changed (see ReadDelta); nil reads everything every
	// cycle.
	Mirror Mirror
	// FullEvery is the longest time between two full reads; default 24 h.
	FullEvery time.Duration
	// Offboarder carries out a leaver's offboarding steps besides freezing and
	// deactivating; required when Policy.Offboarding asks for any of them.
	Offboarder Offboarder
	// Transfers keeps the records offboarding hands over, when set; required for
	// Policy.Offboarding.ReturnRecords.
	Transfers TransferLog
	// Plan computes a cycle's plan, guardrails included; nil means Calculate. Tests
	// may give their own.
	Plan func(Input, Policy) Plan
	// Policy is how cycles decide. Its Protect.ProfileIDs are completed each cycle
	// from ProtectedProfiles.
	Policy Policy
	// ProtectedProfiles are profile names whose users syncd never acts on; an
	// unknown name fails the cycle.
	ProtectedProfiles []string
	// OnBlocked is OnBlockedFreeze or OnBlockedReport (the default).
	OnBlocked OnBlocked
	// Concurrency bounds the batches in flight: default 4, at most 25.
	Concurrency int
	// BackoffInitial and BackoffMax bound the wait before a person's failed write of
	// one kind is tried again: initial × 2^attempts, capped (default 1 h to 24 h).
	BackoffInitial, BackoffMax time.Duration
	// Grace is how long a batch in flight may take to finish once the cycle's
	// context is cancelled, and bounds the journal writes made after it; default 30 s.
	Grace time.Duration
	// Memo, when set, remembers the last complete snapshot's mapping across cycles,
	// so that an unchanged source is not mapped again (see MapMemo).
	Memo *MapMemo
	// Progress, when set, is told how reading and applying advance (for the CLI).
	Progress func(Progress)
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; default zap.NewNop().
	Logger *zap.Logger
	// Entitle, when set with names, assigns and removes entitlements each cycle.
	Entitle *EntitlementConfig
}

// Stage names a part of a cycle that reports progress.
type Stage string

// Stages that report progress.
const (
	StageRead  Stage = "read"  // Salesforce users read, of the query's total
	StageApply Stage = "apply" // batches applied, of the plan's total
)

// Progress is how far a stage has come.
type Progress struct {
	Stage       Stage
	Done, Total int
}

// Summary is what one cycle (or a preview) did.
type Summary struct {
	// RunID is the journal's run; 0 for a preview.
	RunID  int64
	Status RunStatus
	// Error says why the run did not succeed ("paused: ..." when paused).
	Error string
	// Planned counts the actions to apply by kind (held ones excluded).
	Planned map[Kind]int
	Held    int
	Skipped int
	// Applied and Failed count the actions with a result; Pending the planned ones
	// never sent (a pause, a cancellation, a failure that stopped the cycle), or in
	// a preview every action that would be sent.
	Applied, Failed, Pending int
	Stats                    Stats
	// SourceComplete says whether the source pull was complete; an incomplete one
	// deactivates no one.
	SourceComplete bool
	// SourceUnchanged says the source was as at the last complete pull (the source
	// said NotModified, or the digest was the same): mapping was skipped. The plan
	// still compares with the org as read this cycle.
	SourceUnchanged bool
	// Usage is the org's API usage when the cycle ended, if known.
	Usage Usage
	// Read says how the cycle read Salesforce ("" when it failed before), and
	// RowsRead how many user records it read.
	Read     ReadMode
	RowsRead int
	// Blocked counts the deactivations Salesforce refused for a named blocker
	// (ClassifyBlocker): each user stays frozen and is tried again a day later.
	Blocked int
	// SeatsFreed counts the license seats the cycle's deactivations freed, by
	// UserLicense Name.
	SeatsFreed map[string]int
}

// Engine runs reconcile cycles. It is safe to call one method at a time; the daemon
// runs one cycle after another.
type Engine struct {
	cfg Config
	log *zap.Logger
}

// New checks cfg, applies defaults and returns an Engine.
func New(cfg Config) (*Engine, error) {
	var missing []string
	for name, ok := range map[string]bool{
		"Source": cfg.Source != nil, "Mapper": cfg.Mapper != nil, "Directory": cfg.Directory != nil,
		"Journal": cfg.Journal != nil,
	} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("reconcile: Config needs %v", missing)
	}
	if cfg.Plan == nil {
		cfg.Plan = Calculate
	}
	if err := cfg.Policy.Offboarding.check(cfg.Offboarder != nil); err != nil {
		return nil, err
	}
	if err := cfg.Policy.Offboarding.checkReturns(cfg.Transfers != nil); err != nil {
		return nil, err
	}
	switch {
	case cfg.Concurrency == 0:
		cfg.Concurrency = DefaultConcurrency
	case cfg.Concurrency < 0 || cfg.Concurrency > MaxConcurrency:
		return nil, fmt.Errorf("reconcile: concurrency %d is outside 1..%d", cfg.Concurrency, MaxConcurrency)
	}
	switch cfg.OnBlocked {
	case "":
		cfg.OnBlocked = OnBlockedReport
	case OnBlockedFreeze, OnBlockedReport:
	default:
		return nil, fmt.Errorf("reconcile: on_blocked_deactivation %q is neither freeze nor report", cfg.OnBlocked)
	}
	if cfg.BackoffInitial <= 0 {
		cfg.BackoffInitial = DefaultBackoffInitial
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.BackoffMax < cfg.BackoffInitial {
		return nil, fmt.Errorf("reconcile: back-off max %v is below its initial %v", cfg.BackoffMax, cfg.BackoffInitial)
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.FullEvery <= 0 {
		cfg.FullEvery = DefaultFullEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Engine{cfg: cfg, log: cfg.Logger}, nil
}

// Preview pulls both sides and plans, writing nothing: no run, no plan, no snapshot.
// It serves `syncd plan` and dry runs.
func (e *Engine) Preview(ctx context.Context) (Plan, Summary, error) {
	preview := *e
	preview.cfg.Mirror = nil // a full read that records nothing
	c, err := preview.gather(ctx, true)
	if err != nil {
		return Plan{}, Summary{Status: RunFailed, Error: err.Error()}, err
	}
	plan := e.planWithEntitlements(e.cfg.Plan(c.input, c.policy), c)
	s := Summary{Status: RunSucceeded, Stats: stats(c, plan), Read: c.read, RowsRead: c.rowsRead}
	countPlan(&s, plan)
	s.Pending = planned(plan)
	s.Usage, _ = e.cfg.Directory.Usage()
	return plan, s, nil
}

// RunOnce runs one whole cycle in DESIGN.md's order: start the run, pull the source,
// map, resolve names, read the org, load what earlier cycles left, plan, save the
// plan, apply it and finish the run. The error is non-nil exactly when the run
// failed or was aborted; a paused run returns a nil error and Status RunPaused.
// With a Mirror, the cycle reads only the users changed since the last read when it
// can (ReadDelta).
func (e *Engine) RunOnce(ctx context.Context, trigger string) (Summary, error) {
	return e.run(ctx, trigger, (*Engine).cycle)
}

// RunFull is RunOnce reading every Salesforce user, whatever the mirror holds: an
// operator's `syncd apply --once --full`, the daemon's full trigger.
func (e *Engine) RunFull(ctx context.Context, trigger string) (Summary, error) {
	return e.run(ctx, trigger, (*Engine).fullCycle)
}

// run journals one run around body: StartRun, body, FinishRun and the log line that
// says how it ended. The error is non-nil exactly when the run failed or was aborted.
func (e *Engine) run(ctx context.Context, trigger string, body func(*Engine, context.Context, *Summary) error) (Summary, error) {
	runID, err := e.cfg.Journal.StartRun(ctx, RunStart{Trigger: trigger, Mode: e.cfg.Policy.Mode})
	if err != nil {
		return Summary{Status: RunFailed, Error: err.Error()}, fmt.Errorf("reconcile: starting the run: %w", err)
	}
	s := Summary{RunID: runID, Status: RunSucceeded}
	// Every line logged about this cycle carries its run id.
	run := *e
	run.log = e.log.With(zap.Int64("run", runID))
	start := e.cfg.Now()
	err = body(&run, ctx, &s)
	switch {
	case ctx.Err() != nil:
		s.Status, s.Error = RunAborted, fmt.Sprintf("aborted: %v", context.Cause(ctx))
		if err != nil {
			s.Error += ": " + err.Error()
		}
		err = errors.Join(ctx.Err(), err)
	case err != nil && classOf(err) == ClassBudget:
		s.Status, s.Error, err = RunPaused, "paused: "+err.Error(), nil
	case err != nil:
		s.Status, s.Error = RunFailed, err.Error()
	}
	s.Usage, _ = e.cfg.Directory.Usage()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.Grace)
	defer cancel()
	if ferr := e.cfg.Journal.FinishRun(fctx, runID, Finish{Status: s.Status, Error: s.Error, Stats: s.Stats}); ferr != nil {
		err = errors.Join(err, fmt.Errorf("reconcile: finishing run %d: %w", runID, ferr))
	}
	run.log.Info("cycle finished", zap.String("trigger", trigger), zap.String("status", string(s.Status)),
		zap.String("error", s.Error), zap.Duration("took", e.cfg.Now().Sub(start)),
		zap.Int("applied", s.Applied), zap.Int("failed", s.Failed), zap.Int("pending", s.Pending),
		zap.Int("held", s.Held), zap.Int("skipped", s.Skipped), zap.Int("source_records", s.Stats.SourceRecords),
		zap.Bool("source_complete", s.SourceComplete), zap.Bool("source_unchanged", s.SourceUnchanged), zap.Int("rejected", s.Stats.RejectedRecords),
		zap.String("read", string(s.Read)), zap.Int("rows_read", s.RowsRead),
		zap.Int("disputed", s.Stats.Disputed), zap.Int("unmanaged", s.Stats.UnmanagedUsers),
		zap.Int("blocked", s.Blocked), zap.Any("seats_freed", s.SeatsFreed))
	return s, err
}

// cycle is RunOnce between StartRun and FinishRun. A pause is reported in s.
func (e *Engine) cycle(ctx context.Context, s *Summary) error { return e.cycleReading(ctx, s, false) }

// fullCycle is RunFull between StartRun and FinishRun.
func (e *Engine) fullCycle(ctx context.Context, s *Summary) error {
	return e.cycleReading(ctx, s, true)
}

// cycleReading is a cycle, reading Salesforce in full when full is set.
func (e *Engine) cycleReading(ctx context.Context, s *Summary, full bool) error {
	c, err := e.gather(ctx, full)
	if c != nil {
		s.Stats = stats(c, Plan{})
		s.SourceComplete, s.SourceUnchanged = c.snapshot.Complete, c.unchanged
		s.Read, s.RowsRead = c.read, c.rowsRead
	}
	if err != nil {
		return err
	}
	if err := e.forgetStaleOwnership(ctx, c.entitlements); err != nil {
		return err
	}
	plan := e.planWithEntitlements(e.cfg.Plan(c.input, c.policy), c)
	snap := Snapshot{Count: c.snapshot.Count, Digest: c.snapshot.Digest, Complete: isBaseline(c.snapshot.Complete, plan)}
	if err := e.cfg.Journal.SaveSnapshot(ctx, snap); err != nil {
		return fmt.Errorf("reconcile: saving the source snapshot: %w", err)
	}
	return e.execute(ctx, s, c, plan)
}

// execute saves a run's plan and applies it: the part of a cycle after planning that
// full and targeted runs share.
func (e *Engine) execute(ctx context.Context, s *Summary, c *cycleData, plan Plan) error {
	s.Stats = stats(c, plan)
	countPlan(s, plan)
	entries := entriesOf(plan)
	if err := e.cfg.Journal.SavePlan(ctx, s.RunID, entries); err != nil {
		return fmt.Errorf("reconcile: saving the plan: %w", err)
	}
	if len(plan.Stale) > 0 {
		if err := e.cfg.Journal.RecordResults(ctx, staleResults(plan.Stale)); err != nil {
			return fmt.Errorf("reconcile: recording stale approvals: %w", err)
		}
	}
	a := newApplier(e, s.RunID, c)
	err := a.apply(ctx, plan)
	s.Applied, s.Failed, s.Pending = a.counts()
	s.Blocked, s.SeatsFreed = a.blockedCount(), a.seatsFreed(c.licenses)
	if reason := a.pauseReason(); reason != "" && err == nil {
		s.Status, s.Error = RunPaused, "paused: "+reason
	}
	return err
}

// guardShrink is the name the Shrink guardrail gives its GuardResult.
const guardShrink = "shrink"

// isBaseline reports whether a cycle's pull may become the baseline the shrink gate
// compares later pulls with: it must be complete, and the gate must not have held
// deactivations over it. Were a held pull a baseline, the gate would hold only once:
// the next cycle would compare the same shrunken export with itself and deactivate
// everyone missing from it, with no approval. A shrunken pull becomes the baseline
// once the cycles over it hold nothing (the held deactivations were approved and
// applied, or the people reappeared).
func isBaseline(complete bool, plan Plan) bool {
	if !complete {
		return false
	}
	for _, g := range plan.Guards {
		if g.Name == guardShrink && g.Held > 0 {
			return false
		}
	}
	return true
}

// cycleData is what a cycle gathered before planning.
type cycleData struct {
	snapshot source.Snapshot // without its Records, dropped once mapped
	// sourceRecords is the number of records the pull returned.
	sourceRecords int
	mapped        mapping.Result
	input         Input
	policy        Policy
	// entitlements is nil when the entitlement step is off.
	entitlements *EntitlementState
	// managed is the number of links syncd owns, for a targeted run's cap.
	managed int
	// unchanged says the pull found the source as the last complete one was.
	unchanged bool
	// read is how the org was read ("" before it was), rowsRead how many user
	// records the read returned.
	read     ReadMode
	rowsRead int
	// licenses names each profile's license (Names.Licenses).
	licenses map[string]string
}

// dropRecords lets go of the snapshot's records once they are mapped, keeping their
// number for the run's statistics. Nothing needs them afterwards, and at a million
// people they are about 350 MiB that would otherwise stay live through reading the
// org, planning and applying.
func (c *cycleData) dropRecords() {
	c.sourceRecords = c.snapshot.Count
	c.snapshot.Records = nil
}

// gather pulls the source and the org and loads what earlier cycles left, in
// DESIGN.md's order. An incomplete pull continues (the plan then deactivates
// nothing); a pull that failed with no records fails the cycle. The org is read in
// full when full is set (see readOrg). The returned data is partial when the error
// is not nil.
func (e *Engine) gather(ctx context.Context, full bool) (*cycleData, error) {
	c := &cycleData{policy: e.cfg.Policy}
	c.input.Now = e.cfg.Now()
	snap, mapped, unchanged, err := e.pullAndMap(ctx)
	if err != nil && snap.Count == 0 {
		return nil, fmt.Errorf("reconcile: pulling the source: %w", err)
	}
	if err != nil {
		e.log.Warn("source pull incomplete: creating and updating from what was read, deactivating nothing",
			zap.Int("records", snap.Count), zap.Error(err))
	}
	c.snapshot = snap
	c.mapped, c.unchanged = mapped, unchanged
	c.input.Desired, c.input.Inactive, c.input.Rejected = c.mapped.Desired, c.mapped.Inactive, c.mapped.Rejected
	c.input.Source = Source{Complete: snap.Complete, Reasons: snap.Reasons, Count: snap.Count}
	c.dropRecords()

	if err := e.readOrg(ctx, c, full); err != nil {
		return c, err
	}
	e.cfg.Memo.keep(c.snapshot, c.mapped) // resolved: the cycle changes it no more
	if err := e.protectSelf(ctx, c); err != nil {
		return c, err
	}
	if err := e.loadJournal(ctx, c); err != nil {
		return c, err
	}
	if c.input.Transfers, err = e.pendingTransfers(ctx, c.input.Desired); err != nil {
		return c, err
	}
	if needFrozen(&c.input, &c.policy.Offboarding) {
		if c.input.Frozen, err = e.frozen(ctx); err != nil {
			return c, err
		}
	}
	base, ok, err := e.cfg.Journal.LastGoodSnapshot(ctx)
	if err != nil {
		return c, fmt.Errorf("reconcile: loading the last good snapshot: %w", err)
	}
	if ok {
		c.input.Source.Baseline = base.Count
	}
	if c.entitlements, err = e.gatherEntitlements(ctx); err != nil {
		return c, err
	}
	return c, nil
}

// resolveNames reads the org's profiles and roles, resolves the desired users'
// profile and role names to Ids and completes the protected profiles. It returns
// the names read.
func (e *Engine) resolveNames(ctx context.Context, c *cycleData) (Names, error) {
	names, err := e.cfg.Directory.ResolveNames(ctx)
	if err != nil {
		return Names{}, fmt.Errorf("reconcile: reading profiles and roles: %w", err)
	}
	return names, e.resolve(c, names)
}

// loadJournal loads what earlier cycles left: links, back-offs and approvals.
func (e *Engine) loadJournal(ctx context.Context, c *cycleData) error {
	j := e.cfg.Journal
	var err error
	if c.input.Links, err = j.Links(ctx); err != nil {
		return fmt.Errorf("reconcile: loading links: %w", err)
	}
	if c.input.Backoffs, err = j.Backoffs(ctx); err != nil {
		return fmt.Errorf("reconcile: loading back-offs: %w", err)
	}
	if c.input.Approved, err = j.Approved(ctx); err != nil {
		return fmt.Errorf("reconcile: loading approved actions: %w", err)
	}
	return nil
}

// protectedProfileIDs adds the Ids of the named profiles to ids; an unknown name is a
// configuration error.
func protectedProfileIDs(ids, names []string, profiles map[string]string) ([]string, error) {
	out := slices.Clone(ids)
	var unknown []string
	for _, n := range names {
		id, ok := profiles[n]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", n))
			continue
		}
		out = append(out, id)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("reconcile: policy.protect.profiles: Salesforce has no profile named %v", unknown)
	}
	return out, nil
}

// managedFields returns the names of every field the desired users carry, sorted:
// the fields ReadUsers must return for the plan to compare.
func managedFields(desired []mapping.Desired) []string {
	seen := map[string]bool{}
	var names []string
	for i := range desired {
		for _, f := range desired[i].Fields {
			if !seen[f.Name] {
				seen[f.Name] = true
				names = append(names, f.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// progress reports a stage's progress when a callback is set.
func (e *Engine) progress(stage Stage, done, total int) {
	if e.cfg.Progress != nil {
		e.cfg.Progress(Progress{Stage: stage, Done: done, Total: total})
	}
}

// stats returns the numbers FinishRun records.
func stats(c *cycleData, plan Plan) Stats {
	return Stats{
		SourceRecords:   c.sourceRecords,
		RejectedRecords: len(c.mapped.Rejected),
		SalesforceUsers: len(c.input.Existing),
		UnmanagedUsers:  plan.Unmanaged,
		Disputed:        len(plan.Disputed),
	}
}

// countPlan fills the plan's counts of s.
func countPlan(s *Summary, plan Plan) {
	s.Planned = map[Kind]int{}
	for _, a := range plan.Actions {
		if a.Held {
			s.Held++
			continue
		}
		s.Planned[a.Kind]++
	}
	s.Skipped = len(plan.Skipped)
}

// planned counts the actions a plan would apply.
func planned(plan Plan) int {
	n := 0
	for _, a := range plan.Actions {
		if !a.Held {
			n++
		}
	}
	return n
}

// entriesOf turns a plan into journal entries: its actions (planned or held) in plan
// order, then its skips. Action i is Seq i+1, as the journal numbers them.
func entriesOf(plan Plan) []Entry {
	entries := make([]Entry, 0, len(plan.Actions)+len(plan.Skipped))
	for _, a := range plan.Actions {
		e := Entry{Action: a, Status: EntryPlanned, Reason: a.Reason}
		if a.Held {
			e.Status, e.Reason = EntryHeld, a.HeldReason
		}
		entries = append(entries, e)
	}
	for _, s := range plan.Skipped {
		entries = append(entries, Entry{Action: s.Action, Status: EntrySkipped, Reason: s.Reason})
	}
	return entries
}

// staleResults closes approved actions of earlier runs that this plan no longer
// contains: they are skipped, never applied.
func staleResults(stale []Approved) []Result {
	out := make([]Result, len(stale))
	for i, a := range stale {
		out[i] = Result{
			Action:       ActionRef{RunID: a.RunID, Seq: a.Seq},
			Status:       ResultSkipped,
			ErrorMessage: "stale approval: this cycle's plan no longer contains the action",
		}
	}
	return out
}

// Package store is syncd's memory: runs, actions, links, source snapshots and
// approvals, behind one Store interface with PostgreSQL and SQLite backends that pass
// one conformance suite (package storetest).
//
// A cycle uses the store in this order: StartRun; SavePlan with every intended action,
// held ones included, before Salesforce is touched; RecordResults once per applied
// batch; FinishRun. Held actions wait until Approve releases them; the apply loop then
// finds them with Actions(ActionFilter{Statuses: []ActionStatus{ActionApproved}}).
//
// Only the leader writes a cycle, and a lock alone cannot guarantee that: a leader
// that lost its lock (its connection was cut, the server restarted) may not have
// noticed yet. So leadership comes in epochs. TryLeaderLock starts a new epoch, and
// every write that belongs to a leader (StartRun, SavePlan, RecordResults,
// FinishRun, UpsertLink, DeleteLink, ReplaceMirror, PatchMirror) checks in its own transaction that the epoch it
// was started under is still the current one, or fails with ErrFenced. A new
// leader's epoch starts only after the old leader's writes in flight have ended, so
// none of the old leader's writes lands after the new leader's first one. Operator
// actions (Approve, ClearBackoff) are not fenced.
//
// Every timestamp the store records comes from the clock in Config, never from the
// database server, so tests and replicas agree on time. Times are kept to the
// microsecond and returned in UTC.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Store is the persistence syncd's reconcile engine and daemon need. Implementations
// are safe for concurrent use. Methods return errors wrapping the sentinels below
// (ErrNotFound, ErrConflict, ...) so callers classify with errors.Is.
type Store interface {
	// StartRun records the start of a cycle, before anything is pulled, so that a
	// cycle that fails early is still on record. The run is RunRunning and belongs
	// to the leader epoch r.Epoch: ErrFenced when that epoch is over.
	StartRun(ctx context.Context, r NewRun) (Run, error)
	// SavePlan stores every intended action of a run in one transaction, before any
	// of them is applied. The i-th action gets Seq i+1; its RunID, Seq, Attempts
	// and outcome fields are ignored. A run's plan is saved once: a second call, or
	// a call for a finished run, is ErrConflict. An action must be ActionPlanned,
	// ActionHeld or ActionSkipped. ErrFenced when the run's epoch is over.
	SavePlan(ctx context.Context, runID int64, actions []Action) error
	// RecordResults stores the outcome of one applied batch in one transaction,
	// with the links the results carry and the per-user back-offs they imply (see
	// Backoffs).
	//
	// A result whose link cannot be written, because its Salesforce Id is already
	// linked to another IdP id, does not cost the others theirs: its action is
	// recorded as failed with ErrorCode CodeLinkConflict and a message naming the
	// link, its link is not written, every other result is recorded as given, and
	// the call returns a *ResultsError (wrapping ErrConflict) that lists those
	// results. Any other error means nothing was written: a result for an action
	// that cannot take one (ErrNotFound, or ErrConflict for a held, applied or
	// skipped action), ErrFenced when epoch is no longer the leader's, or a
	// database failure. The batch is fenced by the writer's epoch, not by the epochs
	// of the runs it names: a leader records the outcome of an approved action of a
	// run an earlier leader started, and must be able to.
	RecordResults(ctx context.Context, epoch int64, results []ActionResult) error
	// FinishRun closes a running run with its final status and cycle statistics.
	// ErrFenced when the run's epoch is over.
	FinishRun(ctx context.Context, runID int64, f RunFinish) (Run, error)
	// Run returns one run with its action counts, or ErrNotFound.
	Run(ctx context.Context, id int64) (Run, error)
	// Runs lists runs, newest first.
	Runs(ctx context.Context, f RunFilter) ([]Run, error)
	// Actions lists journal entries, newest run first and in plan order within a
	// run.
	Actions(ctx context.Context, f ActionFilter) ([]Action, error)
	// Approve releases held actions of one run: those named in req.Seqs, or all of
	// them when req.Seqs is empty. Nothing is re-planned: the released actions are
	// exactly the ones stored. Errors: ErrNotFound (no such run or action),
	// ErrAlreadyApproved (approved before), ErrNothingToApprove (the run never held
	// anything), ErrConflict (a named action is not held).
	Approve(ctx context.Context, runID int64, req ApprovalRequest) (Approval, error)

	// Links returns every link, ordered by IdP id.
	Links(ctx context.Context) ([]Link, error)
	// LinkByIdPID returns the link of one IdP identity, or ErrNotFound.
	LinkByIdPID(ctx context.Context, idpID string) (Link, error)
	// LinkBySalesforceID returns the link of one Salesforce user, or ErrNotFound.
	LinkBySalesforceID(ctx context.Context, salesforceID string) (Link, error)
	// UpsertLink links an IdP id to a Salesforce Id, replacing the IdP id's previous
	// link, for the leader of epoch. A Salesforce Id already linked to another IdP
	// id is ErrConflict; ErrFenced when epoch is over.
	UpsertLink(ctx context.Context, epoch int64, l Link) (Link, error)
	// DeleteLink removes the link of one IdP id for the leader of epoch, or returns
	// ErrNotFound; ErrFenced when epoch is over.
	DeleteLink(ctx context.Context, epoch int64, idpID string) error

	// Backoffs returns every user whose last write failed and is not to be retried
	// before its NextAttemptAt, ordered by IdP id and kind. RecordResults keeps
	// them: a failed result with a NextAttemptAt counts one more attempt for the
	// action's (IdP id, kind) and sets its next time; an applied result for that
	// IdP id and kind removes it. Failed results without a NextAttemptAt, skipped
	// results and actions without an IdP id leave the back-offs alone.
	Backoffs(ctx context.Context) ([]Backoff, error)
	// ClearBackoff removes every back-off of one IdP id, so the next cycle retries
	// it ("retry now"); ErrNotFound when it has none. It is an operator's action
	// and not fenced.
	ClearBackoff(ctx context.Context, idpID string) error

	// Grants returns every entitlement assignment syncd made, ordered by user and
	// entitlement Id.
	Grants(ctx context.Context) ([]Grant, error)
	// AddGrants records assignments syncd is about to make, in one transaction, for
	// the leader of epoch; one already recorded stays as it is. ErrInvalid for a
	// grant without user, entitlement or kind; ErrFenced when epoch is over.
	AddGrants(ctx context.Context, epoch int64, grants []Grant) error
	// RemoveGrants forgets assignments (removed, or never made), in one
	// transaction, for the leader of epoch; an unknown key is no error. ErrFenced
	// when epoch is over.
	RemoveGrants(ctx context.Context, epoch int64, keys []GrantKey) error

	// RecordTransfers stores records handed from a leaver to someone else, in one
	// transaction; a transfer stored before (same action and record) is left as it
	// is. ErrFenced when epoch is no longer the leader's.
	RecordTransfers(ctx context.Context, epoch int64, ts []Transfer) error
	// PendingTransfers returns the transfers not yet returned of the given IdP ids,
	// in the order they were made (run, seq, record Id); with no ids, the IdP ids
	// that have any are enough: each is returned once, with only IdPID set.
	PendingTransfers(ctx context.Context, idpIDs []string) ([]Transfer, error)
	// MarkReturned records that transfers were undone (or will not be: the record
	// has another owner now), in one transaction. ErrFenced when epoch is no longer
	// the leader's.
	MarkReturned(ctx context.Context, epoch int64, ts []Transfer) error

	// SaveSnapshot records the size and digest of one source pull.
	SaveSnapshot(ctx context.Context, s NewSnapshot) (Snapshot, error)
	// LastGoodSnapshot returns the newest complete snapshot, the shrink gate's
	// baseline, or ErrNotFound when no pull has been complete yet.
	LastGoodSnapshot(ctx context.Context) (Snapshot, error)

	// ReplaceMirror replaces the Salesforce mirror (see MirrorUser) with a full
	// read of the org: its state and every user read. ErrFenced when epoch is over.
	ReplaceMirror(ctx context.Context, epoch int64, state MirrorState, users []MirrorUser) error
	// PatchMirror writes users read by a delta read, or written by syncd itself,
	// over their mirror rows and moves the watermark forward (a zero watermark
	// leaves it). ErrNotFound when no full read was recorded; ErrFenced when epoch
	// is over.
	PatchMirror(ctx context.Context, epoch int64, watermark time.Time, users []MirrorUser) error
	// Mirror returns the mirror's state and users ordered by Id, or ErrNotFound
	// when no full read was recorded.
	Mirror(ctx context.Context) (MirrorState, []MirrorUser, error)
	// Prune deletes runs started before cutoff with their actions and approvals,
	// and snapshots taken before cutoff except the last good one.
	Prune(ctx context.Context, cutoff time.Time) (PruneResult, error)

	// TryLeaderLock takes the leader lock without waiting. It returns ErrLocked
	// when another instance holds it. Once it holds the lock it starts a new leader
	// epoch, the lease's Epoch, and closes as RunAborted (Error AbandonedRunError)
	// every run still running, in one transaction: whoever ran them has stopped
	// leading. The holder must stop writing as soon as the lease's Lost channel is
	// closed; writes it makes after another instance took the lock fail with
	// ErrFenced.
	TryLeaderLock(ctx context.Context) (Lease, error)
	// RequestReconcile asks the leader to reconcile now. On PostgreSQL it reaches
	// every instance on the database (NOTIFY); on SQLite, which serves a single
	// instance, only this Store's subscribers.
	RequestReconcile(ctx context.Context) error
	// ReconcileRequests delivers reconcile requests until ctx is done. Requests
	// that arrive while one is pending are coalesced into it. A spurious request
	// may be delivered (after a reconnect, for instance); a request is never lost
	// silently while the channel is being read.
	ReconcileRequests(ctx context.Context) <-chan struct{}

	// Close releases the store's connections. Leases must be released first.
	Close() error
}

// Lease is a held leader lock.
type Lease interface {
	// Epoch is the leader epoch this lease started; the holder passes it to every
	// write it makes as the leader (NewRun.Epoch, UpsertLink, DeleteLink).
	Epoch() int64
	// Lost is closed when the lock is no longer held, whether released or lost
	// because its connection died; the holder must stop writing at once.
	Lost() <-chan struct{}
	// Release gives the lock up so another instance can take it. Releasing a lost
	// or released lease does nothing.
	Release(ctx context.Context) error
}

// Errors returned (wrapped) by every backend.
var (
	// ErrNotFound: the run, action, link or snapshot does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write contradicts what is stored (a second plan for a run, a
	// result for a held action, a Salesforce Id linked twice).
	ErrConflict = errors.New("conflict")
	// ErrAlreadyApproved: the held actions were approved before.
	ErrAlreadyApproved = errors.New("already approved")
	// ErrNothingToApprove: the run never held any action.
	ErrNothingToApprove = errors.New("nothing to approve")
	// ErrLocked: another instance holds the leader lock.
	ErrLocked = errors.New("leader lock held by another instance")
	// ErrFenced: the write belongs to a leader epoch that is over; the instance
	// must stop writing as a leader.
	ErrFenced = errors.New("leadership lost; another instance is the leader")
	// ErrInvalid: the caller passed a value the store cannot record.
	ErrInvalid = errors.New("invalid")
	// ErrSchemaOutdated: the database needs migrations this binary carries.
	ErrSchemaOutdated = errors.New("database schema is behind this syncd; run `syncd migrate` or enable automatic migration")
)

// RunStatus is where a run stands.
type RunStatus string

// Run statuses.
const (
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	// RunFailed: the cycle stopped on an error (incomplete pull, Salesforce down).
	RunFailed RunStatus = "failed"
	// RunAborted: the cycle stopped because leadership was lost or syncd shut down.
	RunAborted RunStatus = "aborted"
	// RunPaused: the cycle stopped writing because the org's remaining API allowance
	// fell below the reserve; what it did not send, a later cycle plans again.
	RunPaused RunStatus = "paused"
)

// AbandonedRunError is the Error of a run that the next leader found still running
// and closed as RunAborted.
const AbandonedRunError = "abandoned: the instance running it stopped (crash or lost leadership)"

// NewRun is what StartRun needs.
type NewRun struct {
	// Trigger says why the cycle ran: "schedule", "manual", "api", "signal".
	Trigger string
	// Mode is the policy mode in force: "sync", "upsert-only", "create-only".
	Mode string
	// Epoch is the leader epoch the run is started under, the Epoch of the
	// caller's lease; required (a run belongs to a leader).
	Epoch int64
}

// RunStats are numbers about a cycle that are not actions.
type RunStats struct {
	SourceRecords   int // records the source returned
	RejectedRecords int // records mapping rejected
	SalesforceUsers int // users read from Salesforce
	UnmanagedUsers  int // Salesforce users no record claims and syncd never linked
	Disputed        int // keys with more than one candidate
}

// RunFinish is what FinishRun records.
type RunFinish struct {
	Status RunStatus // RunSucceeded, RunFailed, RunAborted or RunPaused
	Error  string    // why, when not succeeded
	Stats  RunStats
}

// ActionCounts counts a run's actions by status.
type ActionCounts struct {
	Planned, Held, Approved, Applied, Failed, Skipped int
}

// Total is the number of actions in the plan.
func (c ActionCounts) Total() int {
	return c.Planned + c.Held + c.Approved + c.Applied + c.Failed + c.Skipped
}

// Run is one reconcile cycle.
type Run struct {
	ID         int64
	Trigger    string
	Mode       string
	Epoch      int64 // the leader epoch it was started under
	Status     RunStatus
	Error      string
	StartedAt  time.Time
	PlannedAt  time.Time // zero until SavePlan
	FinishedAt time.Time // zero while running
	Stats      RunStats
	Counts     ActionCounts
}

// RunFilter selects runs for Runs.
type RunFilter struct {
	// BeforeID, when non-zero, lists runs older than this one (paging).
	BeforeID int64
	// Limit caps the number of runs; zero means 50.
	Limit int
}

// ActionKind says what an action does to a Salesforce user. The store keeps any
// non-empty kind; these are the ones the reconcile engine plans.
type ActionKind string

// Action kinds.
const (
	KindCreate     ActionKind = "create"
	KindUpdate     ActionKind = "update"
	KindDeactivate ActionKind = "deactivate"
	KindReactivate ActionKind = "reactivate"
	// KindAdopt links an existing, unlinked Salesforce user to its IdP identity.
	KindAdopt ActionKind = "adopt"
	// KindFreeze freezes a user whose deactivation Salesforce blocks.
	KindFreeze ActionKind = "freeze"
	// KindAssign and KindUnassign make and remove one entitlement assignment (a
	// permission set, permission set group or licence, a public group or queue).
	KindAssign   ActionKind = "assign"
	KindUnassign ActionKind = "unassign"
)

// ActionStatus is where an action stands.
type ActionStatus string

// Action statuses. An action is saved planned, held or skipped; Approve moves held to
// approved; RecordResults moves planned, approved or failed to applied, failed or
// skipped.
const (
	ActionPlanned  ActionStatus = "planned"
	ActionHeld     ActionStatus = "held"
	ActionApproved ActionStatus = "approved"
	ActionApplied  ActionStatus = "applied"
	ActionFailed   ActionStatus = "failed"
	ActionSkipped  ActionStatus = "skipped"
)

// FieldChange is one Salesforce field an action changes.
type FieldChange struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Action is one journal entry: an intended change to one Salesforce user and, once
// applied, its outcome.
type Action struct {
	RunID int64
	Seq   int // 1-based position in the run's plan
	Kind  ActionKind
	// Keys of the person, as many as are known: explain looks actions up by each.
	IdPID        string
	SalesforceID string // empty for a create until its result says
	Username     string
	Email        string
	Changes      []FieldChange
	// Reason explains the action (or why it is held or skipped) to a human.
	Reason        string
	Status        ActionStatus
	ErrorCode     string // Salesforce's error code, e.g. DUPLICATE_USERNAME
	ErrorMessage  string
	Attempts      int
	NextAttemptAt time.Time // zero when no retry is scheduled
	UpdatedAt     time.Time
	ApprovalID    int64 // the approval that released it, if any
}

// ActionRef names one action.
type ActionRef struct {
	RunID int64
	Seq   int
}

// ActionFilter selects actions for Actions. Zero fields do not filter.
type ActionFilter struct {
	RunID    int64
	Statuses []ActionStatus
	// Key matches an action whose IdP id or Salesforce Id (planned, or recorded by
	// its result) equals it, or whose email or username equals it ignoring case:
	// what `syncd explain KEY` asks. Every match is found through an index.
	Key string
	// Limit caps the number of actions; zero means no limit.
	Limit int
}

// ActionResult is the outcome of one applied action.
type ActionResult struct {
	Action ActionRef
	Status ActionStatus // ActionApplied, ActionFailed or ActionSkipped
	// SalesforceID, when set, is recorded on the action (the Id of a created user).
	SalesforceID string
	ErrorCode    string
	ErrorMessage string
	// NextAttemptAt schedules a retry of a failed action; zero for none.
	NextAttemptAt time.Time
	// Link, when set, is upserted in the same transaction, so a created or adopted
	// user is never on record without its link.
	Link *Link
}

// CodeLinkConflict is the ErrorCode RecordResults records for a result whose link
// names a Salesforce Id already linked to another IdP id.
const CodeLinkConflict = "LINK_CONFLICT"

// ResultsError is returned by RecordResults when some results could not be
// recorded as given; every other result of the batch was recorded. It wraps
// ErrConflict.
type ResultsError struct {
	// Rejected lists those results in batch order.
	Rejected []RejectedResult
}

// RejectedResult is one result RecordResults recorded as failed instead of as
// given, and why.
type RejectedResult struct {
	Action  ActionRef
	Code    string // CodeLinkConflict
	Message string
}

func (e *ResultsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d result(s) recorded as failed instead of as given:", len(e.Rejected))
	const shown = 5
	for i, r := range e.Rejected {
		if i == shown {
			fmt.Fprintf(&b, " and %d more", len(e.Rejected)-shown)
			break
		}
		fmt.Fprintf(&b, " action %d/%d: %s: %s;", r.Action.RunID, r.Action.Seq, r.Code, r.Message)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap makes a ResultsError match ErrConflict.
func (e *ResultsError) Unwrap() error { return ErrConflict }

// Backoff holds off retrying one kind of write for one user whose last attempts
// failed, so that a broken user does not cost API calls every cycle.
type Backoff struct {
	IdPID         string
	Kind          ActionKind
	Attempts      int    // failed attempts in a row
	ErrorCode     string // of the last failure
	ErrorMessage  string
	NextAttemptAt time.Time // not to be retried before
	UpdatedAt     time.Time
}

// ApprovalRequest is what an operator approves.
type ApprovalRequest struct {
	By      string // who approved; required
	Comment string
	// Seqs are the held actions reviewed; empty means every held action of the run.
	Seqs []int
}

// Approval records one release of held actions.
type Approval struct {
	ID      int64
	RunID   int64
	By      string
	Comment string
	At      time.Time
	Actions int // how many actions it released
}

// LinkOrigin says how syncd came to own a Salesforce user.
type LinkOrigin string

// Link origins.
const (
	OriginCreated LinkOrigin = "created" // syncd created the user
	OriginAdopted LinkOrigin = "adopted" // syncd matched an existing user and took it over
)

// Link ties an IdP identity to the Salesforce user syncd manages for it.
type Link struct {
	IdPID        string
	SalesforceID string
	Origin       LinkOrigin
	CreatedAt    time.Time // set by the store
	UpdatedAt    time.Time // set by the store
}

// NewSnapshot is what SaveSnapshot records about one source pull.
type NewSnapshot struct {
	Count    int    // records in the pull
	Digest   string // digest of the pull's content, to tell changed from unchanged
	Complete bool   // every page fetched and consistent; only complete pulls are baselines
}

// Snapshot is a recorded source pull.
type Snapshot struct {
	ID       int64
	TakenAt  time.Time
	Count    int
	Digest   string
	Complete bool
}

// PruneResult says what Prune deleted.
type PruneResult struct {
	Runs, Actions, Snapshots int
}

// Transfer is one record syncd handed from a leaver to another user.
type Transfer struct {
	// RunID and Seq name the transfer action.
	RunID int64
	Seq   int
	// IdPID is the leaver's person.
	IdPID    string
	Object   string
	RecordID string
	// FromID is the leaver's user, ToID the one who received the record.
	FromID, ToID string
	CreatedAt    time.Time
	// ReturnedAt is zero while the transfer stands.
	ReturnedAt time.Time
}

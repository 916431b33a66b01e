package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/source"
)

// MaxBatch is the most records one Directory write call carries: Salesforce's sObject
// Collections limit, so that one call costs one API request.
const MaxBatch = 200

// Directory is the Salesforce org as the engine needs it. The wiring adapts
// internal/salesforce's client to it (internal/app); tests may use the same adapter
// over the simulator. Write methods take at most MaxBatch records and return one
// WriteResult per record, in order; an error means the call failed as a whole and
// is a *CallError saying what that means.
type Directory interface {
	// ResolveNames returns the org's profiles and roles by name, for
	// mapping.Mapper.ResolveIDs.
	ResolveNames(ctx context.Context) (Names, error)
	// ReadUsers returns every Standard user, active and inactive, with the given
	// fields (the ones the mapping manages) in Existing.Fields. progress, when not
	// nil, is told after each page how many users were read of how many.
	ReadUsers(ctx context.Context, fields []string, progress func(read, total int)) ([]Existing, error)
	// ReadUsersChangedSince returns the users Salesforce wrote since the given
	// time, less the Directory's overlap (clock skew, transactions that commit after
	// a later write was already read), whatever their type, so that a user who
	// stopped being Standard is seen to leave. Each user comes once, its latest
	// version, ordered by SystemModstamp then Id, with the given fields as ReadUsers
	// returns them and SystemModstamp set. asOf is Salesforce's clock when it
	// answered (zero when it did not say): the next read may start from it, so a
	// quiet org's reads stay empty instead of re-reading its last writes.
	ReadUsersChangedSince(ctx context.Context, fields []string, since time.Time) (users []Existing, asOf time.Time, err error)
	// OrgID returns the Id of the org, without spending an API call, so that what
	// syncd remembers of one org is never used for another.
	OrgID(ctx context.Context) (string, error)
	// IntegrationUserID returns the Id of the user syncd's session runs as, without
	// spending an API call: every cycle protects that user by Id, whatever its
	// username and profile.
	IntegrationUserID(ctx context.Context) (string, error)
	// FindUsers re-reads the users whose field (FederationIdentifier or Username)
	// equals one of values, whatever their type; Existing.Fields is empty.
	FindUsers(ctx context.Context, field string, values []string) ([]Existing, error)
	// ReadUsersWhere reads the users whose field (Id or FederationIdentifier) equals
	// one of values, whatever their type, with the given fields in Existing.Fields as
	// ReadUsers returns them: a targeted reconcile's view of a few people.
	ReadUsersWhere(ctx context.Context, field string, values, fields []string) ([]Existing, error)
	// CreateUsers creates users; WriteResult.ID is the new user's Id.
	CreateUsers(ctx context.Context, users []UserWrite) ([]WriteResult, error)
	// UpdateUsers changes the given fields of users named by UserWrite.ID
	// (deactivation and reactivation are IsActive "false" and "true").
	UpdateUsers(ctx context.Context, users []UserWrite) ([]WriteResult, error)
	// FreezeUsers freezes users (UserLogin.IsFrozen), which cuts their access even
	// while a deactivation blocker stands.
	FreezeUsers(ctx context.Context, userIDs []string) ([]WriteResult, error)
	// FreeSeats returns the free license seats behind the given profiles. It returns
	// ErrSeatsUnknown when the org cannot tell; the engine then keeps its usual order.
	FreeSeats(ctx context.Context, profileIDs []string) (Seats, error)
	// Usage returns the org's API usage as last reported; ok is false before any
	// answer carried it.
	Usage() (u Usage, ok bool)
}

// ErrSeatsUnknown is returned by Directory.FreeSeats when the free seats cannot be told.
var ErrSeatsUnknown = errors.New("free license seats unknown")

// Names are the org's profiles and roles, name → Id.
type Names struct {
	Profiles map[string]string
	Roles    map[string]string
	// Licenses names each profile's user license, profile Id → license Name, for
	// the seats deactivations free; a profile missing from it is not counted.
	Licenses map[string]string
}

// Seats are the free license seats behind some profiles: each profile's license and
// each license's free seats. Profiles on one license share its seats.
type Seats struct {
	LicenseOf map[string]string // profile Id → license Id
	Free      map[string]int    // license Id → free seats
}

// Usage is the org's API usage over the rolling 24 hours: Used of Max requests.
type Usage struct {
	Used, Max int64
}

// UserWrite is one user to create (ID empty) or update, with the fields to write.
// A Value of "" clears the field.
type UserWrite struct {
	ID     string
	Fields []FieldValue
}

// WriteResult is the outcome of writing one user.
type WriteResult struct {
	// ID is the user's Id (for a freeze, the UserLogin's) when Salesforce gave one.
	ID string
	OK bool
	// Code and Message are Salesforce's first error for the record, e.g.
	// DUPLICATE_USERNAME; Class says what the failure means.
	Code    string
	Message string
	Class   ErrorClass
}

// ErrorClass says what the engine may do after a failed write. The Directory
// classifies (internal/salesforce's ClassOf is the one place that decides); the
// engine only acts on the class.
type ErrorClass int

const (
	// ClassPermanent fails the same way again: record it and back off.
	ClassPermanent ErrorClass = iota
	// ClassTransient may succeed later (a row lock, Salesforce down after the
	// client's own retries): record it; the next cycle tries again.
	ClassTransient
	// ClassOutcomeUnknown is a create that may have been applied before its answer
	// was lost: re-read the org before anything is resent.
	ClassOutcomeUnknown
	// ClassBudget is a call refused because the org's API allowance is spent or its
	// remaining allowance is below the reserve: stop writing; the cycle pauses.
	ClassBudget
	// ClassAuth means syncd cannot authenticate: an operator must act.
	ClassAuth
)

// String returns the class as a word for logs.
func (c ErrorClass) String() string {
	switch c {
	case ClassPermanent:
		return "permanent"
	case ClassTransient:
		return "transient"
	case ClassOutcomeUnknown:
		return "outcome_unknown"
	case ClassBudget:
		return "budget"
	case ClassAuth:
		return "auth"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// CallError is a Directory call that failed as a whole, with its class.
type CallError struct {
	Class ErrorClass
	Err   error
}

// Error returns the cause's message.
func (e *CallError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *CallError) Unwrap() error { return e.Err }

// classOf returns the class of a Directory call's error: the *CallError's, else
// permanent.
func classOf(err error) ErrorClass {
	var ce *CallError
	if errors.As(err, &ce) {
		return ce.Class
	}
	return ClassPermanent
}

// Journal is the store as the engine needs it: the run, its plan and results, and
// what earlier cycles left (links, back-offs, approvals, the last good snapshot).
// The wiring adapts internal/store to it. Implementations must be safe for
// concurrent use: batches record their results as they land.
type Journal interface {
	// StartRun records the start of a cycle, before anything is pulled.
	StartRun(ctx context.Context, r RunStart) (runID int64, err error)
	// SavePlan stores every entry of a run's plan, before Salesforce is touched. The
	// i-th entry is the run's action Seq i+1.
	SavePlan(ctx context.Context, runID int64, entries []Entry) error
	// RecordResults stores the outcome of one applied batch, with the links of
	// created and adopted users in the same transaction.
	RecordResults(ctx context.Context, results []Result) error
	// FinishRun closes a run.
	FinishRun(ctx context.Context, runID int64, f Finish) error
	// Links returns every link syncd owns.
	Links(ctx context.Context) ([]Link, error)
	// Backoffs returns the people whose earlier write failed and when each may be
	// tried again.
	Backoffs(ctx context.Context) ([]Backoff, error)
	// Approved returns the held actions of earlier runs that an operator approved
	// and that have no result yet.
	Approved(ctx context.Context) ([]Approved, error)
	// LastGoodSnapshot returns the newest source snapshot saved as Complete; ok is
	// false when there is none yet.
	LastGoodSnapshot(ctx context.Context) (s Snapshot, ok bool, err error)
	// SaveSnapshot records one source pull.
	SaveSnapshot(ctx context.Context, s Snapshot) error
}

// RunStart is what StartRun records.
type RunStart struct {
	Trigger string // schedule, manual, api, signal
	Mode    Mode
}

// EntryStatus is how an action enters the journal.
type EntryStatus string

// Entry statuses (the store's action statuses of the same names).
const (
	EntryPlanned EntryStatus = "planned"
	EntryHeld    EntryStatus = "held"
	EntrySkipped EntryStatus = "skipped"
)

// Entry is one action of a saved plan.
type Entry struct {
	Action Action
	Status EntryStatus
	// Reason is the action's explanation, or why it is held or skipped.
	Reason string
}

// ActionRef names one journal action: a run and the action's Seq in it.
type ActionRef struct {
	RunID int64
	Seq   int
}

// ResultStatus is the outcome of an applied action.
type ResultStatus string

// Result statuses (the store's action statuses of the same names).
const (
	ResultApplied ResultStatus = "applied"
	ResultFailed  ResultStatus = "failed"
	ResultSkipped ResultStatus = "skipped"
)

// Origin says how syncd came to own a Salesforce user.
type Origin string

// Link origins (the store's).
const (
	OriginCreated Origin = "created"
	OriginAdopted Origin = "adopted"
)

// Result is the outcome of one action.
type Result struct {
	Action ActionRef
	Status ResultStatus
	// SalesforceID is the user's Id (a created user's once known).
	SalesforceID string
	// ErrorCode and ErrorMessage are Salesforce's, with the engine's hint or note
	// appended to the message (e.g. "frozen instead").
	ErrorCode    string
	ErrorMessage string
	// Note explains an applied action that took an unusual path (an existing user
	// linked after DUPLICATE_USERNAME, a lost answer found on re-read).
	Note string
	// NextAttemptAt schedules the person's back-off for this kind; zero for none.
	NextAttemptAt time.Time
	// Link, when set, is stored with the result, with LinkOrigin.
	Link       *Link
	LinkOrigin Origin
}

// RunStatus is how a run ended.
type RunStatus string

// Run statuses. The store has no paused status yet: the wiring records a paused run
// as failed, with an Error that starts "paused:".
const (
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunAborted   RunStatus = "aborted"
	// RunPaused: the org's remaining allowance fell below the reserve; what was not
	// sent stays planned and a later cycle re-plans it.
	RunPaused RunStatus = "paused"
)

// Stats are numbers about a cycle that are not actions.
type Stats struct {
	SourceRecords   int
	RejectedRecords int
	SalesforceUsers int
	UnmanagedUsers  int
	Disputed        int
}

// Finish is what FinishRun records.
type Finish struct {
	Status RunStatus
	Error  string // why, when not succeeded; "paused: ..." for RunPaused
	Stats  Stats
}

// Snapshot is the size and digest of one source pull, the shrink gate's baseline.
type Snapshot struct {
	Count  int
	Digest string
	// Complete says the pull may serve as the baseline: it was complete, and the
	// shrink gate held nothing over it (see isBaseline).
	Complete bool
}

// Mapper turns source records into desired users (*mapping.Mapper).
type Mapper interface {
	Map(records []source.Record) mapping.Result
	ResolveIDs(users []mapping.Desired, profileIDs, roleIDs map[string]string) error
}

package reconcile

import (
	"time"

	"github.com/syncd-io/syncd/internal/mapping"
)

// Kind says what an action does to one Salesforce user.
type Kind string

// Action kinds. The strings are the journal's (store.ActionKind).
const (
	// KindCreate creates a user for a desired person no Salesforce user matches.
	KindCreate Kind = "create"
	// KindAdopt links an existing, unlinked user that matched a desired person, and
	// updates the fields that differ.
	KindAdopt Kind = "adopt"
	// KindUpdate changes the fields of a linked, active user that differ.
	KindUpdate Kind = "update"
	// KindReactivate makes a matched, inactive user active again, with any field
	// changes: a returning leaver is reactivated, never re-created (their Username
	// still blocks a new user).
	KindReactivate Kind = "reactivate"
	// KindDeactivate deactivates a linked user who is no longer desired.
	KindDeactivate Kind = "deactivate"
	// KindFreeze freezes a user whose deactivation Salesforce blocked, so access is
	// cut while the blocker stands (policy on_blocked_deactivation: freeze).
	KindFreeze Kind = "freeze"
	// KindEndSessions, KindRevokeTokens and KindTransfer are the offboarding steps
	// between a leaver's freeze and deactivation (offboard.go): delete their
	// AuthSession rows, revoke their OAuth tokens, hand their open records over.
	KindEndSessions  Kind = "end_sessions"
	KindRevokeTokens Kind = "revoke_tokens"
	KindTransfer     Kind = "transfer"
	// KindUnfreeze unfreezes a returning person's frozen user.
	KindUnfreeze Kind = "unfreeze"
	// KindReturnRecords gives a returning person back the records their offboarding
	// handed over (policy.offboarding.return_records).
	KindReturnRecords Kind = "return_records"
)

// MatchKey is one way of finding the Salesforce user of a desired person.
type MatchKey string

// Match keys, in the default order (mapping.DefaultMatch).
const (
	MatchLink         MatchKey = "link"          // the stored link IdP id ↔ Salesforce Id
	MatchFederationID MatchKey = "federation_id" // FederationIdentifier = desired FederationIdentifier
	MatchEmail        MatchKey = "email"         // Email, case-insensitive
	MatchUsername     MatchKey = "username"      // Username, case-insensitive
)

// Existing is one Salesforce user as read from the org.
type Existing struct {
	// ID is the user's Id, 15 or 18 characters (compared on the first 15, which is
	// case-sensitive and unique).
	ID                   string
	Username             string
	Email                string
	FederationIdentifier string
	IsActive             bool
	// UserType is "Standard" for the users syncd may act on; any other type
	// (CsnOnly, PowerPartner, Guest ...) is never touched.
	UserType string
	// ProfileID is the user's profile, for the protected-profile check.
	ProfileID string
	// ManagerID is the user's manager (User.ManagerId), who receives a leaver's
	// records.
	ManagerID string
	// Fields holds the current value of every field the mapping manages (Username,
	// Email, ProfileId and custom fields such as Cost_Center__c included), packed
	// (see UserFields; a reader packs them with one FieldPacker).
	Fields UserFields
	// SystemModstamp is when Salesforce last wrote the user, as read (zero when not
	// read). The plan ignores it; delta cycles keep their watermark with it.
	SystemModstamp time.Time
}

// FieldValue is one field of a Salesforce user by API name.
type FieldValue struct {
	Name  string
	Value string
}

// Link ties an IdP id to the Salesforce user syncd owns for it.
type Link struct {
	IdPID        string
	SalesforceID string
}

// Source describes the pull the desired users came from, for the guardrails.
type Source struct {
	// Complete is true when the pull reached the source's end-of-list signal with
	// every page and line read (source.Snapshot.Complete).
	Complete bool
	// Reasons say why an incomplete pull cannot be trusted.
	Reasons []string
	// Count is the number of records the pull returned (active, inactive and
	// rejected alike), compared with Baseline by the shrink gate.
	Count int
	// Baseline is the Count of the last complete pull; 0 when there was none (the
	// first cycle), which disables the shrink gate.
	Baseline int
}

// Backoff says that an earlier write for one person failed and must not be tried
// again before a time: a broken user does not cost API calls every cycle.
type Backoff struct {
	IdPID         string
	Kind          Kind
	Attempts      int
	ErrorCode     string
	NextAttemptAt time.Time
}

// Approved is a held action of an earlier run that an operator approved. It is
// applied only if this cycle's plan still contains the same action for the same
// user; otherwise it is skipped as stale.
type Approved struct {
	RunID        int64
	Seq          int
	Kind         Kind
	IdPID        string
	SalesforceID string
}

// Input is everything Calculate looks at: one cycle's view of both sides.
type Input struct {
	// Desired are the mapped, valid, active people with ProfileId and UserRoleId
	// resolved (mapping.Mapper.Map then ResolveIDs).
	Desired []mapping.Desired
	// Inactive are the IdP ids of people the source lists as inactive: their linked
	// users are deactivated (subject to the guardrails).
	Inactive []string
	// Rejected are the records mapping refused. A linked person whose record was
	// rejected is still in the source: their user is never deactivated for it.
	Rejected []mapping.Rejection
	// Existing are the org's users, active and inactive, each Id once. Users of
	// another type than Standard may be among them: they are matched (so that a
	// person they stand for is not created twice) but never acted on.
	Existing []Existing
	// Links are the links syncd owns.
	Links  []Link
	Source Source
	// Backoffs are the people whose earlier write failed; their action of that kind
	// is skipped until NextAttemptAt, measured against Now.
	Backoffs []Backoff
	// Approved are approved held actions of earlier runs (see Approved).
	Approved []Approved
	// Now is the cycle's time, given as data so that Calculate stays pure.
	Now time.Time
	// Frozen are the org's frozen users, idKey(Id) → when their UserLogin was last
	// changed (the freeze, for the grace period); read only when offboarding freezes.
	Frozen map[string]time.Time
	// Transfers are the records handed over from people now in the source that they
	// have not got back; read only when offboarding returns records.
	Transfers []Transfer
}

// Change is one field an action changes, old → new. For a create Before is empty;
// for a deactivation or reactivation the change of IsActive is one of them.
type Change struct {
	Field  string
	Before string
	After  string
}

// Action is one intended change to one Salesforce user, with its explanation.
type Action struct {
	Kind Kind
	// IdPID is the person's IdP id; empty only for actions on users no record
	// claims (none today: syncd never acts on unmanaged users).
	IdPID string
	// SalesforceID is the user's Id; empty for a create.
	SalesforceID string
	// Username and Email identify the user to humans and to `syncd explain`.
	Username string
	Email    string
	// MatchedBy is the key that found the user (empty for a create).
	MatchedBy MatchKey
	// Changes are the fields to write, sorted by Field. A create carries every
	// desired field (on_create ones included); an update, adopt or reactivate only
	// the ones that differ; a deactivate only IsActive.
	Changes []Change
	// Profile and Role are the names the mapping rules chose, for explanations.
	Profile string
	Role    string
	// Reason explains the action to a human: which key matched, which fields
	// differ, which rule chose the profile, why it is held.
	Reason string
	// Held is true when a guardrail holds the action until an operator approves it;
	// HeldBy names the guardrail and HeldReason says why.
	Held       bool
	HeldBy     string
	HeldReason string
	// Approval is set when this action releases an approved held action of an
	// earlier run (the same action for the same user).
	Approval *Approved
	// Entitlement is what an assign or unassign action grants or removes.
	Entitlement *EntitlementChange
}

// Dispute is a person or a user with more than one candidate on the other side:
// nothing is done to any of them, and the dispute is reported.
type Dispute struct {
	// Key is the match key on which the ambiguity arose.
	Key MatchKey
	// IdPIDs and SalesforceIDs are every candidate on each side.
	IdPIDs        []string
	SalesforceIDs []string
	Reason        string
}

// Skip is an action the plan would have taken but did not, and why: protected
// users, users of another type, people in back-off, stale approvals.
type Skip struct {
	Action Action
	Reason string
}

// Plan is what one cycle intends to do, as a value.
type Plan struct {
	// Actions in a deterministic order (by kind, then IdP id, then Salesforce Id),
	// whatever the order of the input.
	Actions []Action
	// Skipped are actions not taken, with why (protected, not Standard, back-off,
	// policy mode, an incomplete source pull), in the order of Actions.
	Skipped []Skip
	// Disputed are ambiguous matches: no action for anyone involved.
	Disputed []Dispute
	// Rejected are the records mapping refused (copied from the input for reports).
	Rejected []mapping.Rejection
	// Unmanaged counts Salesforce users no record claims and syncd never linked:
	// never touched.
	Unmanaged int
	// Managed counts the linked users found in the org, the base of the deactivation
	// cap's percentage.
	Managed int
	// Stale are approved held actions of earlier runs that this plan no longer
	// contains: they are recorded as skipped, never applied.
	Stale []Approved
	// Guards records which guardrails held actions, with their reasons.
	Guards []GuardResult
}

// GuardResult is one guardrail's verdict on a plan.
type GuardResult struct {
	Name string // completeness, shrink, cap
	Held int    // actions it held
	// Skipped counts actions it removed from the plan altogether (the completeness
	// gate: an incomplete pull plans no deactivation, held or not).
	Skipped int
	Reason  string
}

// HasChanges reports whether the plan would write anything if applied (held actions
// do not count: they wait for approval).
func (p Plan) HasChanges() bool {
	for _, a := range p.Actions {
		if !a.Held {
			return true
		}
	}
	return false
}

// Mode is the policy mode: which kinds of action a cycle may take.
type Mode string

// Policy modes, as written in configuration (policy.mode).
const (
	// ModeSync takes every action.
	ModeSync Mode = "sync"
	// ModeUpsertOnly creates, adopts, updates and reactivates, but never
	// deactivates or freezes.
	ModeUpsertOnly Mode = "upsert-only"
	// ModeCreateOnly only creates and adopts: existing users are left as they are.
	ModeCreateOnly Mode = "create-only"
)

// Protection names users syncd never acts on, whatever the source says.
type Protection struct {
	// Usernames, compared case-insensitively (the integration user's among them).
	Usernames []string
	// ProfileIDs of protected profiles (System Administrator by default), resolved
	// from configured names.
	ProfileIDs []string
	// UserIDs, such as the integration user's own Id.
	UserIDs []string
}

// Guardrails bound what a cycle may deactivate without a person's approval.
type Guardrails struct {
	// MaxDeactivations holds every deactivation of a cycle that plans more than
	// this many; negative disables the absolute cap.
	MaxDeactivations int
	// MaxDeactivationPercent holds every deactivation of a cycle that plans more than
	// this percent of the managed (linked) users; negative disables it.
	MaxDeactivationPercent float64
	// MaxSourceShrinkPercent holds every deactivation when the source has shrunk by
	// more than this percent against the last complete pull; negative disables it.
	MaxSourceShrinkPercent float64
}

// Policy is how a cycle decides: the mode, the match order, who is protected, and
// the guardrails.
type Policy struct {
	Mode Mode
	// Match is the key order; empty means link, federation_id, email, username.
	// The link, when listed, is always tried first: it records what syncd owns.
	Match      []MatchKey
	Protect    Protection
	Guardrails Guardrails
	// Offboarding is what happens to a leaver besides the deactivation; the zero
	// value does nothing more.
	Offboarding Offboarding
}

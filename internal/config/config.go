package config

import (
	"time"

	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/source"
)

// Config is syncd's whole configuration, one YAML file. Load returns it with every
// default applied, so consumers never guess what an unset key means. A zero number or
// duration means "unset, use the default", except in the pointer fields, where 0 is a
// setting of its own (no reserve, no deactivation without approval, no jitter); those
// are never nil after Load.
//
// The source and mapping sections are those packages' own types: there is one
// vocabulary, and a key added there is accepted here without a change.
type Config struct {
	Salesforce Salesforce     `yaml:"salesforce"`
	Source     source.Config  `yaml:"source"`
	Mapping    mapping.Config `yaml:"mapping"`
	Policy     Policy         `yaml:"policy"`
	Store      Store          `yaml:"store"`
	Schedule   Schedule       `yaml:"schedule"`
	Server     Server         `yaml:"server"`
	Log        Log            `yaml:"log"`

	// where remembers the file and the line of every key, so that problems found after
	// decoding (validation, missing secret files) still point at a line.
	where *positions
}

// Salesforce says which org to reach and how much of it syncd may use. It describes
// one org and knows nothing of where it sits in the file, so that a list of orgs can
// reuse it as it is.
type Salesforce struct {
	// LoginURL is where tokens are requested: https://login.salesforce.com,
	// https://test.salesforce.com for sandboxes, or the org's My Domain. Required;
	// https unless the host is loopback (sfsim).
	LoginURL string `yaml:"login_url"`
	// APIVersion is the REST API version in the URL path, e.g. v67.0.
	APIVersion string `yaml:"api_version"`
	Auth       Auth   `yaml:"auth"`
	Budget     Budget `yaml:"budget"`
	// Timeout bounds each HTTP request to Salesforce.
	Timeout time.Duration `yaml:"timeout"`
	// DeltaOverlap is how far before the watermark (Salesforce's clock at the last
	// read) a delta cycle's read starts: Salesforce stamps a write before it commits, so a
	// long transaction can land with a stamp older than writes already read, and its
	// servers' clocks differ a little.
	DeltaOverlap time.Duration `yaml:"delta_overlap"`
	Bulk         Bulk          `yaml:"bulk"`
}

// Bulk says when syncd reads the org's users through Bulk API 2.0 rather than SOQL
// pages: a few dozen calls for a million users where SOQL paging takes 500.
type Bulk struct {
	// MinUsers is the org size (Standard users) from which full reads go through
	// Bulk API 2.0; 0 never uses it. Never nil after Load.
	MinUsers *int `yaml:"min_users"`
}

// Salesforce OAuth flows accepted in salesforce.auth.method.
const (
	AuthJWT               = "jwt"
	AuthClientCredentials = "client_credentials"
)

// Auth names the OAuth flow and where its credentials are. Credentials are never
// written in the file: only their file (a mounted Kubernetes Secret) or environment
// variable is, and LoadSecrets reads them.
type Auth struct {
	// Method is jwt (JWT bearer flow, the right one for a daemon) or client_credentials.
	Method string `yaml:"method"`
	// ClientID is the connected app's consumer key; not a secret, but usually given
	// as ${ENV} so one file serves several orgs.
	ClientID string `yaml:"client_id"`
	// Username is the integration user: the JWT subject (required for jwt), and never
	// deactivated by syncd whatever the flow.
	Username string `yaml:"username"`
	// PrivateKeyFile holds the PEM private key that signs JWT assertions (jwt).
	PrivateKeyFile string `yaml:"private_key_file"`
	// ClientSecretFile holds the consumer secret (client_credentials).
	ClientSecretFile string `yaml:"client_secret_file"`
	// ClientSecretEnv names an environment variable holding the consumer secret, as
	// an alternative to ClientSecretFile (client_credentials).
	ClientSecretEnv string `yaml:"client_secret_env"`
}

// Budget limits how much of the org's shared daily API allowance syncd spends.
type Budget struct {
	// Share is the largest fraction of DailyApiRequests.Max syncd spends per 24 h,
	// in (0, 1]. 0 means unset (the default).
	Share float64 `yaml:"share"`
	// Reserve is the fraction of the daily allowance that must remain for other
	// integrations; below it syncd stops writing. In [0, 1); 0 never stops.
	Reserve *float64 `yaml:"reserve"`
	// Concurrency is how many Salesforce requests may be in flight, 1 to 25. 0 means
	// unset (the default).
	Concurrency int `yaml:"concurrency"`
}

// Policy modes accepted in policy.mode.
const (
	ModeSync       = "sync"
	ModeUpsertOnly = "upsert-only"
	ModeCreateOnly = "create-only"
)

// What to do when Salesforce refuses a deactivation, in policy.on_blocked_deactivation.
const (
	BlockedFreeze = "freeze"
	BlockedReport = "report"
)

// Policy says which changes syncd may make on its own and which wait for a person.
type Policy struct {
	// Mode is sync (every action), upsert-only (never deactivate) or create-only.
	Mode string `yaml:"mode"`
	// DryRun plans and reports but writes nothing to Salesforce.
	DryRun  bool    `yaml:"dry_run"`
	Protect Protect `yaml:"protect"`
	// Guardrails hold deactivations for approval when a cycle would make too many.
	Guardrails Guardrails `yaml:"guardrails"`
	// OnBlockedDeactivation is what syncd does when Salesforce refuses to deactivate a
	// user (e.g. the user is a default workflow user): freeze (the default: the user
	// is frozen so they cannot log in, and the block is reported) or report (only
	// report it).
	OnBlockedDeactivation string `yaml:"on_blocked_deactivation"`
	// Retry spaces out the retries of an action Salesforce refused.
	Retry Retry `yaml:"retry"`
	// Offboarding is what happens to a leaver besides the deactivation.
	Offboarding Offboarding `yaml:"offboarding"`
}

// Offboarding is a leaver's sequence: freeze, end sessions and revoke tokens, hand
// the open records over, deactivate. The switches are pointers because an unset key
// takes its default (on) while false turns a step off; after Load none is nil.
type Offboarding struct {
	// Freeze freezes a leaver at once, even while Salesforce blocks the deactivation.
	Freeze *bool `yaml:"freeze"`
	// EndSessions deletes the leaver's AuthSession rows.
	EndSessions *bool `yaml:"end_sessions"`
	// RevokeTokens revokes the leaver's OAuth tokens.
	RevokeTokens *bool    `yaml:"revoke_tokens"`
	Transfer     Transfer `yaml:"transfer"`
	// GracePeriod delays the deactivation after the freeze; 0 (the default)
	// deactivates in the same cycle.
	GracePeriod time.Duration `yaml:"grace_period"`
	// ReturnRecords gives a returning leaver back the records their offboarding
	// handed over, those still with whoever received them. Default false.
	ReturnRecords bool `yaml:"return_records"`
}

// Transfer says whose and which records move when their owner leaves.
type Transfer struct {
	// Objects whose open records move to the leaver's manager. Unset means
	// DefaultTransferObjects; an explicit [] moves nothing.
	Objects []string `yaml:"objects"`
	// FallbackUser is the Username that receives the records when the manager is
	// absent, inactive or leaving too.
	FallbackUser string `yaml:"fallback_user"`
}

// Protect lists users syncd never deactivates, on top of the integration user.
type Protect struct {
	// Usernames are protected Salesforce usernames (compared case-insensitively).
	Usernames []string `yaml:"usernames"`
	// Profiles are protected profile names. Unset means [System Administrator]; an
	// explicit empty list protects no profile.
	Profiles []string `yaml:"profiles"`
}

// Guardrails are the limits above which deactivations are held for approval. Each is
// a pointer because 0 is a real setting ("every deactivation needs approval") while
// an unset key takes the default; after Load none is nil.
type Guardrails struct {
	// MaxDeactivations is the most deactivations one cycle makes without approval.
	MaxDeactivations *int `yaml:"max_deactivations"`
	// MaxDeactivationPercent is the same cap as a percentage of the users syncd manages.
	MaxDeactivationPercent *Percent `yaml:"max_deactivation_percent"`
	// MaxSourceShrinkPercent holds every deactivation when the source shrank by more
	// than this against the last good pull: the backstop against a truncated export.
	MaxSourceShrinkPercent *Percent `yaml:"max_source_shrink_percent"`
	// MaxEntitlementRemovals is the most entitlement removals one cycle makes; above
	// it none is made (a rule edited by mistake must not strip a whole org).
	MaxEntitlementRemovals *int `yaml:"max_entitlement_removals"`
}

// Retry is the backoff between attempts of an action Salesforce refused.
type Retry struct {
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	MaxBackoff     time.Duration `yaml:"max_backoff"`
}

// Store drivers accepted in store.driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Store says where syncd keeps its runs, actions, links and snapshots.
type Store struct {
	// Driver is sqlite (embedded, the default) or postgres (several replicas).
	Driver string `yaml:"driver"`
	// DSN is the data source name. It may carry a password, so it is held as a secret
	// and never printed; write the password as ${ENV}.
	DSN SecretValue `yaml:"dsn"`
}

// Schedule says when cycles run besides explicit triggers.
type Schedule struct {
	// Interval is the time between the starts of two scheduled cycles.
	Interval time.Duration `yaml:"interval"`
	// Jitter spreads each interval by up to this percentage either way, so replicas
	// and neighbouring integrations do not call Salesforce in step.
	Jitter *Percent `yaml:"jitter"`
	// FullEvery is the longest time between two full reads of Salesforce; the cycles
	// between read only the users changed since the last read.
	FullEvery time.Duration `yaml:"full_every"`
}

// Server is the admin HTTP endpoint (metrics, health, the /v1 API).
type Server struct {
	// Listen is the host:port to serve on.
	Listen string `yaml:"listen"`
	// TokenFile holds the bearer token the /v1 routes require. Without it the /v1
	// routes are refused and only /metrics, /healthz and /readyz are served.
	TokenFile string `yaml:"token_file"`
	// EventsTokenFile holds the bearer token POST /v1/events requires, so that an
	// identity provider that pushes change notifications holds no token that approves
	// held actions. Without it the admin token serves there too.
	EventsTokenFile string `yaml:"events_token_file"`
}

// Log configures syncd's logger.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is json (for log collectors) or console (for people).
	Format string `yaml:"format"`
	// PII logs emails and names in clear; off, they are redacted.
	PII bool `yaml:"pii"`
}

// Defaults, applied by applyDefaults to unset keys.
const (
	DefaultAPIVersion             = "v67.0"
	DefaultShare                  = 0.10
	DefaultReserve                = 0.20
	DefaultConcurrency            = 4
	DefaultTimeout                = 2 * time.Minute
	DefaultMaxDeactivations       = 50
	DefaultMaxDeactivationPercent = Percent(5)
	DefaultMaxSourceShrinkPercent = Percent(10)
	DefaultMaxEntitlementRemovals = 100
	DefaultInitialBackoff         = time.Hour
	DefaultMaxBackoff             = 24 * time.Hour
	DefaultDSN                    = "file:syncd.db"
	DefaultInterval               = 5 * time.Minute
	DefaultJitter                 = Percent(10)
	DefaultListen                 = "127.0.0.1:9090"
	DefaultFullEvery              = 24 * time.Hour
	DefaultBulkMinUsers           = 50000
	// DefaultDeltaOverlap is the API's 10-minute call timeout: the longest a
	// transaction started by an API call can run before its writes commit.
	DefaultDeltaOverlap = 10 * time.Minute
)

// DefaultTransferObjects returns the objects whose open records move when
// policy.offboarding.transfer.objects is unset.
func DefaultTransferObjects() []string {
	return []string{"Opportunity", "Case", "Lead", "Account", "Contact"}
}

// DefaultProtectedProfiles returns the profiles protected when policy.protect.profiles
// is unset.
func DefaultProtectedProfiles() []string { return []string{"System Administrator"} }

// applyDefaults fills every unset key; it is the only place defaults are set.
func (c *Config) applyDefaults() {
	c.Salesforce.applyDefaults()
	p := &c.Policy
	setZero(&p.Mode, ModeSync)
	setZero(&p.OnBlockedDeactivation, BlockedFreeze)
	if p.Protect.Profiles == nil {
		p.Protect.Profiles = DefaultProtectedProfiles()
	}
	setPointer(&p.Guardrails.MaxDeactivations, DefaultMaxDeactivations)
	setPointer(&p.Guardrails.MaxDeactivationPercent, DefaultMaxDeactivationPercent)
	setPointer(&p.Guardrails.MaxSourceShrinkPercent, DefaultMaxSourceShrinkPercent)
	setPointer(&p.Guardrails.MaxEntitlementRemovals, DefaultMaxEntitlementRemovals)
	setZero(&p.Retry.InitialBackoff, DefaultInitialBackoff)
	setZero(&p.Retry.MaxBackoff, DefaultMaxBackoff)
	setPointer(&p.Offboarding.Freeze, true)
	setPointer(&p.Offboarding.EndSessions, true)
	setPointer(&p.Offboarding.RevokeTokens, true)
	if p.Offboarding.Transfer.Objects == nil {
		p.Offboarding.Transfer.Objects = DefaultTransferObjects()
	}
	setZero(&c.Store.Driver, DriverSQLite)
	if c.Store.DSN.IsZero() && c.Store.Driver == DriverSQLite {
		c.Store.DSN = NewSecretValue(DefaultDSN)
	}
	setZero(&c.Schedule.Interval, DefaultInterval)
	setPointer(&c.Schedule.Jitter, DefaultJitter)
	setZero(&c.Schedule.FullEvery, DefaultFullEvery)
	setZero(&c.Server.Listen, DefaultListen)
	setZero(&c.Log.Level, "info")
	setZero(&c.Log.Format, "json")
}

func (s *Salesforce) applyDefaults() {
	setZero(&s.APIVersion, DefaultAPIVersion)
	setZero(&s.Budget.Share, DefaultShare)
	setPointer(&s.Budget.Reserve, DefaultReserve)
	setZero(&s.Budget.Concurrency, DefaultConcurrency)
	setZero(&s.Timeout, DefaultTimeout)
	setZero(&s.DeltaOverlap, DefaultDeltaOverlap)
	setPointer(&s.Bulk.MinUsers, DefaultBulkMinUsers)
}

func setZero[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

func setPointer[T any](p **T, v T) {
	if *p == nil {
		*p = &v
	}
}

// ProtectedUsernames returns every username syncd must never deactivate: the
// configured ones and the integration user itself.
func (c *Config) ProtectedUsernames() []string {
	out := append([]string(nil), c.Policy.Protect.Usernames...)
	if u := c.Salesforce.Auth.Username; u != "" {
		out = append(out, u)
	}
	return out
}

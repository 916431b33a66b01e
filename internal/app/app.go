package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/config"
	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/source"
	"github.com/syncd-io/syncd/internal/store"
)

// Options are what the process gives the parts besides the configuration: the
// logger, the clock and the HTTP clients, so that nothing reaches for a global.
type Options struct {
	// Logger; nil means zap.NewNop().
	Logger *zap.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SalesforceHTTP and SourceHTTP send the requests to Salesforce and to the IdP;
	// nil means a new client each (per-request timeouts come from the configuration).
	SalesforceHTTP, SourceHTTP *http.Client
	// LookupEnv reads the environment for the source's token_env and password_env;
	// nil means the source's default (os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Progress, when set, is told how reading and applying advance.
	Progress func(reconcile.Progress)
	// Observer, when set, sees every Salesforce request (the daemon's metrics).
	Observer salesforce.Observer
	// Budget, when set and of the configured share, paces the client instead of a new
	// one: a configuration reload must not refill syncd's share of the allowance.
	Budget *Budget
}

// App is one configured syncd: the store, the Salesforce client with its budget,
// the source and the mapper, ready to be assembled into an engine. Close releases
// what it holds.
type App struct {
	Config *config.Config
	Store  store.Store
	Client *salesforce.Client
	Budget *Budget

	source source.Source
	mapper *mapping.Mapper
	memo   *reconcile.MapMemo // the mapping of the last complete snapshot, for unchanged pulls
	opts   Options
	// directory outlives the engine of each cycle, so that a read knows the org's
	// size from the previous one.
	directory *Directory
	// offboarder outlives it too, so that what it learns of the org (no Site
	// object) holds until a reload, which may name another org.
	offboarder *Offboarder
}

// Open builds every part the configuration describes and opens the store, applying
// pending migrations (they are idempotent and run under a lock, so replicas
// starting together apply them once). It contacts no one else: the first call to
// Salesforce is the engine's.
func Open(ctx context.Context, cfg *config.Config, secrets config.Secrets, opts Options) (*App, error) {
	st, err := OpenStore(ctx, cfg, opts.Now)
	if err != nil {
		return nil, err
	}
	a, err := New(cfg, secrets, st, opts)
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	return a, nil
}

// New builds every part the configuration describes around an open store, which the
// App then owns (Close closes it). The daemon builds a new App on each configuration
// reload around the one store it holds its leader lock on; it never closes those.
func New(cfg *config.Config, secrets config.Secrets, st store.Store, opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	client, budget, err := NewClient(cfg, secrets, opts)
	if err != nil {
		return nil, err
	}
	src, err := source.New(cfg.Source, source.Options{HTTPClient: opts.SourceHTTP, Clock: opts.Now, LookupEnv: opts.LookupEnv})
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	mapper, err := mapping.New(cfg.Mapping)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	bulk := Bulk{Logger: opts.Logger}
	if m := cfg.Salesforce.Bulk.MinUsers; m != nil {
		bulk.MinUsers = *m
	}
	return &App{Config: cfg, Store: st, Client: client, Budget: budget, source: src, mapper: mapper, memo: &reconcile.MapMemo{}, opts: opts,
		directory:  NewDirectory(client).WithBulk(bulk).WithDeltaOverlap(cfg.Salesforce.DeltaOverlap),
		offboarder: NewOffboarder(client).WithLogger(opts.Logger)}, nil
}

// StoreConfig is the store the configuration names, migrating itself when opened.
func StoreConfig(cfg *config.Config, now func() time.Time) store.Config {
	return store.Config{Driver: cfg.Store.Driver, DSN: cfg.Store.DSN.Reveal(), AutoMigrate: true, Now: now}
}

// OpenStore opens the configured store with migrations applied.
func OpenStore(ctx context.Context, cfg *config.Config, now func() time.Time) (store.Store, error) {
	st, err := store.Open(ctx, StoreConfig(cfg, now))
	if err != nil {
		return nil, fmt.Errorf("store (%s): %w", cfg.Store.Driver, err)
	}
	return st, nil
}

// NewClient builds the Salesforce client the configuration describes, paced by a
// Budget that follows the org's allowance from every answer.
func NewClient(cfg *config.Config, secrets config.Secrets, opts Options) (*salesforce.Client, *Budget, error) {
	sf := cfg.Salesforce
	var tokens salesforce.ContextTokenSource
	switch sf.Auth.Method {
	case config.AuthJWT:
		key, err := salesforce.ParseRSAPrivateKeyPEM([]byte(secrets.Salesforce.PrivateKey.Reveal()))
		if err != nil {
			return nil, nil, fmt.Errorf("salesforce.auth.private_key_file: %w", err)
		}
		tokens, err = salesforce.NewJWTSource(salesforce.JWTConfig{
			LoginURL: sf.LoginURL, ClientID: sf.Auth.ClientID, Username: sf.Auth.Username,
			PrivateKey: key, HTTPClient: opts.SalesforceHTTP, Now: opts.Now,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("salesforce.auth: %w", err)
		}
	case config.AuthClientCredentials:
		var err error
		tokens, err = salesforce.NewClientCredentialsSource(salesforce.ClientCredentialsConfig{
			LoginURL: sf.LoginURL, ClientID: sf.Auth.ClientID, ClientSecret: secrets.Salesforce.ClientSecret,
			HTTPClient: opts.SalesforceHTTP,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("salesforce.auth: %w", err)
		}
	default:
		return nil, nil, fmt.Errorf("salesforce.auth.method: %q is neither %s nor %s", sf.Auth.Method, config.AuthJWT, config.AuthClientCredentials)
	}
	budget := opts.Budget
	if budget == nil || budget.share != sf.Budget.Share {
		var err error
		if budget, err = NewBudget(sf.Budget.Share); err != nil {
			return nil, nil, err
		}
	}
	client, err := salesforce.New(salesforce.Config{
		TokenSource: tokens, APIVersion: sf.APIVersion, HTTPClient: opts.SalesforceHTTP,
		Timeout: sf.Timeout, Limiter: budget, Reserve: *sf.Budget.Reserve, Now: opts.Now, Observer: opts.Observer,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("salesforce: %w", err)
	}
	budget.Follow(client.Usage)
	return client, budget, nil
}

// Engine assembles a reconcile engine over the app's parts, writing its journal
// through j: a fenced journal for a leader's cycles, or any journal for a preview,
// which only reads.
func (a *App) Engine(j *Journal) (*reconcile.Engine, error) {
	p := a.Config.Policy
	g := p.Guardrails
	return reconcile.New(reconcile.Config{
		Entitle:    a.entitle(j),
		Source:     a.source,
		Mapper:     a.mapper,
		Directory:  a.directory,
		Offboarder: a.offboarder,
		Transfers:  j,
		Journal:    j,
		Mirror:     j, // the store's mirror; a preview leaves it alone
		FullEvery:  a.Config.Schedule.FullEvery,
		Policy: reconcile.Policy{
			Mode:    reconcile.Mode(p.Mode),
			Match:   matchKeys(a.mapper.MatchKeys()),
			Protect: reconcile.Protection{Usernames: a.Config.ProtectedUsernames()},
			Guardrails: reconcile.Guardrails{
				MaxDeactivations:       *g.MaxDeactivations,
				MaxDeactivationPercent: float64(*g.MaxDeactivationPercent),
				MaxSourceShrinkPercent: float64(*g.MaxSourceShrinkPercent),
			},
			Offboarding: offboarding(p.Offboarding),
		},
		ProtectedProfiles: p.Protect.Profiles,
		OnBlocked:         reconcile.OnBlocked(p.OnBlockedDeactivation),
		Concurrency:       a.Config.Salesforce.Budget.Concurrency,
		BackoffInitial:    p.Retry.InitialBackoff,
		BackoffMax:        p.Retry.MaxBackoff,
		Memo:              a.memo,
		Progress:          a.opts.Progress,
		Now:               a.opts.Now,
		Logger:            a.opts.Logger,
	})
}

// offboarding turns the configured offboarding into the engine's.
func offboarding(o config.Offboarding) reconcile.Offboarding {
	return reconcile.Offboarding{
		Freeze: *o.Freeze, EndSessions: *o.EndSessions, RevokeTokens: *o.RevokeTokens,
		TransferObjects: o.Transfer.Objects, FallbackUsername: o.Transfer.FallbackUser, GracePeriod: o.GracePeriod,
		ReturnRecords: o.ReturnRecords,
	}
}

func matchKeys(keys []string) []reconcile.MatchKey {
	out := make([]reconcile.MatchKey, len(keys))
	for i, k := range keys {
		out[i] = reconcile.MatchKey(k)
	}
	return out
}

// entitle is the engine's entitlement step when mapping.entitlements has rules; its
// ownership record is the journal's store, under the journal's epoch.
func (a *App) entitle(j *Journal) *reconcile.EntitlementConfig {
	ent := a.Config.Mapping.Entitlements
	if !ent.Enabled() {
		return nil
	}
	exclusive := append(slices.Clone(ent.Exclusive.PermissionSets), ent.Exclusive.PermissionSetGroups...)
	return &reconcile.EntitlementConfig{
		Entitlements: NewEntitlements(a.Client),
		Ownership:    j,
		Names:        ent.Names(),
		Policy: reconcile.EntitlementPolicy{
			Exclusive:            exclusive,
			RemoveOnDeactivation: ent.OnDeactivation == mapping.RemoveOnDeactivation,
			MaxRemovals:          *a.Config.Policy.Guardrails.MaxEntitlementRemovals,
		},
	}
}

// Close closes the store.
func (a *App) Close() error {
	if a.Store == nil {
		return nil
	}
	return a.Store.Close()
}

// Preview pulls both sides and plans one cycle, writing nothing: `syncd plan`, dry
// runs. Its journal only reads.
func (a *App) Preview(ctx context.Context) (reconcile.Plan, reconcile.Summary, error) {
	eng, err := a.Engine(NewJournal(a.Store, 0))
	if err != nil {
		return reconcile.Plan{}, reconcile.Summary{}, err
	}
	return eng.Preview(ctx)
}

// ErrAnotherLeader is returned by Lead when another instance holds the leader
// lock: a one-shot cycle must not write beside a running daemon.
var ErrAnotherLeader = errors.New("another syncd instance holds the leader lock (a daemon is running, or another apply); ask it to reconcile with `syncd trigger` instead")

// Lead takes the store's leader lock without waiting, for a one-shot cycle, and
// returns the journal that writes under its epoch. Taking the lock closes the runs a
// killed or crashed process left running (store.AbandonedRunError).
func (a *App) Lead(ctx context.Context) (store.Lease, *Journal, error) {
	lease, err := a.Store.TryLeaderLock(ctx)
	if errors.Is(err, store.ErrLocked) {
		return nil, nil, ErrAnotherLeader
	}
	if err != nil {
		return nil, nil, err
	}
	return lease, NewJournal(a.Store, lease.Epoch()), nil
}

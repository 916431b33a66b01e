package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/app"
	"github.com/syncd-io/syncd/internal/config"
	"github.com/syncd-io/syncd/internal/daemon"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/secret"
	"github.com/syncd-io/syncd/internal/store"
)

// shutdownTimeout bounds the whole shutdown: the batch in flight (the engine gives it
// reconcile.DefaultGrace), recording it, and closing the rest.
const shutdownTimeout = reconcile.DefaultGrace + 15*time.Second

// inForce is what a configuration load builds: the app around the daemon's store,
// and the admin token of that file.
type inForce struct {
	app         *app.App
	token       secret.Secret
	eventsToken secret.Secret
}

type runCmd struct{}

// Run is the daemon: it reconciles on schedule and on request as the leader, serves
// the admin API and metrics, reloads on SIGHUP, and on SIGTERM finishes the batch in
// flight and shuts down in order.
func (runCmd) Run(c *cli, e *env) error {
	cfg, err := c.loadConfig(e)
	if err != nil {
		return err
	}
	secrets, err := cfg.LoadSecrets(e.lookupEnv)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.Log, e, secrets.Salesforce.PrivateKey, secrets.Salesforce.ClientSecret, secrets.AdminToken, secrets.EventsToken, cfg.Store.DSN.Secret)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	st, err := app.OpenStore(e.ctx, cfg, e.now)
	if err != nil {
		return err
	}
	shutdown := daemon.NewShutdown(log)
	shutdown.Add("store", func(context.Context) error { return st.Close() })
	if err := c.serve(e, cfg, st, log, shutdown); err != nil {
		return errors.Join(err, shutdown.Run(e.ctx, shutdownTimeout))
	}
	<-e.ctx.Done()
	log.Info("shutting down: finishing the batch in flight")
	if err := shutdown.Run(e.ctx, shutdownTimeout); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// serve starts the daemon and the admin server, adding their cleanup steps.
func (c *cli) serve(e *env, cfg *config.Config, st store.Store, log *zap.Logger, shutdown *daemon.Shutdown) error {
	reg := prometheus.NewRegistry()
	var coord *daemon.Coordinator[inForce]
	// current is the app in force; nil before the first load.
	current := func() *app.App {
		l, _ := coord.Current()
		return l.Value.app
	}
	metrics, err := daemon.NewMetrics(reg, version, daemon.Gauges{
		Usage:           func() (salesforce.Usage, bool) { return current().Client.Usage() },
		BudgetRemaining: func() float64 { return current().Budget.Remaining() },
	})
	if err != nil {
		return err
	}
	coord = daemon.NewCoordinator(c.loader(e, cfg, st, log, metrics, current), metrics, log, e.now)
	if err := coord.Reload(); err != nil {
		return err
	}
	sched := daemon.NewSchedule(func() (time.Duration, float64) {
		s := current().Config.Schedule
		return s.Interval, s.Jitter.Fraction()
	}, rand.Float64)
	// cycle runs one cycle of the configuration in force, reading Salesforce in full
	// when full is set.
	cycle := func(full bool) daemon.CycleFunc {
		return func(ctx context.Context, lease store.Lease, trigger string) (reconcile.Summary, error) {
			a := current()
			if a.Config.Policy.DryRun {
				plan, s, err := a.Preview(ctx)
				log.Info("dry run: nothing saved or written", zap.String("trigger", trigger),
					zap.String("would", headline(plan)), zap.Error(err))
				return s, err
			}
			// Every write carries the lease's epoch: once another instance leads, the
			// store refuses them (ErrFenced), whatever this one has not noticed yet.
			eng, err := a.Engine(app.NewJournal(a.Store, lease.Epoch()))
			if err != nil {
				return reconcile.Summary{Status: reconcile.RunFailed, Error: err.Error()}, err
			}
			if full {
				return eng.RunFull(ctx, trigger)
			}
			return eng.RunOnce(ctx, trigger)
		}
	}
	d, err := daemon.New(daemon.Config{
		Store: st, Schedule: sched, Metrics: metrics, Reconcile: e.reconcile, Reload: e.reload,
		Reloader: coord.Reload, Now: e.now, Logger: log, Cycle: cycle(false), FullCycle: cycle(true),
		Events: daemon.NewEvents(daemon.DefaultEventWindow),
		Targeted: func(ctx context.Context, lease store.Lease, t reconcile.Target) (reconcile.Summary, error) {
			a := current()
			if a.Config.Policy.DryRun {
				log.Info("dry run: pushed events are not reconciled; the next cycle previews everyone", zap.Int("people", len(t.Keys)))
				return reconcile.Summary{Status: reconcile.RunSucceeded}, nil
			}
			eng, err := a.Engine(app.NewJournal(a.Store, lease.Epoch()))
			if err != nil {
				return reconcile.Summary{Status: reconcile.RunFailed, Error: err.Error()}, err
			}
			return eng.Reconcile(ctx, reconcile.TriggerEvent, t)
		},
	})
	if err != nil {
		return err
	}
	api := &daemon.API{
		Store:       st,
		Trigger:     func(ctx context.Context) error { return d.Trigger(ctx, daemon.TriggerAPI) },
		TriggerFull: func(ctx context.Context) error { return d.TriggerFull(ctx, daemon.TriggerAPI) },
		Gatherer:    reg,
		Logger:      log,
		Token: func() secret.Secret {
			l, _ := coord.Current()
			return l.Value.token
		},
		EventsToken: func() secret.Secret {
			l, _ := coord.Current()
			return l.Value.eventsToken
		},
		Notify: d.Notify,
		Ready: func(ctx context.Context) error {
			if _, ok := coord.Current(); !ok {
				return errors.New("no configuration loaded")
			}
			if _, err := st.Runs(ctx, store.RunFilter{Limit: 1}); err != nil {
				return fmt.Errorf("store unreachable: %w", err)
			}
			return nil
		},
	}
	ln, err := (&net.ListenConfig{}).Listen(e.ctx, "tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	srv := daemon.NewServer(cfg.Server.Listen, api.Handler())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin server stopped", zap.Error(err))
		}
	}()
	runDone := make(chan error, 1)
	go func() { runDone <- d.Run(e.ctx) }()
	shutdown.Add("lease", d.Release)
	shutdown.Add("cycle", func(ctx context.Context) error {
		select {
		case err := <-runDone:
			return err
		case <-ctx.Done():
			return fmt.Errorf("the cycle in flight did not finish: %w", ctx.Err())
		}
	})
	shutdown.Add("http", srv.Shutdown)
	log.Info("syncd running", zap.String("version", version), zap.String("admin", ln.Addr().String()),
		zap.String("store", cfg.Store.Driver), zap.Duration("interval", cfg.Schedule.Interval))
	return nil
}

// loader returns how the coordinator loads the configuration file: strictly, with
// its secrets, into an app around the daemon's store. The store cannot change
// without a restart (the leader lock is held on it), so a file that changes it is
// refused.
//
// The budget in force carries over, so that a reload does not refill syncd's share
// of the org's allowance.
func (c *cli) loader(e *env, first *config.Config, st store.Store, log *zap.Logger, m *daemon.Metrics, current func() *app.App) func() (daemon.Loaded[inForce], error) {
	return func() (daemon.Loaded[inForce], error) {
		data, err := os.ReadFile(c.Config)
		if err != nil {
			return daemon.Loaded[inForce]{}, fmt.Errorf("reading the configuration: %w", err)
		}
		cfg, err := config.Load(c.Config, e.lookupEnv)
		if err != nil {
			return daemon.Loaded[inForce]{}, err
		}
		if cfg.Store.Driver != first.Store.Driver || cfg.Store.DSN.Reveal() != first.Store.DSN.Reveal() {
			return daemon.Loaded[inForce]{}, errors.New("store: the store cannot change while syncd runs; restart it instead")
		}
		secrets, err := cfg.LoadSecrets(e.lookupEnv)
		if err != nil {
			return daemon.Loaded[inForce]{}, err
		}
		opts := app.Options{Logger: log, Now: e.now, LookupEnv: e.lookupEnv, Observer: m}
		if prev := current(); prev != nil {
			opts.Budget = prev.Budget
		}
		a, err := app.New(cfg, secrets, st, opts)
		if err != nil {
			return daemon.Loaded[inForce]{}, err
		}
		sum := sha256.Sum256(data)
		return daemon.Loaded[inForce]{Value: inForce{app: a, token: secrets.AdminToken, eventsToken: secrets.EventsToken}, Hash: hex.EncodeToString(sum[:])}, nil
	}
}

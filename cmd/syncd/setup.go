package main

import (
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/syncd-io/syncd/internal/app"
	"github.com/syncd-io/syncd/internal/config"
	"github.com/syncd-io/syncd/internal/daemon"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/secret"
)

// loadConfig reads and validates the configuration file; its error lists every
// problem with its line.
func (c *cli) loadConfig(e *env) (*config.Config, error) {
	cfg, err := config.Load(c.Config, e.lookupEnv)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// openApp loads the configuration and its secrets and opens every part.
func (c *cli) openApp(e *env, progress bool) (*app.App, *zap.Logger, error) {
	cfg, err := c.loadConfig(e)
	if err != nil {
		return nil, nil, err
	}
	secrets, err := cfg.LoadSecrets(e.lookupEnv)
	if err != nil {
		return nil, nil, err
	}
	log, err := newLogger(cfg.Log, e, secrets.Salesforce.PrivateKey, secrets.Salesforce.ClientSecret, secrets.AdminToken, cfg.Store.DSN.Secret)
	if err != nil {
		return nil, nil, err
	}
	opts := app.Options{Logger: log, Now: e.now, LookupEnv: e.lookupEnv}
	if progress {
		opts.Progress = newProgressPrinter(e).print
	}
	a, err := app.Open(e.ctx, cfg, secrets, opts)
	if err != nil {
		return nil, nil, err
	}
	return a, log, nil
}

// newLogger builds the logger the configuration asks for, writing to stderr: JSON
// for collectors, console for a person. No line shows secrets, nor, unless log.pii,
// an email or a person's name (daemon.Redact).
func newLogger(l config.Log, e *env, secrets ...secret.Secret) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(l.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if l.Format == "console" {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	return zap.New(daemon.Redact(zapcore.NewCore(enc, zapcore.AddSync(e.stderr), level), l.PII, secrets...)), nil
}

// progressPrinter writes how reading and applying advance to stderr, at most one
// line a second per stage and always the last one, so a long cycle shows life
// without flooding a log.
type progressPrinter struct {
	e    *env
	mu   sync.Mutex
	last map[reconcile.Stage]time.Time
}

func newProgressPrinter(e *env) *progressPrinter {
	return &progressPrinter{e: e, last: map[reconcile.Stage]time.Time{}}
}

func (p *progressPrinter) print(pr reconcile.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.e.now()
	if pr.Done < pr.Total && now.Sub(p.last[pr.Stage]) < time.Second {
		return
	}
	p.last[pr.Stage] = now
	switch pr.Stage {
	case reconcile.StageRead:
		fmt.Fprintf(p.e.stderr, "read %d of %d Salesforce users\n", pr.Done, pr.Total)
	case reconcile.StageApply:
		fmt.Fprintf(p.e.stderr, "applied %d of %d batches\n", pr.Done, pr.Total)
	default:
		fmt.Fprintf(p.e.stderr, "%s: %d of %d\n", pr.Stage, pr.Done, pr.Total)
	}
}

package main

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/syncd-io/syncd/internal/app"
	"github.com/syncd-io/syncd/internal/config"
	"github.com/syncd-io/syncd/internal/secret"
)

type triggerCmd struct{}

// Run asks the running daemon to reconcile now. On PostgreSQL the request goes
// through the store (NOTIFY), so it reaches the leader on whichever replica it runs;
// SQLite has no channel between processes, so the request goes to the daemon's
// admin server (server.listen) with its token.
func (triggerCmd) Run(c *cli, e *env) error {
	cfg, err := c.loadConfig(e)
	if err != nil {
		return err
	}
	if cfg.Store.Driver == config.DriverPostgres {
		st, err := app.OpenStore(e.ctx, cfg, e.now)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.RequestReconcile(e.ctx); err != nil {
			return fmt.Errorf("asking the leader to reconcile: %w", err)
		}
		fmt.Fprintln(e.stdout, "Asked the leader to reconcile now.")
		return nil
	}
	if cfg.Server.TokenFile == "" {
		return errors.New("with the sqlite store, `syncd trigger` asks the daemon's admin server, which needs server.token_file")
	}
	token, err := secret.FromFile(cfg.Server.TokenFile)
	if err != nil {
		return fmt.Errorf("server.token_file: %w", err)
	}
	url := "http://" + cfg.Server.Listen + "/v1/reconcile"
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token.Reveal())
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("asking the daemon at %s: %w", cfg.Server.Listen, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("asking the daemon at %s: %s", cfg.Server.Listen, resp.Status)
	}
	fmt.Fprintln(e.stdout, "Asked the daemon to reconcile now.")
	return nil
}

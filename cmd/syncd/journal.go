package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/syncd-io/syncd/internal/app"
	"github.com/syncd-io/syncd/internal/report"
	"github.com/syncd-io/syncd/internal/store"
)

// openStore loads the configuration and opens only its store: the journal commands
// need no Salesforce credentials, so they work from an operator's machine that has
// the database but not the org's key.
func (c *cli) openStore(e *env) (store.Store, error) {
	cfg, err := c.loadConfig(e)
	if err != nil {
		return nil, err
	}
	return app.OpenStore(e.ctx, cfg, e.now)
}

type approveCmd struct {
	RunID   int64  `arg:"" name:"run" help:"The run whose held actions to release."`
	Seq     []int  `help:"Release only these actions (their numbers in the run); default all held ones."`
	By      string `required:"" help:"Who approves (recorded with the approval)."`
	Comment string `help:"Why, for the record."`
}

// Run releases held actions: exactly those stored, nothing re-planned.
func (p *approveCmd) Run(c *cli, e *env) error {
	st, err := c.openStore(e)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := st.Approve(e.ctx, p.RunID, store.ApprovalRequest{By: p.By, Comment: p.Comment, Seqs: p.Seq})
	switch {
	case errors.Is(err, store.ErrNothingToApprove):
		return fmt.Errorf("run %d held nothing: there is nothing to approve", p.RunID)
	case errors.Is(err, store.ErrAlreadyApproved):
		return fmt.Errorf("run %d's held actions were approved before", p.RunID)
	case err != nil:
		return fmt.Errorf("approve run %d: %w", p.RunID, err)
	}
	fmt.Fprintf(e.stdout, "Approval %d by %s released %d held action(s) of run %d.\n", a.ID, a.By, a.Actions, a.RunID)
	fmt.Fprintln(e.stdout, "The next cycle applies each of them if its own plan still contains it; a stale one is skipped.")
	return nil
}

type runsCmd struct {
	Limit  int    `default:"20" help:"How many runs to list."`
	Output string `short:"o" enum:"table,json" default:"table" help:"Output format: table or json."`
}

// Run lists recent runs, newest first.
func (p *runsCmd) Run(c *cli, e *env) error {
	st, err := c.openStore(e)
	if err != nil {
		return err
	}
	defer st.Close()
	runs, err := st.Runs(e.ctx, store.RunFilter{Limit: p.Limit})
	if err != nil {
		return err
	}
	if p.Output == "json" {
		return writeJSON(e.stdout, report.Runs(runs))
	}
	if len(runs) == 0 {
		fmt.Fprintln(e.stdout, "No runs yet.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tTRIGGER\tMODE\tSTATUS\tAPPLIED\tFAILED\tHELD\tSKIPPED\tERROR")
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.StartedAt.Format(time.RFC3339), r.Trigger, r.Mode,
			r.Status, r.Counts.Applied, r.Counts.Failed, r.Counts.Held, r.Counts.Skipped, cell(r.Error))
	}
	return tw.Flush()
}

type explainCmd struct {
	Key    string `arg:"" help:"The person: IdP id, Salesforce Id, email or username."`
	Limit  int    `default:"50" help:"How many actions to show at most."`
	Output string `short:"o" enum:"table,json" default:"table" help:"Output format: table or json."`
}

// Run shows every journal entry about one person, newest first, with the link that
// ties them to a Salesforce user.
func (p *explainCmd) Run(c *cli, e *env) error {
	st, err := c.openStore(e)
	if err != nil {
		return err
	}
	defer st.Close()
	x, err := report.Explain(e.ctx, st, p.Key, p.Limit)
	if err != nil {
		return err
	}
	if p.Output == "json" {
		return writeJSON(e.stdout, x.Doc())
	}
	return writeExplain(e.stdout, p.Key, x)
}

func writeExplain(w io.Writer, key string, x report.Explanation) error {
	link, actions := x.Link, x.Actions
	if x.Linked {
		fmt.Fprintf(w, "IdP id %s is linked to Salesforce user %s (%s, since %s).\n", link.IdPID, link.SalesforceID, link.Origin, link.CreatedAt.Format(time.RFC3339))
	} else {
		fmt.Fprintf(w, "%s is not linked to a Salesforce user.\n", key)
	}
	if len(actions) == 0 {
		fmt.Fprintln(w, "No action in the journal names them.")
		return nil
	}
	for _, a := range actions {
		fmt.Fprintf(w, "\nrun %d #%d  %s  %s  %s\n", a.RunID, a.Seq, a.UpdatedAt.Format(time.RFC3339), a.Kind, a.Status)
		fmt.Fprintf(w, "  who:    IdP %s, Salesforce %s, %s\n", orNone(a.IdPID), orNone(a.SalesforceID), cell(orNone(a.Username)))
		if a.Reason != "" {
			fmt.Fprintf(w, "  why:    %s\n", cell(a.Reason))
		}
		for _, ch := range a.Changes {
			fmt.Fprintf(w, "  change: %s: %q → %q\n", ch.Field, ch.Before, ch.After)
		}
		if a.ErrorCode != "" || a.ErrorMessage != "" {
			fmt.Fprintf(w, "  result: %s %s\n", a.ErrorCode, cell(a.ErrorMessage))
		}
		if !a.NextAttemptAt.IsZero() {
			fmt.Fprintf(w, "  retry:  not before %s\n", a.NextAttemptAt.Format(time.RFC3339))
		}
		if a.ApprovalID != 0 {
			fmt.Fprintf(w, "  released by approval %d\n", a.ApprovalID)
		}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type migrateCmd struct{}

// Run applies pending migrations and says which.
func (migrateCmd) Run(c *cli, e *env) error {
	cfg, err := c.loadConfig(e)
	if err != nil {
		return err
	}
	report, err := store.Migrate(e.ctx, app.StoreConfig(cfg, e.now))
	if err != nil {
		return err
	}
	if len(report.Applied) == 0 {
		fmt.Fprintf(e.stdout, "The database schema is current (version %d); nothing to apply.\n", report.Version)
		return nil
	}
	fmt.Fprintf(e.stdout, "Applied migrations %v; the database schema is at version %d.\n", report.Applied, report.Version)
	return nil
}

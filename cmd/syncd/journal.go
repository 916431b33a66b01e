package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/syncd-io/syncd/internal/app"
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
		return writeJSON(e.stdout, runsJSON(runs))
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

type runDoc struct {
	ID         int64          `json:"id"`
	Trigger    string         `json:"trigger"`
	Mode       string         `json:"mode"`
	Status     string         `json:"status"`
	Error      string         `json:"error,omitempty"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	Counts     map[string]int `json:"counts"`
}

func runsJSON(runs []store.Run) []runDoc {
	out := make([]runDoc, 0, len(runs))
	for _, r := range runs {
		d := runDoc{ID: r.ID, Trigger: r.Trigger, Mode: r.Mode, Status: string(r.Status), Error: r.Error, StartedAt: r.StartedAt,
			Counts: map[string]int{"planned": r.Counts.Planned, "held": r.Counts.Held, "approved": r.Counts.Approved,
				"applied": r.Counts.Applied, "failed": r.Counts.Failed, "skipped": r.Counts.Skipped}}
		if !r.FinishedAt.IsZero() {
			d.FinishedAt = &r.FinishedAt
		}
		out = append(out, d)
	}
	return out
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
	actions, err := st.Actions(e.ctx, store.ActionFilter{Key: p.Key, Limit: p.Limit})
	if err != nil {
		return err
	}
	link, linked, err := linkOf(e, st, p.Key, actions)
	if err != nil {
		return err
	}
	if p.Output == "json" {
		return writeJSON(e.stdout, explainJSON(link, linked, actions))
	}
	return writeExplain(e.stdout, p.Key, link, linked, actions)
}

// linkOf finds the link of the person key names: by IdP id, by Salesforce Id, or
// through the IdP id of their newest action.
func linkOf(e *env, st store.Store, key string, actions []store.Action) (store.Link, bool, error) {
	tries := []func() (store.Link, error){
		func() (store.Link, error) { return st.LinkByIdPID(e.ctx, key) },
		func() (store.Link, error) { return st.LinkBySalesforceID(e.ctx, key) },
	}
	if len(actions) > 0 && actions[0].IdPID != "" {
		tries = append(tries, func() (store.Link, error) { return st.LinkByIdPID(e.ctx, actions[0].IdPID) })
	}
	for _, try := range tries {
		l, err := try()
		if err == nil {
			return l, true, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Link{}, false, err
		}
	}
	return store.Link{}, false, nil
}

func writeExplain(w io.Writer, key string, link store.Link, linked bool, actions []store.Action) error {
	if linked {
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

type explainDoc struct {
	Link    *linkDoc          `json:"link"`
	Actions []journalEntryDoc `json:"actions"`
}

type linkDoc struct {
	IdPID        string    `json:"idp_id"`
	SalesforceID string    `json:"salesforce_id"`
	Origin       string    `json:"origin"`
	CreatedAt    time.Time `json:"created_at"`
}

type journalEntryDoc struct {
	RunID         int64       `json:"run_id"`
	Seq           int         `json:"seq"`
	Kind          string      `json:"kind"`
	Status        string      `json:"status"`
	IdPID         string      `json:"idp_id,omitempty"`
	SalesforceID  string      `json:"salesforce_id,omitempty"`
	Username      string      `json:"username,omitempty"`
	Email         string      `json:"email,omitempty"`
	Reason        string      `json:"reason,omitempty"`
	Changes       []changeDoc `json:"changes"`
	ErrorCode     string      `json:"error_code,omitempty"`
	ErrorMessage  string      `json:"error_message,omitempty"`
	NextAttemptAt *time.Time  `json:"next_attempt_at,omitempty"`
	UpdatedAt     time.Time   `json:"updated_at"`
	ApprovalID    int64       `json:"approval_id,omitempty"`
}

func explainJSON(link store.Link, linked bool, actions []store.Action) explainDoc {
	doc := explainDoc{Actions: []journalEntryDoc{}}
	if linked {
		doc.Link = &linkDoc{IdPID: link.IdPID, SalesforceID: link.SalesforceID, Origin: string(link.Origin), CreatedAt: link.CreatedAt}
	}
	for _, a := range actions {
		d := journalEntryDoc{RunID: a.RunID, Seq: a.Seq, Kind: string(a.Kind), Status: string(a.Status), IdPID: a.IdPID,
			SalesforceID: a.SalesforceID, Username: a.Username, Email: a.Email, Reason: a.Reason,
			Changes: make([]changeDoc, len(a.Changes)), ErrorCode: a.ErrorCode, ErrorMessage: a.ErrorMessage,
			UpdatedAt: a.UpdatedAt, ApprovalID: a.ApprovalID}
		for i, ch := range a.Changes {
			d.Changes[i] = changeDoc(ch)
		}
		if !a.NextAttemptAt.IsZero() {
			d.NextAttemptAt = &a.NextAttemptAt
		}
		doc.Actions = append(doc.Actions, d)
	}
	return doc
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type migrateCmd struct{}

// Run applies pending migrations (opening the store does) and says so.
func (migrateCmd) Run(c *cli, e *env) error {
	st, err := c.openStore(e)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(e.stdout, "The database schema is up to date.")
	return nil
}

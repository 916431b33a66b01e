package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/report"
)

type planCmd struct {
	Output string `short:"o" enum:"table,json" default:"table" help:"Output format: table or json."`
}

// Run previews a cycle: it pulls both sides and plans, and writes nothing.
func (p *planCmd) Run(c *cli, e *env) error {
	a, _, err := c.openApp(e, e.stderrIsTerminal)
	if err != nil {
		return err
	}
	defer a.Close()
	plan, summary, err := a.Preview(e.ctx)
	if err != nil {
		return err
	}
	if err := writePlan(e.stdout, p.Output, plan, summary); err != nil {
		return err
	}
	if pending(plan) {
		return withCode(exitPending, nil)
	}
	return nil
}

// pending reports whether a plan leaves anything for the operator: an action a cycle
// would apply, or one a guardrail holds for approval. A held deactivation is still a
// difference between the IdP and the org, and someone must approve it, so `syncd
// plan` must not exit 0 ("nothing to do") over it, whatever plan.HasChanges says about
// what a cycle would write.
func pending(plan reconcile.Plan) bool { return len(plan.Actions) > 0 }

// writePlan renders a plan as a table for people or as JSON for scripts.
func writePlan(w io.Writer, format string, plan reconcile.Plan, s reconcile.Summary) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(planJSON(plan, s))
	}
	return writePlanTable(w, plan, s)
}

// kindOrder is the order kinds are counted in the headline.
var kindOrder = []reconcile.Kind{
	reconcile.KindCreate, reconcile.KindReactivate, reconcile.KindAdopt, reconcile.KindUpdate,
	reconcile.KindDeactivate, reconcile.KindFreeze, reconcile.KindAssign, reconcile.KindUnassign,
	reconcile.KindEndSessions, reconcile.KindRevokeTokens, reconcile.KindTransfer, reconcile.KindUnfreeze,
	reconcile.KindReturnRecords,
}

// headline counts a plan's actions by kind, held ones apart: "2 create, 1 update,
// 3 deactivate (3 held)".
func headline(plan reconcile.Plan) string {
	total, held := map[reconcile.Kind]int{}, map[reconcile.Kind]int{}
	for _, a := range plan.Actions {
		total[a.Kind]++
		if a.Held {
			held[a.Kind]++
		}
	}
	var parts []string
	for _, k := range kindOrder {
		if total[k] == 0 {
			continue
		}
		part := fmt.Sprintf("%d %s", total[k], k)
		if held[k] > 0 {
			part += fmt.Sprintf(" (%d held)", held[k])
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return "nothing to change"
	}
	return strings.Join(parts, ", ")
}

func writePlanTable(w io.Writer, plan reconcile.Plan, s reconcile.Summary) error {
	fmt.Fprintf(w, "Plan: %s.\n", headline(plan))
	fmt.Fprintf(w, "Read %d source records (%d rejected) and %d Salesforce users (%d unmanaged, left alone); %d disputed, %d skipped.\n",
		s.Stats.SourceRecords, s.Stats.RejectedRecords, s.Stats.SalesforceUsers, plan.Unmanaged, len(plan.Disputed), len(plan.Skipped))
	for _, g := range plan.Guards {
		fmt.Fprintf(w, "Guardrail %s: %s\n", g.Name, g.Reason)
	}
	if len(plan.Actions) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACTION\tIDP ID\tUSER\tDETAILS")
		for _, a := range plan.Actions {
			kind := string(a.Kind)
			if a.Held {
				kind += " (held)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", kind, cell(a.IdPID), cell(userOf(a)), cell(details(a)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(plan.Rejected) > 0 {
		fmt.Fprintln(w, "\nRejected source records (fix them in the IdP):")
		for _, r := range plan.Rejected {
			fmt.Fprintf(w, "  record %d (id %s): %s\n", r.Position, orNone(r.ID), reasons(r.Reasons))
		}
	}
	if len(plan.Disputed) > 0 {
		fmt.Fprintln(w, "\nDisputed (more than one candidate; nothing done):")
		for _, d := range plan.Disputed {
			fmt.Fprintf(w, "  by %s: IdP %s ↔ Salesforce %s: %s\n", d.Key, strings.Join(d.IdPIDs, ", "), strings.Join(d.SalesforceIDs, ", "), d.Reason)
		}
	}
	if len(plan.Stale) > 0 {
		fmt.Fprintln(w, "\nApproved earlier but no longer planned (recorded as skipped, never applied):")
		for _, a := range plan.Stale {
			fmt.Fprintf(w, "  run %d #%d: %s %s (%s)\n", a.RunID, a.Seq, a.Kind, orNone(a.IdPID), orNone(a.SalesforceID))
		}
	}
	if len(plan.Skipped) > 0 {
		fmt.Fprintln(w, "\nSkipped:")
		for _, sk := range plan.Skipped {
			fmt.Fprintf(w, "  %s %s (%s): %s\n", sk.Action.Kind, orNone(sk.Action.IdPID), cell(userOf(sk.Action)), sk.Reason)
		}
	}
	return nil
}

// userOf names an action's Salesforce user for a person: the username, else the
// email, else the Id.
func userOf(a reconcile.Action) string {
	switch {
	case a.Username != "":
		return a.Username
	case a.Email != "":
		return a.Email
	}
	return a.SalesforceID
}

// details says what an action changes, or why it is held.
func details(a reconcile.Action) string {
	var parts []string
	if a.Held {
		parts = append(parts, "HELD by "+a.HeldBy+": "+a.HeldReason)
	}
	switch a.Kind {
	case reconcile.KindCreate:
		parts = append(parts, fmt.Sprintf("%d fields, profile %s", len(a.Changes), orNone(a.Profile)))
	default:
		for _, ch := range a.Changes {
			parts = append(parts, fmt.Sprintf("%s: %q → %q", ch.Field, ch.Before, ch.After))
		}
	}
	return strings.Join(parts, "; ")
}

func reasons(rs []mapping.Reason) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return strings.Join(out, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cell keeps a table cell on one line: values come from the IdP and may hold tabs
// or newlines.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// planDoc is the JSON form of a plan: a stable shape with snake_case keys for
// scripts, independent of Go field names.
type planDoc struct {
	// HasChanges agrees with the exit code: true when any action is planned, held
	// ones included (see pending).
	HasChanges bool           `json:"has_changes"`
	Counts     map[string]int `json:"counts"`
	Held       int            `json:"held"`
	Stats      statsDoc       `json:"stats"`
	Actions    []actionDoc    `json:"actions"`
	Skipped    []skipDoc      `json:"skipped"`
	Disputed   []disputeDoc   `json:"disputed"`
	Rejected   []rejectionDoc `json:"rejected"`
	Guards     []guardDoc     `json:"guards"`
	// Stale are approved actions of earlier runs this plan no longer contains: a
	// cycle records them as skipped, never applies them.
	Stale []staleDoc `json:"stale"`
}

type statsDoc struct {
	SourceRecords   int `json:"source_records"`
	RejectedRecords int `json:"rejected_records"`
	SalesforceUsers int `json:"salesforce_users"`
	Unmanaged       int `json:"unmanaged"`
	Disputed        int `json:"disputed"`
}

type actionDoc struct {
	Kind         string             `json:"kind"`
	IdPID        string             `json:"idp_id,omitempty"`
	SalesforceID string             `json:"salesforce_id,omitempty"`
	Username     string             `json:"username,omitempty"`
	Email        string             `json:"email,omitempty"`
	MatchedBy    string             `json:"matched_by,omitempty"`
	Profile      string             `json:"profile,omitempty"`
	Role         string             `json:"role,omitempty"`
	Changes      []report.ChangeDoc `json:"changes"`
	Reason       string             `json:"reason"`
	Held         bool               `json:"held"`
	HeldBy       string             `json:"held_by,omitempty"`
	HeldReason   string             `json:"held_reason,omitempty"`
}

type skipDoc struct {
	Action actionDoc `json:"action"`
	Reason string    `json:"reason"`
}

type disputeDoc struct {
	Key           string   `json:"key"`
	IdPIDs        []string `json:"idp_ids"`
	SalesforceIDs []string `json:"salesforce_ids"`
	Reason        string   `json:"reason"`
}

type rejectionDoc struct {
	ID       string   `json:"id"`
	Position int      `json:"position"`
	Reasons  []string `json:"reasons"`
}

type staleDoc struct {
	RunID        int64  `json:"run_id"`
	Seq          int    `json:"seq"`
	Kind         string `json:"kind"`
	IdPID        string `json:"idp_id,omitempty"`
	SalesforceID string `json:"salesforce_id,omitempty"`
}

type guardDoc struct {
	Name    string `json:"name"`
	Held    int    `json:"held"`
	Skipped int    `json:"skipped"`
	Reason  string `json:"reason"`
}

func actionJSON(a reconcile.Action) actionDoc {
	d := actionDoc{
		Kind: string(a.Kind), IdPID: a.IdPID, SalesforceID: a.SalesforceID, Username: a.Username,
		Email: a.Email, MatchedBy: string(a.MatchedBy), Profile: a.Profile, Role: a.Role,
		Changes: make([]report.ChangeDoc, len(a.Changes)), Reason: a.Reason, Held: a.Held, HeldBy: a.HeldBy,
		HeldReason: a.HeldReason,
	}
	for i, c := range a.Changes {
		d.Changes[i] = report.ChangeDoc(c)
	}
	return d
}

func planJSON(plan reconcile.Plan, s reconcile.Summary) planDoc {
	doc := planDoc{
		HasChanges: pending(plan), Counts: map[string]int{}, Held: s.Held,
		Stats: statsDoc{
			SourceRecords: s.Stats.SourceRecords, RejectedRecords: s.Stats.RejectedRecords,
			SalesforceUsers: s.Stats.SalesforceUsers, Unmanaged: plan.Unmanaged, Disputed: len(plan.Disputed),
		},
		Actions: []actionDoc{}, Skipped: []skipDoc{}, Disputed: []disputeDoc{}, Rejected: []rejectionDoc{},
		Guards: []guardDoc{}, Stale: []staleDoc{},
	}
	for _, a := range plan.Actions {
		doc.Counts[string(a.Kind)]++
		doc.Actions = append(doc.Actions, actionJSON(a))
	}
	for _, sk := range plan.Skipped {
		doc.Skipped = append(doc.Skipped, skipDoc{Action: actionJSON(sk.Action), Reason: sk.Reason})
	}
	for _, d := range plan.Disputed {
		doc.Disputed = append(doc.Disputed, disputeDoc{Key: string(d.Key), IdPIDs: slices.Clone(d.IdPIDs), SalesforceIDs: slices.Clone(d.SalesforceIDs), Reason: d.Reason})
	}
	for _, r := range plan.Rejected {
		rd := rejectionDoc{ID: r.ID, Position: r.Position}
		for _, reason := range r.Reasons {
			rd.Reasons = append(rd.Reasons, reason.String())
		}
		doc.Rejected = append(doc.Rejected, rd)
	}
	for _, g := range plan.Guards {
		doc.Guards = append(doc.Guards, guardDoc(g))
	}
	for _, a := range plan.Stale {
		doc.Stale = append(doc.Stale, staleDoc{RunID: a.RunID, Seq: a.Seq, Kind: string(a.Kind), IdPID: a.IdPID, SalesforceID: a.SalesforceID})
	}
	return doc
}

type applyCmd struct {
	Once   bool `required:"" help:"Run one cycle and exit (the daemon is 'syncd run')."`
	DryRun bool `name:"dry-run" help:"Plan and show what would change; save nothing, write nothing."`
	Full   bool `help:"Read every Salesforce user, not only those changed since the last cycle (schedule.full_every)."`
}

// Run runs one cycle under the leader lock, or previews it with --dry-run.
func (p *applyCmd) Run(c *cli, e *env) error {
	a, _, err := c.openApp(e, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if p.DryRun || a.Config.Policy.DryRun {
		plan, summary, err := a.Preview(e.ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "Dry run: nothing was saved or written. Would apply:")
		return writePlanTable(e.stdout, plan, summary)
	}
	lease, journal, err := a.Lead(e.ctx)
	if err != nil {
		return err
	}
	defer func() { _ = lease.Release(e.ctx) }()
	eng, err := a.Engine(journal)
	if err != nil {
		return err
	}
	run := eng.RunOnce
	if p.Full {
		run = eng.RunFull
	}
	s, runErr := run(e.ctx, "manual")
	writeSummary(e.stdout, s)
	switch {
	case runErr != nil:
		return runErr
	case s.Status == reconcile.RunPaused:
		return withCode(exitPaused, errors.New(s.Error))
	case s.Failed > 0 || s.Held > 0:
		return withCode(exitPartial, nil)
	}
	return nil
}

// writeSummary prints what a cycle did, in one paragraph.
func writeSummary(w io.Writer, s reconcile.Summary) {
	fmt.Fprintf(w, "Run %d %s: %d applied, %d failed, %d held for approval, %d skipped, %d not sent.\n",
		s.RunID, s.Status, s.Applied, s.Failed, s.Held, s.Skipped, s.Pending)
	if s.Error != "" {
		fmt.Fprintf(w, "  %s\n", s.Error)
	}
	if s.Held > 0 {
		fmt.Fprintf(w, "  Review with `syncd explain` or `syncd runs`, then release with `syncd approve %d --by NAME`.\n", s.RunID)
	}
	if s.Blocked > 0 {
		fmt.Fprintf(w, "  %d deactivations blocked by Salesforce (the users stay frozen; `syncd explain` names the blocker and its fix).\n", s.Blocked)
	}
	if len(s.SeatsFreed) > 0 {
		licenses := slices.Sorted(maps.Keys(s.SeatsFreed))
		for i, l := range licenses {
			licenses[i] = fmt.Sprintf("%d %s", s.SeatsFreed[l], l)
		}
		fmt.Fprintf(w, "  License seats freed: %s.\n", strings.Join(licenses, ", "))
	}
	if s.Usage.Max > 0 {
		fmt.Fprintf(w, "  Org API usage: %d of %d today.\n", s.Usage.Used, s.Usage.Max)
	}
}

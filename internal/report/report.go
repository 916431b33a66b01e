// Package report turns the journal (runs, actions, links) into the JSON documents
// that both `syncd runs -o json` / `syncd explain -o json` and the daemon's /v1 API
// serve, so that a script reads the same shape from the command line and from HTTP.
// The documents have stable snake_case keys, independent of Go field names.
package report

import (
	"context"
	"errors"
	"time"

	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/store"
)

// RunDoc is one run.
type RunDoc struct {
	ID         int64          `json:"id"`
	Trigger    string         `json:"trigger"`
	Mode       string         `json:"mode"`
	Status     string         `json:"status"`
	Error      string         `json:"error,omitempty"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	Counts     map[string]int `json:"counts"`
}

// RunDetailDoc is one run with every action of its plan, for GET /v1/runs/{id}.
type RunDetailDoc struct {
	RunDoc
	Actions []EntryDoc `json:"actions"`
}

// ExplainDoc is every journal entry about one person and the link that ties them to
// a Salesforce user (null when there is none).
type ExplainDoc struct {
	Link    *LinkDoc   `json:"link"`
	Actions []EntryDoc `json:"actions"`
}

// LinkDoc is one link.
type LinkDoc struct {
	IdPID        string    `json:"idp_id"`
	SalesforceID string    `json:"salesforce_id"`
	Origin       string    `json:"origin"`
	CreatedAt    time.Time `json:"created_at"`
}

// EntryDoc is one journal entry (an action and its outcome).
type EntryDoc struct {
	RunID         int64       `json:"run_id"`
	Seq           int         `json:"seq"`
	Kind          string      `json:"kind"`
	Status        string      `json:"status"`
	IdPID         string      `json:"idp_id,omitempty"`
	SalesforceID  string      `json:"salesforce_id,omitempty"`
	Username      string      `json:"username,omitempty"`
	Email         string      `json:"email,omitempty"`
	Reason        string      `json:"reason,omitempty"`
	Changes       []ChangeDoc `json:"changes"`
	ErrorCode     string      `json:"error_code,omitempty"`
	ErrorMessage  string      `json:"error_message,omitempty"`
	NextAttemptAt *time.Time  `json:"next_attempt_at,omitempty"`
	UpdatedAt     time.Time   `json:"updated_at"`
	ApprovalID    int64       `json:"approval_id,omitempty"`
}

// ChangeDoc is one field an action changes.
type ChangeDoc struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// ApprovalDoc is one recorded approval.
type ApprovalDoc struct {
	ID      int64     `json:"id"`
	RunID   int64     `json:"run_id"`
	By      string    `json:"by"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
	Actions int       `json:"actions"`
}

// Runs returns the documents of runs, in their order.
func Runs(runs []store.Run) []RunDoc {
	out := make([]RunDoc, 0, len(runs))
	for _, r := range runs {
		out = append(out, Run(r))
	}
	return out
}

// Run returns the document of one run.
func Run(r store.Run) RunDoc {
	d := RunDoc{ID: r.ID, Trigger: r.Trigger, Mode: r.Mode, Status: string(r.Status), Error: r.Error, StartedAt: r.StartedAt,
		Counts: map[string]int{"planned": r.Counts.Planned, "held": r.Counts.Held, "approved": r.Counts.Approved,
			"applied": r.Counts.Applied, "failed": r.Counts.Failed, "skipped": r.Counts.Skipped}}
	if !r.FinishedAt.IsZero() {
		d.FinishedAt = &r.FinishedAt
	}
	return d
}

// Entries returns the documents of journal entries, in their order.
func Entries(actions []store.Action) []EntryDoc {
	out := make([]EntryDoc, 0, len(actions))
	for _, a := range actions {
		d := EntryDoc{RunID: a.RunID, Seq: a.Seq, Kind: string(a.Kind), Status: string(a.Status), IdPID: a.IdPID,
			SalesforceID: a.SalesforceID, Username: a.Username, Email: a.Email, Reason: a.Reason,
			Changes: make([]ChangeDoc, len(a.Changes)), ErrorCode: a.ErrorCode, ErrorMessage: a.ErrorMessage,
			UpdatedAt: a.UpdatedAt, ApprovalID: a.ApprovalID}
		for i, ch := range a.Changes {
			d.Changes[i] = ChangeDoc(ch)
		}
		if !a.NextAttemptAt.IsZero() {
			d.NextAttemptAt = &a.NextAttemptAt
		}
		out = append(out, d)
	}
	return out
}

// Approval returns the document of an approval.
func Approval(a store.Approval) ApprovalDoc {
	return ApprovalDoc{ID: a.ID, RunID: a.RunID, By: a.By, Comment: a.Comment, At: a.At, Actions: a.Actions}
}

// Explanation is what the journal knows about one person: their link, if any, and
// every action that names them, newest first.
type Explanation struct {
	Link    store.Link
	Linked  bool
	Actions []store.Action
}

// Explain looks a person up by key (IdP id, Salesforce Id, email or username): at
// most limit actions (0: no limit) and the link found by IdP id, by Salesforce Id,
// or through the IdP id of their newest action.
//
// A 15-character Salesforce Id, as Salesforce's pages show it, finds the same user as
// its 18-character form, the one the journal records: when the key as given finds
// nothing, its 18-character form is tried.
func Explain(ctx context.Context, st store.Store, key string, limit int) (Explanation, error) {
	x, err := explain(ctx, st, key, limit)
	if err != nil || x.Linked || len(x.Actions) > 0 {
		return x, err
	}
	if id := salesforce.CanonicalID(key); id != key {
		return explain(ctx, st, id, limit)
	}
	return x, nil
}

func explain(ctx context.Context, st store.Store, key string, limit int) (Explanation, error) {
	actions, err := st.Actions(ctx, store.ActionFilter{Key: key, Limit: limit})
	if err != nil {
		return Explanation{}, err
	}
	x := Explanation{Actions: actions}
	tries := []func() (store.Link, error){
		func() (store.Link, error) { return st.LinkByIdPID(ctx, key) },
		func() (store.Link, error) { return st.LinkBySalesforceID(ctx, key) },
	}
	if len(actions) > 0 && actions[0].IdPID != "" {
		tries = append(tries, func() (store.Link, error) { return st.LinkByIdPID(ctx, actions[0].IdPID) })
	}
	for _, try := range tries {
		l, err := try()
		if err == nil {
			x.Link, x.Linked = l, true
			return x, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return Explanation{}, err
		}
	}
	return x, nil
}

// Doc returns the explanation's document.
func (x Explanation) Doc() ExplainDoc {
	doc := ExplainDoc{Actions: Entries(x.Actions)}
	if x.Linked {
		l := x.Link
		doc.Link = &LinkDoc{IdPID: l.IdPID, SalesforceID: l.SalesforceID, Origin: string(l.Origin), CreatedAt: l.CreatedAt}
	}
	return doc
}

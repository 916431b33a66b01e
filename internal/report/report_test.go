package report_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/report"
	"github.com/syncd-io/syncd/internal/store"
)

// journal opens a SQLite store holding one finished run with a create (applied,
// linked) and a held deactivation.
func journal(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	st, err := store.Open(ctx, store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(t.TempDir(), "syncd.db"),
		AutoMigrate: true, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	lease, err := st.TryLeaderLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lease.Release(ctx) })
	run, err := st.StartRun(ctx, store.NewRun{Trigger: "schedule", Mode: "sync", Epoch: lease.Epoch()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SavePlan(ctx, run.ID, []store.Action{
		{Kind: store.KindCreate, IdPID: "E1", Email: "ana@example.com", Status: store.ActionPlanned, Reason: "new",
			Changes: []store.FieldChange{{Field: "Title", After: "Engineer"}}},
		{Kind: store.KindDeactivate, IdPID: "E2", SalesforceID: "005000000000002AAA", Status: store.ActionHeld, Reason: "cap"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordResults(ctx, lease.Epoch(), []store.ActionResult{{Action: store.ActionRef{RunID: run.ID, Seq: 1}, Status: store.ActionApplied,
		SalesforceID: "005000000000001AAA", Link: &store.Link{IdPID: "E1", SalesforceID: "005000000000001AAA", Origin: store.OriginCreated}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishRun(ctx, run.ID, store.RunFinish{Status: store.RunSucceeded}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestExplainFindsTheLinkThroughAnyKey(t *testing.T) {
	st := journal(t)
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	link := &report.LinkDoc{IdPID: "E1", SalesforceID: "005000000000001AAA", Origin: "created", CreatedAt: at}
	tests := []struct {
		name, key string
		wantLink  *report.LinkDoc
		wantSeqs  []int
	}{
		{name: "by IdP id", key: "E1", wantLink: link, wantSeqs: []int{1}},
		{name: "by Salesforce Id", key: "005000000000001AAA", wantLink: link, wantSeqs: []int{1}},
		{name: "by the 15-character Id Salesforce's pages show", key: "005000000000001", wantLink: link, wantSeqs: []int{1}},
		{name: "by the 15-character Id of an unlinked user", key: "005000000000002", wantSeqs: []int{2}},
		{name: "by email, through the action's IdP id", key: "ANA@example.com", wantLink: link, wantSeqs: []int{1}},
		{name: "an unlinked person has actions but no link", key: "E2", wantSeqs: []int{2}},
		{name: "an unknown key finds nothing", key: "nobody", wantSeqs: []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := report.Explain(context.Background(), st, tt.key, 0)
			if err != nil {
				t.Fatal(err)
			}
			doc := x.Doc()
			if diff := cmp.Diff(tt.wantLink, doc.Link); diff != "" {
				t.Errorf("link (-want +got):\n%s", diff)
			}
			seqs := []int{}
			for _, a := range doc.Actions {
				seqs = append(seqs, a.Seq)
			}
			if diff := cmp.Diff(tt.wantSeqs, seqs); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunDocumentCountsEveryStatus(t *testing.T) {
	st := journal(t)
	runs, err := st.Runs(context.Background(), store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := report.Runs(runs)
	if len(got) != 1 {
		t.Fatalf("got %d runs, want 1", len(got))
	}
	want := map[string]int{"planned": 0, "held": 1, "approved": 0, "applied": 1, "failed": 0, "skipped": 0}
	if diff := cmp.Diff(want, got[0].Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if got[0].FinishedAt == nil || got[0].Status != "succeeded" {
		t.Errorf("run = %+v, want finished and succeeded", got[0])
	}
}

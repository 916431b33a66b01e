package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/app/apptest"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/sfsim"
)

// TestReadUsersChangedSince reads, through the real client, the users written since
// a time less the overlap: every user type, oldest write first, one API call, and
// OrgID spends none.
func TestReadUsersChangedSince(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	clock := apptest.NewClock(t0)
	sim, d := newSimDirectory(t, sfsim.Options{Clock: clock.Now}, nil)
	ctx := context.Background()
	add := func(u sfsim.SeedUser) string {
		ids, err := sim.AddUsers(u)
		if err != nil {
			t.Fatal(err)
		}
		return ids[0]
	}
	clock.Advance(time.Minute)
	chatter := add(sfsim.SeedUser{Username: "chatter@acme.example.com", LastName: "C", Profile: "Chatter Free User"})
	clock.Advance(time.Minute)
	edited := add(sfsim.SeedUser{Username: "edited@acme.example.com", LastName: "E", Title: "Engineer"})
	clock.Advance(18 * time.Minute) // t0+20m
	if err := sim.EditUser(edited, map[string]any{"Title": "Manager"}); err != nil {
		t.Fatal(err)
	}
	touched := add(sfsim.SeedUser{Username: "touched@acme.example.com", LastName: "T"})
	clock.Advance(time.Minute)
	if err := sim.TouchUser(touched); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		overlap time.Duration
		since   time.Time
		want    []string
		query   string
	}{
		{"overlap reaches back past a creation", 19 * time.Minute, t0.Add(20 * time.Minute), []string{chatter, edited, touched},
			"WHERE SystemModstamp >= 2026-11-30T09:01:00Z ORDER BY SystemModstamp, Id"},
		{"the edit and the system update", 10 * time.Minute, t0.Add(20*time.Minute + 30*time.Second), []string{edited, touched},
			"WHERE SystemModstamp >= 2026-11-30T09:10:30Z ORDER BY SystemModstamp, Id"},
		{"only the system update", time.Minute, t0.Add(22 * time.Minute), []string{touched},
			"WHERE SystemModstamp >= 2026-11-30T09:21:00Z ORDER BY SystemModstamp, Id"},
		{"nothing since", time.Minute, t0.Add(time.Hour), nil,
			"WHERE SystemModstamp >= 2026-11-30T09:59:00Z ORDER BY SystemModstamp, Id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := sim.APIUsage()
			users, asOf, err := d.WithDeltaOverlap(tt.overlap).ReadUsersChangedSince(ctx, []string{"Title"}, tt.since)
			if err != nil {
				t.Fatal(err)
			}
			if !asOf.Equal(clock.Now()) {
				t.Errorf("asOf = %v, want the org's clock %v", asOf, clock.Now())
			}
			var got []string
			for _, u := range users {
				got = append(got, u.ID)
				if u.SystemModstamp.IsZero() || u.Fields.Len() != 1 {
					t.Errorf("user %s: SystemModstamp %v, fields %v; want both read", u.ID, u.SystemModstamp, u.Fields)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
			if after, _ := sim.APIUsage(); after-before != 1 {
				t.Errorf("spent %d API calls, want 1", after-before)
			}
			queries := sim.Queries()
			if last := queries[len(queries)-1]; !strings.HasSuffix(last, tt.query) || !strings.Contains(last, "SystemModstamp, ") {
				t.Errorf("query %q, want it to select SystemModstamp and end %q", last, tt.query)
			}
		})
	}

	id, err := d.OrgID(ctx)
	if err != nil || id != sim.OrgID() {
		t.Errorf("OrgID = %q, %v; want %q", id, err, sim.OrgID())
	}
}

// TestLatestOnce keeps each user's latest version once, ordered by stamp then Id,
// as a cursor ordered by SystemModstamp returns a user written between its pages.
func TestLatestOnce(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 11, 30, 9, 0, s, 0, time.UTC) }
	u := func(id, title string, s int) reconcile.Existing {
		return reconcile.Existing{ID: id, Fields: reconcile.PackFields(reconcile.FieldValue{Name: "Title", Value: title}), SystemModstamp: at(s)}
	}
	tests := []struct {
		name     string
		in, want []reconcile.Existing
	}{
		{"none", nil, []reconcile.Existing{}},
		{"distinct, ordered by stamp then Id", []reconcile.Existing{u("b", "x", 1), u("a", "x", 1), u("c", "x", 0)},
			[]reconcile.Existing{u("c", "x", 0), u("a", "x", 1), u("b", "x", 1)}},
		{"written again between pages", []reconcile.Existing{u("a", "old", 1), u("b", "x", 2), u("a", "new", 3)},
			[]reconcile.Existing{u("b", "x", 2), u("a", "new", 3)}},
		{"the same version twice", []reconcile.Existing{u("a", "x", 1), u("a", "x", 1)}, []reconcile.Existing{u("a", "x", 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, latestOnce(tt.in)); diff != "" {
				t.Errorf("latestOnce (-want +got):\n%s", diff)
			}
		})
	}
}

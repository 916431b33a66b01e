package reconcile_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/syncd-io/syncd/internal/app"
	"github.com/syncd-io/syncd/internal/app/apptest"
	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/sfsim"
	"github.com/syncd-io/syncd/internal/source"
	"github.com/syncd-io/syncd/internal/store"
)

// history is one random history: a simulated org, a real SQLite store holding the
// journal and the mirror, and an engine whose every cycle is checked.
type history struct {
	t      *testing.T
	r      *rand.Rand
	clock  *apptest.Clock
	org    *apptest.Org
	dir    *app.Directory
	src    *fakeSource
	store  store.Store
	epoch  int64
	engine *reconcile.Engine
	// records are the IdP's people by id; gone are the ones who left (they may come
	// back).
	records map[string]source.Record
	gone    []string
	nextID  int
	log     []string // what happened, for the failure message
	// mismatches are the cycles whose delta plan differed from the full one.
	mismatches []string
	compared   map[reconcile.ReadMode]int
}

// historyConfig says how the history's engine is built; the zero value is the
// product's.
type historyConfig struct {
	overlap time.Duration
	// mirror wraps the store's mirror, to break it on purpose.
	mirror func(reconcile.Mirror) reconcile.Mirror
	// unchecked plans with Calculate alone: no full read besides the engine's.
	unchecked bool
	// mapper replaces propertyMapper.
	mapper *mapping.Mapper
}

// propertyMapper manages Title and Department (always) besides the defaults, so
// drift on them is reverted.
func propertyMapper(t testing.TB) *mapping.Mapper {
	t.Helper()
	m, err := mapping.New(mapping.Config{
		Fields: map[string]mapping.FieldConfig{
			"FederationIdentifier": {From: "{{ .ID }}"},
			"Title":                {From: "{{ .Title }}"},
			"Department":           {From: "{{ .Department }}"},
		},
		Profile: mapping.AssignmentConfig{Default: "Standard User"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newHistory(t *testing.T, seed uint64, hc historyConfig) *history {
	t.Helper()
	ctx := context.Background()
	// The one clock of a history: Salesforce's, the store's and the engine's.
	clock := apptest.NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	org := apptest.NewOrg(t, sfsim.Options{Clock: clock.Now}, nil)
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", DSN: "file:" + filepath.Join(t.TempDir(), "syncd.db"),
		AutoMigrate: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	lease, err := st.TryLeaderLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lease.Release(ctx) })
	journal := app.NewJournal(st, lease.Epoch())
	overlap := cmp.Or(hc.overlap, 10*time.Minute)
	if hc.overlap < 0 {
		overlap = 0
	}
	h := &history{t: t, r: rand.New(rand.NewPCG(seed, 13)), clock: clock, org: org,
		dir: app.NewDirectory(org.Client).WithDeltaOverlap(overlap), src: &fakeSource{}, store: st, epoch: lease.Epoch(),
		records: map[string]source.Record{}, compared: map[reconcile.ReadMode]int{}}
	var mirror reconcile.Mirror = journal
	if hc.mirror != nil {
		mirror = hc.mirror(journal)
	}
	plan := h.checkedPlan
	if hc.unchecked {
		plan = nil
	}
	mapper := hc.mapper
	if mapper == nil {
		mapper = propertyMapper(t)
	}
	h.engine, err = reconcile.New(reconcile.Config{
		Source: h.src, Mapper: mapper, Directory: h.dir, Journal: journal, Mirror: mirror,
		FullEvery: 45 * time.Minute, Plan: plan,
		Policy: reconcile.Policy{Mode: reconcile.ModeSync,
			Match:      []reconcile.MatchKey{reconcile.MatchLink, reconcile.MatchFederationID, reconcile.MatchEmail, reconcile.MatchUsername},
			Guardrails: reconcile.Guardrails{MaxDeactivations: 3, MaxDeactivationPercent: -1, MaxSourceShrinkPercent: -1}},
		ProtectedProfiles: []string{"System Administrator"},
		Now:               clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 12 {
		h.hire()
	}
	return h
}

// checkedPlan plans the cycle as the engine gathered it (the mirror overlaid with
// the delta read, on a delta cycle) and again over a full read of the org as it is
// now, and records any difference. It returns the engine's plan.
func (h *history) checkedPlan(in reconcile.Input, p reconcile.Policy) reconcile.Plan {
	got := reconcile.Calculate(in, p)
	full := in
	var err error
	full.Existing, err = h.dir.ReadUsers(context.Background(), managed(in.Desired), nil)
	if err != nil {
		h.t.Fatalf("full read for the comparison: %v", err)
	}
	want := reconcile.Calculate(full, p)
	if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		h.mismatches = append(h.mismatches, fmt.Sprintf("plan (-full +engine's):\n%s\nusers (-full +engine's):\n%s",
			diff, gocmp.Diff(byID(full.Existing), byID(in.Existing), cmpopts.IgnoreFields(reconcile.Existing{}, "SystemModstamp"))))
	}
	return got
}

// managed is the engine's list of managed fields (managedFields, unexported).
func managed(desired []mapping.Desired) []string {
	var names []string
	for _, d := range desired {
		for _, f := range d.Fields {
			if !slices.Contains(names, f.Name) {
				names = append(names, f.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

func byID(users []reconcile.Existing) []reconcile.Existing {
	return slices.SortedFunc(slices.Values(users), func(a, b reconcile.Existing) int { return strings.Compare(a.ID, b.ID) })
}

func (h *history) note(format string, args ...any) {
	h.log = append(h.log, fmt.Sprintf("%s ", h.clock.Now().Format("15:04:05"))+fmt.Sprintf(format, args...))
}

// record is person n with a title and department drawn at random.
func (h *history) record(id string) source.Record {
	n := strings.TrimPrefix(id, "E")
	return source.Record{ID: id, Emails: []source.Email{{Value: "p" + n + "@acme.example.com", Primary: true}},
		GivenName: "Pat", FamilyName: "Person" + n, Active: true,
		Title: h.pick("Engineer", "Manager", "Analyst", ""), Department: h.pick("Sales", "R&D", "Ops")}
}

func (h *history) pick(values ...string) string { return values[h.r.IntN(len(values))] }

func (h *history) hire() {
	id := fmt.Sprintf("E%04d", h.nextID)
	h.nextID++
	h.records[id] = h.record(id)
	h.note("IdP: hire %s", id)
}

// ids returns the IdP's present people, sorted.
func (h *history) ids() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for id := range h.records {
			if !yield(id) {
				return
			}
		}
	})
}

// idpChange makes one random change on the IdP's side.
func (h *history) idpChange() {
	ids := h.ids()
	switch k := h.r.IntN(10); {
	case k < 3 || len(ids) == 0:
		h.hire()
	case k < 5:
		id := ids[h.r.IntN(len(ids))]
		delete(h.records, id)
		h.gone = append(h.gone, id)
		h.note("IdP: %s leaves", id)
	case k < 6 && len(h.gone) > 0:
		i := h.r.IntN(len(h.gone))
		id := h.gone[i]
		h.gone = slices.Delete(h.gone, i, i+1)
		h.records[id] = h.record(id)
		h.note("IdP: %s returns", id)
	default:
		id := ids[h.r.IntN(len(ids))]
		rec := h.record(id)
		rec.FamilyName = h.records[id].FamilyName + h.pick("", "-Smith")
		h.records[id] = rec
		h.note("IdP: %s now %q in %q", id, rec.Title, rec.Department)
	}
}

// sfUsers returns the org's users other than the integration user.
func (h *history) sfUsers() []sfsim.UserSummary {
	return slices.DeleteFunc(h.org.Sim.Users(), func(u sfsim.UserSummary) bool { return u.ID == h.org.Sim.IntegrationUserID() })
}

// sfChange makes one random change in Salesforce, as its administrators and its
// own processes do between cycles. Some commit late: their transaction started up
// to four minutes ago, so their stamps are older than writes already read.
func (h *history) sfChange() {
	sim := h.org.Sim
	users := h.sfUsers()
	if len(users) == 0 {
		return
	}
	u := users[h.r.IntN(len(users))]
	var fields map[string]any
	var what string
	switch k := h.r.IntN(12); {
	case k < 3:
		fields, what = map[string]any{h.pick("Title", "Department", "FirstName"): h.pick("Drifted", "Other", "")}, "field drift"
	case k < 5:
		fields, what = map[string]any{"IsActive": false}, "deactivated by an admin"
	case k < 6:
		fields, what = map[string]any{"IsActive": true}, "reactivated by an admin"
	case k < 7:
		fields, what = map[string]any{"FederationIdentifier": h.pick(fmt.Sprintf("E%04d", h.r.IntN(h.nextID+1)), "")}, "FederationIdentifier changed"
	case k < 8:
		fields, what = map[string]any{"Email": fmt.Sprintf("p%04d@acme.example.com", h.r.IntN(h.nextID+1))}, "Email changed"
	case k < 9:
		profile := h.pick("Chatter Free User", "Standard User")
		id, _ := sim.ProfileID(profile)
		fields, what = map[string]any{"ProfileId": id}, "profile now "+profile
	case k < 10:
		if err := sim.TouchUser(u.ID); err != nil {
			h.t.Fatal(err)
		}
		h.note("SF: %s touched by a system process", u.ID)
		return
	default:
		n := h.r.IntN(h.nextID + 3)
		nu := sfsim.SeedUser{Username: fmt.Sprintf("hand%d.%d@acme.example.com", n, h.r.IntN(1000)), LastName: "Hand",
			Email: fmt.Sprintf("p%04d@acme.example.com", n), Title: "Contractor"}
		if h.r.IntN(2) == 0 {
			nu.FederationIdentifier = fmt.Sprintf("E%04d", n)
		}
		if ids, err := sim.AddUsers(nu); err == nil {
			h.note("SF: %s created by hand for %s (fed %q)", ids[0], nu.Email, nu.FederationIdentifier)
		}
		return
	}
	late := time.Duration(0)
	if h.r.IntN(4) == 0 {
		late = time.Duration(1+h.r.IntN(240)) * time.Second
	}
	err := sim.EditUserStartedAt(u.ID, fields, h.clock.Now().Add(-late))
	if err == nil {
		h.note("SF: %s %s %v (committed %s late)", u.ID, what, fields, late)
	}
}

// step makes a few changes on both sides, lets time pass and runs a cycle.
func (h *history) step() {
	for range h.r.IntN(3) {
		h.idpChange()
	}
	for range h.r.IntN(4) {
		h.sfChange()
		if h.r.IntN(3) == 0 {
			h.clock.Advance(time.Duration(h.r.IntN(2000)) * time.Millisecond)
		}
	}
	h.clock.Advance(time.Duration(h.r.IntN(180)) * time.Second)
	before := len(h.mismatches)
	s := h.cycle(h.engine.RunOnce)
	if len(h.mismatches) > before {
		h.mismatches[len(h.mismatches)-1] = fmt.Sprintf("cycle %d (%s):\n%s", s.RunID, s.Read, h.mismatches[len(h.mismatches)-1])
	}
}

// cycle gives the source the IdP's people and runs one cycle with run.
func (h *history) cycle(run func(context.Context, string) (reconcile.Summary, error)) reconcile.Summary {
	var records []source.Record
	for _, id := range h.ids() {
		records = append(records, h.records[id])
	}
	h.src.set(records)
	s, err := run(context.Background(), "schedule")
	if err != nil {
		h.t.Fatalf("cycle: %v\nhistory:\n%s", err, strings.Join(h.log, "\n"))
	}
	h.compared[s.Read]++
	h.note("cycle %d (%s, %d rows): %d applied, %d failed, %d held", s.RunID, s.Read, s.RowsRead, s.Applied, s.Failed, s.Held)
	return s
}

// run replays steps and returns the mismatches found.
func (h *history) run(steps int) []string {
	for range steps {
		h.step()
	}
	return h.mismatches
}

// TestDeltaPlanningAgreesWithFullPlanning replays random histories of IdP changes
// and Salesforce-side edits (field drift, deactivation and reactivation by an
// admin, users created by hand, FederationIdentifier and Email changes, profiles
// moving to another license, system updates, transactions committing minutes late)
// against the simulator, with a real store, and checks at every cycle that the plan
// made over the mirror and the delta read equals the plan over a full read of the
// org at that moment.
func TestDeltaPlanningAgreesWithFullPlanning(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			h := newHistory(t, seed, historyConfig{})
			if mismatches := h.run(40); len(mismatches) > 0 {
				t.Fatalf("%d of %d cycles planned differently over the mirror; first:\n%s\nhistory:\n%s",
					len(mismatches), 40, mismatches[0], strings.Join(h.log, "\n"))
			}
			t.Logf("cycles by read: %v; history:\n%s", h.compared, strings.Join(h.log, "\n"))
			if h.compared[reconcile.ReadDelta] < 20 || h.compared[reconcile.ReadFull] < 2 {
				t.Errorf("cycles by read: %v; want most of them delta and a few full", h.compared)
			}
		})
	}
}

// dropPatchedUsers is a broken mirror: a delta read moves the watermark but the
// users it read are not written into the mirror.
type dropPatchedUsers struct{ reconcile.Mirror }

func (m dropPatchedUsers) PatchMirror(ctx context.Context, watermark time.Time, _ []reconcile.Existing) error {
	return m.Mirror.PatchMirror(ctx, watermark, nil)
}

// TestDeltaPropertyCatchesBrokenIncrementalReads shows the property test has teeth:
// with no overlap (late commits are missed) or with a mirror that is not patched,
// some history plans differently over the mirror than over a full read.
func TestDeltaPropertyCatchesBrokenIncrementalReads(t *testing.T) {
	for _, tc := range []struct {
		name string
		hc   historyConfig
	}{
		{"no overlap", historyConfig{overlap: -1}},
		{"delta reads not written into the mirror", historyConfig{mirror: func(m reconcile.Mirror) reconcile.Mirror { return dropPatchedUsers{m} }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(6) {
				if mismatches := newHistory(t, seed, tc.hc).run(40); len(mismatches) > 0 {
					t.Logf("seed %d: %d cycles differ; first:\n%s", seed, len(mismatches), mismatches[0])
					return
				}
			}
			t.Errorf("no history of 6 found a difference between delta and full planning")
		})
	}
}

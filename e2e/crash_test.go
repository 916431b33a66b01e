package e2e

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/syncd-io/syncd/internal/store"
)

// The crash soak's size comes from the environment, so that `make crash-test` runs
// the long form (scripts/crash-test.sh) and `make test` a short one.
const (
	envCrashKills  = "SYNCD_CRASH_KILLS"  // SIGKILLs per store backend; default 10
	envCrashPeople = "SYNCD_CRASH_PEOPLE" // people in the org; default 1,000
)

// envInt reads a positive integer from the environment, def when unset.
func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q is not a positive integer", name, v)
	}
	return n
}

// soakOrg is the desired state of the soak's org: who is in the export, and who left.
type soakOrg struct {
	active, leavers []person
	next            int // the number of the next joiner
}

// day changes the export as a working day does: 1 % join, 4 % change title, 1 %
// leave (never one who left before: they stay gone).
func (o *soakOrg) day(rng *rand.Rand, n int) {
	churn := max(1, n/100)
	for range 4 * churn {
		p := &o.active[rng.IntN(len(o.active))]
		p.Title = fmt.Sprintf("Title %d", rng.IntN(1000))
	}
	rng.Shuffle(len(o.active), func(i, j int) { o.active[i], o.active[j] = o.active[j], o.active[i] })
	o.leavers = append(o.leavers, o.active[:churn]...)
	o.active = append(slices.Clone(o.active[churn:]), staff(o.next, churn)...)
	o.next += churn
}

func TestCrashSoak(t *testing.T) {
	t.Parallel()
	kills := envInt(t, envCrashKills, 10)
	people := envInt(t, envCrashPeople, 1000)
	for _, backend := range []string{store.DriverSQLite, store.DriverPostgres} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := settings{MaxDeactivations: people, MaxDeactivationPercent: 100, MaxShrinkPercent: 100, Concurrency: 2}
			if backend == store.DriverPostgres {
				s.PostgresDSN = pg.NewDatabase(t)
			}
			soak(t, s, kills, people)
		})
	}
}

// soak syncs an org of n people through days of joiners, movers and leavers, killing
// syncd with SIGKILL until it has done so kills times; after each day's kills, at
// most two runs must bring the org in line with the export. At the end the journal
// must agree with the org.
func soak(t testing.TB, s settings, kills, n int) {
	org := startSfsim(t, map[string]any{"licenses": []map[string]any{{"name": "Salesforce", "seats": 4 * n}}},
		"--latency", simLatency.String())
	d := deploy(t, org, s)
	k := &killer{org: org, d: d, rng: rand.New(rand.NewPCG(killSeed, uint64(n)))}
	t.Logf("kill moments seeded with %d, %d", killSeed, n)
	o := &soakOrg{active: staff(1, n), next: n + 1}
	days := 0
	for k.kills < kills {
		if days > 0 {
			o.day(k.rng, n)
		}
		days++
		d.write(t, o.active)
		// One to three kills a day, each followed by a check that nothing was harmed.
		for range 1 + k.rng.IntN(3) {
			if !k.interrupt(t) {
				break
			}
			checkNoHarm(t, org, o.active)
		}
		runs := converge2(t, d)
		checkSynced(t, org, d, o.active, o.leavers)
		if t.Failed() {
			t.Fatalf("day %d (%d kills so far, %d runs to converge) left the org wrong", days, k.kills, runs)
		}
	}
	checkJournal(t, org, d)
	t.Logf("%d kills (%d early: sign-in, read, plan, saving the plan) over %d days of %d people; links by origin %v",
		k.kills, k.early, days, n, originCounts(d.links(t)))
}

// converge2 runs `syncd apply --once` at most twice until a run finds nothing left to
// do, and returns how many it took: a run after a kill finishes the killed run's work
// (adopting users it created but could not record), and the one after it finds
// nothing.
func converge2(t testing.TB, d *deployment) int {
	t.Helper()
	for run := 1; run <= 2; run++ {
		d.must(t, exitOK, "apply", "--once")
		if d.runs(t)[0].actions() == 0 || run == 2 {
			d.must(t, exitOK, "plan")
			return run
		}
	}
	return 2
}

// checkJournal checks the journal against the org. Every applied entry names a user
// that exists and carries the person's FederationIdentifier. And the journal's last
// word on each person is what the org holds: the newest entry that was applied, or
// that a killed run planned (its write may have reached Salesforce before the kill,
// and then the next run finds nothing to do), decides whether their user is active
// and what its Title is.
func checkJournal(t testing.TB, org *sfsimProcess, d *deployment) {
	t.Helper()
	var entries []store.Action
	d.readStore(t, func(ctx context.Context, st store.Store) (err error) {
		entries, err = st.Actions(ctx, store.ActionFilter{Statuses: []store.ActionStatus{store.ActionApplied, store.ActionPlanned}})
		return err
	})
	byID, byFed := map[string]orgUser{}, map[string]orgUser{}
	for _, u := range org.people(t) {
		byID[u.ID], byFed[u.FederationIdentifier] = u, u
	}
	slices.SortFunc(entries, func(a, b store.Action) int {
		return cmp.Or(cmp.Compare(a.RunID, b.RunID), cmp.Compare(a.Seq, b.Seq))
	})
	active := map[string]bool{}
	title := map[string]string{}
	applied := 0
	for _, a := range entries {
		if a.Status == store.ActionApplied {
			applied++
			if u, ok := byID[a.SalesforceID]; !ok || u.FederationIdentifier != a.IdPID {
				t.Errorf("journal entry run %d #%d (%s %s) names user %q, which the org has as %+v", a.RunID, a.Seq, a.Kind, a.IdPID, a.SalesforceID, u)
			}
		}
		switch a.Kind {
		case store.KindCreate, store.KindReactivate:
			active[a.IdPID] = true
		case store.KindDeactivate:
			active[a.IdPID] = false
		}
		for _, c := range a.Changes {
			if c.Field == "Title" {
				title[a.IdPID] = c.After
			}
		}
	}
	for id, want := range active {
		if byFed[id].IsActive != want {
			t.Errorf("the journal's last word on %s has their user active %v, the org %v", id, want, byFed[id].IsActive)
		}
	}
	for id, want := range title {
		if got := org.user(t, byFed[id].ID).field("Title"); got != want {
			t.Errorf("the journal's last Title of %s is %q, the org's %q", id, want, got)
		}
	}
	t.Logf("%d applied journal entries (%d in all) agree with the org", applied, len(entries))
}

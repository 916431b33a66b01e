package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// idsOf maps each person's IdP id to the Id of their user in the org.
func idsOf(t testing.TB, org *sfsimProcess) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, u := range org.people(t) {
		out[u.FederationIdentifier] = u.ID
	}
	return out
}

func TestLeaversWhoReturnAreReactivatedNotDuplicated(t *testing.T) {
	t.Parallel()
	org, d, people := synced(t, lenient(), 10)
	first := idsOf(t, org)

	stay, leavers := people[3:], people[:3]
	d.write(t, stay)
	d.must(t, exitOK, "apply", "--once")
	checkSynced(t, org, d, stay, leavers)

	d.write(t, people)
	// One Collections update reactivates the returners, one unfreezes them (the
	// offboarding froze them before deactivating).
	if diff := cmp.Diff(map[string]int{"collections.update": 2}, d.applyWrites(t, exitOK)); diff != "" {
		t.Errorf("write requests of the returners' run (-want +got):\n%s", diff)
	}
	checkSynced(t, org, d, people, nil)
	if diff := cmp.Diff(first, idsOf(t, org)); diff != "" {
		t.Errorf("users by IdP id changed across leaving and returning (-first +now):\n%s", diff)
	}

	t.Run("explain shows the create and every later action, newest first", func(t *testing.T) {
		e := d.explain(t, leavers[0].ID)
		want := []string{"reactivate applied", "unfreeze applied",
			"freeze applied", "end_sessions applied", "revoke_tokens applied", "transfer applied", "deactivate applied",
			"create applied"}
		if diff := cmp.Diff(want, e.history()); diff != "" {
			t.Errorf("history of %s (-want +got):\n%s", leavers[0].ID, diff)
		}
		if e.Link == nil || e.Link.SalesforceID != first[leavers[0].ID] || e.Link.Origin != "created" {
			t.Errorf("link of %s is %+v, want created to %s", leavers[0].ID, e.Link, first[leavers[0].ID])
		}
	})
}

func TestAnEmptyExportDeactivatesNobody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, export, because string
	}{
		{name: "an empty file", export: "", because: "the file is empty"},
		{name: "a header-only file", export: "employeeId,email,firstName,lastName,title,department\n", because: "the file has a header row but no records"},
	} {
		t.Run(tc.name+" fails the pull and deactivates nobody", func(t *testing.T) {
			t.Parallel()
			// The caps would let every deactivation through: only the pull's
			// completeness stands between the export and the org.
			org, d, people := synced(t, lenient(), 20)

			d.writeRaw(t, []byte(tc.export))
			plan := d.must(t, 1, "plan")
			if !strings.Contains(plan.stderr, "source pull incomplete: "+tc.because) {
				t.Errorf("syncd plan does not say the pull is incomplete because %s:\n%s", tc.because, plan.stderr)
			}
			if w := d.applyWrites(t, 1); len(w) > 0 {
				t.Errorf("a run on %s wrote to the org: %v", tc.name, w)
			}
			checkSynced(t, org, d, people, nil)
			if runs := d.runs(t); runs[0].Status != "failed" {
				t.Errorf("the run on %s is %+v, want failed", tc.name, runs[0])
			}
		})
	}
}

// checkHeld checks that syncd plan shows the lines given and exits 2, and that
// apply --once holds every action: it exits 3 and writes nothing, so the org still
// has every one of people active.
func checkHeld(t testing.TB, org *sfsimProcess, d *deployment, people []person, lines ...string) {
	t.Helper()
	plan := d.must(t, exitPending, "plan")
	for _, want := range lines {
		if !strings.Contains(plan.stdout, want) {
			t.Errorf("syncd plan does not show %q:\n%s", want, plan.stdout)
		}
	}
	if w := d.applyWrites(t, exitPartial); len(w) > 0 {
		t.Errorf("held actions were written: %v", w)
	}
	checkSynced(t, org, d, people, nil)
}

func TestAShrunkenExportHoldsEveryDeactivation(t *testing.T) {
	t.Parallel()
	// The caps let 50 deactivations through; the shrink gate keeps its default of 10 %.
	org, d, people := synced(t, settings{MaxDeactivations: 50, MaxDeactivationPercent: 100, MaxShrinkPercent: 10}, 20)
	d.write(t, people[:2]) // a truncated export: 18 of 20 people missing
	checkHeld(t, org, d, people, "Plan: 18 deactivate (18 held).", "Guardrail shrink: ")
	t.Run("and keeps holding them while the export stays shrunken", func(t *testing.T) {
		// The held pull must not become the baseline the next cycle compares with.
		checkHeld(t, org, d, people, "Plan: 18 deactivate (18 held).", "Guardrail shrink: the source has 2 records, 90% fewer than the last complete pull's 20")
	})
	t.Run("until they are approved; then the smaller export is the baseline", func(t *testing.T) {
		d.must(t, exitOK, "approve", strconv.FormatInt(d.runs(t)[0].ID, 10), "--by", "x")
		d.must(t, exitOK, "apply", "--once")
		checkSynced(t, org, d, people[:2], people[2:])
		d.must(t, exitOK, "plan")
	})
}

func TestAHeldCapIsAppliedOnlyAfterApproval(t *testing.T) {
	t.Parallel()
	org := startSfsim(t, nil)
	d := deploy(t, org, settings{MaxDeactivations: 2, MaxDeactivationPercent: 100, MaxShrinkPercent: 100})
	people := staff(1, 20)
	d.write(t, people)
	d.must(t, exitPending, "plan") // 20 creates
	d.must(t, exitOK, "apply", "--once")
	d.must(t, exitOK, "plan")

	stay, leavers := people[5:], people[:5]
	d.write(t, stay)
	checkHeld(t, org, d, people, "Plan: 5 deactivate (5 held).", "Guardrail cap: ")

	runs := d.runs(t)
	held := runs[0]
	if held.Counts["held"] != len(leavers) {
		t.Fatalf("the newest run is %+v, want %d held", held, len(leavers))
	}
	approve := d.must(t, exitOK, "approve", strconv.FormatInt(held.ID, 10), "--by", "x")
	if !strings.Contains(approve.stdout, "released 5 held action(s)") {
		t.Errorf("syncd approve says:\n%s", approve.stdout)
	}
	d.must(t, 1, "approve", strconv.FormatInt(held.ID, 10), "--by", "x") // approved before

	// The released deactivations are offboarded: one Collections update freezes the
	// leavers, one deactivates them (they own nothing and have no sessions).
	if diff := cmp.Diff(map[string]int{"collections.update": 2}, d.applyWrites(t, exitOK)); diff != "" {
		t.Errorf("write requests of the approved run (-want +got):\n%s", diff)
	}
	checkSynced(t, org, d, stay, leavers)
	d.must(t, exitOK, "plan")

	t.Run("syncd runs -o json lists every run newest first", func(t *testing.T) {
		var got []string
		for _, r := range d.runs(t) {
			got = append(got, fmt.Sprintf("run %d %s: %d applied, %d held, %d approved, %d failed",
				r.ID, r.Status, r.Counts["applied"], r.Counts["held"], r.Counts["approved"], r.Counts["failed"]))
		}
		// Run 2's held actions were released by the approval and applied by run 3,
		// which records their results on run 2's actions as well as on its own, with
		// the four offboarding steps of each leaver.
		want := []string{
			"run 3 succeeded: 25 applied, 0 held, 0 approved, 0 failed",
			"run 2 succeeded: 5 applied, 0 held, 0 approved, 0 failed",
			"run 1 succeeded: 20 applied, 0 held, 0 approved, 0 failed",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("runs (-want +got):\n%s", diff)
		}
	})
}

package e2e

import (
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/sfsim"
)

// stormPeople is the size of the fault storm's org: five create batches on the first
// sync, enough for every injected fault to land on a write.
const stormPeople = 1000

// maxStormCycles bounds the `syncd apply --once` runs one phase of the storm may take
// to converge. Each run re-reads the org, so a write whose outcome was lost is found
// (and adopted) by the next one; a phase needing more runs than this is a bug.
const maxStormCycles = 6

// stormFaults are the faults injected on top of the random ones: latency spikes on
// reads and writes, and connections dropped before a write is handled and after it
// took effect (its answer lost), on creates and on updates.
func stormFaults() []sfsim.FaultRule {
	spike := sfsim.LatencyFault(400 * time.Millisecond)
	return []sfsim.FaultRule{
		{Endpoint: "query", Count: 2, Fault: spike},
		{Endpoint: "queryMore", Count: 2, Fault: spike},
		{Endpoint: "collections.create", Count: 2, Fault: spike},
		{Endpoint: "collections.create", Skip: 1, Fault: sfsim.DropFault()},
		{Endpoint: "collections.create", Skip: 2, Fault: sfsim.LostAnswerFault()},
		{Endpoint: "collections.update", Fault: sfsim.LostAnswerFault()},
		{Endpoint: "collections.update", Skip: 1, Fault: sfsim.DropFault()},
	}
}

// stormPhase is one change of the export and what the org must show afterwards.
type stormPhase struct {
	name            string
	active, leavers []person
}

// stormPhases are a first sync, then a day of joiners, movers and leavers.
func stormPhases() []stormPhase {
	people := staff(1, stormPeople)
	moved := append([]person(nil), people...)
	for i := range 200 {
		moved[i].Title = "Staff Engineer"
	}
	stay := append(moved[:stormPeople-30:stormPeople-30], staff(stormPeople+1, 50)...)
	return []stormPhase{
		{name: "first sync", active: people},
		{name: "50 joiners, 200 movers, 30 leavers", active: stay, leavers: people[stormPeople-30:]},
	}
}

// stormTally is what one org spent over the phases.
type stormTally struct {
	charged  int64 // API calls the org charged (token requests are free)
	requests int   // REST requests received, faulted ones included
	runs     int   // syncd apply --once runs
}

// runStorm syncs the phases into org, converging each, and returns what it spent.
func runStorm(t testing.TB, org *sfsimProcess) stormTally {
	t.Helper()
	d := deploy(t, org, lenient())
	var tally stormTally
	for _, ph := range stormPhases() {
		d.write(t, ph.active)
		before := org.state(t)
		tally.runs += d.converge(t, ph.active)
		after := org.state(t)
		tally.charged += after.APIUsage - before.APIUsage
		for name, n := range callsSince(before, after) {
			if name != "token" {
				tally.requests += n
			}
		}
		checkSynced(t, org, d, ph.active, ph.leavers)
		for _, p := range ph.active {
			if got := org.user(t, p.username()).field("Title"); got != p.Title {
				t.Errorf("%s: person %s's Title is %q, want %q", ph.name, p.ID, got, p.Title)
			}
		}
	}
	return tally
}

// converge runs `syncd apply --once` until a run finds nothing to do, checking after
// every run that no person has two users and no one in the export was deactivated,
// and returns the runs it took. A run may fail or finish partially under faults
// (exit 1 or 3), never any other way.
func (d *deployment) converge(t testing.TB, desired []person) int {
	t.Helper()
	for cycle := 1; cycle <= maxStormCycles; cycle++ {
		o := d.syncd(t, "apply", "--once")
		checkNoHarm(t, d.org, desired)
		switch o.code {
		case exitOK:
			if d.runs(t)[0].actions() == 0 {
				return cycle
			}
		case 1, exitPartial:
		default:
			t.Fatalf("syncd apply --once exited %d\nstdout:\n%s\nstderr:\n%s", o.code, o.stdout, o.stderr)
		}
	}
	t.Fatalf("the org did not converge within %d runs", maxStormCycles)
	return 0
}

func TestFaultStormConvergesWithoutHarmAndWithBoundedRetries(t *testing.T) {
	t.Parallel()
	seats := map[string]any{"licenses": []map[string]any{{"name": "Salesforce", "seats": 5000}}}
	calm := startSfsim(t, seats)
	// 20 % of REST requests fail with UNABLE_TO_LOCK_ROW, SERVER_UNAVAILABLE or a
	// dropped connection (sfsim's random faults); sessions expire every second, so
	// every run signs in again mid-way; latency spikes and dropped writes come from
	// stormFaults.
	storm := startSfsim(t, seats, "--fault-rate", "0.2", "--rand-seed", "12", "--session-ttl", "1s", "--latency", "2ms")
	for _, rule := range stormFaults() {
		storm.injectFault(t, rule)
	}

	base := runStorm(t, calm)
	got := runStorm(t, storm)
	t.Logf("without faults: %d API calls charged, %d requests, %d runs", base.charged, base.requests, base.runs)
	t.Logf("under the storm: %d API calls charged (%.2f×), %d requests (%.2f×), %d runs",
		got.charged, float64(got.charged)/float64(base.charged), got.requests,
		float64(got.requests)/float64(base.requests), got.runs)
	// Retries are bounded: a call is tried at most five times (RetryPolicy), and each
	// extra run re-reads the org once. A fifth of the requests failing costs about a
	// quarter more, the injected drops and the runs that find lost creates a few
	// more: three times the calm org's requests is far beyond that, and far below
	// what a retry loop that does not stop would send.
	if got.requests > 3*base.requests {
		t.Errorf("the storm took %d requests, more than three times the %d without faults", got.requests, base.requests)
	}
}

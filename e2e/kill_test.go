package e2e

import (
	"errors"
	"math/rand/v2"
	"os/exec"
	"testing"
	"time"
)

// killSeed seeds the kill moments, so a failure can be replayed.
const killSeed = 20261130

// simLatency is added by sfsim to every request, so that a write is in flight long
// enough for a kill to land on it.
const simLatency = 30 * time.Millisecond

// pollEvery is how often a test asks sfsim how far a syncd process has come: often
// enough that a kill lands close to the moment drawn, seldom enough to leave the
// shared machine's cores to the processes under test.
const pollEvery = 5 * time.Millisecond

// killDeadline bounds one killed run's wait for its writes: a hung process fails the
// test instead of hanging it. It is not a timed assertion.
const killDeadline = 2 * time.Minute

// killer interrupts `syncd apply --once` with SIGKILL at seeded random moments.
type killer struct {
	org   *sfsimProcess
	d     *deployment
	rng   *rand.Rand
	kills int
	early int // kills before the first write: at sign-in, read, plan or saving the plan
}

// interrupt starts one `syncd apply --once` and kills it at a seeded moment. Mostly
// once its writes are under way: after 1 or 2 write requests (the batches the
// configuration lets fly) reached sfsim and a further 0 to 3 latencies, so that the
// kill lands before sfsim handled a batch, while it did, after its answer, or while
// syncd records results. One time in four earlier, after its 1st to 3rd request of
// any kind: while it signs in, reads, plans or saves the plan. It reports false when
// the run finished on its own before that point (it must then have succeeded).
func (k *killer) interrupt(t testing.TB) bool {
	t.Helper()
	before := k.org.state(t)
	kinds, count := writeCalls, 1+k.rng.IntN(2)
	early := k.rng.IntN(4) == 0
	if early {
		kinds, count = func(c map[string]int) map[string]int { return c }, 1+k.rng.IntN(3)
	}
	extra := time.Duration(k.rng.Int64N(int64(3 * simLatency)))
	cmd := k.d.command(t, "apply", "--once")
	exited := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(killDeadline)
	for {
		select {
		case err := <-exited:
			if code := exitCodeOf(t, err); code != exitOK {
				t.Fatalf("an apply left alone exited %d", code)
			}
			return false
		case <-deadline:
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("syncd sent fewer than %d requests within %v", count, killDeadline)
		case <-time.After(pollEvery):
		}
		sent := 0
		for _, n := range kinds(callsSince(before, k.org.state(t))) {
			sent += n
		}
		if sent >= count {
			break
		}
	}
	time.Sleep(extra) // where the kill lands, not a wait for something to happen
	_ = cmd.Process.Kill()
	err := <-exited
	var exit *exec.ExitError
	if errors.As(err, &exit) && !exit.Exited() {
		k.kills++
		if early {
			k.early++
		}
		return true
	}
	if code := exitCodeOf(t, err); code != exitOK { // it finished before the kill
		t.Fatalf("an apply that finished before the kill exited %d", code)
	}
	return false
}

// checkNoHarm checks the invariants that must hold after any kill: no person has two
// users, and no person still in the export has an inactive user.
func checkNoHarm(t testing.TB, org *sfsimProcess, desired []person) {
	t.Helper()
	want := map[string]bool{}
	for _, p := range desired {
		want[p.ID] = true
	}
	seen := map[string]bool{}
	for _, u := range org.people(t) {
		if seen[u.FederationIdentifier] {
			t.Errorf("person %s has a second user %s", u.FederationIdentifier, u.ID)
		}
		seen[u.FederationIdentifier] = true
		if want[u.FederationIdentifier] && !u.IsActive {
			t.Errorf("person %s is in the export but their user %s is inactive", u.FederationIdentifier, u.ID)
		}
	}
}

func TestSIGKILLMidApplyThenRerunLeavesNoDuplicateAndNoWrongfulDeactivation(t *testing.T) {
	t.Parallel()
	org := startSfsim(t, map[string]any{"licenses": []map[string]any{{"name": "Salesforce", "seats": 5000}}},
		"--latency", simLatency.String())
	d := deploy(t, org, settings{MaxDeactivations: 200, MaxDeactivationPercent: 100, MaxShrinkPercent: 100, Concurrency: 2})
	k := &killer{org: org, d: d, rng: rand.New(rand.NewPCG(killSeed, 0))}
	t.Logf("kill moments seeded with %d", killSeed)

	// Phase 1, the first sync of 2,000 people: 10 create batches.
	people := staff(1, 2000)
	d.write(t, people)
	for k.interrupt(t) {
		checkNoHarm(t, org, people)
	}
	d.must(t, exitOK, "apply", "--once")
	checkSynced(t, org, d, people, nil)
	firstKills := k.kills

	// Phase 2, a busy day: 200 new hires (1 create batch), 1,400 new titles (7
	// update batches) and 150 leavers (1 deactivate batch).
	for i := range 1400 {
		people[i].Title = "Senior Engineer"
	}
	stay, leavers := append(people[:1850:1850], staff(2001, 200)...), people[1850:]
	d.write(t, stay)
	for k.interrupt(t) {
		checkNoHarm(t, org, stay)
	}
	d.must(t, exitOK, "apply", "--once")
	checkSynced(t, org, d, stay, leavers)
	for _, p := range people[:1400] {
		if got := org.user(t, p.username()).field("Title"); got != p.Title {
			t.Errorf("person %s's Title is %q, want %q", p.ID, got, p.Title)
		}
	}
	// An adopted link is a user a killed run created and could not record: the next
	// run found it by FederationIdentifier instead of creating it again.
	t.Logf("%d kills during the first sync, %d during the busy day; links by origin: %v",
		firstKills, k.kills-firstKills, originCounts(d.links(t)))
	statuses := map[string]int{}
	for _, r := range d.runs(t) {
		statuses[r.Status]++
	}
	// A kill may land after its run finished (then the run succeeded), never leave
	// it running.
	if statuses["running"] != 0 || statuses["aborted"] == 0 || statuses["aborted"] > k.kills ||
		statuses["aborted"]+statuses["succeeded"] != len(d.runs(t)) {
		t.Errorf("runs by status %v after %d kills: want the killed runs aborted, none left running", statuses, k.kills)
	}
	if firstKills == 0 || k.kills == firstKills {
		t.Errorf("a phase had no kill (%d, then %d): the test proved nothing there", firstKills, k.kills-firstKills)
	}
}

package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/store"
)

// TestDaemonRunsOnSchedule runs cycles every second: they keep coming, each
// recorded with the schedule as its trigger.
func TestDaemonRunsOnSchedule(t *testing.T) {
	d := newDeployment(t, deployOpts{people: 2, interval: "1s"})
	p := d.start("syncd")
	p.waitFor(t, "three scheduled cycles", func() bool { return p.metric(t, succeeded) >= 3 })
	for _, tr := range d.triggers(p) {
		if tr != "schedule" {
			t.Errorf("a cycle ran for %q, want only scheduled ones", tr)
		}
	}
	if got := d.sim.state(t).Users; got != 3 {
		t.Errorf("the org has %d users, want the integration user and 2 people", got)
	}
}

// TestDaemonDryRunWritesNothing runs the daemon with policy.dry_run: cycles plan
// and write nothing, neither to Salesforce nor to the journal.
func TestDaemonDryRunWritesNothing(t *testing.T) {
	d := newDeployment(t, deployOpts{people: 2, extra: "policy: { dry_run: true }\n"})
	p := d.start("syncd")
	p.waitCycles(t, 1)
	p.signal(t, syscall.SIGUSR1)
	p.waitCycles(t, 2)
	if got := d.sim.state(t).Users; got != 1 {
		t.Errorf("a dry run created users: the org has %d", got)
	}
	if got := d.triggers(p); len(got) != 0 {
		t.Errorf("a dry run recorded runs: %v", got)
	}
	if !strings.Contains(p.stderr.String(), `"would":"2 create"`) {
		t.Errorf("the dry run does not say what it would do:\n%s", grepLines(p.stderr.String(), "dry run"))
	}
}

// TestDaemonTriggers checks that SIGUSR1 and POST /v1/reconcile each cause exactly one
// more cycle, that a burst of triggers during a cycle causes one, and that the /v1
// API refuses calls without the right token.
func TestDaemonTriggers(t *testing.T) {
	d := newDeployment(t, deployOpts{people: 2})
	p := d.start("syncd")
	p.waitCycles(t, 1)

	p.signal(t, syscall.SIGUSR1)
	p.waitCycles(t, 2)
	if code := post(t, p.admin+"/v1/reconcile", adminToken, ""); code != http.StatusAccepted {
		t.Fatalf("POST /v1/reconcile: %d", code)
	}
	p.waitCycles(t, 3)

	// A burst while a cycle is running: the cycle's source pull is slow, so its
	// first query to Salesforce is held up while the triggers arrive.
	d.sim.delay(t, "query", 1, 3*time.Second)
	queries := d.sim.state(t).Calls["query"]
	post(t, p.admin+"/v1/reconcile", adminToken, "")
	p.waitFor(t, "the slow cycle's first query", func() bool { return d.sim.state(t).Calls["query"] > queries })
	p.signal(t, syscall.SIGUSR1)
	for range 3 {
		post(t, p.admin+"/v1/reconcile", adminToken, "")
	}
	p.signal(t, syscall.SIGUSR1)
	p.waitCycles(t, 5)
	// One more trigger marks the end: a stray cycle from the burst would run before it.
	post(t, p.admin+"/v1/reconcile", adminToken, "")
	p.waitCycles(t, 6)
	// The burst's one cycle is named after whichever of its triggers reached the
	// schedule first: a signal travels through its own goroutine, so it may arrive
	// after the HTTP calls that follow it. Only the count is the contract.
	got := d.triggers(p)
	if len(got) == 6 && (got[4] == "signal" || got[4] == "api") {
		got[4] = "burst"
	}
	want := []string{"schedule", "signal", "api", "api", "burst", "api"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cycles by trigger (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name, method, path, token string
	}{
		{"no token", "GET", "/v1/runs", ""},
		{"a wrong token", "GET", "/v1/runs", "admin-token-7f3c9f"},
		{"a wrong token, reconcile", "POST", "/v1/reconcile", "nope"},
		{"no token, explain", "GET", "/v1/explain/E1", ""},
	} {
		var code int
		if tc.method == "GET" {
			code = getJSON(t, p.admin+tc.path, tc.token, nil)
		} else {
			code = post(t, p.admin+tc.path, tc.token, "")
		}
		if code != http.StatusUnauthorized {
			t.Errorf("%s: %s %s answered %d, want 401", tc.name, tc.method, tc.path, code)
		}
	}
	if got := p.metric(t, succeeded); got != 6 {
		t.Errorf("refused calls ran cycles: %v, want 6", got)
	}

	// The journal commands work beside the running daemon.
	if code, out := d.cli("runs", "-o", "json"); code != 0 || strings.Count(out, `"trigger"`) != 6 {
		t.Errorf("syncd runs beside the daemon: exit %d:\n%s", code, out)
	}
	if code, out := d.cli("explain", "E1"); code != 0 || !strings.Contains(out, "is linked to Salesforce user") {
		t.Errorf("syncd explain beside the daemon: exit %d:\n%s", code, out)
	}
}

// TestTriggerWithSQLiteAsksTheAdminServer runs `syncd trigger` beside a daemon on
// SQLite, which has no channel between processes: it asks the admin server, and
// exactly one more cycle runs.
func TestTriggerWithSQLiteAsksTheAdminServer(t *testing.T) {
	d := newDeployment(t, deployOpts{people: 2, listen: freePort(t)})
	p := d.start("syncd")
	p.waitCycles(t, 1)
	if code, out := d.cli("trigger"); code != 0 || !strings.Contains(out, "Asked the daemon") {
		t.Fatalf("syncd trigger: exit %d: %s", code, out)
	}
	p.waitCycles(t, 2)
	post(t, p.admin+"/v1/reconcile", adminToken, "") // marks the end
	p.waitCycles(t, 3)
	if diff := cmp.Diff([]string{"schedule", "api", "api"}, d.triggers(p)); diff != "" {
		t.Errorf("cycles by trigger (-want +got):\n%s", diff)
	}
}

// TestDaemonReloadsOnSIGHUP reloads a good file (it is put in force: the next cycle
// applies its mapping) and a broken one (refused with its error; the old one stays
// and cycles go on).
func TestDaemonReloadsOnSIGHUP(t *testing.T) {
	o := deployOpts{people: 2}
	d := newDeployment(t, o)
	p := d.start("syncd")
	p.waitCycles(t, 1)
	hash := p.metric(t, "syncd_config_hash")

	d.writeConfig(o, "Staff {{ .Title }}")
	p.signal(t, syscall.SIGHUP)
	p.waitFor(t, "the new hash", func() bool { return p.metric(t, "syncd_config_hash") != hash })
	if got := p.metric(t, "syncd_config_last_reload_successful"); got != 1 {
		t.Errorf("after a good file, syncd_config_last_reload_successful = %v", got)
	}
	hash = p.metric(t, "syncd_config_hash")
	p.signal(t, syscall.SIGUSR1)
	p.waitCycles(t, 2)
	if got := p.metric(t, `syncd_actions_total{kind="update",outcome="applied"}`); got != 2 {
		t.Errorf("the reloaded mapping updated %v users, want 2", got)
	}

	d.write("syncd.yaml", "schedule: { interval: soon }\nbogus: 1\n")
	p.signal(t, syscall.SIGHUP)
	p.waitFor(t, "the refusal", func() bool { return p.metric(t, "syncd_config_last_reload_successful") == 0 })
	if !strings.Contains(p.stderr.String(), "configuration refused") || !strings.Contains(p.stderr.String(), "bogus") {
		t.Errorf("the refusal does not name the problem:\n%s", grepLines(p.stderr.String(), "refused"))
	}
	if got := p.metric(t, "syncd_config_hash"); got != hash {
		t.Errorf("the refused file changed the hash in force")
	}
	p.signal(t, syscall.SIGUSR1)
	p.waitCycles(t, 3)
}

// TestSIGTERMInTheMiddleOfABatch stops the daemon while it applies 600 creates in
// batches of 200 one at a time: the batch in flight completes and is recorded, no
// other is sent, the run is marked aborted, and the process exits cleanly.
func TestSIGTERMInTheMiddleOfABatch(t *testing.T) {
	d := newDeployment(t, deployOpts{people: 600})
	d.sim.delay(t, "collections.create", 3, 2*time.Second)
	p := d.start("syncd")
	p.waitFor(t, "the first batch to be sent", func() bool { return d.sim.state(t).Calls["collections.create"] >= 1 })
	p.signal(t, syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Fatalf("syncd exited with %v after SIGTERM", err)
	}
	st := openStore(t, store.DriverSQLite, filepath.Join(d.dir, "syncd.db"))
	run, err := st.Run(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	created := d.sim.state(t).Users - 1
	if run.Status != store.RunAborted || run.Counts.Applied != created || created == 0 || created == 600 {
		t.Errorf("run %+v with %d users created; want aborted, with the batch in flight recorded and the rest not sent", run, created)
	}
	links, err := st.Links(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != created {
		t.Errorf("%d links for %d created users", len(links), created)
	}
	for _, step := range []string{`"step":"http"`, `"step":"cycle"`, `"step":"lease"`, `"step":"store"`} {
		if !strings.Contains(p.stderr.String(), step) {
			t.Errorf("shutdown step %s not done", step)
		}
	}
}

// TestTwoReplicasOnePostgres runs two replicas on one PostgreSQL: exactly one
// reconciles, `syncd trigger` reaches it through the store, and after SIGKILL of the
// leader in the middle of applying, the standby takes over and the org converges with
// no duplicate user.
func TestTwoReplicasOnePostgres(t *testing.T) {
	binaries(t)
	dsn := pg.NewDatabase(t)
	d := newDeployment(t, deployOpts{people: 2, storeYAML: "{ driver: postgres, dsn: " + quoteYAML(dsn) + " }"})
	a := d.start("replica-a")
	b := d.start("replica-b")
	var leader, standby *daemonProc
	a.waitFor(t, "a leader", func() bool {
		switch {
		case a.metric(t, "syncd_leader") == 1:
			leader, standby = a, b
		case b.metric(t, "syncd_leader") == 1:
			leader, standby = b, a
		}
		return leader != nil
	})
	leader.waitCycles(t, 1)
	if standby.metric(t, "syncd_leader") != 0 || standby.metric(t, succeeded) != 0 {
		t.Fatal("the standby leads or reconciles beside the leader")
	}
	if code := getJSON(t, standby.admin+"/readyz", "", nil); code != http.StatusOK {
		t.Errorf("the standby's /readyz answered %d, want 200 (ready to take over)", code)
	}

	if code, out := d.cli("trigger"); code != 0 {
		t.Fatalf("syncd trigger: exit %d: %s", code, out)
	}
	leader.waitCycles(t, 2)
	if diff := cmp.Diff([]string{"schedule", "request"}, d.triggers(leader)); diff != "" {
		t.Errorf("cycles by trigger (-want +got):\n%s", diff)
	}

	d.setPeople(0, 402)
	d.sim.delay(t, "collections.create", 1, time.Minute)
	leader.signal(t, syscall.SIGUSR1)
	leader.waitFor(t, "the leader to send a batch", func() bool { return d.sim.state(t).Calls["collections.create"] >= 2 })
	leader.signal(t, syscall.SIGKILL)
	_ = leader.wait(t)

	standby.waitFor(t, "the standby to take over and converge", func() bool {
		return standby.metric(t, "syncd_leader") == 1 && standby.metric(t, succeeded) >= 1
	})
	if code, out := d.cli("plan"); code != exitOK {
		t.Errorf("after the takeover, syncd plan exits %d, want 0 (converged):\n%s", code, out)
	}
	if got := d.sim.state(t).Users; got != 1+402 {
		t.Errorf("the org has %d users, want the integration user and 402 people, none twice", got)
	}
}

func quoteYAML(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

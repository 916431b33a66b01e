package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/store"
)

// startStuckApply starts `syncd apply --once` against an org that delays the next
// request to endpoint by delay, and returns once that request reached sfsim: the
// process then holds the leader lock and waits for the answer. wait returns how the
// process ended.
func startStuckApply(t testing.TB, org *sfsimProcess, d *deployment, endpoint string, delay time.Duration) (signal func(syscall.Signal), wait func() error) {
	t.Helper()
	org.injectFault(t, map[string]any{"endpoint": endpoint, "fault": map[string]any{"latency": delay.Nanoseconds()}})
	before := org.state(t)
	cmd := d.command(t, "apply", "--once")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	wait = func() error {
		err := <-exited
		t.Logf("the stuck apply's output:\n%s%s", stdout.String(), stderr.String())
		return err
	}
	deadline := time.After(killDeadline)
	for callsSince(before, org.state(t))[endpoint] == 0 {
		select {
		case err := <-exited:
			t.Fatalf("syncd exited before its %s request reached sfsim: %v\n%s%s", endpoint, err, stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("syncd sent no %s request within %v", endpoint, killDeadline)
		case <-time.After(pollEvery):
		}
	}
	return func(s syscall.Signal) {
		if err := cmd.Process.Signal(s); err != nil {
			t.Fatal(err)
		}
	}, wait
}

func TestASecondApplyWhileOneRunsIsRefused(t *testing.T) {
	t.Parallel()
	org := startSfsim(t, nil)
	d := deploy(t, org, lenient())
	d.write(t, staff(1, 5))
	// A query has no body, so sfsim sees the connection close when the stuck process
	// is killed and stops waiting.
	signal, wait := startStuckApply(t, org, d, "query", time.Hour)

	second := d.must(t, 1, "apply", "--once")
	if !strings.Contains(second.stderr, "another syncd instance holds the leader lock") {
		t.Errorf("the second apply does not say why it stopped:\n%s", second.stderr)
	}
	signal(syscall.SIGKILL)
	_ = wait()
}

func TestSIGTERMFinishesAndRecordsTheBatchInFlight(t *testing.T) {
	t.Parallel()
	org := startSfsim(t, nil)
	d := deploy(t, org, lenient())
	people := staff(1, 5)
	d.write(t, people)
	signal, wait := startStuckApply(t, org, d, "collections.create", time.Second)

	signal(syscall.SIGTERM)
	if code := exitCodeOf(t, wait()); code != 1 {
		t.Errorf("an apply stopped by SIGTERM exited %d, want 1 (the run was aborted)", code)
	}
	// The batch in flight finished and its results, links included, were recorded:
	// nothing is left for the next run, and no user had to be adopted.
	checkSynced(t, org, d, people, nil)
	if diff := cmp.Diff(map[store.LinkOrigin]int{store.OriginCreated: len(people)}, originCounts(d.links(t))); diff != "" {
		t.Errorf("links by origin (-want +got):\n%s", diff)
	}
	runs := d.runs(t)
	if runs[0].Status != "aborted" || runs[0].Counts["applied"] != len(people) {
		t.Errorf("the interrupted run is %+v, want aborted with %d applied", runs[0], len(people))
	}
	if w := d.applyWrites(t, exitOK); len(w) > 0 {
		t.Errorf("the run after the interrupted one wrote: %v", w)
	}
}

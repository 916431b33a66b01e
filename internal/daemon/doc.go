// Package daemon runs the reconcile loop: schedule and triggers, leader election, the
// HTTP admin surface and Prometheus metrics.
//
// Only the holder of the store's leader lock reconciles; every other replica stands
// by, ready, and tries the lock every few seconds, so that it takes over soon after
// the holder dies. A lost lock cancels the cycle in flight at once (the store's
// fencing is the backstop for a write already on its way).
//
// Scheduling follows external-dns's controller: Run asks ShouldRunOnce(now) whether a
// cycle is due, and a trigger (a signal, POST /v1/reconcile, a request through the
// store) only calls ScheduleRunOnce(now). Tests pass times in instead of sleeping, and
// triggers that arrive during a cycle coalesce into one more cycle.
//
// The package never touches signals or global state: the process (cmd/syncd) hands
// it channels, a logger and a Prometheus registry.
package daemon

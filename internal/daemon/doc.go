// Package daemon runs the reconcile loop: schedule and triggers, leader election, the
// HTTP admin surface and Prometheus metrics.
package daemon

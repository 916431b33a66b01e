package store_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/store"
)

// The benchmarks measure what a full sync of a 100k-user org costs the store: the
// results of 100k applied actions recorded batch by batch as the apply loop does
// (500 transactions of 200, the sObject Collections limit), and the 100k links
// loaded at the start of every cycle. Targets: each well under one second.

const benchUsers = 100_000

// cpuClock measures the CPU time (user and system) this process spends in timed
// sections. On a shared machine wall time says as much about the neighbours as about
// the code; CPU time is reported next to it as cpu-ns/op. It does not include a
// PostgreSQL server's own CPU.
type cpuClock struct {
	start, total time.Duration
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *cpuClock) startTimer(b *testing.B) { b.StartTimer(); c.start = processCPU() }
func (c *cpuClock) stopTimer(b *testing.B)  { c.total += processCPU() - c.start; b.StopTimer() }
func (c *cpuClock) report(b *testing.B, ops int) {
	b.ReportMetric(float64(c.total.Nanoseconds())/float64(ops), "cpu-ns/op")
}

func backends() []struct {
	name   string
	config func(testing.TB) store.Config
} {
	return []struct {
		name   string
		config func(testing.TB) store.Config
	}{{"sqlite", sqliteConfig}, {"postgres", postgresConfig}}
}

func benchPlan() []store.Action {
	plan := make([]store.Action, benchUsers)
	for i := range plan {
		plan[i] = store.Action{Kind: store.KindCreate, IdPID: fmt.Sprintf("idp-%06d", i),
			Email: fmt.Sprintf("user%06d@acme.com", i), Username: fmt.Sprintf("user%06d@acme.com.prod", i),
			Changes: []store.FieldChange{{Field: "LastName", After: "User"}, {Field: "Department", After: "Sales"}},
			Reason:  "unmatched", Status: store.ActionPlanned}
	}
	return plan
}

func BenchmarkSavePlan100k(b *testing.B) {
	ctx := context.Background()
	plan := benchPlan()
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			s, epoch := openLeader(b, be.config(b))
			b.ReportAllocs()
			var cpu cpuClock
			ops := 0
			for b.Loop() {
				b.StopTimer()
				run, err := s.StartRun(ctx, store.NewRun{Trigger: "bench", Mode: "sync", Epoch: epoch})
				if err != nil {
					b.Fatal(err)
				}
				cpu.startTimer(b)
				if err := s.SavePlan(ctx, run.ID, plan); err != nil {
					b.Fatal(err)
				}
				cpu.stopTimer(b)
				b.StartTimer()
				ops++
			}
			cpu.report(b, ops)
		})
	}
}

func BenchmarkRecordResults100k(b *testing.B) {
	ctx := context.Background()
	plan := benchPlan()
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			s, epoch := openLeader(b, be.config(b))
			b.ReportAllocs()
			var cpu cpuClock
			ops := 0
			for b.Loop() {
				b.StopTimer()
				run, err := s.StartRun(ctx, store.NewRun{Trigger: "bench", Mode: "sync", Epoch: epoch})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.SavePlan(ctx, run.ID, plan); err != nil {
					b.Fatal(err)
				}
				batches := make([][]store.ActionResult, 0, benchUsers/200)
				for start := 0; start < benchUsers; start += 200 {
					batch := make([]store.ActionResult, 200)
					for i := range batch {
						seq := start + i + 1
						batch[i] = store.ActionResult{Action: store.ActionRef{RunID: run.ID, Seq: seq}, Status: store.ActionApplied,
							SalesforceID: fmt.Sprintf("005%015d", seq)}
						if seq%10 == 0 { // one in ten fails, as a bad day's batch would
							batch[i].Status, batch[i].ErrorCode, batch[i].ErrorMessage = store.ActionFailed,
								"DUPLICATE_USERNAME", "Duplicate Username.<br>The username already exists in this or another Salesforce organization."
						}
					}
					batches = append(batches, batch)
				}
				cpu.startTimer(b)
				for _, batch := range batches {
					if err := s.RecordResults(ctx, epoch, batch); err != nil {
						b.Fatal(err)
					}
				}
				cpu.stopTimer(b)
				b.StartTimer()
				ops++
			}
			cpu.report(b, ops)
		})
	}
}

func BenchmarkLoadLinks100k(b *testing.B) {
	ctx := context.Background()
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			s, epoch := openLeader(b, be.config(b))
			// Links arrive with results, 200 per transaction, as in production.
			run, err := s.StartRun(ctx, store.NewRun{Trigger: "bench", Mode: "sync", Epoch: epoch})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.SavePlan(ctx, run.ID, benchPlan()); err != nil {
				b.Fatal(err)
			}
			for start := 0; start < benchUsers; start += 200 {
				batch := make([]store.ActionResult, 200)
				for i := range batch {
					seq := start + i + 1
					sfID := fmt.Sprintf("005%015d", seq)
					batch[i] = store.ActionResult{Action: store.ActionRef{RunID: run.ID, Seq: seq}, Status: store.ActionApplied,
						SalesforceID: sfID, Link: &store.Link{IdPID: fmt.Sprintf("idp-%06d", seq), SalesforceID: sfID, Origin: store.OriginCreated}}
				}
				if err := s.RecordResults(ctx, epoch, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			var cpu cpuClock
			ops := 0
			for b.Loop() {
				cpu.startTimer(b)
				links, err := s.Links(ctx)
				cpu.stopTimer(b)
				b.StartTimer()
				if err != nil {
					b.Fatal(err)
				}
				if len(links) != benchUsers {
					b.Fatalf("loaded %d links, want %d", len(links), benchUsers)
				}
				ops++
			}
			cpu.report(b, ops)
		})
	}
}

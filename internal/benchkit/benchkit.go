//go:build unix

// Package benchkit serves the benchmarks of several packages: the two figures wall
// time hides on a shared machine (the CPU time the process used, the largest heap
// it reached), and the export the pull, map and cycle benchmarks read, so that they
// measure the same people the same way.
package benchkit

import (
	"runtime/metrics"
	"sync"
	"syscall"
	"time"
)

// CPU returns the user and system CPU time the whole process has used so far (all
// threads, so the garbage collector's work is counted).
func CPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano()), nil
}

// heapObjects is the runtime metric both figures read: the bytes of the heap's
// objects, garbage not yet collected included.
const heapObjects = "/memory/classes/heap/objects:bytes"

// HeapObjects returns the size of the heap's objects now, garbage included: after a
// runtime.GC, what is live. A benchmark takes it before the work it measures, so that
// the work's own peak is PeakHeap's figure less this one.
func HeapObjects() uint64 {
	sample := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// PeakHeap samples the size of the heap's objects (garbage included) every
// interval until the returned stop is called, which returns the largest size seen.
func PeakHeap(interval time.Duration) (stop func() uint64) {
	var peak uint64
	read := func() { peak = max(peak, HeapObjects()) }
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				read()
				return
			case <-tick.C:
				read()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

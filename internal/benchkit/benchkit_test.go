//go:build unix

package benchkit

import (
	"runtime"
	"testing"
	"time"
)

func TestCPUGrowsWithWork(t *testing.T) {
	before, err := CPU()
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := range 50_000_000 {
		x ^= i * 7
	}
	after, err := CPU()
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("CPU went from %v to %v over a busy loop (%d)", before, after, x)
	}
}

var sink [][]byte

func TestPeakHeapSeesALiveAllocation(t *testing.T) {
	stop := PeakHeap(time.Millisecond)
	sink = append(sink, make([]byte, 64<<20))
	peak := stop()
	sink = nil
	if peak < 64<<20 {
		t.Errorf("peak = %d bytes, want at least the 64 MiB block", peak)
	}
}

// TestHeapObjectsCountsWhatIsLive: after a collection, a live 64 MiB block is in the
// figure and a dropped one is not, which is what the benchmarks' baseline relies on.
func TestHeapObjectsCountsWhatIsLive(t *testing.T) {
	block := make([]byte, 64<<20)
	runtime.GC()
	with := HeapObjects()
	runtime.KeepAlive(block) // the last use: the next collection may free it
	runtime.GC()
	without := HeapObjects()
	if with < 64<<20 || with-without < 60<<20 {
		t.Errorf("heap %d bytes with the 64 MiB block, %d without; want the block in the first only", with, without)
	}
}

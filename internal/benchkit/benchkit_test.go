//go:build unix

package benchkit

import (
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

package reconcile

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sequential does all the work on one goroutine, in one join partition and one step
// of decide: the plain algorithm the split ones must agree with.
var sequential = split{workers: 1, partitionSize: 1 << 30, decideChunk: 1 << 30, exact: true}

func TestJoinFindsTheFirstEqualKeyOnTheOtherSide(t *testing.T) {
	left := []string{"a", "b", "a", "", "c", "b", "a"}
	right := []string{"b", "x", "a", "", "c", "A", "bb"}
	wantFound := []int32{1, -1, 0, 3, 4, -1, -1}
	wantFirst := []int32{0, 1, 0, 3, 4, 1, 0}
	for _, tc := range []struct {
		name string
		s    split
	}{
		{"in one partition on one goroutine", sequential},
		{"in partitions of one entry on three goroutines", split{workers: 3, partitionSize: 1}},
		// Every key has the same hash: only the bytes tell keys apart.
		{"when every hash collides", split{workers: 2, partitionSize: 1, hash: func(string) uint64 { return 42 }}},
		{"when hashes collide in pairs", split{workers: 2, partitionSize: 2, hash: func(k string) uint64 { return uint64(len(k) / 2) }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newJoiner(tc.s)
			b := j.bits(max(len(left), len(right)))
			var l, r joinSide
			l.file(&j, len(left), b, func(i int32) string { return left[i] })
			r.file(&j, len(right), b, func(i int32) string { return right[i] })
			found, first := make([]int32, len(right)), make([]int32, len(left))
			j.join(&l, &r, found, first)
			if diff := cmp.Diff(wantFound, found); diff != "" {
				t.Errorf("found (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantFirst, first); diff != "" {
				t.Errorf("firstOf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplittingTheWorkChangesNoPlan(t *testing.T) {
	splits := map[string]split{
		"one person per step, one key per partition": {workers: 4, partitionSize: 1, decideChunk: 1, alwaysChunk: true},
		"small steps and partitions":                 {workers: 2, partitionSize: 3, decideChunk: 5, alwaysChunk: true},
		"every hash colliding":                       {workers: 3, partitionSize: 2, decideChunk: 2, hash: func(string) uint64 { return 7 }},
	}
	for seed := range uint64(iterations) {
		g := gen{rand.New(rand.NewPCG(seed, 4))}
		in, pol := g.guarded(g.input(), g.policy())
		want := calculate(in, pol, sequential)
		for name, s := range splits {
			// reflect.DeepEqual first: cmp.Diff on every plan is slow under -race.
			if got := calculate(in, pol, s); !reflect.DeepEqual(want, got) {
				t.Fatalf("seed %d, %s: the plan differs from the sequential one (-sequential +split):\n%s", seed, name, cmp.Diff(want, got))
			}
		}
	}
}

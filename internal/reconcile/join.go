package reconcile

import (
	"bytes"
	"hash/maphash"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// This file joins two lists on a string key, the way Calculate finds the users and
// the people the links name.
//
// Why not a map: at a million users a map[string]int32 is tens of MiB, so every
// insert and every probe is a cache miss on the map's slots and another on the key
// it compares with, each waiting for the one before. Profiles of Calculate at 1M were
// most of their time in those misses (aeshash and matchH2 waiting on memory).
//
// So the join is radix-partitioned: two passes over each side read the keys in input
// order, hash them and file (hash, position) and a copy of each key's bytes into one
// of many partitions by the hash's top bits; those reads are independent of each
// other, so the processor overlaps their misses. Each partition then holds a few
// thousand entries of either side, small enough that its table lives in the core's
// L2 cache while it is built and probed.
// The partitions are independent, so they are joined on every core at once; which
// core takes which partition changes nothing, since every result is written to the
// position it belongs to.
//
// The hashes only group and filter: two keys are the same only when their strings
// are equal, so the result does not depend on the (random) seed.

// split says how Calculate divides its work. Its output is the same whatever split
// says; tests make the pieces tiny so that small inputs cross every boundary.
type split struct {
	// workers is the number of goroutines of the joins and of decide.
	workers int
	// partitionSize is the mean number of entries of one side in a join partition.
	partitionSize int
	// decideChunk is the number of people one step of decide takes.
	decideChunk int
	// alwaysChunk decides in chunks even when most people need an action (which
	// Calculate does in one pass), so that tests of small inputs cover the chunks.
	alwaysChunk bool
	// hash hashes a join key; nil means maphash with a seed made for the cycle.
	hash func(string) uint64
	// exact diffs every linked person field by field, without the hashes that let a
	// usual cycle skip the unchanged ones (fingerprint.go): the reference tests
	// compare the hashed plan with.
	exact bool
}

// defaultSplit uses every core Go may use. A join partition of 2048 entries a side
// has a table of 4096 int32 slots, and with the entries and key bytes of both sides
// takes about 150 KiB, well inside a core's L2 cache.
func defaultSplit() split {
	return split{workers: runtime.GOMAXPROCS(0), partitionSize: 2048, decideChunk: 4096}
}

// touchBatch is how many keys file reads before it hashes them (and how many users
// decidePeople reads before it compares them). Reading a batch's first bytes one
// after another lets the processor wait for all their cache misses at once instead
// of one at a time.
const touchBatch = 16

// keyed is one entry of a join side: the hash of its key, its position in the input,
// and where its key's bytes are in the side's arena.
type keyed struct {
	hash  uint64
	start int
	pos   int32
	n     int32
}

// joinSide is one side of a join: its keys hashed and filed into partitions, with
// copies of the keys' bytes laid out partition by partition, so that joining a
// partition never reads the input again. Filing another side into it reuses its
// memory.
type joinSide struct {
	// bounds[p] and bounds[p+1] delimit partition p in entries; within a partition
	// the entries keep their input order.
	bounds  []int32
	entries []keyed
	arena   []byte
	// hashes, staged and ends are file's scratch space: the hash of each key, the
	// bytes of all keys, and where each key's bytes end in staged, in input order.
	hashes []uint64
	staged []byte
	ends   []int32
	// touched is the XOR of the keys' first bytes, read ahead of hashing; kept so
	// that the compiler does not drop those reads.
	touched byte
}

func (s *joinSide) key(e *keyed) []byte { return s.arena[e.start : e.start+int(e.n)] }

// resize returns s with length n, reusing its memory when it is large enough; the
// elements are not cleared.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// joiner is what the joins of one Calculate share: the hash, the number of worker
// goroutines and the partition size.
type joiner struct {
	hash          func(string) uint64
	workers       int
	partitionSize int
}

func newJoiner(s split) joiner {
	j := joiner{hash: s.hash, workers: s.workers, partitionSize: s.partitionSize}
	if j.hash == nil {
		seed := maphash.MakeSeed()
		j.hash = func(k string) uint64 { return maphash.String(seed, k) }
	}
	return j
}

// bits returns how many top bits of the hash choose the partition when the larger
// side of a join has n entries: about partitionSize entries per partition.
func (j *joiner) bits(n int) uint {
	if n <= j.partitionSize {
		return 0
	}
	return uint(bits.Len(uint((n - 1) / j.partitionSize)))
}

// file reads the n keys of one side, hashes them, and files them into 1<<b partitions
// of s: a counting sort on the hash's top b bits, so each partition keeps input
// order. Each key is read once, in input order, and its bytes copied to a staging
// area in that order; the second pass moves them from there to their partition.
// Reading the input a second time instead would fetch every key from memory twice
// (at a million users the first pass has long pushed the first keys out of the
// cache), for the sake of a copy that is a few percent of the input's size.
func (s *joinSide) file(j *joiner, n int, b uint, key func(pos int32) string) {
	shift := 64 - b // the partition is h >> shift; a shift by 64 gives 0
	parts := 1 << b
	s.hashes = resize(s.hashes, n)
	s.ends = resize(s.ends, n)
	if guess := stagingSize(n, key); cap(s.staged) < guess {
		s.staged = make([]byte, 0, guess)
	}
	s.staged = s.staged[:0]
	s.bounds = resize(s.bounds, parts+1)
	clear(s.bounds)
	byteBounds := make([]int, parts+1)
	s.read(n, key, func(i int, k string) {
		h := j.hash(k)
		s.hashes[i] = h
		s.bounds[h>>shift+1]++
		byteBounds[h>>shift+1] += len(k)
		s.staged = append(s.staged, k...)
		s.ends[i] = int32(len(s.staged)) //nolint:gosec // G115: the keys of one side are far below 2 GiB
	})
	for p := 1; p <= parts; p++ {
		s.bounds[p] += s.bounds[p-1]
		byteBounds[p] += byteBounds[p-1]
	}
	s.entries = resize(s.entries, n)
	s.arena = resize(s.arena, byteBounds[parts])
	nextEntry := slices.Clone(s.bounds[:parts])
	nextByte := byteBounds[:parts]
	begin := 0
	for i, h := range s.hashes {
		p := h >> shift
		k := s.staged[begin:s.ends[i]]
		s.entries[nextEntry[p]] = keyed{hash: h, start: nextByte[p], pos: int32(i), n: int32(len(k))} //nolint:gosec // G115: positions and key lengths of in-memory slices, far below 2^31
		copy(s.arena[nextByte[p]:], k)
		nextEntry[p]++
		nextByte[p] += len(k)
		begin = int(s.ends[i])
	}
}

// stagingSize guesses the bytes of n keys from the first few, with an eighth more
// for keys longer than those: the staging area is allocated once at about its size
// rather than grown by doubling, which at a million 36-character IdP ids allocated
// three times what it kept (and a cycle's peak heap follows what it allocates).
func stagingSize(n int, key func(pos int32) string) int {
	const sample = 256
	seen, bytes := min(n, sample), 0
	for i := range seen {
		bytes += len(key(int32(i))) //nolint:gosec // G115: i < 256
	}
	if seen == 0 {
		return 0
	}
	return n*bytes/seen + n/8
}

// read calls fn with every key in input order, reading each batch of touchBatch keys
// ahead of handling them.
func (s *joinSide) read(n int, key func(pos int32) string, fn func(pos int, k string)) {
	var batch [touchBatch]string
	for first := 0; first < n; first += touchBatch {
		keys := batch[:min(touchBatch, n-first)]
		for k := range keys {
			keys[k] = key(int32(first + k))
			if len(keys[k]) > 0 {
				s.touched ^= keys[k][0]
			}
		}
		for k, v := range keys {
			fn(first+k, v)
		}
	}
}

// join finds, for every position r of right, the first position of left (in input
// order) with the same key, and stores it in found[r]; -1 when there is none. When
// firstOf is not nil it also stores, for every left position, the first left position
// with the same key (itself when its key is unique), which shows the repeated keys.
// Both sides must have been filed with the same number of partitions. The partitions
// are shared out among the workers as they finish the one before.
func (j *joiner) join(left, right *joinSide, found, firstOf []int32) {
	for i := range found {
		found[i] = -1
	}
	for i := range firstOf {
		firstOf[i] = int32(i)
	}
	tables := make([]table, max(1, j.workers))
	parallel(len(left.bounds)-1, j.workers, func(worker, p int) {
		t := &tables[worker]
		t.build(left, left.entries[left.bounds[p]:left.bounds[p+1]], firstOf)
		for _, e := range right.entries[right.bounds[p]:right.bounds[p+1]] {
			if l := t.find(e.hash, right.key(&e)); l != nil {
				found[e.pos] = l.pos
			}
		}
	})
}

// parallel calls fn(worker, i) for every i in [0, n) on up to workers goroutines,
// worker being the goroutine's number in [0, workers), and returns when all are done.
// Each goroutine takes the next i when it finishes one, so a core slowed by other
// work on the machine takes fewer. fn must write only what belongs to its i (or to
// its worker): which goroutine handles which i changes from run to run.
func parallel(n, workers int, fn func(worker, i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range max(1, min(workers, n)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(w, i)
			}
		})
	}
	wg.Wait()
}

// table is an open-addressing hash table over the entries of one partition of a
// join's left side, reused from one partition to the next. A slot holds an index in
// the partition's entries plus one; 0 is empty.
type table struct {
	side    *joinSide
	entries []keyed
	slots   []int32
	mask    uint64
}

// build fills the table with one partition of side; an entry whose key an earlier one
// has already is left out, and firstOf (when not nil) records that earlier one.
func (t *table) build(side *joinSide, entries []keyed, firstOf []int32) {
	size := 16
	for size < 2*len(entries) {
		size *= 2
	}
	if cap(t.slots) < size {
		t.slots = make([]int32, size)
	}
	t.side, t.entries, t.slots, t.mask = side, entries, t.slots[:size], uint64(size-1) //nolint:gosec // G115: size is a positive power of two
	clear(t.slots)
	for i := range entries {
		e := &entries[i]
		if first := t.find(e.hash, side.key(e)); first != nil {
			if firstOf != nil {
				firstOf[e.pos] = first.pos
			}
			continue
		}
		s := e.hash & t.mask
		for t.slots[s] != 0 {
			s = (s + 1) & t.mask
		}
		t.slots[s] = int32(i) + 1
	}
}

// find returns the entry whose key is k, or nil.
func (t *table) find(h uint64, k []byte) *keyed {
	for s := h & t.mask; t.slots[s] != 0; s = (s + 1) & t.mask {
		e := &t.entries[t.slots[s]-1]
		if e.hash == h && bytes.Equal(t.side.key(e), k) {
			return e
		}
	}
	return nil
}

// joinLinks finds the user and the person every link names (calc.linkUser,
// calc.linkPerson) and the people whose IdP id repeats (calc.firstDesired), by two
// partitioned joins: links with users on the user's Id, links with people on the IdP
// id. The two sides of a join are filed at once, one goroutine each, and the second
// join reuses the first one's memory.
func (c *calc) joinLinks() {
	in := c.in
	j := newJoiner(c.split)
	personKey := func(i int32) string { return in.Desired[i].ID }
	linkPersonKey := func(i int32) string { return in.Links[i].IdPID }
	userKey := func(i int32) string { return idKey(in.Existing[i].ID) }
	linkUserKey := func(i int32) string { return idKey(in.Links[i].SalesforceID) }
	var left, right joinSide
	people := func() {
		c.linkPerson = make([]int32, len(in.Links))
		c.firstDesired = make([]int32, len(in.Desired))
		j.joinOn(&left, &right, len(in.Desired), len(in.Links), personKey, linkPersonKey, c.linkPerson, c.firstDesired)
	}
	users := func() {
		c.linkUser = make([]int32, len(in.Links))
		j.joinOn(&left, &right, len(in.Existing), len(in.Links), userKey, linkUserKey, c.linkUser, nil)
	}
	// The join with the longer keys goes first, so that the other fits in its memory:
	// IdP ids may be longer than the users' 15-character Id keys (36 for Entra, 21
	// for Google, 20 for Okta) or shorter (an export's employee numbers).
	if stagingSize(len(in.Desired), personKey) >= stagingSize(len(in.Existing), userKey) {
		people()
		users()
	} else {
		users()
		people()
	}
}

// joinOn files nLeft keys into left and nRight keys into right, one goroutine each,
// and joins them (see join): found[r] is the first left position with right r's key,
// -1 when none; firstOf, when not nil, the first left position with each left key.
// left and right may hold an earlier join's memory, which is reused.
func (j *joiner) joinOn(left, right *joinSide, nLeft, nRight int, leftKey, rightKey func(int32) string, found, firstOf []int32) {
	b := j.bits(max(nLeft, nRight))
	var wg sync.WaitGroup
	wg.Go(func() { left.file(j, nLeft, b, leftKey) })
	wg.Go(func() { right.file(j, nRight, b, rightKey) })
	wg.Wait()
	j.join(left, right, found, firstOf)
}

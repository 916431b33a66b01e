package mapping

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
)

// repeatedKeys returns the keys that occur more than once among key(0), ...,
// key(n-1), each with its number of occurrences; "" takes no part. With fold, keys
// compare as strings.ToLower makes them, and the returned keys are lower-case.
//
// It serves Map's duplicate checks (ids, Emails, Usernames), where keys are almost
// always unique. A map of a million strings costs a cache miss per probe and some 100
// bytes per key; instead every key is reduced to a 64-bit hash, the hashes are sorted,
// and only keys whose hash repeats (real duplicates and, very rarely, two keys sharing
// a hash) are counted exactly, in a map that holds just those.
func repeatedKeys(n int, key func(int) string, fold bool) map[string]int32 {
	seed := maphash.MakeSeed()
	return repeatedKeysBy(n, key, fold, func(k string) uint64 { return hashKey(seed, k, fold) })
}

// repeatedKeysBy is repeatedKeys with the hash function given, so that tests can make
// different keys share a hash.
func repeatedKeysBy(n int, key func(int) string, fold bool, hash func(string) uint64) map[string]int32 {
	hashes := make([]uint64, 0, n)
	for i := range n {
		if k := key(i); k != "" {
			hashes = append(hashes, hash(k))
		}
	}
	hashes = sortHashes(hashes)
	suspects := make(map[uint64]bool)
	for i := 1; i < len(hashes); i++ {
		if hashes[i] == hashes[i-1] {
			suspects[hashes[i]] = true
		}
	}
	counts := make(map[string]int32, len(suspects))
	if len(suspects) == 0 {
		return counts
	}
	for i := range n {
		if k := key(i); k != "" && suspects[hash(k)] {
			if fold {
				k = strings.ToLower(k)
			}
			counts[k]++
		}
	}
	for k, c := range counts {
		if c < 2 {
			delete(counts, k) // shared a hash with a different key
		}
	}
	return counts
}

// sortHashes sorts uniformly distributed hashes, in a new slice when there are many:
// one counting and one scatter pass by their top bits into buckets of about 16, then a
// sort of each bucket while it is in cache. On a million hashes that is four times
// faster than slices.Sort, whose partitioning passes miss the caches.
func sortHashes(hashes []uint64) []uint64 {
	width := bits.Len(uint(len(hashes))) - 4
	if width < 4 {
		slices.Sort(hashes)
		return hashes
	}
	width = min(width, 16)
	shift := 64 - width
	start := make([]int, 1<<width+1) // bucket b holds sorted[start[b]:start[b+1]]
	for _, h := range hashes {
		start[h>>shift+1]++
	}
	for b := 1; b < len(start); b++ {
		start[b] += start[b-1]
	}
	next := slices.Clone(start[:1<<width])
	sorted := make([]uint64, len(hashes))
	for _, h := range hashes {
		b := h >> shift
		sorted[next[b]] = h
		next[b]++
	}
	for b := range 1 << width {
		sortBucket(sorted[start[b]:start[b+1]])
	}
	return sorted
}

// sortBucket sorts one bucket of sortHashes: by insertion when it is as small as
// buckets nearly always are (slices.Sort spends more choosing its strategy), by
// slices.Sort when a key repeats thousands of times and fills one.
func sortBucket(h []uint64) {
	if len(h) > 32 {
		slices.Sort(h)
		return
	}
	for i := 1; i < len(h); i++ {
		v, j := h[i], i
		for ; j > 0 && h[j-1] > v; j-- {
			h[j] = h[j-1]
		}
		h[j] = v
	}
}

// hashKey hashes k, lower-cased first when fold is set. ASCII keys of common length
// are lower-cased on the stack, so hashing a million addresses allocates nothing.
func hashKey(seed maphash.Seed, k string, fold bool) uint64 {
	if !fold {
		return maphash.String(seed, k)
	}
	var buf [128]byte
	if lower, ok := lowerASCII(buf[:0], k); ok {
		return maphash.Bytes(seed, lower)
	}
	return maphash.String(seed, strings.ToLower(k))
}

// lowerASCII appends k lower-cased to dst when k is ASCII and fits in dst's capacity
// (the same bytes strings.ToLower gives); ok is false otherwise. It folds eight bytes
// at a time: every address of a million people goes through it.
func lowerASCII(dst []byte, k string) ([]byte, bool) {
	if len(k) > cap(dst)-len(dst) {
		return dst, false
	}
	i := 0
	for ; i+8 <= len(k); i += 8 {
		w := uint64(k[i]) | uint64(k[i+1])<<8 | uint64(k[i+2])<<16 | uint64(k[i+3])<<24 |
			uint64(k[i+4])<<32 | uint64(k[i+5])<<40 | uint64(k[i+6])<<48 | uint64(k[i+7])<<56
		if w&highBits != 0 {
			return dst, false
		}
		dst = binary.LittleEndian.AppendUint64(dst, lowerWord(w))
	}
	for ; i < len(k); i++ {
		c := k[i]
		if c >= utf8.RuneSelf {
			return dst, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}

// highBits has the top bit of every byte of a word set.
const highBits = 0x8080808080808080

// lowerWord lower-cases the eight ASCII bytes of w: a byte gets 0x20 added when it is
// at least 'A' (adding 0x3f sets its top bit) and not above 'Z' (adding 0x25 does not).
// No byte of ASCII carries into the next.
func lowerWord(w uint64) uint64 {
	const atLeastA, aboveZ = 0x3f3f3f3f3f3f3f3f, 0x2525252525252525
	upper := (w + atLeastA) &^ (w + aboveZ) & highBits
	return w | upper>>2
}

// foldedKey returns key lower-cased when that is one of the repeated keys in counts
// (as repeatedKeys returned them with fold), and key itself otherwise, so that only
// the few duplicates pay for a lower-case copy.
func foldedKey(counts map[string]int32, key string) string {
	if len(counts) == 0 {
		return key
	}
	var buf [128]byte
	if lower, ok := lowerASCII(buf[:0], key); ok {
		if _, repeated := counts[string(lower)]; !repeated {
			return key
		}
	}
	return strings.ToLower(key)
}

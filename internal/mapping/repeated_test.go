package mapping

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestRepeatedKeys(t *testing.T) {
	long := strings.Repeat("A", 200) // beyond the stack buffer: lower-cased by strings.ToLower
	tests := []struct {
		name string
		keys []string
		fold bool
		want map[string]int32
	}{
		{"unique keys give nothing", []string{"a", "b", "c"}, false, map[string]int32{}},
		{"an empty key takes no part", []string{"", "", "a"}, false, map[string]int32{}},
		{"exact keys count by case", []string{"id1", "ID1", "id1", "id2"}, false, map[string]int32{"id1": 2}},
		{"folded keys ignore case and come back lower-case", []string{"Ana@Acme.example", "ana@acme.example", "ANA@ACME.EXAMPLE", "bo@acme.example"}, true,
			map[string]int32{"ana@acme.example": 3}},
		{"non-ASCII keys fold as strings.ToLower does", []string{"ÉVA@acme.example", "éva@acme.example", "Eva@acme.example"}, true,
			map[string]int32{"éva@acme.example": 2}},
		{"long keys fold too", []string{long, strings.ToLower(long)}, true, map[string]int32{strings.ToLower(long): 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := repeatedKeys(len(tt.keys), func(i int) string { return tt.keys[i] }, tt.fold)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("repeatedKeys(%q) (-want +got):\n%s", tt.keys, diff)
			}
		})
	}
}

// TestRepeatedKeysSharedHash checks that keys are counted exactly, not by their hash:
// with a hash of only a few values, most different keys share one.
func TestRepeatedKeysSharedHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	seed := maphash.MakeSeed()
	weak := func(k string) uint64 { return hashKey(seed, k, true) % 7 }
	for round := range 50 {
		keys := make([]string, 1+rng.IntN(60))
		for i := range keys {
			k := fmt.Sprintf("user%d@acme.example", rng.IntN(40))
			if rng.IntN(2) == 0 {
				k = strings.ToUpper(k)
			}
			if rng.IntN(10) == 0 {
				k = ""
			}
			keys[i] = k
		}
		want := map[string]int32{}
		for _, k := range keys {
			if k != "" {
				want[strings.ToLower(k)]++
			}
		}
		for k, n := range want {
			if n < 2 {
				delete(want, k)
			}
		}
		got := repeatedKeysBy(len(keys), func(i int) string { return keys[i] }, true, weak)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("round %d, keys %q (-want +got):\n%s", round, keys, diff)
		}
	}
}

func TestFoldedKey(t *testing.T) {
	counts := map[string]int32{"ana@acme.example": 2, "éva@acme.example": 2}
	tests := []struct{ key, want string }{
		{"Ana@Acme.example", "ana@acme.example"},
		{"ÉVA@acme.example", "éva@acme.example"},
		{"Bo@Acme.example", "Bo@Acme.example"}, // not repeated: left as mapped
	}
	for _, tt := range tests {
		if got := foldedKey(counts, tt.key); got != tt.want {
			t.Errorf("foldedKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	if got := foldedKey(nil, "Ana@Acme.example"); got != "Ana@Acme.example" {
		t.Errorf("foldedKey without repeated keys = %q", got)
	}
}

func TestSortHashes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 15, 16, 255, 256, 257, 5000, 1 << 20} { // 1 << 20 reaches the widest buckets
		hashes := make([]uint64, n)
		for i := range hashes {
			hashes[i] = rng.Uint64()
			if i > 0 && rng.IntN(8) == 0 {
				hashes[i] = hashes[rng.IntN(i)] // repeats must end up side by side
			}
		}
		want := slices.Clone(hashes)
		slices.Sort(want)
		if got := sortHashes(hashes); !slices.Equal(got, want) {
			t.Errorf("sortHashes of %d hashes is not their sorted order", n)
		}
	}
	// One key repeated thousands of times fills one bucket (sorted by slices.Sort),
	// and hashes near it fill its neighbours.
	hashes := make([]uint64, 5000)
	for i := range hashes {
		switch i % 3 {
		case 0:
			hashes[i] = 0x8000_0000_0000_0000
		case 1:
			hashes[i] = 0x8000_0000_0000_0000 + rng.Uint64N(1<<52)
		default:
			hashes[i] = rng.Uint64()
		}
	}
	want := slices.Clone(hashes)
	slices.Sort(want)
	if got := sortHashes(hashes); !slices.Equal(got, want) {
		t.Error("sortHashes of hashes crowded into a few buckets is not their sorted order")
	}
}

// TestLowerASCIIMatchesToLower: folding eight bytes at a time gives what
// strings.ToLower gives for ASCII keys of every length around the word size and with
// every byte value, and declines every key with a non-ASCII byte (the Kelvin sign and
// the long s, which strings.ToLower folds to ASCII letters, included) or too long.
func TestLowerASCIIMatchesToLower(t *testing.T) {
	emails, names := adversarialValues()
	keys := append(emails, names...)
	for c := range 256 {
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17} {
			keys = append(keys, strings.Repeat("a", n)+string([]byte{byte(c)})+strings.Repeat("Z", 17-n))
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 20_000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.IntN(128))
			if r.IntN(50) == 0 {
				b[i] = byte(r.IntN(256))
			}
		}
		keys = append(keys, string(b))
	}
	for _, k := range keys {
		var buf [128]byte
		got, ok := lowerASCII(buf[:0], k)
		ascii := strings.IndexFunc(k, func(r rune) bool { return r >= 0x80 }) < 0 && utf8.ValidString(k)
		switch {
		case ok != (ascii && len(k) <= len(buf)):
			t.Errorf("lowerASCII(%q) ok = %v", k, ok)
		case ok && string(got) != strings.ToLower(k):
			t.Errorf("lowerASCII(%q) = %q, want %q", k, got, strings.ToLower(k))
		}
	}
}

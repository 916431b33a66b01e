package reconcile

import (
	"hash/maphash"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/mapping"
)

// hashOne is the hash fingerprints give one value of a field, case-folded or not.
func hashOne(seed maphash.Seed, folded bool, v string) uint64 {
	fh := fieldHasher{seed: seed}
	fh.add(folded, v)
	return fh.sum
}

// foldedPairs are values of Email or Username that Salesforce may hold differently
// from the export: whether the two hash alike must agree with sameValue.
var foldedPairs = []struct{ a, b string }{
	{"ada@example.com", "ada@example.com"},
	{"Ada@Example.COM", "ada@example.com"},
	{"ADA@EXAMPLE.COM", "Ada@example.com"},
	{"ada@example.com", "adb@example.com"},
	{"ada@example.com", "ada@example.co"},
	{"k@example.com", "\u212a@example.com"}, // the Kelvin sign folds to k
	{"s@example.com", "\u017f@example.com"}, // the long s folds to s
	{"\u00df@example.com", "\u1e9e@example.com"},
	{"\u03c3@example.com", "\u03a3@example.com"},
	{"\u03c3@example.com", "\u03c2@example.com"},
	{"\xff@example.com", "\xfe@example.com"}, // invalid bytes read as U+FFFD, by EqualFold too
	{"\xff@example.com", "\ufffd@example.com"},
	{"Ada@example.com ", "ada@example.com"},
	{"ab", "a"},
	{"", ""},
	{"", " "},
	{"0123456789abcdefXYZ", "0123456789ABCDEFxyz"},
	{"@[`{", "@[`{"},
	{"@[`{", "`{@["},
}

// TestFoldedValuesHashAlikeExactlyWhenSalesforceSaysTheyAreEqual checks the one
// property the hashes' correctness rests on: two values that hash alike compare the
// same (a difference is never hidden), and, for values without surrounding spaces,
// two values that compare the same hash alike (so the usual cycle skips them).
func TestFoldedValuesHashAlikeExactlyWhenSalesforceSaysTheyAreEqual(t *testing.T) {
	seed := maphash.MakeSeed()
	for _, name := range []string{"Email", "Username"} {
		for _, p := range foldedPairs {
			checkFoldedPair(t, seed, name, p.a, p.b)
		}
	}
}

func checkFoldedPair(t *testing.T, seed maphash.Seed, name, a, b string) {
	t.Helper()
	alike := hashOne(seed, true, a) == hashOne(seed, true, b)
	same := sameValue(name, a, b)
	if alike && !same {
		t.Errorf("%s %q and %q hash alike but differ", name, a, b)
	}
	if trimmed := strings.TrimSpace(a) == a && strings.TrimSpace(b) == b; trimmed && same && !alike {
		t.Errorf("%s %q and %q compare the same but hash apart", name, a, b)
	}
}

func FuzzFoldedHash(f *testing.F) {
	for _, p := range foldedPairs {
		f.Add(p.a, p.b)
	}
	seed := maphash.MakeSeed()
	f.Fuzz(func(t *testing.T, a, b string) {
		checkFoldedPair(t, seed, "Email", a, b)
		checkFoldedPair(t, seed, "Email", a, strings.ToUpper(a))
		checkFoldedPair(t, seed, "Email", a, strings.ToLower(b))
		if hashOne(seed, false, a) == hashOne(seed, false, b) && a != b {
			t.Errorf("%q and %q hash alike", a, b)
		}
	})
}

// TestIsFoldedReadsEveryByte puts every byte value at every position of a value
// longer than the eight bytes isFolded reads at a time, and compares it with the
// byte-by-byte definition.
func TestIsFoldedReadsEveryByte(t *testing.T) {
	byByte := func(v string) bool {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
				return false
			}
		}
		return true
	}
	for c := range 256 {
		for at := range 19 {
			v := []byte("abcdefghijklmnopqrs")
			v[at] = byte(c)
			if got, want := isFolded(string(v)), byByte(string(v)); got != want {
				t.Fatalf("isFolded(%q) = %v, want %v", v, got, want)
			}
		}
	}
}

// TestFingerprintsSkipOnlyLinkedActiveUnchangedUsers checks which pairs decide may
// leave alone without a field-by-field diff: the hashes of a person and its user
// agree when every always-managed value compares the same, and never for an inactive
// user or a person whose always-managed fields are not the others'.
func TestFingerprintsSkipOnlyLinkedActiveUnchangedUsers(t *testing.T) {
	desired := []mapping.Desired{
		person("a"), person("b"), person("c"), person("d"), person("e"),
		person("f", with("Cost_Center__c", "42")), // one more always-managed field than the first person
	}
	users := []Existing{
		userOf(desired[0], sfID(1)),
		userOf(desired[1], sfID(2), func(e *Existing) { setUserField(e, "Email", strings.ToUpper(e.Email)) }),
		userOf(desired[2], sfID(3), func(e *Existing) { setUserField(e, "Title", "Manager") }),
		userOf(desired[3], sfID(4), func(e *Existing) { e.IsActive = false }),
		userOf(desired[4], sfID(5), func(e *Existing) { setUserField(e, "TimeZoneSidKey", "America/New_York") }),
		userOf(desired[5], sfID(6)),
	}
	c := newCalc(&Input{Desired: desired, Existing: users}, &Policy{}, split{workers: 2})
	fp := c.takeFingerprints()
	var got []bool
	for i := range desired {
		got = append(got, fp.unchanged(int32(i), int32(i)))
	}
	// a: the same; b: Email in another case; c: Title differs; d: inactive; e: only an
	// on_create field differs; f: a field list other than the first person's.
	want := []bool{true, true, false, false, true, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unchanged per person (-want +got):\n%s", diff)
	}
}

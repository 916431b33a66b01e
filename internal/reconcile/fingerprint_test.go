package reconcile

import (
	"hash/maphash"
	"maps"
	"slices"
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
	return fh.sum()
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

// TestAppendFoldedFoldsASCIIAsItsOrbit compares appendFolded's byte-at-a-time ASCII
// path with the definition, every rune replaced by its orbit's stand-in, on every
// ASCII byte and on values that mix ASCII with the runes whose orbits cross into it
// (the Kelvin sign, the long s), other non-ASCII letters and invalid bytes.
func TestAppendFoldedFoldsASCIIAsItsOrbit(t *testing.T) {
	byRune := func(v string) string {
		var b []byte
		for _, r := range v {
			b = utf8.AppendRune(b, orbitCanon(r))
		}
		return string(b)
	}
	values := []string{"", "First.Last@Example.COM", "\u212a\u017fKkSs", "Ǆǅǆ ΣσςÅå", "a\xffB\xc3", "\xe2\x84", "ÉCOLE@École.fr"}
	for c := range utf8.RuneSelf {
		values = append(values, string(rune(c)), "x"+string(rune(c))+"\u212a")
	}
	for _, v := range values {
		if got, want := string(appendFolded(nil, v)), byRune(v); got != want {
			t.Errorf("appendFolded(%q) = %q, want %q", v, got, want)
		}
	}
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

// TestFingerprintsFindValuesWhereDiffFindsThem hashes users whose field lists are
// sorted, unsorted, missing a field or naming one twice, one after another so that
// each list follows one of another layout (and of the same), and checks that the
// hashes call a user unchanged exactly when diff finds nothing to change.
func TestFingerprintsFindValuesWhereDiffFindsThem(t *testing.T) {
	d := person("a")
	right := userOf(d, sfID(1))
	fields := func(edit func([]FieldValue) []FieldValue) func(*Existing) {
		return func(e *Existing) { e.Fields = PackFields(edit(e.Fields.List())...) }
	}
	variants := map[string]func(*Existing){
		"sorted":   func(*Existing) {},
		"reversed": fields(func(f []FieldValue) []FieldValue { slices.Reverse(f); return f }),
		"no Title": fields(func(f []FieldValue) []FieldValue {
			return slices.DeleteFunc(f, func(v FieldValue) bool { return v.Name == "Title" })
		}),
		"Title twice, the first right": fields(func(f []FieldValue) []FieldValue {
			return append(f, FieldValue{Name: "Title", Value: "Manager"})
		}),
		"Title twice, the first wrong": fields(func(f []FieldValue) []FieldValue {
			return append([]FieldValue{{Name: "Title", Value: "Manager"}}, f...)
		}),
		"Title changed": func(e *Existing) { setUserField(e, "Title", "Manager") },
		// Where an on_create field was, a second Title that diff's walk meets before
		// the sorted one: the names are as many as before, and only their own copy
		// of them tells the layouts apart.
		"Title in an on_create slot": fields(func(f []FieldValue) []FieldValue {
			f[slices.IndexFunc(f, func(v FieldValue) bool { return v.Name == "LanguageLocaleKey" })] = FieldValue{Name: "Title", Value: "Manager"}
			return f
		}),
	}
	names := slices.Sorted(maps.Keys(variants))
	var desired []mapping.Desired
	var users []Existing
	for range 2 { // every layout after every other, and after itself
		for _, name := range names {
			for range 2 {
				u := right
				variants[name](&u)
				u.ID = sfID(len(users) + 1)
				desired, users = append(desired, d), append(users, u)
			}
		}
		slices.Reverse(names)
	}
	c := newCalc(&Input{Desired: desired, Existing: users}, &Policy{}, split{workers: 1})
	fp := c.takeFingerprints()
	for i := range users {
		want := len(diff(desired[i].Fields, users[i].Fields)) == 0
		if got := fp.unchanged(int32(i), int32(i)); got != want {
			t.Errorf("user %d %v: unchanged = %v, diff finds nothing = %v", i, users[i].Fields, got, want)
		}
	}
}

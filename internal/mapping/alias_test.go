package mapping

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// appendAliasCharsPlain is appendAliasChars as first written, reading the folded
// text rune by rune: the reference for the byte-by-byte version.
func appendAliasCharsPlain(b []byte, s string, n int) []byte {
	added := 0
	for _, r := range asciiFold(s) {
		if added == n || len(b) == cap(b) {
			break
		}
		switch {
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r-'A'+'a'))
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b = append(b, byte(r))
		default:
			continue
		}
		added++
	}
	return b
}

// randomName joins pieces of names in many scripts, invalid UTF-8, combining marks and
// the letters asciiFold spells out.
func randomName(r *rand.Rand) string {
	return randomJoin(r, 5, "a", "Z", "0", "9", " ", "-", "é", "Ü", "ß", "ẞ", "Ø", "Æ", "李", "\u212a", "\u017f", "\u0301", "\xff", "\xc3",
		"Łukasz", "Núñez", "O'Brien", "’", "ı", "ﬁ", "①", "ｗ", strings.Repeat("x", 9))
}

// randomJoin joins up to most pieces drawn at random.
func randomJoin(r *rand.Rand, most int, pieces ...string) string {
	var b strings.Builder
	for range r.IntN(most + 1) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// TestAliasCharsMatchPlain: asciiFold gives ASCII whatever its input, so reading it
// byte by byte appends what reading it rune by rune did, for every limit.
func TestAliasCharsMatchPlain(t *testing.T) {
	_, names := adversarialValues()
	r := rand.New(rand.NewPCG(3, 4))
	for range 50_000 {
		names = append(names, randomName(r))
	}
	for _, s := range names {
		if folded := asciiFold(s); !isASCII(folded) {
			t.Errorf("asciiFold(%q) = %q, not ASCII", s, folded)
		}
		for _, n := range []int{1, 3, aliasLength} {
			var got, want [aliasLength]byte
			if g, w := appendAliasChars(got[:0], s, n), appendAliasCharsPlain(want[:0], s, n); string(g) != string(w) {
				t.Errorf("appendAliasChars(%q, %d) = %q, want %q", s, n, g, w)
			}
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// generateAliasPlain is generateAlias as first written (probing the family name
// first, then reading it again), the reference for the single read.
func generateAliasPlain(given, family, email string) string {
	var buf [aliasLength]byte
	alias := buf[:0]
	var probe [1]byte
	if len(appendAliasCharsPlain(probe[:0], family, 1)) > 0 {
		alias = appendAliasCharsPlain(alias, given, 1)
		alias = appendAliasCharsPlain(alias, family, aliasLength)
	} else {
		local, _, _ := strings.Cut(email, "@")
		alias = appendAliasCharsPlain(alias, local, aliasLength)
	}
	if len(alias) == 0 {
		return "user"
	}
	return string(alias)
}

// TestGenerateAliasMatchesPlain compares generateAlias with the former code on random
// names and addresses, family names shorter and longer than an alias included.
func TestGenerateAliasMatchesPlain(t *testing.T) {
	emails, names := adversarialValues()
	r := rand.New(rand.NewPCG(11, 12))
	var tx texts
	for range 50_000 {
		given, family, email := randomName(r), randomName(r), emails[r.IntN(len(emails))]
		if r.IntN(4) == 0 {
			family = names[r.IntN(len(names))]
		}
		if got, want := generateAlias(&tx, given, family, email), generateAliasPlain(given, family, email); got != want {
			t.Errorf("generateAlias(%q, %q, %q) = %q, want %q", given, family, email, got, want)
		}
	}
}

package mapping

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// emailProblemPlain is emailProblem as first written, one check after the other, the
// reference its single pass must agree with.
func emailProblemPlain(s string) string {
	if s == "" {
		return "is empty"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return "has non-ASCII characters"
		case c <= ' ' || c == 0x7f:
			return "has spaces or control characters"
		case c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' ||
			c == '\\' || c == ',' || c == ';' || c == ':' || c == '"':
			return "has characters not allowed in an address"
		}
	}
	local, domain, ok := strings.Cut(s, "@")
	switch {
	case !ok:
		return "has no @"
	case strings.Contains(domain, "@"):
		return "has more than one @"
	case local == "" || len(local) > 64:
		return "has a local part that is empty or longer than 64 characters"
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return "has a misplaced dot in the local part"
	}
	if !strings.Contains(domain, ".") {
		return "has a domain without a dot"
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "has a malformed domain"
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
				return "has a malformed domain"
			}
		}
	}
	return ""
}

// randomAddress builds an address-like string from the bytes that matter to
// emailProblem (@, dots, hyphens, letters, forbidden and non-ASCII bytes), with local
// parts and labels around the 63- and 64-character limits.
func randomAddress(r *rand.Rand) string {
	return randomJoin(r, 7, "@", ".", "-", "a", "Z", "0", "_", "+", " ", "\x00", "\x7f", "\xff", "é", "\u212a", "(", "]", "\\", ",",
		"..", "@@", strings.Repeat("x", 63), strings.Repeat("y", 64), strings.Repeat("z", 65), "acme", "example")
}

// TestEmailProblemMatchesPlain: the single pass finds the same problem as the plain
// checks one after the other, on every byte alone, on the adversarial addresses and on
// random ones.
func TestEmailProblemMatchesPlain(t *testing.T) {
	emails, names := adversarialValues()
	inputs := append(emails, names...)
	for c := range 256 {
		inputs = append(inputs, string(rune(c)), "a"+string([]byte{byte(c)})+"b@c.co", "a@b"+string([]byte{byte(c)})+".co")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		inputs = append(inputs, randomAddress(r))
	}
	for _, s := range inputs {
		if got, want := emailProblem(s), emailProblemPlain(s); got != want {
			t.Errorf("emailProblem(%q) = %q, want %q", s, got, want)
		}
	}
}

// FuzzEmailProblem compares emailProblem with the plain checks on arbitrary input.
func FuzzEmailProblem(f *testing.F) {
	emails, _ := adversarialValues()
	for _, s := range emails {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := emailProblem(s), emailProblemPlain(s); got != want {
			t.Errorf("emailProblem(%q) = %q, want %q", s, got, want)
		}
	})
}

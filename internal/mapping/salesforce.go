package mapping

import (
	"unicode/utf8"
)

// fieldLength is the most characters Salesforce accepts in a User field, from
// salesforce-api.md §8 and the seed document; 0 for fields without a documented limit
// (configure fields.NAME.max_length for those).
func fieldLength(name string) int {
	switch name {
	case "Username", "LastName", "Title", "Department":
		return 80
	case "FirstName", "CommunityNickname":
		return 40
	case "Email":
		return 128
	case "Alias":
		return aliasLength
	case "FederationIdentifier":
		return 512
	}
	return 0
}

// emailProblem says what makes s unacceptable as an email address (or Username, which
// Salesforce requires to be email-shaped), "" when nothing does. The rule is
// deliberately plain: one @, a dot-atom local part of at most 64 characters, and a
// domain of at least two labels of letters, digits and hyphens; ASCII only. It checks
// two addresses of every person, so it reads the address once, noting the @ and the
// dots as it validates the bytes, and then only the domain again; the problems are
// reported in a fixed order (bytes, @, local part, domain), the first one found.
func emailProblem(s string) string {
	if s == "" {
		return "is empty"
	}
	at, ats, doubleDot := -1, 0, false // the first @, how many, ".." before the first @
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || inASCIISet(c, addressForbiddenLo, addressForbiddenHi) {
			return forbiddenByteProblem(c)
		}
		switch {
		case c == '@':
			if at < 0 {
				at = i
			}
			ats++
		case c == '.' && at < 0 && i > 0 && s[i-1] == '.':
			doubleDot = true
		}
	}
	switch {
	case at < 0:
		return "has no @"
	case ats > 1:
		return "has more than one @"
	case at == 0 || at > 64:
		return "has a local part that is empty or longer than 64 characters"
	case s[0] == '.' || s[at-1] == '.' || doubleDot:
		return "has a misplaced dot in the local part"
	}
	return domainProblem(s[at+1:])
}

// domainProblem checks the part of an address after its only @, whose bytes
// emailProblem has found allowed.
func domainProblem(domain string) string {
	dot, malformed, start := false, false, 0 // start: of the current label
	for i := 0; i <= len(domain); i++ {
		if i < len(domain) && domain[i] != '.' {
			malformed = malformed || !inASCIISet(domain[i], domainLabelLo, domainLabelHi)
			continue
		}
		label := domain[start:i]
		malformed = malformed || label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-'
		dot = dot || i < len(domain)
		start = i + 1
	}
	switch {
	case !dot:
		return "has a domain without a dot"
	case malformed:
		return "has a malformed domain"
	}
	return ""
}

// forbiddenByteProblem says why c, a byte no address may hold, is not allowed.
func forbiddenByteProblem(c byte) string {
	switch {
	case c >= utf8.RuneSelf:
		return "has non-ASCII characters"
	case c <= ' ' || c == 0x7f:
		return "has spaces or control characters"
	}
	return "has characters not allowed in an address"
}

// The ASCII bytes that no address may hold (spaces, control characters and
// ()<>[]\,;:"), and those a domain label may hold (letters, digits and hyphens), as
// 128-bit sets: the low word holds bytes 0-63, the high word bytes 64-127.
const (
	addressForbiddenLo = 1<<(' '+1) - 1 | 1<<'"' | 1<<'(' | 1<<')' | 1<<',' | 1<<':' | 1<<';' | 1<<'<' | 1<<'>'
	addressForbiddenHi = 1<<('['-64) | 1<<('\\'-64) | 1<<(']'-64) | 1<<(0x7f-64)
	domainLabelLo      = 1<<'-' | (1<<10-1)<<'0'
	domainLabelHi      = (1<<26-1)<<('A'-64) | (1<<26-1)<<('a'-64)
)

// inASCIISet reports whether the byte c is in the set of ASCII bytes given as two
// 64-bit words (lo: bytes 0-63, hi: bytes 64-127).
func inASCIISet(c byte, lo, hi uint64) bool {
	if c < 64 {
		return lo>>c&1 != 0
	}
	return c < 128 && hi>>(c-64)&1 != 0
}

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
// domain of at least two labels of letters, digits and hyphens; ASCII only.
//
// Every person has two addresses to check, so it reads s once: letters and digits,
// most of any address, pass with one test, and the rest is noted as it comes (the @,
// the dots, the labels). The first problem in a fixed order is reported: a byte no
// address may hold, then the @, the local part, the domain.
func emailProblem(s string) string {
	if s == "" {
		return "is empty"
	}
	at, ats := -1, 0 // the first @, how many
	doubleDot, domainDot, malformed := false, false, false
	label := 0 // where the current domain label starts
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c-'0' < 10 || (c|0x20)-'a' < 26 { // a digit or an ASCII letter
			continue
		}
		if c >= utf8.RuneSelf || inASCIISet(c, addressForbiddenLo, addressForbiddenHi) {
			return forbiddenByteProblem(c)
		}
		switch {
		case c == '@':
			if at < 0 {
				at, label = i, i+1
			}
			ats++
		case at < 0:
			doubleDot = doubleDot || (c == '.' && i > 0 && s[i-1] == '.')
		case c == '.':
			malformed = malformed || badLabel(s[label:i])
			domainDot, label = true, i+1
		case c != '-':
			malformed = true
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
	case !domainDot:
		return "has a domain without a dot"
	case malformed || badLabel(s[label:]):
		return "has a malformed domain"
	}
	return ""
}

// badLabel reports whether a domain label, whose bytes are letters, digits and
// hyphens, is empty, too long or starts or ends with a hyphen.
func badLabel(label string) bool {
	return label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-'
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
// ()<>[]\,;:"), as a 128-bit set: the low word holds bytes 0-63, the high word bytes
// 64-127.
const (
	addressForbiddenLo = 1<<(' '+1) - 1 | 1<<'"' | 1<<'(' | 1<<')' | 1<<',' | 1<<':' | 1<<';' | 1<<'<' | 1<<'>'
	addressForbiddenHi = 1<<('['-64) | 1<<('\\'-64) | 1<<(']'-64) | 1<<(0x7f-64)
)

// inASCIISet reports whether the byte c is in the set of ASCII bytes given as two
// 64-bit words (lo: bytes 0-63, hi: bytes 64-127).
func inASCIISet(c byte, lo, hi uint64) bool {
	if c < 64 {
		return lo>>c&1 != 0
	}
	return c < 128 && hi>>(c-64)&1 != 0
}

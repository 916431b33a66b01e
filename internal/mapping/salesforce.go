package mapping

import (
	"strings"
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
func emailProblem(s string) string {
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

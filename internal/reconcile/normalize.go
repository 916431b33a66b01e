package reconcile

import "strings"

// The comparisons in this file normalise exactly what Salesforce normalises, so that a
// value Salesforce stored differently from how syncd sent it is not "changed" again on
// every cycle: Email and Username compare case-insensitively (Salesforce lower-cases
// Usernames and matches Emails without case), surrounding whitespace never counts, and
// an Id compares on its first 15 characters (the 18-character form only adds a
// checksum of the case of those 15).

// idKey returns the part of a Salesforce Id that identifies the record: the first 15
// characters of an 18-character Id, trimmed. Any other string is returned trimmed, so
// that a malformed Id still compares with itself. It never allocates.
func idKey(id string) string {
	switch {
	case len(id) == 15:
		return id
	case len(id) != 18:
		id = strings.TrimSpace(id) // rare: whatever the caller gave, compared trimmed
	}
	if len(id) == 18 {
		return id[:15]
	}
	return id
}

// foldKey returns s trimmed and lower-cased, the form Email, Username and
// FederationIdentifier are matched on. It allocates only when s has upper-case letters.
func foldKey(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// isIDField reports whether a User field holds a Salesforce Id (ProfileId, UserRoleId,
// ManagerId, any custom lookup named like them), which compares as idKey does.
func isIDField(name string) bool {
	return strings.HasSuffix(name, "Id")
}

// isFoldedField reports whether Salesforce compares a field without case: the two
// email-shaped fields it matches and stores case-insensitively.
func isFoldedField(name string) bool {
	return name == "Email" || name == "Username"
}

// sameValue reports whether the desired and existing values of the named field are the
// same once normalised as Salesforce normalises them. A null field reads as "", so a
// desired "" equals a null.
func sameValue(name, desired, existing string) bool {
	if desired == existing {
		return true // the common case, decided without looking at the name
	}
	desired, existing = strings.TrimSpace(desired), strings.TrimSpace(existing)
	switch {
	case desired == existing:
		return true
	case isFoldedField(name):
		return strings.EqualFold(desired, existing)
	case isIDField(name):
		return idKey(desired) == idKey(existing)
	}
	return false
}

package salesforce

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxQueryLength bounds the URL-encoded length of a SOQL statement that the builders
// produce. GET /query carries the statement in the URL, and Salesforce refuses URLs
// over about 16 KB; the rest is left for the host and path.
const MaxQueryLength = 12000

// ErrInvalidUTF8 is returned for a value that is not valid UTF-8: it could not be
// written as a SOQL literal that Salesforce reads back as the same value.
var ErrInvalidUTF8 = errors.New("salesforce: value is not valid UTF-8")

// Quote returns s as a single-quoted SOQL string literal. It is the one way values
// enter SOQL in syncd: whatever s holds, the literal reads back as exactly s.
func Quote(s string) (string, error) {
	return escapeLiteral(s, false)
}

// QuoteLike returns s as a single-quoted literal for the right side of LIKE that
// matches s exactly: besides Quote's escapes, the wildcards _ and % are escaped.
// Append unescaped % or _ around the result's content to build a pattern.
func QuoteLike(s string) (string, error) {
	return escapeLiteral(s, true)
}

// escapeLiteral is the single implementation of SOQL string escaping (see
// salesforce-api.md §3): \' \" \\ \n \r \t \b \f, \uXXXX for other control
// characters, and \_ \% inside LIKE patterns.
func escapeLiteral(s string, like bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrInvalidUTF8
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '_', '%':
			if like {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('\'')
	return b.String(), nil
}

// identPattern is what an object or field name may look like, relationship paths
// (Profile.Name) included. Names come from configuration, so they are checked rather
// than escaped: SOQL has no quoting for identifiers.
var identPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$`)

func checkIdents(kind string, names ...string) error {
	for _, n := range names {
		if !identPattern.MatchString(n) {
			return &ConfigError{Field: kind, Reason: fmt.Sprintf("%q is not a SOQL name", n)}
		}
	}
	return nil
}

// selectFrom renders SELECT fields FROM object, checking the names.
func selectFrom(object string, fields []string) (string, error) {
	if len(fields) == 0 {
		return "", &ConfigError{Field: "fields", Reason: "no fields to select"}
	}
	if err := checkIdents("object", object); err != nil {
		return "", err
	}
	if err := checkIdents("field", fields...); err != nil {
		return "", err
	}
	return "SELECT " + strings.Join(fields, ", ") + " FROM " + object, nil
}

// UsersQuery selects the given fields (UserFields() when none) of every Standard user,
// active and inactive: a leaver who returns must be found and reactivated.
func UsersQuery(fields ...string) (string, error) {
	if len(fields) == 0 {
		fields = UserFields()
	}
	sel, err := selectFrom("User", fields)
	if err != nil {
		return "", err
	}
	return sel + " WHERE UserType = 'Standard'", nil
}

// UsersChangedSinceQuery selects the given fields of every user Salesforce wrote at
// or after since, whatever its type (a user whose profile moved to another license
// must be seen to leave), oldest write first: WHERE SystemModstamp >= since ORDER
// BY SystemModstamp, Id. SystemModstamp is indexed on User, LastModifiedDate is
// not, and only SystemModstamp moves on system-driven writes. Salesforce stamps and
// compares whole seconds, so since is rounded down to its second and the bound is
// inclusive: a write later in since's own second carries that second's stamp.
func UsersChangedSinceQuery(since time.Time, fields ...string) (string, error) {
	sel, err := selectFrom("User", fields)
	if err != nil {
		return "", err
	}
	return sel + " WHERE SystemModstamp >= " + since.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z") +
		" ORDER BY SystemModstamp, Id", nil
}

// ProfilesQuery selects every profile's Id, Name and license (Id and Name: the seats
// a deactivation frees are counted per license at no extra call), to turn configured profile names
// into ProfileIds.
func ProfilesQuery() string {
	return "SELECT Id, Name, UserLicenseId, UserLicense.Name FROM Profile"
}

// RolesQuery selects every role's Id and Name, to turn configured role names into
// UserRoleIds.
func RolesQuery() string { return "SELECT Id, Name FROM UserRole" }

// UsersWhereInQueries selects fields (UserFields() when empty) of the users whose field
// matches one of values, in as many statements as MaxQueryLength requires. It serves
// re-reads after a write whose outcome is unknown.
func UsersWhereInQueries(field string, values []string, fields ...string) ([]string, error) {
	if len(fields) == 0 {
		fields = UserFields()
	}
	sel, err := selectFrom("User", fields)
	if err != nil {
		return nil, err
	}
	if err := checkIdents("field", field); err != nil {
		return nil, err
	}
	return inQueries(sel+" WHERE "+field+" IN (", ")", values)
}

// UserLoginsQueries selects the UserLogin rows (Id, UserId, IsFrozen) of the given
// users, in as many statements as MaxQueryLength requires.
func UserLoginsQueries(userIDs []string) ([]string, error) {
	return inQueries("SELECT Id, UserId, IsFrozen FROM UserLogin WHERE UserId IN (", ")", userIDs)
}

// inQueries renders prefix + quoted values joined by ", " + suffix, splitting values
// over several statements so that none is longer than MaxQueryLength once URL-encoded.
func inQueries(prefix, suffix string, values []string) ([]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	fixed := encodedLen(prefix) + encodedLen(suffix)
	sep := encodedLen(", ")
	var queries []string
	var b strings.Builder
	size, n := fixed, 0
	flush := func() {
		b.WriteString(suffix)
		queries = append(queries, b.String())
		b.Reset()
		size, n = fixed, 0
	}
	for i, v := range values {
		lit, err := Quote(v)
		if err != nil {
			return nil, fmt.Errorf("value %d: %w", i, err)
		}
		add := encodedLen(lit)
		if fixed+add > MaxQueryLength {
			return nil, fmt.Errorf("salesforce: value %d is too long for one query (%d encoded bytes)", i, add)
		}
		if n > 0 && size+sep+add > MaxQueryLength {
			flush()
		}
		if n == 0 {
			b.WriteString(prefix)
		} else {
			b.WriteString(", ")
			size += sep
		}
		b.WriteString(lit)
		size += add
		n++
	}
	flush()
	return queries, nil
}

// encodedLen is the length of s once query-escaped into a URL.
func encodedLen(s string) int { return len(url.QueryEscape(s)) }

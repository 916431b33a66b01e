package source

import (
	"fmt"
	"strings"
	"unicode"
)

// attr identifies a standard record attribute that a CSV column or JSON key can fill.
type attr int

const (
	attrID attr = iota
	attrUserName
	attrEmail
	attrGivenName
	attrFamilyName
	attrDisplayName
	attrActive
	attrTitle
	attrDepartment
	attrManagerID
	attrEmployeeNumber
	attrGroups
	numAttrs

	// attrExtra marks a CSV column kept as an additional attribute, attrIgnored one
	// that is unnamed or repeats an earlier header.
	attrExtra   attr = -1
	attrIgnored attr = -2
)

// configured returns the column the configuration names for a, and its YAML key.
func (c *Columns) configured(a attr) (column, key string) {
	switch a {
	case attrID:
		return c.ID, "id"
	case attrUserName:
		return c.UserName, "user_name"
	case attrEmail:
		return c.Email, "email"
	case attrGivenName:
		return c.GivenName, "given_name"
	case attrFamilyName:
		return c.FamilyName, "family_name"
	case attrDisplayName:
		return c.DisplayName, "display_name"
	case attrActive:
		return c.Active, "active"
	case attrTitle:
		return c.Title, "title"
	case attrDepartment:
		return c.Department, "department"
	case attrManagerID:
		return c.ManagerID, "manager_id"
	case attrEmployeeNumber:
		return c.EmployeeNumber, "employee_number"
	default:
		return c.Groups, "groups"
	}
}

// defaultColumns lists, in preference order and normalised (see normalizeName), the
// headers common IdP exports use for a: Entra's user download (userPrincipalName, mail,
// surname, accountEnabled, objectId), Google's bulk template ("First Name [Required]",
// "Email Address [Required]", "Employee ID"), Okta's profile names (login, firstName,
// profile.email in JSON) and SCIM-like JSON (name.givenName, emails).
func defaultColumns(a attr) []string {
	switch a {
	case attrID:
		return []string{"id", "objectid", "externalid", "userid"}
	case attrUserName:
		return []string{"username", "userprincipalname", "upn", "login", "profilelogin"}
	case attrEmail:
		return []string{"email", "emails", "mail", "emailaddress", "primaryemail", "workemail", "profileemail"}
	case attrGivenName:
		return []string{"givenname", "firstname", "namegivenname", "profilefirstname"}
	case attrFamilyName:
		return []string{"familyname", "surname", "lastname", "namefamilyname", "profilelastname"}
	case attrDisplayName:
		return []string{"displayname", "fullname", "name", "nameformatted", "profiledisplayname"}
	case attrActive:
		return []string{"active", "accountenabled", "enabled", "status"}
	case attrTitle:
		return []string{"title", "jobtitle", "profiletitle"}
	case attrDepartment:
		return []string{"department", "profiledepartment"}
	case attrManagerID:
		return []string{"managerid", "manager", "manageremail", "profilemanagerid"}
	case attrEmployeeNumber:
		return []string{"employeenumber", "employeeid", "profileemployeenumber"}
	default:
		return []string{"groups", "memberof"}
	}
}

// normalizeName folds a header or key for matching: lower case, without a leading BOM,
// bracketed notes such as "[Required]", or anything but letters and digits; so
// "First Name [Required]", "first_name" and "firstName" all match "firstname".
func normalizeName(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '[' || r == '(':
			depth++
		case r == ']' || r == ')':
			if depth > 0 {
				depth--
			}
		case depth == 0 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// resolveColumns finds, for every standard attribute, which of the given names (CSV
// headers or JSON keys) holds it: the configured column if set, else the first default
// that is present. The result maps normalised name → attribute; names not in it are
// additional attributes. A configured column that is absent is reported when required.
func resolveColumns(names []string, cols *Columns, requireConfigured bool) (map[string]attr, []string) {
	present := make(map[string]bool, len(names))
	for _, n := range names {
		present[normalizeName(n)] = true
	}
	byName := make(map[string]attr, numAttrs)
	var problems []string
	for a := range numAttrs {
		column, key := cols.configured(a)
		if column != "" {
			n := normalizeName(column)
			if present[n] || !requireConfigured {
				byName[n] = a
			} else {
				problems = append(problems, fmt.Sprintf("configured column %s (source.columns.%s) is not in the header", quote(column), key))
			}
			continue
		}
		for _, n := range defaultColumns(a) {
			if _, taken := byName[n]; present[n] && !taken {
				byName[n] = a
				break
			}
		}
	}
	return byName, problems
}

// parseActive reads an active flag as the common exports write it, including Okta's
// statuses. An empty value means the source does not say, which counts as active.
func parseActive(v string) (bool, error) {
	switch v { // what nearly every export writes, taken without trimming and lower-casing
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "true", "t", "yes", "y", "1", "enabled", "active",
		"provisioned", "staged", "recovery", "locked_out", "password_expired":
		return true, nil
	case "false", "f", "no", "n", "0", "disabled", "inactive",
		"suspended", "deprovisioned", "deleted", "terminated":
		return false, nil
	}
	return false, fmt.Errorf("active flag %s is neither true nor false", quote(v))
}

// quote shortens a value from outside input for an error message.
func quote(s string) string {
	const limit = 64
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "…"
	}
	return fmt.Sprintf("%q", s)
}

// recordBuilder assigns standard attribute values to a record.
type recordBuilder struct {
	groupSeparator string
}

// set stores a scalar value for a; it fails only for an unreadable active flag.
func (b recordBuilder) set(r *Record, a attr, v string) error {
	v = strings.TrimSpace(v)
	switch a {
	case attrID:
		r.ID = v
	case attrUserName:
		r.UserName = v
	case attrEmail:
		if v != "" {
			r.Emails = append(r.Emails, Email{Value: v, Primary: len(r.Emails) == 0})
		}
	case attrGivenName:
		r.GivenName = v
	case attrFamilyName:
		r.FamilyName = v
	case attrDisplayName:
		r.DisplayName = v
	case attrActive:
		active, err := parseActive(v)
		if err != nil {
			return err
		}
		r.Active = active
	case attrTitle:
		r.Title = v
	case attrDepartment:
		r.Department = v
	case attrManagerID:
		r.ManagerID = v
	case attrEmployeeNumber:
		r.EmployeeNumber = v
	case attrGroups:
		for g := range strings.SplitSeq(v, b.groupSeparator) {
			if g = strings.TrimSpace(g); g != "" {
				r.Groups = append(r.Groups, Group{Name: g})
			}
		}
	}
	return nil
}

package source

import (
	"slices"
	"strings"
)

// Record is one person as the identity provider describes them. It is a plain value:
// adapters fill it, mapping reads it, and nothing mutates it after Pull returns (the
// records of a snapshot may be shared with a later NotModified snapshot).
type Record struct {
	// ID is the IdP's stable identifier (SCIM id, Entra objectId, Okta id). Links between
	// IdP and Salesforce users are keyed on it, so it must survive renames.
	ID string
	// UserName is the IdP login (SCIM userName, Entra userPrincipalName, Okta login).
	UserName string
	// Emails are all addresses in source order; PrimaryEmail picks one by rule.
	Emails      []Email
	GivenName   string
	FamilyName  string
	DisplayName string
	// Active is false for suspended, disabled or deprovisioned people; such records are
	// present in the source but not desired in Salesforce.
	Active         bool
	Title          string
	Department     string
	ManagerID      string
	EmployeeNumber string
	// Groups the person belongs to, sorted by name then id so that the digest does not
	// depend on the order an IdP happened to list them in.
	Groups []Group
	// Attributes holds every other attribute by name, sorted by name (unique), for
	// templates and profile rules: extra CSV columns, other SCIM attributes.
	Attributes []Attribute
}

// Email is one address of a person with the IdP's type (work, home, ...) and primary flag.
type Email struct {
	Value   string
	Type    string
	Primary bool
}

// Group is a group membership; rules may name a group by ID or by Name.
type Group struct {
	ID   string
	Name string
}

// Attribute is one additional named value of a record.
type Attribute struct {
	Name  string
	Value string
}

// PrimaryEmail returns the address Salesforce should use: the one flagged primary, else
// the first of type "work", else the first non-empty one; "" when there is none. The
// rule is fixed so that a source listing home before work addresses still maps to work.
func (r *Record) PrimaryEmail() string {
	for _, e := range r.Emails {
		if e.Primary && e.Value != "" {
			return e.Value
		}
	}
	for _, e := range r.Emails {
		if strings.EqualFold(e.Type, "work") && e.Value != "" {
			return e.Value
		}
	}
	for _, e := range r.Emails {
		if e.Value != "" {
			return e.Value
		}
	}
	return ""
}

// Attr returns the additional attribute called name (case-insensitive), or "" when the
// record has none. Templates call it as {{ .Attr "costCenter" }}.
func (r *Record) Attr(name string) string {
	v, _ := r.attribute(name)
	return v
}

func (r *Record) attribute(name string) (string, bool) {
	i, ok := slices.BinarySearchFunc(r.Attributes, name, func(a Attribute, n string) int {
		return strings.Compare(a.Name, n)
	})
	if ok {
		return r.Attributes[i].Value, true
	}
	for _, a := range r.Attributes {
		if strings.EqualFold(a.Name, name) {
			return a.Value, true
		}
	}
	return "", false
}

// Lookup returns the value of a record attribute by name, case-insensitively: the
// standard ones (id, userName, email, givenName, familyName, displayName, title,
// department, managerId, employeeNumber, active) first, then Attributes. Profile and
// role rules use it so that configuration can name any attribute the same way.
func (r *Record) Lookup(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "id":
		return r.ID, true
	case "username":
		return r.UserName, true
	case "email":
		return r.PrimaryEmail(), true
	case "givenname":
		return r.GivenName, true
	case "familyname":
		return r.FamilyName, true
	case "displayname":
		return r.DisplayName, true
	case "title":
		return r.Title, true
	case "department":
		return r.Department, true
	case "managerid":
		return r.ManagerID, true
	case "employeenumber":
		return r.EmployeeNumber, true
	case "active":
		if r.Active {
			return "true", true
		}
		return "false", true
	}
	return r.attribute(name)
}

// InGroup reports whether the record belongs to a group whose name or id equals group,
// case-insensitively.
func (r *Record) InGroup(group string) bool {
	for _, g := range r.Groups {
		if strings.EqualFold(g.Name, group) || (g.ID != "" && strings.EqualFold(g.ID, group)) {
			return true
		}
	}
	return false
}

// normalize sorts groups and attributes so that equal people give equal records (and
// digests) whatever order the source listed them in. Later duplicates of an attribute
// name are dropped: the first occurrence wins.
func (r *Record) normalize() {
	if len(r.Groups) > 1 { // a CSV row has at most one group column and often one attribute
		slices.SortStableFunc(r.Groups, func(a, b Group) int {
			if c := strings.Compare(a.Name, b.Name); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
	}
	if len(r.Attributes) > 1 {
		slices.SortStableFunc(r.Attributes, func(a, b Attribute) int { return strings.Compare(a.Name, b.Name) })
		r.Attributes = slices.CompactFunc(r.Attributes, func(a, b Attribute) bool { return a.Name == b.Name })
	}
}

package mapping

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ResolveIDs sets ProfileId and UserRoleId on every desired user from the names the
// rules chose, given Salesforce's name → Id maps (SELECT Id, Name FROM Profile /
// UserRole). Names match exactly, else case-insensitively when that is unambiguous.
// If any name is unknown it changes nothing and returns an error naming every unknown
// name: a profile missing in Salesforce is a configuration error, not a record's.
func (m *Mapper) ResolveIDs(users []Desired, profileIDs, roleIDs map[string]string) error {
	profiles, perr := resolveNames(users, func(d *Desired) string { return d.Profile }, profileIDs, "profile")
	roles, rerr := resolveNames(users, func(d *Desired) string { return d.Role }, roleIDs, "role")
	if err := errors.Join(perr, rerr); err != nil {
		return err
	}
	for i := range users {
		d := &users[i]
		d.setField(Field{FieldSpec: m.profile.spec, Value: profiles[d.Profile]})
		if d.Role != "" {
			d.setField(Field{FieldSpec: m.role.spec, Value: roles[d.Role]})
		}
	}
	return nil
}

// resolveNames maps every name in use to its Id, or reports all unknown names.
func resolveNames(users []Desired, name func(*Desired) string, ids map[string]string, kind string) (map[string]string, error) {
	resolved := map[string]string{}
	unknown := map[string]bool{}
	for i := range users {
		n := name(&users[i])
		if n == "" || unknown[n] {
			continue
		}
		if _, done := resolved[n]; done {
			continue
		}
		if id, ok := ids[n]; ok {
			resolved[n] = id
			continue
		}
		var matches []string
		for candidate, id := range ids {
			if strings.EqualFold(candidate, n) {
				matches = append(matches, id)
			}
		}
		if len(matches) == 1 {
			resolved[n] = matches[0]
			continue
		}
		unknown[n] = true
	}
	if len(unknown) == 0 {
		return resolved, nil
	}
	names := make([]string, 0, len(unknown))
	for n := range unknown {
		names = append(names, fmt.Sprintf("%q", n))
	}
	sort.Strings(names)
	return nil, fmt.Errorf("mapping.%s: Salesforce has no %s named %s", kind, kind, strings.Join(names, ", "))
}

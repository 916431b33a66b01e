package mapping

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/syncd-io/syncd/internal/source"
)

// EntitlementKind is one kind of Salesforce access syncd grants from IdP groups and
// attributes. The strings are the configuration's keys (singular).
type EntitlementKind string

// Entitlement kinds, in the order a user receives them: a permission set licence before
// the permission sets that need it.
const (
	PermissionSetLicense EntitlementKind = "permission_set_license"
	PermissionSet        EntitlementKind = "permission_set"
	PermissionSetGroup   EntitlementKind = "permission_set_group"
	PublicGroup          EntitlementKind = "public_group"
	Queue                EntitlementKind = "queue"
)

// EntitlementKinds returns every kind in the order a user receives them.
func EntitlementKinds() []EntitlementKind {
	return []EntitlementKind{PermissionSetLicense, PermissionSet, PermissionSetGroup, PublicGroup, Queue}
}

// Deactivation choices for entitlements (mapping.entitlements.on_deactivation).
const (
	// KeepOnDeactivation leaves a deactivated user's assignments in place, as
	// Salesforce itself does: a returner then has them back at once.
	KeepOnDeactivation = "keep"
	// RemoveOnDeactivation removes what syncd granted when a user is deactivated.
	RemoveOnDeactivation = "remove"
)

// EntitlementsConfig is `mapping.entitlements`: which permission sets, permission set
// groups, permission set licences, public groups and queues a person gets, by API name
// (PermissionSet.Name, the others' DeveloperName), from rules over their IdP groups and
// attributes. Every matching rule adds its grants (unlike profile rules, where the
// first match decides).
type EntitlementsConfig struct {
	Rules []EntitlementRule `yaml:"rules"`
	// Exclusive names the permission sets and permission set groups syncd owns
	// outright: an assignment of them the rules do not give is removed, even one an
	// admin made by hand. Every other assignment syncd did not make is left alone.
	Exclusive ExclusiveConfig `yaml:"exclusive"`
	// OnDeactivation is keep (default) or remove: what becomes of what syncd granted
	// to a user who is deactivated.
	OnDeactivation string `yaml:"on_deactivation"`
}

// ExclusiveConfig lists what syncd owns outright.
type ExclusiveConfig struct {
	PermissionSets      []string `yaml:"permission_sets"`
	PermissionSetGroups []string `yaml:"permission_set_groups"`
}

// EntitlementRule grants its lists to every active person who meets every condition
// of When (the same conditions as profile rules: group, or a record attribute).
type EntitlementRule struct {
	When                  map[string]string `yaml:"when"`
	PermissionSets        []string          `yaml:"permission_sets"`
	PermissionSetGroups   []string          `yaml:"permission_set_groups"`
	PermissionSetLicenses []string          `yaml:"permission_set_licenses"`
	PublicGroups          []string          `yaml:"public_groups"`
	Queues                []string          `yaml:"queues"`
}

// byKind returns the rule's names of each kind.
func (r *EntitlementRule) byKind() map[EntitlementKind][]string {
	return map[EntitlementKind][]string{
		PermissionSetLicense: r.PermissionSetLicenses, PermissionSet: r.PermissionSets,
		PermissionSetGroup: r.PermissionSetGroups, PublicGroup: r.PublicGroups, Queue: r.Queues,
	}
}

// Enabled reports whether any rule grants anything: without rules syncd reads and
// writes no entitlement at all.
func (c *EntitlementsConfig) Enabled() bool { return len(c.Rules) > 0 }

// Names returns every API name the configuration mentions, by kind, sorted and
// unique: what must exist in the org.
func (c *EntitlementsConfig) Names() map[EntitlementKind][]string {
	out := map[EntitlementKind][]string{}
	for i := range c.Rules {
		for kind, names := range c.Rules[i].byKind() {
			out[kind] = append(out[kind], names...)
		}
	}
	out[PermissionSet] = append(out[PermissionSet], c.Exclusive.PermissionSets...)
	out[PermissionSetGroup] = append(out[PermissionSetGroup], c.Exclusive.PermissionSetGroups...)
	for kind, names := range out {
		slices.Sort(names)
		out[kind] = slices.Compact(names)
		if len(out[kind]) == 0 {
			delete(out, kind)
		}
	}
	return out
}

// Key returns the configuration key of a kind's lists: permission_sets, queues ...
func (k EntitlementKind) Key() string { return string(k) + "s" }

// validate reports every problem with its key path.
func (c *EntitlementsConfig) validate(attrs attributeNames) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("mapping.entitlements.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.OnDeactivation {
	case "", KeepOnDeactivation, RemoveOnDeactivation:
	default:
		bad("on_deactivation", "%q is not one of keep, remove", c.OnDeactivation)
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		key := fmt.Sprintf("rules[%d]", i)
		errs = append(errs, validateWhen(r.When, "mapping.entitlements."+key, attrs, "an entitlement rule applies to everyone with no condition; give it at least one")...)
		granted := 0
		for _, kind := range EntitlementKinds() {
			for j, name := range r.byKind()[kind] {
				granted++
				if !apiName.MatchString(name) {
					bad(fmt.Sprintf("%s.%s[%d]", key, kind.Key(), j), "%q is not a Salesforce API name (Name or DeveloperName, not the label)", name)
				}
			}
		}
		if granted == 0 {
			bad(key, "grants nothing: list permission_sets, permission_set_groups, permission_set_licenses, public_groups or queues")
		}
	}
	for kind, names := range map[string][]string{"permission_sets": c.Exclusive.PermissionSets, "permission_set_groups": c.Exclusive.PermissionSetGroups} {
		for j, name := range names {
			if !apiName.MatchString(name) {
				bad(fmt.Sprintf("exclusive.%s[%d]", kind, j), "%q is not a Salesforce API name", name)
			}
		}
	}
	if len(c.Rules) == 0 && len(c.Exclusive.PermissionSets)+len(c.Exclusive.PermissionSetGroups) > 0 {
		bad("exclusive", "needs rules: owning a permission set exclusively with no rule granting it would remove every assignment of it")
	}
	return errs
}

// validateWhen checks a rule's conditions: at least one, each naming a known
// attribute and a value. key is the rule's path; empty says why no condition is
// wrong.
func validateWhen(when map[string]string, key string, attrs attributeNames, empty string) []error {
	var errs []error
	if len(when) == 0 {
		errs = append(errs, fmt.Errorf("%s.when: needs at least one condition (%s)", key, empty))
	}
	conditions := make([]string, 0, len(when))
	for k := range when {
		conditions = append(conditions, k)
	}
	sort.Strings(conditions) // errors in a stable order
	for _, k := range conditions {
		switch v := when[k]; {
		case k == "" || v == "":
			errs = append(errs, fmt.Errorf("%s.when: condition %q: %q needs a name and a value", key, k, v))
		case !attrs.known(k):
			errs = append(errs, fmt.Errorf("%s.when.%s: %s", key, k, attrs.unknown(k)))
		}
	}
	return errs
}

// Grant is one entitlement a desired user should hold, and why.
type Grant struct {
	Kind EntitlementKind
	// Name is the API name (PermissionSet.Name, or the DeveloperName of the others).
	Name string
	// Because names the first rule that grants it and its conditions, e.g.
	// `mapping.entitlements.rules[2] (group=Sales)`.
	Because string
}

// entitlementRules are the compiled rules. Users who match the same rules share one
// Grants slice (read-only), so a million users in twenty groups hold twenty slices.
type entitlementRules struct {
	rules []compiledEntitlementRule
}

type compiledEntitlementRule struct {
	match  compiledRule
	grants []Grant
}

func compileEntitlements(c *EntitlementsConfig) entitlementRules {
	var out entitlementRules
	for i := range c.Rules {
		r := &c.Rules[i]
		cr := compiledEntitlementRule{}
		var conds []string
		for k, v := range r.When {
			cr.match.conditions = append(cr.match.conditions, condition{key: k, value: v})
		}
		sort.Slice(cr.match.conditions, func(a, b int) bool { return cr.match.conditions[a].key < cr.match.conditions[b].key })
		for _, c := range cr.match.conditions {
			conds = append(conds, c.key+"="+c.value)
		}
		because := fmt.Sprintf("mapping.entitlements.rules[%d] (%s)", i, strings.Join(conds, ", "))
		for _, kind := range EntitlementKinds() {
			for _, name := range r.byKind()[kind] {
				cr.grants = append(cr.grants, Grant{Kind: kind, Name: name, Because: because})
			}
		}
		out.rules = append(out.rules, cr)
	}
	return out
}

// grantCache shares the Grants of users who match the same rules within one Map call.
type grantCache map[string][]Grant

// grants returns what the matching rules give a record, sorted by kind order then
// name, each entitlement once with the first rule that grants it.
func (e *entitlementRules) grants(r *source.Record, cache grantCache) []Grant {
	if len(e.rules) == 0 {
		return nil
	}
	var matched []int
	var key strings.Builder
	for i := range e.rules {
		if e.rules[i].match.matches(r) {
			matched = append(matched, i)
			fmt.Fprintf(&key, "%d,", i)
		}
	}
	k := key.String()
	if g, ok := cache[k]; ok {
		return g
	}
	var out []Grant
	for _, i := range matched {
		for _, g := range e.rules[i].grants {
			if !slices.ContainsFunc(out, func(x Grant) bool { return x.Kind == g.Kind && x.Name == g.Name }) {
				out = append(out, g)
			}
		}
	}
	order := map[EntitlementKind]int{}
	for i, kind := range EntitlementKinds() {
		order[kind] = i
	}
	slices.SortStableFunc(out, func(a, b Grant) int {
		if a.Kind != b.Kind {
			return order[a.Kind] - order[b.Kind]
		}
		return strings.Compare(a.Name, b.Name)
	})
	cache[k] = out
	return out
}

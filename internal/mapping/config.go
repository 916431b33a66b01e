package mapping

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Field modes, as written in configuration.
const (
	modeAlways   = "always"
	modeOnCreate = "on_create"
)

// DefaultMatch returns the match keys in the default order (see DESIGN.md "Matching
// and ownership"): the stored link, FederationIdentifier, Email, Username.
func DefaultMatch() []string { return []string{"link", "federation_id", "email", "username"} }

// Config is the `mapping:` section of syncd's configuration. internal/config embeds it
// and loads YAML strictly; Validate reports every problem with its key path.
type Config struct {
	// Match lists the keys the reconcile engine matches IdP records to Salesforce users
	// by, in order: link, federation_id, email, username. Empty means all four in that
	// order. Mapping only validates it; reconcile uses it.
	Match []string `yaml:"match"`
	// UsernameSuffix is appended to generated Usernames (and offered to templates as
	// .UsernameSuffix), e.g. ".sandbox": Usernames are unique across all Salesforce orgs,
	// so a sandbox cannot reuse production's.
	UsernameSuffix string `yaml:"username_suffix"`
	// Fields maps a Salesforce User field's API name to where its value comes from.
	// Username, Email, FirstName, LastName, Alias and the four required picklists have
	// defaults (see DefaultFields); configuring one replaces its default.
	Fields map[string]FieldConfig `yaml:"fields"`
	// Profile chooses the ProfileId by name; Salesforce requires one on every user.
	Profile AssignmentConfig `yaml:"profile"`
	// Role chooses the UserRoleId by name; optional (no rules and no default: no role).
	Role AssignmentConfig `yaml:"role"`
	// Attributes declares the additional record attributes (extra CSV columns, JSON
	// keys such as profile.costCenter, other SCIM attributes) that profile and role
	// rules test, e.g. [costCenter, employeeType]. A rule's `when` may name group, the
	// standard attributes (id, userName, email, givenName, familyName, displayName,
	// title, department, managerId, employeeNumber, active) and these; any other name
	// is a configuration error, since a misspelt name would make a rule that silently
	// matches nobody. Names compare case-insensitively.
	Attributes []string `yaml:"attributes"`
	// Entitlements grants permission sets, permission set groups and licences, public
	// groups and queues from IdP groups and attributes (see EntitlementsConfig).
	Entitlements EntitlementsConfig `yaml:"entitlements"`
}

// FieldConfig says how one Salesforce field is filled: from a template over the record
// or a fixed value, always kept in step or only set on create.
type FieldConfig struct {
	// From is a text/template over the record, e.g. "{{ .GivenName | trim }}".
	From string `yaml:"from"`
	// Value is a fixed value.
	Value string `yaml:"value"`
	// Mode is always (default: drift in Salesforce is reverted) or on_create (set once,
	// Salesforce admins may change it later).
	Mode string `yaml:"mode"`
	// MaxLength overrides the field's length limit, for custom fields (characters).
	MaxLength int `yaml:"max_length"`
}

// AssignmentConfig picks a profile or role name by ordered rules, else the default.
type AssignmentConfig struct {
	// Rules are tried in order; the first that matches decides.
	Rules []Rule `yaml:"rules"`
	// Default applies when no rule matches.
	Default string `yaml:"default"`
	// Mode is on_create (default) or always.
	Mode string `yaml:"mode"`
}

// Rule assigns a profile (in profile.rules) or role (in role.rules) to records that meet
// every condition of When. A condition's key is "group" (membership by group name or
// id) or the name of a record attribute (department, title, userName, email,
// employeeNumber, or another attribute declared in mapping.attributes); values compare
// case-insensitively.
type Rule struct {
	When    map[string]string `yaml:"when"`
	Profile string            `yaml:"profile"`
	Role    string            `yaml:"role"`
}

// DefaultFields returns the fields mapping fills when the configuration does not
// mention them: the ones Salesforce requires on create (REQUIRED_FIELD_MISSING names
// them), FirstName, and FederationIdentifier from the IdP id. The last is there because
// federation_id is in the default match order: after a crash between a create and its
// recorded result, the next cycle must find the new user by FederationIdentifier (the
// stable id), not only by an email that may have changed. Alias is generated from the
// names when not configured.
func DefaultFields() map[string]FieldConfig {
	return map[string]FieldConfig{
		"FederationIdentifier": {From: "{{ .ID }}"},
		"Username":             {From: "{{ .Email }}{{ .UsernameSuffix }}"},
		"Email":                {From: "{{ .Email }}"},
		"FirstName":            {From: "{{ .GivenName }}"},
		"LastName":             {From: "{{ .FamilyName }}"},
		"TimeZoneSidKey":       {Value: "America/New_York", Mode: modeOnCreate},
		"LocaleSidKey":         {Value: "en_US", Mode: modeOnCreate},
		"EmailEncodingKey":     {Value: "UTF-8", Mode: modeOnCreate},
		"LanguageLocaleKey":    {Value: "en_US", Mode: modeOnCreate},
	}
}

// apiName is the shape of a Salesforce field API name (custom ones end in __c).
var apiName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// reservedField says why a field is set by Salesforce or syncd itself and never by a
// field mapping; "" for any other field.
func reservedField(name string) string {
	switch name {
	case "Id":
		return "assigned by Salesforce"
	case "IsActive":
		return "managed by syncd (reactivation and deactivation)"
	case "ProfileId":
		return "chosen by mapping.profile by name"
	case "UserRoleId":
		return "chosen by mapping.role by name"
	}
	return ""
}

// Validate reports every problem in the configuration, each with its key path,
// including template syntax errors and templates that fail on a fully populated sample
// record (an unknown field name, a wrong function argument).
func (c *Config) Validate() error {
	_, err := compile(c)
	return err
}

// validateStatic checks everything that needs no template compilation.
func (c *Config) validateStatic() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("mapping.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	for i, k := range c.Match {
		switch {
		case !slices.Contains(DefaultMatch(), k):
			bad(fmt.Sprintf("match[%d]", i), "%q is not one of link, federation_id, email, username", k)
		case seen[k]:
			bad(fmt.Sprintf("match[%d]", i), "%q listed twice", k)
		}
		seen[k] = true
	}
	if c.UsernameSuffix != "" {
		if problem := emailProblem("user@example.com" + c.UsernameSuffix); problem != "" {
			bad("username_suffix", "%q would make every Username malformed: it %s", c.UsernameSuffix, problem)
		}
	}
	names := make([]string, 0, len(c.Fields))
	for name := range c.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f := c.Fields[name]
		key := "fields." + name
		if why := reservedField(name); why != "" {
			bad(key, "cannot be mapped: %s", why)
			continue
		}
		if !apiName.MatchString(name) {
			bad(key, "is not a Salesforce field API name")
		}
		if (f.From == "") == (f.Value == "") {
			bad(key, "needs exactly one of from, value")
		}
		if f.Mode != "" && f.Mode != modeAlways && f.Mode != modeOnCreate {
			bad(key+".mode", "%q is not one of always, on_create", f.Mode)
		}
		if f.MaxLength < 0 {
			bad(key+".max_length", "must not be negative")
		}
	}
	for i, name := range c.Attributes {
		if strings.TrimSpace(name) == "" {
			bad(fmt.Sprintf("attributes[%d]", i), "must not be empty")
		}
	}
	attrs := newAttributeNames(c.Attributes)
	errs = append(errs, c.Profile.validate("profile", "profile", attrs)...)
	errs = append(errs, c.Role.validate("role", "role", attrs)...)
	errs = append(errs, c.Entitlements.validate(attrs)...)
	if c.Profile.Default == "" && len(c.Profile.Rules) == 0 {
		bad("profile", "needs a default or rules: Salesforce requires a profile on every user")
	}
	return errs
}

func (a *AssignmentConfig) validate(section, target string, attrs attributeNames) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("mapping.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if a.Mode != "" && a.Mode != modeAlways && a.Mode != modeOnCreate {
		bad(section+".mode", "%q is not one of always, on_create", a.Mode)
	}
	for i, r := range a.Rules {
		key := fmt.Sprintf("%s.rules[%d]", section, i)
		name, other, otherKey := r.Profile, r.Role, "role"
		if target == "role" {
			name, other, otherKey = r.Role, r.Profile, "profile"
		}
		if name == "" {
			bad(key+"."+target, "required")
		}
		if other != "" {
			bad(key+"."+otherKey, "belongs in mapping.%s.rules", otherKey)
		}
		errs = append(errs, validateWhen(r.When, "mapping."+key, attrs, "use "+section+".default for everyone else")...)
	}
	return errs
}

func parseMode(s string, fallback Mode) Mode {
	switch s {
	case modeAlways:
		return Always
	case modeOnCreate:
		return OnCreate
	}
	return fallback
}

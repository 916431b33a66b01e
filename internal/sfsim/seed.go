package sfsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Seed is the optional document that adds to a fresh org. Every list is optional; names
// (of licenses, profiles, roles, permission sets) refer to records of the fresh org or
// to ones added earlier in the same document. See testdata/seed.json for an example.
type Seed struct {
	// Licenses sets the seat counts of existing licenses or adds new ones.
	Licenses []SeedLicense `json:"licenses,omitempty"`
	// Profiles adds profiles, each on a license.
	Profiles []SeedProfile `json:"profiles,omitempty"`
	// Roles adds roles, each optionally under a parent role.
	Roles []SeedRole `json:"roles,omitempty"`
	// PermissionSets adds permission sets that users may be assigned.
	PermissionSets []SeedPermissionSet `json:"permissionSets,omitempty"`
	// Users adds users. Unlike the API, a seed may repeat a FederationIdentifier, so that
	// an upsert matching several records (HTTP 300) can be reproduced.
	Users []SeedUser `json:"users,omitempty"`
	// Entitlements adds permission set licences, permission set groups, public groups
	// and queues.
	Entitlements *SeedEntitlements `json:"entitlements,omitempty"`
	// TakenUsernames are usernames used in other orgs: creating them here fails with
	// DUPLICATE_USERNAME, as usernames are unique across all of Salesforce.
	TakenUsernames []string `json:"takenUsernames,omitempty"`
}

// SeedLicense names a user license and its number of seats.
type SeedLicense struct {
	Name     string `json:"name"`
	Seats    int64  `json:"seats"`
	UserType string `json:"userType,omitempty"` // for a new license; default Standard
}

// SeedProfile is a profile on a license.
type SeedProfile struct {
	Name    string `json:"name"`
	License string `json:"license"`
}

// SeedRole is a role, optionally under a parent.
type SeedRole struct {
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
}

// SeedPermissionSet is a permission set not owned by a profile.
type SeedPermissionSet struct {
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
	// License names the user licence the permission set is tied to, or
	// PermissionSetLicense the permission set licence it needs; at most one.
	License              string `json:"license,omitempty"`
	PermissionSetLicense string `json:"permissionSetLicense,omitempty"`
}

// SeedUser is a user added by a seed or by Server.AddUsers. Only Username and LastName
// are needed; the other required fields get defaults (Email = Username, Alias from the
// name, America/Los_Angeles, en_US, UTF-8, the Standard User profile).
type SeedUser struct {
	Username             string     `json:"Username"`
	FirstName            string     `json:"FirstName,omitempty"`
	LastName             string     `json:"LastName"`
	Email                string     `json:"Email,omitempty"`
	Alias                string     `json:"Alias,omitempty"`
	CommunityNickname    string     `json:"CommunityNickname,omitempty"`
	Profile              string     `json:"Profile,omitempty"` // profile name
	Role                 string     `json:"Role,omitempty"`    // role name
	IsActive             *bool      `json:"IsActive,omitempty"`
	FederationIdentifier string     `json:"FederationIdentifier,omitempty"`
	Title                string     `json:"Title,omitempty"`
	Department           string     `json:"Department,omitempty"`
	Phone                string     `json:"Phone,omitempty"`
	MobilePhone          string     `json:"MobilePhone,omitempty"`
	EmployeeNumber       string     `json:"EmployeeNumber,omitempty"`
	Manager              string     `json:"Manager,omitempty"` // the manager's username, added earlier
	TimeZoneSidKey       string     `json:"TimeZoneSidKey,omitempty"`
	LocaleSidKey         string     `json:"LocaleSidKey,omitempty"`
	EmailEncodingKey     string     `json:"EmailEncodingKey,omitempty"`
	LanguageLocaleKey    string     `json:"LanguageLocaleKey,omitempty"`
	LastLoginDate        *time.Time `json:"LastLoginDate,omitempty"`
	CreatedDate          *time.Time `json:"CreatedDate,omitempty"`
	// Frozen sets the user's UserLogin.IsFrozen.
	Frozen bool `json:"Frozen,omitempty"`
	// PermissionSets assigns permission sets by name.
	PermissionSets []string `json:"PermissionSets,omitempty"`
	// Blockers are reasons the user cannot be deactivated, completing the sentence
	// "You cannot deactivate a user who is ...", e.g. "the default owner of cases".
	Blockers []string `json:"Blockers,omitempty"`
	// Custom sets custom fields (Options.CustomFields) by API name: a string for a
	// text field ("" is null), a boolean for a checkbox.
	Custom map[string]any `json:"Custom,omitempty"`
}

// Common deactivation blockers, worded to complete Salesforce's message.
const (
	BlockerDefaultCaseOwner = "the default owner of cases"
	BlockerDefaultLeadOwner = "the default lead creator or owner of Web-to-Lead"
	BlockerWorkflowUser     = "the default workflow user"
	BlockerAutomatedCase    = "the automated case user"
	BlockerApprover         = "an approver or delegated approver in an approval process"
)

// ParseSeed reads a seed document, refusing unknown keys so that a typo is not
// silently ignored.
func ParseSeed(data []byte) (*Seed, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Seed
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("parse seed: %w", err)
	}
	return &s, nil
}

// freshSeed is what a fresh org holds besides the integration user: the standard
// licenses, profiles and roles, and two permission sets.
func freshSeed() *Seed {
	return &Seed{
		Licenses: []SeedLicense{
			{Name: "Salesforce", Seats: 1000, UserType: "Standard"},
			{Name: "Salesforce Platform", Seats: 100, UserType: "Standard"},
			{Name: "Chatter Free", Seats: 5000, UserType: "CsnOnly"},
			{Name: "Identity", Seats: 100, UserType: "Standard"},
		},
		Profiles: []SeedProfile{
			{Name: "System Administrator", License: "Salesforce"},
			{Name: "Standard User", License: "Salesforce"},
			{Name: "Read Only", License: "Salesforce"},
			{Name: "Solution Manager", License: "Salesforce"},
			{Name: "Marketing User", License: "Salesforce"},
			{Name: "Contract Manager", License: "Salesforce"},
			{Name: "Minimum Access - Salesforce", License: "Salesforce"},
			{Name: "Standard Platform User", License: "Salesforce Platform"},
			{Name: "Chatter Free User", License: "Chatter Free"},
			{Name: "Identity User", License: "Identity"},
		},
		Roles: []SeedRole{
			{Name: "CEO"},
			{Name: "VP Sales", Parent: "CEO"},
			{Name: "VP Marketing", Parent: "CEO"},
			{Name: "Sales Rep", Parent: "VP Sales"},
		},
		PermissionSets: []SeedPermissionSet{
			{Name: "Sales_Ops", Label: "Sales Ops"},
			{Name: "API_Only", Label: "API Only"},
		},
	}
}

// newFreshOrg builds an org with the standard licenses, profiles and roles and the
// integration user (a System Administrator).
func newFreshOrg(s *schema, integrationUser string, now time.Time) (*org, error) {
	o := newOrg(s)
	o.addOrganization()
	if err := o.applySeed(freshSeed(), now); err != nil {
		return nil, err
	}
	p, _ := o.findByName(s.profile, "System Administrator")
	o.sysAdminID = p.id()
	ids, err := o.addUsers([]SeedUser{{
		Username: integrationUser, FirstName: "Integration", LastName: "User",
		Alias: "integ", Profile: "System Administrator", Title: "API integration",
	}}, now)
	if err != nil {
		return nil, fmt.Errorf("integration user: %w", err)
	}
	o.integrationUser = ids[0]
	return o, nil
}

// applySeed adds a seed document's records. It stops at the first bad entry; the org
// is then incomplete, so callers discard it.
func (o *org) applySeed(seed *Seed, now time.Time) error {
	s := o.s
	stamps := map[string]any{"LastModifiedDate": now, "SystemModstamp": now}
	with := func(m map[string]any) map[string]any {
		for k, v := range stamps {
			m[k] = v
		}
		return m
	}
	for _, l := range seed.Licenses {
		if l.Name == "" || l.Seats < 0 {
			return fmt.Errorf("license %q: a name and a non-negative seat count are needed", l.Name)
		}
		if r, ok := o.findByName(s.license, l.Name); ok {
			if used, _ := o.seats(r); used > l.Seats {
				return fmt.Errorf("license %q: %d seats are already used, more than %d", l.Name, used, l.Seats)
			}
			r.vals[s.license.mustIndex("TotalLicenses")] = l.Seats
			continue
		}
		userType := l.UserType
		if userType == "" {
			userType = "Standard"
		}
		r := o.insert(s.license, with(map[string]any{
			"Name": l.Name, "MasterLabel": l.Name,
			"LicenseDefinitionKey": strings.ToUpper(strings.ReplaceAll(l.Name, " ", "_")),
			"Status":               "Active", "TotalLicenses": l.Seats, "UsedLicenses": int64(0),
			"CreatedDate": now,
		}))
		o.licenseUserType[r.id()] = userType
	}
	for _, p := range seed.Profiles {
		if p.Name == "" {
			return errors.New("profile without a name")
		}
		if _, dup := o.findByName(s.profile, p.Name); dup {
			return fmt.Errorf("profile %q exists already", p.Name)
		}
		l, ok := o.findByName(s.license, p.License)
		if !ok {
			return fmt.Errorf("profile %q: no license named %q", p.Name, p.License)
		}
		pr := o.insert(s.profile, with(map[string]any{
			"Name": p.Name, "UserLicenseId": l.id(), "UserType": o.licenseUserType[l.id()], "CreatedDate": now,
		}))
		o.insert(s.permSet, map[string]any{
			"Name": "X00ex" + pr.id()[5:15], "Label": p.Name, "IsOwnedByProfile": true,
			"ProfileId": pr.id(), "SystemModstamp": now,
		})
	}
	for _, r := range seed.Roles {
		if r.Name == "" {
			return errors.New("role without a name")
		}
		if _, dup := o.findByName(s.role, r.Name); dup {
			return fmt.Errorf("role %q exists already", r.Name)
		}
		var parent any
		if r.Parent != "" {
			p, ok := o.findByName(s.role, r.Parent)
			if !ok {
				return fmt.Errorf("role %q: no parent role named %q", r.Name, r.Parent)
			}
			parent = p.id()
		}
		o.insert(s.role, with(map[string]any{
			"Name": r.Name, "DeveloperName": strings.ReplaceAll(r.Name, " ", "_"), "ParentRoleId": parent,
		}))
	}
	if err := o.seedEntitlements(seed.Entitlements); err != nil {
		return err
	}
	for _, ps := range seed.PermissionSets {
		if ps.Name == "" {
			return errors.New("permission set without a name")
		}
		if _, dup := o.findByName(s.permSet, ps.Name); dup {
			return fmt.Errorf("permission set %q exists already", ps.Name)
		}
		label := ps.Label
		if label == "" {
			label = ps.Name
		}
		lic, err := o.permissionSetLicence(ps)
		if err != nil {
			return err
		}
		o.insert(s.permSet, map[string]any{"Name": ps.Name, "Label": label, "IsOwnedByProfile": false, "SystemModstamp": now,
			"LicenseId": lic, "Type": "Regular", "IsCustom": true})
	}
	for _, u := range seed.TakenUsernames {
		o.takenElsewhere[strings.ToLower(u)] = true
	}
	if _, err := o.addUsers(seed.Users, now); err != nil {
		return err
	}
	return nil
}

// addUsers adds seed users directly, without the API's request decoding but with its
// rules on usernames, emails, references and seats. FederationIdentifier may repeat.
// On error, the users before the failing one stay added.
func (o *org) addUsers(users []SeedUser, now time.Time) ([]string, error) {
	s := o.s
	f := o.uf
	ids := make([]string, 0, len(users))
	for n, u := range users {
		fail := func(format string, args ...any) error {
			return fmt.Errorf("user %d (%s): %s", n, u.Username, fmt.Sprintf(format, args...))
		}
		profileName := u.Profile
		if profileName == "" {
			profileName = "Standard User"
		}
		profile, ok := o.findByName(s.profile, profileName)
		if !ok {
			return ids, fail("no profile named %q", profileName)
		}
		next := make([]any, len(s.user.fields))
		set := func(i int, v string) {
			if v != "" {
				next[i] = v
			}
		}
		set(f.username, strings.ToLower(u.Username))
		set(f.lastName, u.LastName)
		set(f.firstName, u.FirstName)
		set(f.email, orDefault(u.Email, u.Username))
		set(f.alias, orDefault(u.Alias, defaultAlias(u.FirstName, u.LastName)))
		set(f.nickname, u.CommunityNickname)
		next[f.profileID] = profile.id()
		set(f.fedID, u.FederationIdentifier)
		for _, v := range []struct{ name, value string }{
			{"Title", u.Title}, {"Department", u.Department}, {"Phone", u.Phone},
			{"MobilePhone", u.MobilePhone}, {"EmployeeNumber", u.EmployeeNumber},
			{"TimeZoneSidKey", orDefault(u.TimeZoneSidKey, "America/Los_Angeles")},
			{"LocaleSidKey", orDefault(u.LocaleSidKey, "en_US")},
			{"EmailEncodingKey", orDefault(u.EmailEncodingKey, "UTF-8")},
			{"LanguageLocaleKey", orDefault(u.LanguageLocaleKey, "en_US")},
		} {
			set(s.user.mustIndex(v.name), v.value)
		}
		if u.Role != "" {
			role, ok := o.findByName(s.role, u.Role)
			if !ok {
				return ids, fail("no role named %q", u.Role)
			}
			next[f.roleID] = role.id()
		}
		if u.Manager != "" {
			m, ok := o.usernames[strings.ToLower(u.Manager)]
			if !ok {
				return ids, fail("no manager with username %q (add managers first)", u.Manager)
			}
			next[f.managerID] = m.id()
		}
		next[f.isActive] = u.IsActive == nil || *u.IsActive
		if err := o.setCustom(next, u.Custom); err != nil {
			return ids, fail("%v", err)
		}
		if u.LastLoginDate != nil {
			next[f.lastLogin] = u.LastLoginDate.UTC()
		}
		// Check what the API checks, except FederationIdentifier's uniqueness.
		changed := make([]bool, len(next))
		for i := range next {
			if i != f.fedID {
				changed[i] = true
			}
		}
		if errs := o.validateUser(next, nil, changed, nil); errs != nil {
			return ids, fail("%s", errs[0].Error())
		}
		created := now
		if u.CreatedDate != nil {
			created = u.CreatedDate.UTC()
		}
		actor := o.integrationUser
		next[f.id] = o.newID(prefixUser)
		if actor == "" {
			actor = next[f.id].(string)
		}
		o.stampUser(next, true, writeContext{actor: actor, now: created})
		r := &row{def: s.user}
		o.setUser(r, nil, next)
		login := o.insert(s.login, map[string]any{
			"UserId": r.id(), "IsFrozen": u.Frozen, "IsPasswordLocked": false,
			"LastModifiedDate": created, "LastModifiedById": actor,
		})
		o.loginByUser[r.id()] = login
		for _, name := range u.PermissionSets {
			ps, ok := o.findByName(s.permSet, name)
			if !ok {
				return ids, fail("no permission set named %q", name)
			}
			o.insert(s.permSetAssignment, map[string]any{"AssigneeId": r.id(), "PermissionSetId": ps.id(), "IsActive": true, "SystemModstamp": created})
		}
		if len(u.Blockers) > 0 {
			o.blockers[r.id()] = append([]string(nil), u.Blockers...)
		}
		ids = append(ids, r.id())
	}
	return ids, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// defaultAlias builds an alias as Salesforce's UI does: the first letter of the first
// name and the start of the last name, at most 8 characters.
func defaultAlias(first, last string) string {
	alias := ""
	if r := []rune(first); len(r) > 0 {
		alias = string(r[0])
	}
	alias += last
	if r := []rune(alias); len(r) > 8 {
		alias = string(r[:8])
	}
	return strings.ToLower(alias)
}

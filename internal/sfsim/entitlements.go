package sfsim

import (
	"fmt"

	"github.com/syncd-io/syncd/internal/sfsim/soql"
)

// Key prefixes of the entitlement objects.
const (
	prefixPermissionSetGroup         = "0PG"
	prefixPermissionSetLicense       = "0PL"
	prefixPermissionSetLicenseAssign = "2LA"
	prefixGroup                      = "00G"
	prefixGroupMember                = "011"
)

// entitlementObjects are the objects access is granted through (salesforce-second-
// wave.md §5): permission set groups, permission set licences and their assignments,
// public groups and queues (Group, by Type) and their members. PermissionSet and
// PermissionSetAssignment are defined with the schema; entitle gives the latter its
// rules.
func entitlementObjects() []*objectDef {
	psg := newObjectDef("PermissionSetGroup", prefixPermissionSetGroup, nil,
		idField(),
		readonly(text("DeveloperName", "Developer Name", 80)),
		readonly(text("MasterLabel", "Label", 80)),
		readonly(text("Status", "Status", 40)),
	)
	psl := newObjectDef("PermissionSetLicense", prefixPermissionSetLicense, nil,
		idField(),
		readonly(text("DeveloperName", "Developer Name", 80)),
		readonly(text("MasterLabel", "Label", 80)),
		readonly(text("Status", "Status", 40)),
		integer("TotalLicenses", "Total Licenses"),
		integer("UsedLicenses", "Used Licenses"),
	)
	psla := newObjectDef("PermissionSetLicenseAssign", prefixPermissionSetLicenseAssign, []soql.Relationship{
		{Name: "Assignee", Field: "AssigneeId", Object: "User"},
		{Name: "PermissionSetLicense", Field: "PermissionSetLicenseId", Object: "PermissionSetLicense"},
	},
		idField(),
		required(createOnlyField(ref("AssigneeId", "Assignee ID", "User"))),
		required(createOnlyField(ref("PermissionSetLicenseId", "Permission Set License ID", "PermissionSetLicense"))),
		datetime("SystemModstamp", "System Modstamp"),
	)
	group := newObjectDef("Group", prefixGroup, nil,
		idField(),
		readonly(text("Name", "Name", 40)),
		readonly(text("DeveloperName", "Developer Name", 80)),
		readonly(text("Type", "Type", 40)),
	)
	member := newObjectDef("GroupMember", prefixGroupMember, []soql.Relationship{
		{Name: "Group", Field: "GroupId", Object: "Group"},
	},
		idField(),
		required(createOnlyField(ref("GroupId", "Group ID", "Group"))),
		required(createOnlyField(ref("UserOrGroupId", "User/Group ID", "User"))),
		datetime("SystemModstamp", "System Modstamp"),
	)
	psla.ops = objectOps{create: createLicenseAssign, delete: deleteLicenseAssign}
	member.ops = objectOps{create: createGroupMember, delete: deleteRecord}
	return []*objectDef{psg, psl, psla, group, member}
}

// createOnlyField makes a field settable on create only, as an assignment's
// assignee and target are.
func createOnlyField(f fieldDef) fieldDef { f.access = createOnly; return f }

// entitleAssignments gives PermissionSetAssignment its rules: one of a permission
// set or a group, no duplicate, and the licence the permission set needs.
func entitleAssignments(d *objectDef) {
	d.ops = objectOps{create: createPermissionSetAssignment, delete: deleteRecord}
}

// sameRow finds a row of d other than not whose fields a and b hold the given
// values: an assignment of the same thing to the same user.
func (o *org) sameRow(d *objectDef, not *row, a string, av any, b string, bv any) *row {
	ia, ib := d.mustIndex(a), d.mustIndex(b)
	for _, r := range o.tables[d].rows {
		if r != not && r.vals[ia] == av && r.vals[ib] == bv {
			return r
		}
	}
	return nil
}

// twin finds another row of r's object with r's values of fields a and b.
func (o *org) twin(r *row, a, b string) *row {
	return o.sameRow(r.def, r, a, r.vals[r.def.mustIndex(a)], b, r.vals[r.def.mustIndex(b)])
}

// createPermissionSetAssignment assigns exactly one of a permission set or a
// permission set group, refusing a duplicate ("Duplicate PermissionSetAssignment")
// and a permission set whose licence the user cannot hold.
func createPermissionSetAssignment(o *org, d *objectDef, values map[int]any, w writeContext) (*row, func(), []apiError) {
	ps, psg := values[d.mustIndex("PermissionSetId")], values[d.mustIndex("PermissionSetGroupId")]
	if (ps == nil) == (psg == nil) {
		return nil, nil, []apiError{badRequest("FIELD_INTEGRITY_EXCEPTION",
			"Specify either a permission set or a permission set group, not both.", "PermissionSetId", "PermissionSetGroupId")}
	}
	values[d.mustIndex("IsActive")] = true
	r, undo, errs := createRecord(o, d, values, w)
	if errs != nil {
		return nil, nil, errs
	}
	field := "PermissionSetId"
	if ps == nil {
		field = "PermissionSetGroupId"
	}
	if o.twin(r, "AssigneeId", field) != nil {
		undo()
		return nil, nil, []apiError{badRequest("DUPLICATE_VALUE", "Duplicate PermissionSetAssignment")}
	}
	if ps != nil {
		if errs := o.checkPermissionSetLicence(r.str(d.mustIndex(field)), r.str(d.mustIndex("AssigneeId"))); errs != nil {
			undo()
			return nil, nil, errs
		}
	}
	return r, undo, nil
}

// checkPermissionSetLicence refuses a permission set the user cannot hold: one on
// another user licence than the profile's, or one whose permission set licence the
// user lacks.
func (o *org) checkPermissionSetLicence(psID, userID string) []apiError {
	ps, okPS := o.tables[o.s.permSet].byID[psID]
	user, okUser := o.tables[o.s.user].byID[userID]
	if !okPS || !okUser {
		return nil // checkRef has answered already
	}
	lic := ps.str(ps.def.mustIndex("LicenseId"))
	if lic == "" {
		return nil
	}
	name, username := ps.str(ps.def.mustIndex("Name")), user.str(o.uf.username)
	switch lic[:3] {
	case prefixUserLicense:
		if l := o.licenseOf(user.str(o.uf.profileID)); l == nil || l.id() != lic {
			return []apiError{badRequest("FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf(
				"Can't assign permission set %s to user %s. The user license doesn't allow the permission: %s", name, username, name))}
		}
	case prefixPermissionSetLicense:
		d, _ := o.s.object("PermissionSetLicenseAssign")
		if o.sameRow(d, nil, "AssigneeId", userID, "PermissionSetLicenseId", lic) == nil {
			return []apiError{badRequest("FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf(
				"Can't assign permission set %s to user %s. The permission set contains an object that requires a license. "+
					"Before continuing, assign the user to the related permission set license.", name, username))}
		}
	}
	return nil
}

// createLicenseAssign assigns a permission set licence while it has a free seat.
func createLicenseAssign(o *org, d *objectDef, values map[int]any, w writeContext) (*row, func(), []apiError) {
	r, undo, errs := createRecord(o, d, values, w)
	if errs != nil {
		return nil, nil, errs
	}
	if o.twin(r, "AssigneeId", "PermissionSetLicenseId") != nil {
		undo()
		return nil, nil, []apiError{badRequest("DUPLICATE_VALUE", "duplicate value found: the user already has this permission set license")}
	}
	lic := r.str(d.mustIndex("PermissionSetLicenseId"))
	l := o.tables[o.s.byPrefix[prefixPermissionSetLicense]].byID[lic]
	used, total := l.def.mustIndex("UsedLicenses"), l.def.mustIndex("TotalLicenses")
	if l.vals[used].(int64) >= l.vals[total].(int64) {
		undo()
		return nil, nil, []apiError{badRequest("LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded")}
	}
	l.vals[used] = l.vals[used].(int64) + 1
	return r, func() { l.vals[used] = l.vals[used].(int64) - 1; undo() }, nil
}

// deleteLicenseAssign frees the seat of a permission set licence.
func deleteLicenseAssign(o *org, r *row, w writeContext) (func(), []apiError) {
	undo, errs := deleteRecord(o, r, w)
	if errs != nil {
		return nil, errs
	}
	l := o.tables[o.s.byPrefix[prefixPermissionSetLicense]].byID[r.str(r.def.mustIndex("PermissionSetLicenseId"))]
	used := l.def.mustIndex("UsedLicenses")
	l.vals[used] = l.vals[used].(int64) - 1
	return func() { l.vals[used] = l.vals[used].(int64) + 1; undo() }, nil
}

// createGroupMember adds a member; a member already there is returned as created,
// as Salesforce does ("the system simply returns the existing record").
func createGroupMember(o *org, d *objectDef, values map[int]any, w writeContext) (*row, func(), []apiError) {
	r, undo, errs := createRecord(o, d, values, w)
	if errs != nil {
		return nil, nil, errs
	}
	if other := o.twin(r, "GroupId", "UserOrGroupId"); other != nil {
		undo()
		return other, func() {}, nil
	}
	return r, undo, nil
}

// SeedEntitlements are the permission set licences, permission set groups, public
// groups and queues of a seed. Permission sets are Seed.PermissionSets.
type SeedEntitlements struct {
	PermissionSetLicenses []SeedPermissionSetLicense `json:"permissionSetLicenses,omitempty"`
	PermissionSetGroups   []string                   `json:"permissionSetGroups,omitempty"`
	// Groups are public groups (Type Regular) and queues (Type Queue).
	Groups []SeedGroup `json:"groups,omitempty"`
}

// SeedPermissionSetLicense is a permission set licence with its seats.
type SeedPermissionSetLicense struct {
	Name  string `json:"name"`
	Seats int64  `json:"seats"`
}

// SeedGroup is a public group or a queue.
type SeedGroup struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"` // Regular (default) or Queue
}

// seedEntitlements adds a seed's entitlement objects, before its permission sets
// (which may need a licence) and users.
func (o *org) seedEntitlements(e *SeedEntitlements) error {
	if e == nil {
		return nil
	}
	byDev := func(prefix, name string) bool {
		d := o.s.byPrefix[prefix]
		i := d.mustIndex("DeveloperName")
		for _, r := range o.tables[d].rows {
			if r.str(i) == name {
				return true
			}
		}
		return false
	}
	for _, l := range e.PermissionSetLicenses {
		if l.Name == "" || byDev(prefixPermissionSetLicense, l.Name) {
			return fmt.Errorf("permission set licence %q: empty or exists already", l.Name)
		}
		o.insert(o.s.byPrefix[prefixPermissionSetLicense], map[string]any{"DeveloperName": l.Name, "MasterLabel": l.Name,
			"Status": "Active", "TotalLicenses": l.Seats, "UsedLicenses": int64(0)})
	}
	for _, name := range e.PermissionSetGroups {
		if name == "" || byDev(prefixPermissionSetGroup, name) {
			return fmt.Errorf("permission set group %q: empty or exists already", name)
		}
		o.insert(o.s.byPrefix[prefixPermissionSetGroup], map[string]any{"DeveloperName": name, "MasterLabel": name, "Status": "Updated"})
	}
	for _, g := range e.Groups {
		typ := g.Type
		if typ == "" {
			typ = "Regular"
		}
		if typ != "Regular" && typ != "Queue" {
			return fmt.Errorf("group %q: type %q is neither Regular nor Queue", g.Name, g.Type)
		}
		if g.Name == "" || byDev(prefixGroup, g.Name) {
			return fmt.Errorf("group %q: empty or exists already", g.Name)
		}
		o.insert(o.s.byPrefix[prefixGroup], map[string]any{"Name": g.Name, "DeveloperName": g.Name, "Type": typ})
	}
	return nil
}

// permissionSetLicence resolves a seeded permission set's licence: a user licence
// or a permission set licence by name; nil for none.
func (o *org) permissionSetLicence(ps SeedPermissionSet) (any, error) {
	switch {
	case ps.License != "" && ps.PermissionSetLicense != "":
		return nil, fmt.Errorf("permission set %q: give license or permissionSetLicense, not both", ps.Name)
	case ps.License != "":
		l, ok := o.findByName(o.s.license, ps.License)
		if !ok {
			return nil, fmt.Errorf("permission set %q: no user license named %q", ps.Name, ps.License)
		}
		return l.id(), nil
	case ps.PermissionSetLicense != "":
		d := o.s.byPrefix[prefixPermissionSetLicense]
		i := d.mustIndex("DeveloperName")
		for _, r := range o.tables[d].rows {
			if r.str(i) == ps.PermissionSetLicense {
				return r.id(), nil
			}
		}
		return nil, fmt.Errorf("permission set %q: no permission set license named %q", ps.Name, ps.PermissionSetLicense)
	}
	return nil, nil
}

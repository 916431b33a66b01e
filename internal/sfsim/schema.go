package sfsim

import (
	"strings"
	"time"
	_ "time/tzdata" // validTimeZone must not depend on the host's zone files

	"github.com/syncd-io/syncd/internal/sfsim/soql"
)

// access says whether the API may write a field.
type access int

const (
	readOnly   access = iota
	writable          // createable and updateable
	createOnly        // createable, not updateable (the assignee of an assignment, say)
)

// kind refines a field's SOQL type for validation.
type kind int

const (
	kindText kind = iota
	kindEmail
	kindUsername // email-shaped, stored lower-case, unique across orgs
	kindRef      // an Id of the object named by fieldDef.ref
	kindBool
	kindInt
	kindDateTime
	kindDate
)

// fieldDef describes one field of a simulated object.
type fieldDef struct {
	name     string
	label    string // as Salesforce names the field in error messages
	kind     kind
	length   int // maximum length of text values; 0 for non-text fields
	access   access
	required bool   // on create
	ref      string // the referenced object for kindRef
	// allowed checks the value of a restricted picklist; nil for other fields.
	allowed func(string) bool
}

// soqlType maps a field's kind to the parser's types.
func (f *fieldDef) soqlType() soql.FieldType {
	if f.name == "Id" {
		return soql.TypeID
	}
	switch f.kind {
	case kindBool:
		return soql.TypeBoolean
	case kindInt:
		return soql.TypeInt
	case kindDateTime:
		return soql.TypeDateTime
	case kindDate:
		return soql.TypeDate
	case kindRef:
		return soql.TypeID
	default:
		return soql.TypeString
	}
}

// objectDef describes one simulated sObject type: its fields in their canonical order
// (the order a GET of the whole record renders) and its parent relationships.
type objectDef struct {
	name    string
	prefix  string
	fields  []fieldDef
	parents []soql.Relationship
	index   map[string]int // lower-case field name → position in fields and row values
	ops     objectOps      // the writes the API allows; none unless set
	exact   map[string]int // canonical field name → position, for the simulator's own lookups
	soql    *soql.Object
}

func newObjectDef(name, prefix string, parents []soql.Relationship, fields ...fieldDef) *objectDef {
	d := &objectDef{name: name, prefix: prefix, fields: fields, parents: parents, index: map[string]int{}, exact: map[string]int{}}
	so := &soql.Object{Name: name, Parents: parents}
	for i := range fields {
		d.index[strings.ToLower(fields[i].name)] = i
		d.exact[fields[i].name] = i
		so.Fields = append(so.Fields, soql.Field{Name: fields[i].name, Type: fields[i].soqlType()})
	}
	d.soql = so
	return d
}

// field finds a field by name, case-insensitively.
func (d *objectDef) field(name string) (int, *fieldDef, bool) {
	i, ok := d.index[strings.ToLower(name)]
	if !ok {
		return 0, nil, false
	}
	return i, &d.fields[i], true
}

// mustIndex is the position of a field the simulator itself names, in its canonical
// case; a typo is a bug.
func (d *objectDef) mustIndex(name string) int {
	i, ok := d.exact[name]
	if !ok {
		panic("sfsim: object " + d.name + " has no field " + name)
	}
	return i
}

// parent finds a relationship by its canonical name.
func (d *objectDef) parent(name string) (soql.Relationship, bool) {
	for _, p := range d.parents {
		if p.Name == name {
			return p, true
		}
	}
	return soql.Relationship{}, false
}

func text(name, label string, length int) fieldDef {
	return fieldDef{name: name, label: label, kind: kindText, length: length, access: writable}
}

func required(f fieldDef) fieldDef { f.required = true; return f }

// picklist restricts a text field to the values allowed accepts.
func picklist(f fieldDef, allowed func(string) bool) fieldDef { f.allowed = allowed; return f }

// validTimeZone accepts the IANA zone names Salesforce's Time Zone picklist holds
// (and GMT). The zone database is embedded in the binary through time/tzdata.
func validTimeZone(v string) bool {
	if v != "GMT" && !strings.Contains(v, "/") {
		return false
	}
	_, err := time.LoadLocation(v)
	return err == nil
}

// validLocale accepts locale and language keys of Salesforce's shape: en, en_US,
// zh_CN, sr_Latn_RS. The simulator checks the shape, not Salesforce's exact list.
func validLocale(v string) bool {
	parts := strings.Split(v, "_")
	if len(parts) > 3 || len(parts[0]) < 2 || len(parts[0]) > 3 || strings.ToLower(parts[0]) != parts[0] {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 2 || len(p) > 4 {
			return false
		}
	}
	return true
}

// validEmailEncoding accepts the values of Salesforce's Email Encoding picklist.
func validEmailEncoding(v string) bool {
	switch v {
	case "UTF-8", "ISO-8859-1", "Shift_JIS", "ISO-2022-JP", "EUC-JP", "ks_c_5601-1987", "Big5", "GB2312", "Big5-HKSCS", "x-SJIS_0213":
		return true
	}
	return false
}

func readonly(f fieldDef) fieldDef { f.access = readOnly; return f }

func ref(name, label, object string) fieldDef {
	return fieldDef{name: name, label: label, kind: kindRef, length: 18, access: writable, ref: object}
}

func boolean(name, label string) fieldDef {
	return fieldDef{name: name, label: label, kind: kindBool, access: writable}
}

func datetime(name, label string) fieldDef {
	return fieldDef{name: name, label: label, kind: kindDateTime, access: readOnly}
}

func integer(name, label string) fieldDef {
	return fieldDef{name: name, label: label, kind: kindInt, access: readOnly}
}

func idField() fieldDef {
	return readonly(fieldDef{name: "Id", label: "Id", kind: kindText, length: 18})
}

// schema holds the simulated objects. It is built once per Server and never changes,
// so it is shared without locking.
type schema struct {
	objects  map[string]*objectDef // by lower-case name
	byPrefix map[string]*objectDef

	user, profile, role, license, login, permSet, permSetAssignment *objectDef
	organization                                                    *objectDef
}

func newSchema() *schema {
	user := newObjectDef("User", prefixUser, []soql.Relationship{
		{Name: "Profile", Field: "ProfileId", Object: "Profile"},
		{Name: "UserRole", Field: "UserRoleId", Object: "UserRole"},
		{Name: "Manager", Field: "ManagerId", Object: "User"},
		{Name: "CreatedBy", Field: "CreatedById", Object: "User"},
		{Name: "LastModifiedBy", Field: "LastModifiedById", Object: "User"},
	},
		idField(),
		required(fieldDef{name: "Username", label: "Username", kind: kindUsername, length: 80, access: writable}),
		required(text("LastName", "Last Name", 80)),
		text("FirstName", "First Name", 40),
		readonly(text("Name", "Full Name", 121)),
		required(fieldDef{name: "Email", label: "Email", kind: kindEmail, length: 128, access: writable}),
		required(text("Alias", "Alias", 8)),
		text("CommunityNickname", "Nickname", 40),
		required(ref("ProfileId", "Profile ID", "Profile")),
		ref("UserRoleId", "Role ID", "UserRole"),
		required(picklist(text("TimeZoneSidKey", "Time Zone", 40), validTimeZone)),
		required(picklist(text("LocaleSidKey", "Locale", 40), validLocale)),
		required(picklist(text("EmailEncodingKey", "Email Encoding", 40), validEmailEncoding)),
		required(picklist(text("LanguageLocaleKey", "Language", 40), validLocale)),
		boolean("IsActive", "Active"),
		text("FederationIdentifier", "SAML Federation ID", 512),
		text("Title", "Title", 80),
		text("Department", "Department", 80),
		text("Division", "Division", 80),
		text("CompanyName", "Company Name", 80),
		text("Phone", "Phone", 40),
		text("MobilePhone", "Mobile", 40),
		text("EmployeeNumber", "Employee Number", 20),
		ref("ManagerId", "Manager ID", "User"),
		readonly(text("UserType", "User Type", 40)),
		datetime("LastLoginDate", "Last Login"),
		datetime("CreatedDate", "Created Date"),
		readonly(ref("CreatedById", "Created By ID", "User")),
		datetime("LastModifiedDate", "Last Modified Date"),
		readonly(ref("LastModifiedById", "Last Modified By ID", "User")),
		datetime("SystemModstamp", "System Modstamp"),
	)
	license := newObjectDef("UserLicense", prefixUserLicense, nil,
		idField(),
		readonly(text("Name", "Name", 80)),
		readonly(text("MasterLabel", "Master Label", 80)),
		readonly(text("LicenseDefinitionKey", "License Definition Key", 40)),
		readonly(text("Status", "Status", 40)),
		integer("TotalLicenses", "Total Licenses"),
		integer("UsedLicenses", "Used Licenses"),
		datetime("CreatedDate", "Created Date"),
		datetime("LastModifiedDate", "Last Modified Date"),
		datetime("SystemModstamp", "System Modstamp"),
	)
	profile := newObjectDef("Profile", prefixProfile, []soql.Relationship{
		{Name: "UserLicense", Field: "UserLicenseId", Object: "UserLicense"},
	},
		idField(),
		readonly(text("Name", "Name", 255)),
		readonly(ref("UserLicenseId", "User License ID", "UserLicense")),
		readonly(text("UserType", "User Type", 40)),
		readonly(text("Description", "Description", 255)),
		datetime("CreatedDate", "Created Date"),
		datetime("LastModifiedDate", "Last Modified Date"),
		datetime("SystemModstamp", "System Modstamp"),
	)
	role := newObjectDef("UserRole", prefixUserRole, []soql.Relationship{
		{Name: "ParentRole", Field: "ParentRoleId", Object: "UserRole"},
	},
		idField(),
		readonly(text("Name", "Name", 80)),
		readonly(text("DeveloperName", "Developer Name", 80)),
		readonly(ref("ParentRoleId", "Parent Role ID", "UserRole")),
		datetime("LastModifiedDate", "Last Modified Date"),
		datetime("SystemModstamp", "System Modstamp"),
	)
	login := newObjectDef("UserLogin", prefixUserLogin, nil,
		idField(),
		readonly(ref("UserId", "User ID", "User")),
		boolean("IsFrozen", "Is Frozen"),
		boolean("IsPasswordLocked", "Is Password Locked"),
		datetime("LastModifiedDate", "Last Modified Date"),
		readonly(ref("LastModifiedById", "Last Modified By ID", "User")),
	)
	permSet := newObjectDef("PermissionSet", prefixPermissionSet, []soql.Relationship{
		{Name: "Profile", Field: "ProfileId", Object: "Profile"},
	},
		idField(),
		readonly(text("Name", "Name", 80)),
		readonly(text("Label", "Label", 80)),
		readonly(boolean("IsOwnedByProfile", "Is Owned By Profile")),
		readonly(ref("ProfileId", "Profile ID", "Profile")),
		readonly(fieldDef{name: "LicenseId", label: "License ID", kind: kindRef, length: 18}),
		readonly(text("Type", "Type", 40)),
		readonly(boolean("IsCustom", "Custom")),
		datetime("SystemModstamp", "System Modstamp"),
	)
	permSetAssignment := newObjectDef("PermissionSetAssignment", prefixPermissionSetAssignment, []soql.Relationship{
		{Name: "Assignee", Field: "AssigneeId", Object: "User"},
		{Name: "PermissionSet", Field: "PermissionSetId", Object: "PermissionSet"},
		{Name: "PermissionSetGroup", Field: "PermissionSetGroupId", Object: "PermissionSetGroup"},
	},
		idField(),
		required(createOnlyField(ref("AssigneeId", "Assignee ID", "User"))),
		createOnlyField(ref("PermissionSetId", "Permission Set ID", "PermissionSet")),
		createOnlyField(ref("PermissionSetGroupId", "Permission Set Group ID", "PermissionSetGroup")),
		readonly(boolean("IsActive", "Is Active")),
		datetime("SystemModstamp", "System Modstamp"),
	)
	entitleAssignments(permSetAssignment)
	s := &schema{
		objects: map[string]*objectDef{}, byPrefix: map[string]*objectDef{},
		user: user, profile: profile, role: role, license: license, login: login,
		permSet: permSet, permSetAssignment: permSetAssignment, organization: newOrganizationDef(),
	}
	user.ops = objectOps{
		create: func(o *org, _ *objectDef, values map[int]any, w writeContext) (*row, func(), []apiError) {
			return o.createUser(values, w)
		},
		update: (*org).updateUser,
	}
	login.ops = objectOps{update: (*org).updateLogin}
	s.add(user, license, profile, role, login, permSet, permSetAssignment, s.organization)
	s.add(entitlementObjects()...)
	s.add(offboardingObjects()...)
	return s
}

// object finds an object type by name, case-insensitively.
func (s *schema) object(name string) (*objectDef, bool) {
	d, ok := s.objects[strings.ToLower(name)]
	return d, ok
}

// soqlSchema adapts the schema to the parser's interface.
type soqlSchema struct{ s *schema }

func (a soqlSchema) Object(name string) (*soql.Object, bool) {
	d, ok := a.s.object(name)
	if !ok {
		return nil, false
	}
	return d.soql, true
}

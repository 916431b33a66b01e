package soql

import (
	"strings"
	"time"
)

// testSchema resembles the simulator's User, Profile, UserRole and UserLicense,
// with a date and a number field added so every type is covered. Profile's ids
// are TypeID; User's own Id stays TypeString so that tests can use short ids.
type testSchema struct{}

var (
	userObject = &Object{
		Name: "User",
		Fields: []Field{
			{Name: "Id", Type: TypeString},
			{Name: "Username", Type: TypeString},
			{Name: "Email", Type: TypeString},
			{Name: "LastName", Type: TypeString},
			{Name: "FederationIdentifier", Type: TypeString},
			{Name: "IsActive", Type: TypeBoolean},
			{Name: "ProfileId", Type: TypeID},
			{Name: "UserRoleId", Type: TypeString},
			{Name: "CreatedDate", Type: TypeDateTime},
			{Name: "LastLoginDate", Type: TypeDateTime},
			{Name: "HireDate__c", Type: TypeDate},
			{Name: "FailedLogins__c", Type: TypeInt},
			{Name: "Score__c", Type: TypeDouble},
		},
		Parents: []Relationship{
			{Name: "Profile", Field: "ProfileId", Object: "Profile"},
			{Name: "UserRole", Field: "UserRoleId", Object: "UserRole"},
		},
	}
	profileObject = &Object{
		Name:    "Profile",
		Fields:  []Field{{Name: "Id", Type: TypeID}, {Name: "Name", Type: TypeString}, {Name: "UserLicenseId", Type: TypeID}},
		Parents: []Relationship{{Name: "UserLicense", Field: "UserLicenseId", Object: "UserLicense"}},
	}
	roleObject    = &Object{Name: "UserRole", Fields: []Field{{Name: "Id", Type: TypeString}, {Name: "Name", Type: TypeString}}}
	licenseObject = &Object{Name: "UserLicense", Fields: []Field{{Name: "Id", Type: TypeString}, {Name: "Name", Type: TypeString}}}
)

func (testSchema) Object(name string) (*Object, bool) {
	for _, o := range []*Object{userObject, profileObject, roleObject, licenseObject} {
		if strings.EqualFold(o.Name, name) {
			return o, true
		}
	}
	return nil, false
}

// rec is a Record backed by maps: a missing field reads as null.
type rec struct {
	fields  map[string]any
	parents map[string]*rec
}

func (r *rec) Field(name string) any { return r.fields[name] }

func (r *rec) Parent(rel string) Record {
	if p := r.parents[rel]; p != nil {
		return p
	}
	return nil
}

func id(r Record) string {
	s, _ := r.Field("Id").(string)
	return s
}

func ids(rs []Record) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, id(r))
	}
	return out
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func instant(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// testUsers is a small org: five users over two profiles and one role.
func testUsers() []Record {
	license := &rec{fields: map[string]any{"Id": "100000000000001", "Name": "Salesforce"}}
	admin := &rec{fields: map[string]any{"Id": "00e000000000001", "Name": "System Administrator", "UserLicenseId": "100000000000001"},
		parents: map[string]*rec{"UserLicense": license}}
	standard := &rec{fields: map[string]any{"Id": "00e000000000002", "Name": "Standard User"}}
	sales := &rec{fields: map[string]any{"Id": "00E000000000001", "Name": "Sales"}}
	return []Record{
		&rec{fields: map[string]any{
			"Id": "u1", "Username": "ada@example.com", "Email": "Ada@Example.com", "LastName": "Lovelace",
			"FederationIdentifier": "ada", "IsActive": true, "ProfileId": "00e000000000001", "UserRoleId": "00E000000000001",
			"CreatedDate": instant("2024-01-01T10:00:00Z"), "LastLoginDate": instant("2024-06-01T08:30:00Z"),
			"HireDate__c": day("2020-03-01"), "FailedLogins__c": int64(0), "Score__c": 1.5,
		}, parents: map[string]*rec{"Profile": admin, "UserRole": sales}},
		&rec{fields: map[string]any{
			"Id": "u2", "Username": "bob@example.com", "Email": "bob@example.com", "LastName": "babbage",
			"FederationIdentifier": "BOB", "IsActive": false, "ProfileId": "00e000000000002",
			"CreatedDate": instant("2024-02-01T10:00:00Z"), "HireDate__c": day("2021-07-15"), "FailedLogins__c": int64(3), "Score__c": -2.0,
		}, parents: map[string]*rec{"Profile": standard}},
		&rec{fields: map[string]any{
			"Id": "u3", "Username": "cy@example.org", "Email": nil, "LastName": "Cyrus",
			"IsActive": true, "ProfileId": "00e000000000002",
			"CreatedDate": instant("2024-03-01T10:00:00Z"), "LastLoginDate": instant("2024-05-01T00:00:00Z"),
			"FailedLogins__c": int64(10),
		}, parents: map[string]*rec{"Profile": standard}},
		&rec{fields: map[string]any{
			"Id": "u4", "Username": "dee_100%@example.com", "Email": "DEE@example.com", "LastName": "Ünal",
			"FederationIdentifier": "dee", "IsActive": nil, "CreatedDate": instant("2024-03-01T10:00:00Z"),
		}},
		&rec{fields: map[string]any{
			"Id": "u5", "Username": "o'brien@example.com", "Email": "obrien@example.com", "LastName": "O'Brien",
			"FederationIdentifier": "Ob\\rien", "IsActive": true, "ProfileId": "00e000000000001",
			"CreatedDate": instant("2023-12-31T23:00:00-02:00"), "HireDate__c": day("2020-03-01"), "Score__c": 1.5,
		}, parents: map[string]*rec{"Profile": admin}},
	}
}

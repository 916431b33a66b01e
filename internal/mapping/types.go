package mapping

import (
	"fmt"
	"slices"
	"strings"
)

// Mode says when a desired field value is written to Salesforce.
type Mode uint8

const (
	// Always keeps the field in step: drift in Salesforce is reverted.
	Always Mode = iota
	// OnCreate sets the field when the user is created and leaves it alone afterwards,
	// so Salesforce admins may change it (ProfileId, TimeZoneSidKey, ...).
	OnCreate
)

// String returns the configuration spelling of m.
func (m Mode) String() string {
	if m == OnCreate {
		return modeOnCreate
	}
	return modeAlways
}

// Field is one desired Salesforce field value. Its name and mode are the field's
// FieldSpec, which every person the same Mapper maps shares: a Field is 24 bytes
// instead of 40, and at a million people with 14 fields each that is 214 MB less
// (the largest part of a mapped person). Read f.Name and f.Mode as before; build a
// Field with NewField, and never change a spec through a Field, since others share it.
type Field struct {
	*FieldSpec
	// Value is the desired value; "" means the field should be empty.
	Value string
}

// FieldSpec is what the fields of one name have in common across people.
type FieldSpec struct {
	// Name is the Salesforce API name (Username, LastName, ProfileId, Cost_Center__c).
	Name string
	Mode Mode
}

// NewField returns a Field with a spec of its own, for callers (tests, tools) that
// build people by hand; the Mapper shares one spec per field among all its people.
func NewField(name, value string, mode Mode) Field {
	return Field{FieldSpec: &FieldSpec{Name: name, Mode: mode}, Value: value}
}

// Desired is one person as Salesforce should have them: the reconcile engine's input.
type Desired struct {
	// ID is the IdP's stable id, the key of the link between IdP and Salesforce user.
	ID string
	// Fields sorted by Name. ProfileId and UserRoleId are added by ResolveIDs.
	Fields []Field
	// Profile and Role are the names chosen by the rules (Role "" means none), kept for
	// reports and for ResolveIDs.
	Profile string
	Role    string
	// Grants are the entitlements the mapping.entitlements rules give, in the order
	// they are to be assigned (licences first). Users who match the same rules share
	// one slice: it must not be modified.
	Grants []Grant
}

// Value returns the desired value of the named field.
func (d *Desired) Value(name string) (string, bool) {
	i, ok := slices.BinarySearchFunc(d.Fields, name, func(f Field, n string) int { return strings.Compare(f.Name, n) })
	if !ok {
		return "", false
	}
	return d.Fields[i].Value, true
}

// setField replaces or inserts a field, keeping Fields sorted.
func (d *Desired) setField(f Field) {
	i, ok := slices.BinarySearchFunc(d.Fields, f.Name, func(x Field, n string) int { return strings.Compare(x.Name, n) })
	if ok {
		d.Fields[i] = f
		return
	}
	d.Fields = slices.Insert(d.Fields, i, f)
}

// ReasonCode classifies why a record was rejected.
type ReasonCode string

// Reasons a record is rejected. Rejected records are reported and skipped, never fatal.
const (
	NoID              ReasonCode = "no_id"
	DuplicateID       ReasonCode = "duplicate_id"
	NoEmail           ReasonCode = "no_email"
	MalformedEmail    ReasonCode = "malformed_email"
	DuplicateEmail    ReasonCode = "duplicate_email"
	NoUsername        ReasonCode = "no_username"
	MalformedUsername ReasonCode = "malformed_username"
	DuplicateUsername ReasonCode = "duplicate_username"
	NoLastName        ReasonCode = "no_last_name"
	TooLong           ReasonCode = "too_long"
	// InvalidUTF8: a value holds bytes that are not UTF-8. Salesforce would store
	// U+FFFD in their place, so the value would differ from the source's on every
	// cycle and be written again and again; the record is skipped instead.
	InvalidUTF8    ReasonCode = "invalid_utf8"
	TemplateFailed ReasonCode = "template_failed"
	NoProfile      ReasonCode = "no_profile"
)

// Reason is one problem with a record.
type Reason struct {
	Code ReasonCode
	// Field is the Salesforce field concerned, "" when none.
	Field string
	// Detail says what is wrong without quoting the record: it holds no email, name
	// or other value from the source, so it can be logged whatever the PII setting.
	Detail string
	// Value is the offending value (an email, a Username, an id shared by several
	// records), "" when there is none. It is personal data: kept apart from Detail so
	// that the service shows it only when configured to (log.pii).
	Value string
}

// String renders the reason for logs and reports without its value:
// "code (Field): detail".
func (r Reason) String() string {
	if r.Field != "" {
		return fmt.Sprintf("%s (%s): %s", r.Code, r.Field, r.Detail)
	}
	return fmt.Sprintf("%s: %s", r.Code, r.Detail)
}

// StringWithValue renders the reason with its value, "code (Field): detail: "value"",
// for reports where personal data may be shown (log.pii).
func (r Reason) StringWithValue() string {
	if r.Value == "" {
		return r.String()
	}
	return fmt.Sprintf("%s: %q", r.String(), r.Value)
}

// Rejection is a record that is not desired because it is invalid.
type Rejection struct {
	// ID is the record's IdP id ("" when it has none). The reconcile engine must not
	// treat a linked user whose record was rejected as gone: the person is still in
	// the source, only their data is bad.
	ID string
	// Email helps find the record: its primary address (its mapped Email when it was
	// rejected only for sharing that address or Username with another record). It is
	// personal data, like Reason.Value.
	Email string
	// Position is the record's 1-based position in the snapshot.
	Position int
	Reasons  []Reason
}

// Result is what Map makes of a snapshot.
type Result struct {
	// Desired users in source order.
	Desired []Desired
	// Inactive lists the ids of records the IdP marks inactive: present in the source
	// but not desired in Salesforce (not an error).
	Inactive []string
	// Rejected records in source order.
	Rejected []Rejection
}

package sfsim

import (
	"fmt"
	"strings"
)

// objectOps are the writes Salesforce allows on one object type. A nil hook means
// the API refuses that operation on the object: Collections answers
// INVALID_TYPE_FOR_OPERATION for the record, the sObject resources answer 405.
// Each hook runs under the Server's lock and returns the function that reverts what
// it did, so a Collections call with allOrNone can roll back its earlier records.
// Objects with rules of their own (User's licences and unique usernames, an owned
// record's transfer checks) wrap the generic hooks or replace them.
type objectOps struct {
	create func(o *org, d *objectDef, values map[int]any, w writeContext) (*row, func(), []apiError)
	update func(o *org, r *row, values map[int]any, w writeContext) (func(), []apiError)
	delete func(o *org, r *row, w writeContext) (func(), []apiError)
}

// genericOps are the writes of a plain object: fields checked as their definitions
// say, the audit fields stamped, rows inserted, changed and deleted.
func genericOps() objectOps {
	return objectOps{create: createRecord, update: updateRecord, delete: deleteRecord}
}

// allowedMethods is the Allow list of an sObject row resource, as a 405 names it.
func (ops objectOps) allowedMethods() string {
	allowed := "GET,HEAD"
	if ops.update != nil {
		allowed += ",PATCH"
	}
	if ops.delete != nil {
		allowed += ",DELETE"
	}
	return allowed
}

// refused is the per-record error of an operation the object does not allow.
func refused(verb string, d *objectDef) []apiError {
	return []apiError{badRequest("INVALID_TYPE_FOR_OPERATION", fmt.Sprintf("entity type cannot be %s: %s", verb, d.name))}
}

// createRecord validates and inserts a row of a plain object. Fields the request
// leaves out are null; booleans default to false, as a checkbox does.
func createRecord(o *org, d *objectDef, values map[int]any, w writeContext) (*row, func(), []apiError) {
	next, changed := createdValues(d, values)
	if errs := o.validateFields(d, next, nil, changed); errs != nil {
		return nil, nil, errs
	}
	next[0] = o.newID(d.prefix)
	stampAudit(d, next, true, w)
	r := &row{def: d, vals: next}
	o.tables[d].add(r)
	return r, func() { o.tables[d].remove(r) }, nil
}

// updateRecord validates and applies changed values to a row of a plain object.
// Fields that can be set only on create are refused, as Salesforce refuses them.
func updateRecord(o *org, r *row, values map[int]any, w writeContext) (func(), []apiError) {
	d := r.def
	var createOnlyFields []string
	for i := range values {
		if d.fields[i].access == createOnly {
			createOnlyFields = append(createOnlyFields, d.fields[i].name)
		}
	}
	if len(createOnlyFields) > 0 {
		return nil, []apiError{fieldsNotWritable(createOnlyFields)}
	}
	old := r.vals
	next, changed := updatedValues(old, values)
	if errs := o.validateFields(d, next, old, changed); errs != nil {
		return nil, errs
	}
	stampAudit(d, next, false, w)
	r.vals = next
	return func() { r.vals = old }, nil
}

// deleteRecord removes a row of a plain object.
func deleteRecord(o *org, r *row, _ writeContext) (func(), []apiError) {
	t := o.tables[r.def]
	at := t.remove(r)
	return func() { t.insertAt(r, at) }, nil
}

// createdValues are a new record's values: booleans false (a checkbox is never null),
// other fields null, then the request's values. changed marks those and every required
// field, which a create checks whether it was sent or not.
func createdValues(d *objectDef, values map[int]any) (next []any, changed []bool) {
	next = make([]any, len(d.fields))
	changed = make([]bool, len(d.fields))
	for i := range d.fields {
		if d.fields[i].kind == kindBool {
			next[i] = false
		}
		changed[i] = d.fields[i].required
	}
	for i, v := range values {
		next[i] = v
		changed[i] = true
	}
	return next, changed
}

// updatedValues are a record's values after an update: a copy of old with the
// request's values, which changed marks.
func updatedValues(old []any, values map[int]any) (next []any, changed []bool) {
	next = append([]any(nil), old...)
	changed = make([]bool, len(next))
	for i, v := range values {
		next[i] = v
		changed[i] = true
	}
	return next, changed
}

// fieldsNotWritable is Salesforce's refusal of fields the API may not write: read-only
// ones, and create-only ones in an update.
func fieldsNotWritable(names []string) apiError {
	return badRequest("INVALID_FIELD_FOR_INSERT_UPDATE",
		"Unable to create/update fields: "+strings.Join(names, ", ")+
			". Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
		names...)
}

// validateFields checks the values of a write field by field as Salesforce does:
// required fields first (every missing one named at once), then each changed value's
// length, picklist, email shape and reference, normalizing in place (lower-case
// usernames, 18-character Ids). old is nil on create. It returns every error of the
// first failing stage.
func (o *org) validateFields(d *objectDef, next, old []any, changed []bool) []apiError {
	var missing []string
	for i := range d.fields {
		fd := &d.fields[i]
		if fd.required && next[i] == nil && (old == nil || changed[i]) {
			missing = append(missing, fd.name)
		}
	}
	if len(missing) > 0 {
		return []apiError{badRequest("REQUIRED_FIELD_MISSING",
			"Required fields are missing: ["+strings.Join(missing, ", ")+"]", missing...)}
	}
	var errs []apiError
	for i := range d.fields {
		fd := &d.fields[i]
		s, isText := next[i].(string)
		if !changed[i] || !isText {
			continue
		}
		if fd.kind == kindUsername {
			s = strings.ToLower(s)
			next[i] = s
		}
		if fd.length > 0 && len([]rune(s)) > fd.length && fd.kind != kindRef {
			errs = append(errs, badRequest("STRING_TOO_LONG",
				fmt.Sprintf("%s: data value too large: %s (max length=%d)", fd.label, s, fd.length), fd.name))
			continue
		}
		if fd.allowed != nil && !o.picklistAllows(fd, s) {
			errs = append(errs, badRequest("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
				fmt.Sprintf("%s: bad value for restricted picklist field: %s", fd.label, s), fd.name))
			continue
		}
		switch fd.kind {
		case kindEmail, kindUsername:
			if !emailShape.MatchString(s) {
				errs = append(errs, badRequest("INVALID_EMAIL_ADDRESS",
					fmt.Sprintf("%s: invalid email address: %s", fd.label, s), fd.name))
			}
		case kindRef:
			id, err := o.checkRef(fd, s)
			if err != nil {
				errs = append(errs, *err)
				continue
			}
			next[i] = id
		}
	}
	return errs
}

// stampAudit fills the audit fields an object has (CreatedDate, CreatedById,
// LastModifiedDate, LastModifiedById, SystemModstamp) as every write moves them.
func stampAudit(d *objectDef, next []any, created bool, w writeContext) {
	set := func(name string, v any) {
		if i, ok := d.exact[name]; ok {
			next[i] = v
		}
	}
	at := auditTime(w.now)
	if created {
		set("CreatedDate", at)
		set("CreatedById", w.actor)
	}
	set("LastModifiedDate", at)
	set("LastModifiedById", w.actor)
	set("SystemModstamp", at)
}

// add registers object types. The schema is built once per Server; add is called
// only while it is built.
func (s *schema) add(defs ...*objectDef) {
	for _, d := range defs {
		s.objects[strings.ToLower(d.name)] = d
		s.byPrefix[d.prefix] = d
	}
}

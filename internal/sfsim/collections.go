package sfsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// collectionRequest is the body of a Collections create, update or upsert.
type collectionRequest struct {
	allOrNone bool
	records   []map[string]json.RawMessage
	types     []*objectDef
}

// readCollection parses and checks a Collections body. Problems with the request as
// a whole (not JSON, no records, more than 200, a record without a known type) are
// answered with a 400 here.
func (s *Server) readCollection(c *call) (*collectionRequest, bool) {
	body, apiErr := readBody(c.w, c.r, s.opts.MaxBodyBytes)
	if apiErr != nil {
		s.writeErrors(c.w, c.limit, *apiErr)
		return nil, false
	}
	top, apiErr := decodeJSONObject(body)
	if apiErr != nil {
		s.writeErrors(c.w, c.limit, *apiErr)
		return nil, false
	}
	req := &collectionRequest{}
	for k, v := range top {
		var err error
		switch k {
		case "allOrNone":
			err = json.Unmarshal(v, &req.allOrNone)
		case "records":
			err = json.Unmarshal(v, &req.records)
		default:
			s.writeErrors(c.w, c.limit, badRequest("JSON_PARSER_ERROR", fmt.Sprintf("Unrecognized field \"%s\" at [line:1, column:1]", k)))
			return nil, false
		}
		if err != nil {
			s.writeErrors(c.w, c.limit, jsonError(fmt.Errorf("%s: %w", k, err)))
			return nil, false
		}
	}
	if len(req.records) == 0 {
		s.writeErrors(c.w, c.limit, badRequest("INVALID_FIELD", "No records to process: the records array is missing or empty"))
		return nil, false
	}
	if len(req.records) > collectionsRecordLimit {
		s.writeErrors(c.w, c.limit, badRequest("EXCEEDED_ID_LIMIT",
			fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", collectionsRecordLimit)))
		return nil, false
	}
	for _, rec := range req.records {
		var attrs struct {
			Type string `json:"type"`
		}
		if rec == nil || json.Unmarshal(rec["attributes"], &attrs) != nil || attrs.Type == "" {
			s.writeErrors(c.w, c.limit, badRequest("INVALID_TYPE", "Must send a concrete entity type."))
			return nil, false
		}
		d, ok := s.schema.object(attrs.Type)
		if !ok {
			s.writeErrors(c.w, c.limit, badRequest("INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", attrs.Type)))
			return nil, false
		}
		req.types = append(req.types, d)
	}
	return req, true
}

// applyCollection runs one operation per record under the org's lock, rolling every
// success back when allOrNone is set and any record failed.
func (s *Server) applyCollection(c *call, req *collectionRequest, op func(i int) (saveResult, func(), []apiError)) {
	results := make([]saveResult, len(req.records))
	var undos []func()
	failed := false
	s.mu.Lock()
	for i := range req.records {
		res, undo, errs := op(i)
		if errs != nil {
			failed = true
			res.Success = false
			res.Created = nil
			res.Errors = make([]recordError, len(errs))
			for k, e := range errs {
				res.Errors[k] = recordError{StatusCode: e.Code, Message: e.Message, Fields: nonNil(e.Fields)}
			}
		} else if undo != nil {
			undos = append(undos, undo)
		}
		results[i] = res
	}
	if failed && req.allOrNone {
		for i := len(undos) - 1; i >= 0; i-- {
			undos[i]()
		}
		for i := range results {
			if !results[i].Success {
				continue
			}
			id := results[i].ID
			if created := results[i].Created; c.r.Method == http.MethodPost || created != nil && *created {
				id = "" // the record it created no longer exists
			}
			results[i] = saveResult{ID: id, Errors: []recordError{{
				StatusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
				Message:    "Record rolled back because not all records were valid and the request was using AllOrNone header",
				Fields:     []string{},
			}}}
		}
	}
	s.mu.Unlock()
	s.writeJSON(c.w, c.limit, http.StatusOK, results)
}

// isSetupObject says whether Salesforce counts an object among the setup objects,
// those that change who may see what (Apex's "sObjects That Can't Be Used Together in
// DML Operations"; the list is not exhaustive, and PermissionSetLicenseAssign is not
// on it).
func isSetupObject(d *objectDef) bool {
	switch d.name {
	case "User", "UserRole", "PermissionSet", "PermissionSetAssignment", "Group", "GroupMember", "AuthSession", "QueueSobject":
		return true
	}
	return false
}

// mixedSetup refuses a record of a Collections call whose object type differs from
// the call's first when either is a setup object: "You can't create records for
// multiple object types in one call when one of the types is related to a feature in
// the Salesforce Setup area", and likewise for updates and deletes. Which code REST
// answers with is not documented; the simulator uses Apex's MIXED_DML_OPERATION for
// the later types' records, so a client that mixes them sees them fail.
func mixedSetup(first, d *objectDef) []apiError {
	if d == first || !isSetupObject(d) && !isSetupObject(first) {
		return nil
	}
	return []apiError{badRequest("MIXED_DML_OPERATION", fmt.Sprintf(
		"DML operation on setup object is not permitted after you have updated a non-setup object (or vice versa): %s, original object: %s", d.name, first.name))}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// serveCollectionsCreate is POST .../composite/sobjects.
func (s *Server) serveCollectionsCreate(c *call) {
	req, ok := s.readCollection(c)
	if !ok {
		return
	}
	w := s.writeContext(c)
	s.applyCollection(c, req, func(i int) (saveResult, func(), []apiError) {
		d := req.types[i]
		if d.ops.create == nil {
			return saveResult{}, nil, refused("inserted", d)
		}
		if errs := mixedSetup(req.types[0], d); errs != nil {
			return saveResult{}, nil, errs
		}
		if id := recordID(req.records[i]); id != "" {
			return saveResult{}, nil, []apiError{badRequest("INVALID_FIELD", "Id must not be specified in a create call", "Id")}
		}
		values, errs := decodeFields(d, req.records[i], skipMeta)
		if errs != nil {
			return saveResult{}, nil, errs
		}
		r, undo, errs := d.ops.create(s.org, d, values, w)
		if errs != nil {
			return saveResult{}, nil, errs
		}
		return saveResult{ID: r.id(), Success: true, Errors: []recordError{}}, undo, nil
	})
}

// recordID is the id of a Collections record ("id" or "Id").
func recordID(rec map[string]json.RawMessage) string {
	for k, v := range rec {
		if strings.EqualFold(k, "id") {
			var id string
			if json.Unmarshal(v, &id) != nil {
				return string(v)
			}
			return id
		}
	}
	return ""
}

func skipMetaAndID(k string) bool { return k == "attributes" || strings.EqualFold(k, "id") }

// serveCollectionsUpdate is PATCH .../composite/sobjects.
func (s *Server) serveCollectionsUpdate(c *call) {
	req, ok := s.readCollection(c)
	if !ok {
		return
	}
	w := s.writeContext(c)
	s.applyCollection(c, req, func(i int) (saveResult, func(), []apiError) {
		d := req.types[i]
		raw := recordID(req.records[i])
		if raw == "" {
			return saveResult{}, nil, []apiError{badRequest("MISSING_ARGUMENT", "Id not specified in an update call")}
		}
		if d.ops.update == nil {
			return saveResult{}, nil, refused("updated", d)
		}
		id, err := normalizeID(raw)
		if err != nil || id[:3] != d.prefix {
			return saveResult{}, nil, []apiError{badRequest("MALFORMED_ID", fmt.Sprintf("%s ID: id value of incorrect type: %s", d.name, raw), "Id")}
		}
		res := saveResult{ID: id}
		if errs := mixedSetup(req.types[0], d); errs != nil {
			return res, nil, errs
		}
		r, ok := s.org.tables[d].byID[id]
		if !ok {
			return res, nil, []apiError{badRequest("INVALID_CROSS_REFERENCE_KEY", msgInvalidCrossRef, "Id")}
		}
		values, errs := decodeFields(d, req.records[i], skipMetaAndID)
		if errs != nil {
			return res, nil, errs
		}
		undo, errs := d.ops.update(s.org, r, values, w)
		if errs != nil {
			return res, nil, errs
		}
		res.Success, res.Errors = true, []recordError{}
		return res, undo, nil
	})
}

// serveCollectionsUpsert is PATCH .../composite/sobjects/User/{ExternalIdField}.
func (s *Server) serveCollectionsUpsert(c *call) {
	d, ok := s.schema.object(c.segs[2])
	if !ok || d != s.schema.user {
		s.writeErrors(c.w, c.limit, notFound())
		return
	}
	field, fd, ok := s.externalIDField(c.segs[3])
	if !ok {
		s.writeErrors(c.w, c.limit, badRequest("INVALID_FIELD",
			"Provided external ID field does not exist or is not accessible: "+c.segs[3]))
		return
	}
	req, ok := s.readCollection(c)
	if !ok {
		return
	}
	w := s.writeContext(c)
	s.applyCollection(c, req, func(i int) (saveResult, func(), []apiError) {
		if req.types[i] != s.schema.user {
			return saveResult{}, nil, []apiError{badRequest("INVALID_TYPE_FOR_OPERATION",
				fmt.Sprintf("The simulator upserts only User records, not %s", req.types[i].name))}
		}
		skip := skipMeta
		if fd.name == "Id" {
			skip = skipMetaAndID
		}
		values, errs := decodeFields(s.schema.user, req.records[i], skip)
		if errs != nil {
			return saveResult{}, nil, errs
		}
		value, _ := values[field].(string)
		if fd.name == "Id" {
			value = recordID(req.records[i])
		}
		if value == "" {
			return saveResult{}, nil, []apiError{badRequest("MISSING_ARGUMENT", fd.name+" not specified", fd.name)}
		}
		res, undo, matches, errs := s.org.upsert(field, value, values, w)
		if len(matches) > 1 {
			ids := make([]string, len(matches))
			for k, m := range matches {
				ids[k] = m.id()
			}
			errs = []apiError{badRequest("DUPLICATE_EXTERNAL_ID", fmt.Sprintf(
				"%s: more than one record found for external id field: [%s]", fd.name, strings.Join(ids, ", ")), fd.name)}
		}
		return res, undo, errs
	})
}

// serveCollectionsDelete is DELETE .../composite/sobjects?ids=...[&allOrNone=true]:
// each record is deleted through its object's hook; users cannot be deleted (they
// are deactivated instead), so they fail on their own, as Collections reports per
// record.
func (s *Server) serveCollectionsDelete(c *call) {
	q := c.r.URL.Query()
	ids := splitList(q.Get("ids"))
	switch {
	case len(ids) == 0:
		s.writeErrors(c.w, c.limit, badRequest("MISSING_ARGUMENT", "ids not specified"))
		return
	case len(ids) > collectionsRecordLimit:
		s.writeErrors(c.w, c.limit, badRequest("EXCEEDED_ID_LIMIT",
			fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", collectionsRecordLimit)))
		return
	}
	req := &collectionRequest{allOrNone: strings.EqualFold(q.Get("allOrNone"), "true"), records: make([]map[string]json.RawMessage, len(ids))}
	w := s.writeContext(c)
	var first *objectDef // the type of the call's first record found
	s.applyCollection(c, req, func(i int) (saveResult, func(), []apiError) {
		raw := ids[i]
		id, err := normalizeID(raw)
		if err != nil {
			return saveResult{ID: raw}, nil, []apiError{badRequest("MALFORMED_ID", "malformed id "+raw)}
		}
		res := saveResult{ID: id}
		r, ok := s.org.get(id)
		switch {
		case !ok:
			return res, nil, []apiError{badRequest("ENTITY_IS_DELETED", "entity is deleted")}
		case r.def.ops.delete == nil:
			return res, nil, []apiError{badRequest("INVALID_TYPE_FOR_OPERATION",
				fmt.Sprintf("entity type cannot be deleted: %s", r.def.name))}
		}
		if first == nil {
			first = r.def
		}
		if errs := mixedSetup(first, r.def); errs != nil {
			return res, nil, errs
		}
		undo, errs := r.def.ops.delete(s.org, r, w)
		if errs != nil {
			return res, nil, errs
		}
		res.Success, res.Errors = true, []recordError{}
		return res, undo, nil
	})
}

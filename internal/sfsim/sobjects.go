package sfsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/syncd-io/syncd/internal/sfsim/soql"
)

// saveResult is the answer to a create, and one entry of a Collections answer.
type saveResult struct {
	ID      string        `json:"id,omitempty"`
	Success bool          `json:"success"`
	Errors  []recordError `json:"errors"`
	Created *bool         `json:"created,omitempty"`
}

// recordError is a per-record error of Collections: statusCode, not errorCode.
type recordError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func notFound() apiError {
	return apiError{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: msgNotFound}
}

// objectOf resolves the sObject type named in a path.
func (s *Server) objectOf(c *call) (*objectDef, bool) {
	d, ok := s.schema.object(c.segs[1])
	if !ok {
		s.writeErrors(c.w, c.limit, notFound())
	}
	return d, ok
}

func (s *Server) writeContext(c *call) writeContext {
	return writeContext{actor: c.user, now: s.now(), autoAssign: !strings.EqualFold(c.r.Header.Get("Sforce-Auto-Assign"), "false")}
}

// skipMeta leaves out the keys a record body may carry besides fields.
func skipMeta(k string) bool { return k == "attributes" }

// serveCreate is POST .../sobjects/User.
func (s *Server) serveCreate(c *call) {
	d, ok := s.objectOf(c)
	if !ok {
		return
	}
	if d.ops.create == nil {
		s.writeErrors(c.w, c.limit, apiError{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED",
			Message: "HTTP Method 'POST' not allowed. Allowed are GET,HEAD"})
		return
	}
	values, ok := s.readFields(c, d)
	if !ok {
		return
	}
	s.mu.Lock()
	r, _, errs := d.ops.create(s.org, d, values, s.writeContext(c))
	var id string
	if r != nil {
		id = r.id()
	}
	s.mu.Unlock()
	if errs != nil {
		s.writeErrors(c.w, c.limit, errs...)
		return
	}
	s.writeJSON(c.w, c.limit, http.StatusCreated, saveResult{ID: id, Success: true, Errors: []recordError{}})
}

// readFields reads a record body and decodes its fields for d, answering when it
// cannot.
func (s *Server) readFields(c *call, d *objectDef) (map[int]any, bool) {
	raw, errs := s.readRecord(c)
	if errs == nil {
		var values map[int]any
		if values, errs = decodeFields(d, raw, skipMeta); errs == nil {
			return values, true
		}
	}
	s.writeErrors(c.w, c.limit, errs...)
	return nil, false
}

// readRecord reads a body that must be one JSON object.
func (s *Server) readRecord(c *call) (map[string]json.RawMessage, []apiError) {
	body, err := readBody(c.w, c.r, s.opts.MaxBodyBytes)
	if err != nil {
		return nil, []apiError{*err}
	}
	m, err := decodeJSONObject(body)
	if err != nil {
		return nil, []apiError{*err}
	}
	return m, nil
}

// lookupPathID resolves the record an Id in a path names, answering when it cannot.
func (s *Server) lookupPathID(c *call, d *objectDef, raw string) (*row, bool) {
	id, err := normalizeID(raw)
	if err != nil {
		s.writeErrors(c.w, c.limit, apiError{Status: http.StatusNotFound, Code: "NOT_FOUND",
			Message: "Provided external ID field does not exist or is not accessible: " + raw})
		return nil, false
	}
	if id[:3] != d.prefix {
		s.writeErrors(c.w, c.limit, badRequest("MALFORMED_ID",
			fmt.Sprintf("%s ID: id value of incorrect type: %s", d.name, raw)))
		return nil, false
	}
	r, ok := s.org.tables[d].byID[id]
	if !ok {
		s.writeErrors(c.w, c.limit, notFound())
	}
	return r, ok
}

// serveGet is GET .../sobjects/{type}/{id}[?fields=A,B].
func (s *Server) serveGet(c *call) {
	d, ok := s.objectOf(c)
	if !ok {
		return
	}
	fields := allFields(d)
	if list := c.r.URL.Query().Get("fields"); list != "" {
		var apiErr *apiError
		if fields, apiErr = fieldRefs(d, strings.Split(list, ",")); apiErr != nil {
			s.writeErrors(c.w, c.limit, *apiErr)
			return
		}
	}
	s.mu.Lock()
	r, ok := s.lookupPathID(c, d, c.segs[2])
	if !ok {
		s.mu.Unlock()
		return
	}
	var b bytes.Buffer
	s.org.render(&b, r, fields, c.base)
	s.mu.Unlock()
	s.writeRaw(c.w, c.limit, http.StatusOK, b.Bytes())
}

// serveUpdate is PATCH .../sobjects/{type}/{id}, for the objects whose updates the
// API allows.
func (s *Server) serveUpdate(c *call) {
	s.serveRowWrite(c, func(d *objectDef) (rowWrite, bool) {
		if d.ops.update == nil {
			return nil, true
		}
		values, ok := s.readFields(c, d)
		return func(r *row, w writeContext) []apiError {
			_, errs := d.ops.update(s.org, r, values, w)
			return errs
		}, ok
	})
}

// serveDelete is DELETE .../sobjects/{type}/{id}, for the objects whose deletion the
// API allows; users cannot be deleted, only deactivated.
func (s *Server) serveDelete(c *call) {
	s.serveRowWrite(c, func(d *objectDef) (rowWrite, bool) {
		if d.ops.delete == nil {
			return nil, true
		}
		return func(r *row, w writeContext) []apiError {
			_, errs := d.ops.delete(s.org, r, w)
			return errs
		}, true
	})
}

// rowWrite changes one record under the Server's lock.
type rowWrite func(r *row, w writeContext) []apiError

// serveRowWrite answers a PATCH or DELETE of the record a path names, 204 when done.
// prepare returns the write for the object type: nil when the API does not allow it
// (405, before the body is read), and false when it has answered already (a body
// that does not decode).
func (s *Server) serveRowWrite(c *call, prepare func(d *objectDef) (rowWrite, bool)) {
	d, ok := s.objectOf(c)
	if !ok {
		return
	}
	write, ok := prepare(d)
	if !ok {
		return
	}
	if write == nil {
		s.writeErrors(c.w, c.limit, apiError{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED",
			Message: fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", c.r.Method, d.ops.allowedMethods())})
		return
	}
	s.mu.Lock()
	r, ok := s.lookupPathID(c, d, c.segs[2])
	if !ok {
		s.mu.Unlock()
		return
	}
	errs := write(r, s.writeContext(c))
	s.mu.Unlock()
	if errs != nil {
		s.writeErrors(c.w, c.limit, errs...)
		return
	}
	c.w.Header().Set("Sforce-Limit-Info", c.limit)
	c.w.WriteHeader(http.StatusNoContent)
}

// externalIDField resolves the field an upsert or lookup matches on: a User field
// with the idLookup property.
func (s *Server) externalIDField(name string) (int, *fieldDef, bool) {
	i, fd, ok := s.schema.user.field(name)
	if !ok {
		return 0, nil, false
	}
	switch fd.name {
	case "Id", "FederationIdentifier", "Username", "Email", "CommunityNickname":
		return i, fd, true
	}
	return 0, nil, false
}

// resolveExternal reads the type and field of .../sobjects/{type}/{field}/{value}.
func (s *Server) resolveExternal(c *call) (int, *fieldDef, string, bool) {
	d, ok := s.objectOf(c)
	if !ok {
		return 0, nil, "", false
	}
	i, fd, ok := s.externalIDField(c.segs[2])
	if d != s.schema.user || !ok {
		s.writeErrors(c.w, c.limit, apiError{Status: http.StatusNotFound, Code: "NOT_FOUND",
			Message: "Provided external ID field does not exist or is not accessible: " + c.segs[2]})
		return 0, nil, "", false
	}
	value, err := url.PathUnescape(c.segs[3])
	if err != nil {
		value = c.segs[3]
	}
	return i, fd, value, true
}

// recordURLs is the body of a 300 answer: the URLs of the records that match.
func recordURLs(base string, rows []*row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = base + "/sobjects/" + r.def.name + "/" + r.id()
	}
	return out
}

// serveGetByExternalID is GET .../sobjects/User/{field}/{value}.
func (s *Server) serveGetByExternalID(c *call) {
	field, _, value, ok := s.resolveExternal(c)
	if !ok {
		return
	}
	s.mu.Lock()
	rows := s.org.usersByField(field, value)
	var b bytes.Buffer
	if len(rows) == 1 {
		s.org.render(&b, rows[0], allFields(s.schema.user), c.base)
	}
	s.mu.Unlock()
	switch len(rows) {
	case 0:
		s.writeErrors(c.w, c.limit, notFound())
	case 1:
		s.writeRaw(c.w, c.limit, http.StatusOK, b.Bytes())
	default:
		s.writeJSON(c.w, c.limit, http.StatusMultipleChoices, recordURLs(c.base, rows))
	}
}

// serveUpsert is PATCH .../sobjects/User/{field}/{value}: create when nothing matches
// (201), update the one match (200 with created:false, 204 before v46.0), 300 when
// several match.
func (s *Server) serveUpsert(c *call) {
	field, fd, value, ok := s.resolveExternal(c)
	if !ok {
		return
	}
	values, ok := s.readFields(c, s.schema.user)
	if !ok {
		return
	}
	if _, ok := values[field]; ok {
		// "Do not specify Id or an external ID field in the request body or an error is
		// generated." (REST API Developer Guide, sObject Rows by External ID)
		s.writeErrors(c.w, c.limit, badRequest("INVALID_FIELD",
			fmt.Sprintf("The external ID field %s must not be in the request body; it is given in the URL", fd.name), fd.name))
		return
	}
	s.mu.Lock()
	res, _, multiple, errs := s.org.upsert(field, value, values, s.writeContext(c))
	s.mu.Unlock()
	switch {
	case errs != nil:
		s.writeErrors(c.w, c.limit, errs...)
	case multiple != nil:
		s.writeJSON(c.w, c.limit, http.StatusMultipleChoices, recordURLs(c.base, multiple))
	case *res.Created:
		s.writeJSON(c.w, c.limit, http.StatusCreated, res)
	case c.version < 46:
		c.w.Header().Set("Sforce-Limit-Info", c.limit)
		c.w.WriteHeader(http.StatusNoContent)
	default:
		s.writeJSON(c.w, c.limit, http.StatusOK, res)
	}
}

// upsert creates or updates the user whose field equals value, returning the undo of
// the write. With several matches it changes nothing and returns them.
func (o *org) upsert(field int, value string, values map[int]any, w writeContext) (saveResult, func(), []*row, []apiError) {
	matches := o.usersByField(field, value)
	switch len(matches) {
	case 0:
		if field == o.uf.id {
			return saveResult{}, nil, nil, []apiError{notFound()}
		}
		values[field] = value
		r, undo, errs := o.createUser(values, w)
		if errs != nil {
			return saveResult{}, nil, nil, errs
		}
		created := true
		return saveResult{ID: r.id(), Success: true, Errors: []recordError{}, Created: &created}, undo, nil, nil
	case 1:
		delete(values, field)
		undo, errs := o.updateUser(matches[0], values, w)
		if errs != nil {
			return saveResult{ID: matches[0].id()}, nil, nil, errs
		}
		created := false
		return saveResult{ID: matches[0].id(), Success: true, Errors: []recordError{}, Created: &created}, undo, nil, nil
	}
	return saveResult{}, nil, matches, nil
}

// serveCollectionsRetrieve is GET .../composite/sobjects/{type}?ids=&fields= and its
// POST form with {"ids": [...], "fields": [...]}: the records in the order of the ids,
// null for the ones that do not exist.
func (s *Server) serveCollectionsRetrieve(c *call) {
	d, ok := s.schema.object(c.segs[2])
	if !ok {
		s.writeErrors(c.w, c.limit, notFound())
		return
	}
	var req struct {
		IDs    []string `json:"ids"`
		Fields []string `json:"fields"`
	}
	if c.r.Method == http.MethodPost {
		raw, errs := s.readRecord(c)
		if errs != nil {
			s.writeErrors(c.w, c.limit, errs...)
			return
		}
		for k, v := range raw {
			var err error
			switch k {
			case "ids":
				err = json.Unmarshal(v, &req.IDs)
			case "fields":
				err = json.Unmarshal(v, &req.Fields)
			default:
				err = fmt.Errorf("unrecognized field %q", k)
			}
			if err != nil {
				s.writeErrors(c.w, c.limit, jsonError(err))
				return
			}
		}
	} else {
		q := c.r.URL.Query()
		req.IDs = splitList(q.Get("ids"))
		req.Fields = splitList(q.Get("fields"))
	}
	if len(req.IDs) == 0 || len(req.Fields) == 0 {
		s.writeErrors(c.w, c.limit, badRequest("MISSING_ARGUMENT", "Both ids and fields are required"))
		return
	}
	if len(req.IDs) > 2000 {
		s.writeErrors(c.w, c.limit, badRequest("EXCEEDED_ID_LIMIT", "record limit reached. cannot retrieve more than 2000 records in this call"))
		return
	}
	fields, apiErr := fieldRefs(d, req.Fields)
	if apiErr != nil {
		s.writeErrors(c.w, c.limit, *apiErr)
		return
	}
	ids := make([]string, len(req.IDs))
	for i, raw := range req.IDs {
		id, err := normalizeID(raw)
		if err != nil || id[:3] != d.prefix {
			s.writeErrors(c.w, c.limit, badRequest("MALFORMED_ID", fmt.Sprintf("%s ID: id value of incorrect type: %s", d.name, raw)))
			return
		}
		ids[i] = id
	}
	var b bytes.Buffer
	b.WriteByte('[')
	s.mu.Lock()
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		if r, ok := s.org.tables[d].byID[id]; ok {
			s.org.render(&b, r, fields, c.base)
		} else {
			b.WriteString("null")
		}
	}
	s.mu.Unlock()
	b.WriteByte(']')
	s.writeRaw(c.w, c.limit, http.StatusOK, b.Bytes())
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// fieldRefs resolves a list of field names of an object, as ?fields= gives them.
func fieldRefs(d *objectDef, names []string) ([]soql.FieldRef, *apiError) {
	out := make([]soql.FieldRef, 0, len(names))
	for _, name := range names {
		_, fd, ok := d.field(strings.TrimSpace(name))
		if !ok {
			e := badRequest("INVALID_FIELD", fmt.Sprintf(
				"No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
				strings.TrimSpace(name), d.name))
			return nil, &e
		}
		out = append(out, soql.FieldRef{fd.name})
	}
	return out, nil
}

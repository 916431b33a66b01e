package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// SCIM schema URIs (compared case-insensitively, as RFC 7643 requires).
const (
	scimListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	scimEnterprise   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	scimError        = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// foldKeys returns obj keyed by lower-case attribute name. When two keys differ only
// in case, the one that sorts first wins, so the result never depends on map order.
func foldKeys(obj map[string]any) map[string]any {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]any, len(obj))
	for _, k := range keys {
		lk := strings.ToLower(k)
		if _, dup := out[lk]; !dup {
			out[lk] = obj[k]
		}
	}
	return out
}

// str returns a scalar attribute as text ("" when absent or not a scalar).
func str(obj map[string]any, key string) string {
	s, _ := scalarString(obj[key])
	return strings.TrimSpace(s)
}

// boolish reads a SCIM boolean, also when a server sends it as a string.
func boolish(v any, absent bool) (bool, error) {
	switch v := v.(type) {
	case nil:
		return absent, nil
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("%v is not a boolean", v)
}

func scimEmail(obj map[string]any) (Email, bool) {
	o := foldKeys(obj)
	value := str(o, "value")
	if value == "" {
		return Email{}, false
	}
	primary, _ := boolish(o["primary"], false)
	return Email{Value: value, Type: str(o, "type"), Primary: primary}, true
}

func scimGroup(obj map[string]any) (Group, bool) {
	o := foldKeys(obj)
	g := Group{ID: str(o, "value"), Name: str(o, "display")}
	return g, g.ID != "" || g.Name != ""
}

// scimUser builds a record from a SCIM 2.0 User resource (RFC 7643 §4.1) with the
// enterprise extension (§4.3). Attribute names are matched case-insensitively. Other
// scalar attributes, sub-attributes of name, typed phone numbers and scalar attributes
// of other extensions are kept as Attributes.
func scimUser(resource map[string]any) (Record, error) {
	o := foldKeys(resource)
	rec := Record{
		ID:          str(o, "id"),
		UserName:    str(o, "username"),
		DisplayName: str(o, "displayname"),
		Title:       str(o, "title"),
	}
	if rec.ID == "" {
		return Record{}, errors.New("resource has no id")
	}
	active, err := boolish(o["active"], true)
	if err != nil {
		return Record{}, fmt.Errorf("user %s: active: %w", quote(rec.ID), err)
	}
	rec.Active = active
	handled := map[string]bool{"id": true, "username": true, "displayname": true, "title": true,
		"active": true, "name": true, "emails": true, "groups": true, "schemas": true, "meta": true,
		"phonenumbers": true}
	if name, ok := o["name"].(map[string]any); ok {
		n := foldKeys(name)
		rec.GivenName = str(n, "givenname")
		rec.FamilyName = str(n, "familyname")
		for k, v := range name {
			if lk := strings.ToLower(k); lk != "givenname" && lk != "familyname" {
				addScalar(&rec, "name."+k, v)
			}
		}
	}
	if list, ok := o["emails"].([]any); ok {
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				if e, ok := scimEmail(m); ok {
					rec.Emails = append(rec.Emails, e)
				}
			}
		}
	}
	if list, ok := o["groups"].([]any); ok {
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				if g, ok := scimGroup(m); ok {
					rec.Groups = append(rec.Groups, g)
				}
			}
		}
	}
	if list, ok := o["phonenumbers"].([]any); ok {
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				p := foldKeys(m)
				if t := str(p, "type"); t != "" {
					addScalar(&rec, "phoneNumbers."+t, p["value"])
				}
			}
		}
	}
	for k, v := range resource {
		lk := strings.ToLower(k)
		if handled[lk] {
			continue
		}
		ext, isObject := v.(map[string]any)
		switch {
		case lk == strings.ToLower(scimEnterprise) && isObject:
			e := foldKeys(ext)
			rec.EmployeeNumber = str(e, "employeenumber")
			rec.Department = str(e, "department")
			if m, ok := e["manager"].(map[string]any); ok {
				rec.ManagerID = str(foldKeys(m), "value")
			}
			for ek, ev := range ext {
				if l := strings.ToLower(ek); l != "employeenumber" && l != "department" && l != "manager" {
					addScalar(&rec, ek, ev)
				}
			}
		case strings.HasPrefix(lk, "urn:") && isObject:
			for ek, ev := range ext {
				addScalar(&rec, k+":"+ek, ev)
			}
		default:
			addScalar(&rec, k, v)
		}
	}
	rec.normalize()
	return rec, nil
}

// addScalar keeps a non-empty scalar as an additional attribute.
func addScalar(r *Record, name string, v any) {
	if s, ok := scalarString(v); ok {
		if s = strings.TrimSpace(s); s != "" {
			r.Attributes = append(r.Attributes, Attribute{Name: name, Value: s})
		}
	}
}

// hasSchema reports whether a schemas list names uri (case-insensitively).
func hasSchema(schemas []string, uri string) bool {
	return slices.ContainsFunc(schemas, func(s string) bool { return strings.EqualFold(s, uri) })
}

// idSet tracks resource ids to detect repeats, which in SCIM mean broken paging.
type idSet map[string]struct{}

func (s idSet) add(id string) bool {
	if _, dup := s[id]; dup {
		return false
	}
	s[id] = struct{}{}
	return true
}

// decodeSCIMDocument reads a saved SCIM ListResponse, streaming its Resources. It is
// complete only when it holds the whole list: totalResults (when present) equals the
// resources it carries, and no id repeats.
func decodeSCIMDocument(ctx context.Context, r io.Reader, p *pullResult) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		p.fail(err, fmt.Sprintf("SCIM document: %v", err))
		return
	}
	var (
		total        *int
		schemas      []string
		hasResources bool
		ids          = idSet{}
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			p.fail(err, fmt.Sprintf("SCIM document: %v", err))
			return
		}
		key, _ := tok.(string)
		switch strings.ToLower(key) {
		case "resources":
			hasResources = true
			if err := expectDelim(dec, '['); err != nil {
				p.fail(err, fmt.Sprintf("SCIM document: Resources: %v", err))
				return
			}
			for i := 1; dec.More(); i++ {
				var obj map[string]any
				if err := dec.Decode(&obj); err != nil {
					p.fail(err, fmt.Sprintf("SCIM document: resource %d: %v", i, err))
					return
				}
				rec, err := scimUser(obj)
				if err != nil {
					p.fail(nil, fmt.Sprintf("SCIM document: resource %d: %v", i, err))
					return
				}
				if !ids.add(rec.ID) {
					p.fail(nil, fmt.Sprintf("SCIM document: resource %d repeats id %s", i, quote(rec.ID)))
					return
				}
				p.records = append(p.records, rec)
				if i%ctxCheckEvery == 0 && ctx.Err() != nil {
					p.fail(ctx.Err(), fmt.Sprintf("stopped at resource %d: %v", i, ctx.Err()))
					return
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				p.fail(err, fmt.Sprintf("SCIM document: Resources: %v", err))
				return
			}
		case "totalresults":
			var n int
			if err := dec.Decode(&n); err != nil {
				p.fail(err, fmt.Sprintf("SCIM document: totalResults: %v", err))
				return
			}
			total = &n
		case "schemas":
			if err := dec.Decode(&schemas); err != nil {
				p.fail(err, fmt.Sprintf("SCIM document: schemas: %v", err))
				return
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				p.fail(err, fmt.Sprintf("SCIM document: %s: %v", quote(key), err))
				return
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		p.fail(err, fmt.Sprintf("SCIM document: %v", err))
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		p.fail(nil, "SCIM document: unexpected data after the document")
		return
	}
	switch {
	case schemas != nil && !hasSchema(schemas, scimListResponse):
		p.fail(nil, "SCIM document: schemas does not name "+scimListResponse)
	case !hasResources:
		p.fail(nil, "SCIM document: no Resources")
	case total != nil && *total != len(p.records):
		p.fail(nil, fmt.Sprintf("SCIM document: totalResults is %d but it holds %d resources (a partial list)", *total, len(p.records)))
	case len(p.records) == 0:
		p.fail(nil, "SCIM document: no users")
	}
}

package sfsim

import (
	"net/http"
	"slices"
	"strings"
)

// describeField is one field of a describe answer, with the properties clients read.
type describeField struct {
	Name         string   `json:"name"`
	Label        string   `json:"label"`
	Type         string   `json:"type"`
	Length       int      `json:"length"`
	Createable   bool     `json:"createable"`
	Updateable   bool     `json:"updateable"`
	Nillable     bool     `json:"nillable"`
	IDLookup     bool     `json:"idLookup"`
	ExternalID   bool     `json:"externalId"`
	Unique       bool     `json:"unique"`
	ReferenceTo  []string `json:"referenceTo"`
	Relationship *string  `json:"relationshipName"`
}

// describeObject is the part of an sObject describe the simulator knows.
type describeObject struct {
	Name         string            `json:"name"`
	Label        string            `json:"label"`
	KeyPrefix    string            `json:"keyPrefix"`
	Createable   bool              `json:"createable"`
	Updateable   bool              `json:"updateable"`
	Deletable    bool              `json:"deletable"`
	Queryable    bool              `json:"queryable"`
	Retrieveable bool              `json:"retrieveable"`
	URLs         map[string]string `json:"urls"`
	Fields       []describeField   `json:"fields,omitempty"`
}

// createable says whether the API may create records of d: whether d has a create hook.
func createable(d *objectDef) bool { return d.ops.create != nil }

// updateable says whether the API may update records of d: whether d has an update hook.
func updateable(d *objectDef) bool { return d.ops.update != nil }

func (s *Server) describe(d *objectDef, base string, withFields bool) describeObject {
	url := base + "/sobjects/" + d.name
	out := describeObject{
		Name: d.name, Label: d.name, KeyPrefix: d.prefix,
		Createable: d.ops.create != nil, Updateable: d.ops.update != nil, Deletable: d.ops.delete != nil,
		Queryable: true, Retrieveable: true,
		URLs: map[string]string{"sobject": url, "describe": url + "/describe", "rowTemplate": url + "/{ID}"},
	}
	if !withFields {
		return out
	}
	for i := range d.fields {
		fd := &d.fields[i]
		f := describeField{
			Name: fd.name, Label: fd.label, Length: fd.length, ReferenceTo: []string{},
			Createable: (fd.access == writable || fd.access == createOnly) && out.Createable, Updateable: fd.access == writable && out.Updateable,
			Nillable: !fd.required && fd.kind != kindBool && fd.name != "Id",
		}
		switch {
		case fd.name == "Id":
			f.Type = "id"
		case fd.kind == kindRef:
			f.Type = "reference"
			f.ReferenceTo = []string{fd.ref}
			for _, p := range d.parents {
				if p.Field == fd.name {
					name := p.Name
					f.Relationship = &name
				}
			}
		case fd.kind == kindEmail:
			f.Type = "email"
		case fd.kind == kindBool:
			f.Type = "boolean"
		case fd.kind == kindInt:
			f.Type = "int"
		case fd.kind == kindDateTime:
			f.Type = "datetime"
		case fd.kind == kindDate:
			f.Type = "date"
		case fd.name == "TimeZoneSidKey" || fd.name == "LocaleSidKey" || fd.name == "EmailEncodingKey" ||
			fd.name == "LanguageLocaleKey" || fd.name == "UserType":
			f.Type = "picklist"
		case fd.name == "Phone" || fd.name == "MobilePhone":
			f.Type = "phone"
		default:
			f.Type = "string"
		}
		if d == s.schema.user {
			_, _, f.IDLookup = s.externalIDField(fd.name)
			f.Unique = fd.name == "Username" || fd.name == "FederationIdentifier" || fd.name == "CommunityNickname"
		}
		out.Fields = append(out.Fields, f)
	}
	return out
}

// serveDescribeGlobal is GET .../sobjects: the objects the simulator has.
func (s *Server) serveDescribeGlobal(c *call) {
	var objects []describeObject
	for _, d := range s.schema.objects {
		objects = append(objects, s.describe(d, c.base, false))
	}
	slices.SortFunc(objects, func(a, b describeObject) int { return strings.Compare(a.Name, b.Name) })
	s.writeJSON(c.w, c.limit, http.StatusOK, map[string]any{"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})
}

// serveDescribe is GET .../sobjects/{type}/describe.
func (s *Server) serveDescribe(c *call) {
	d, ok := s.objectOf(c)
	if !ok {
		return
	}
	s.writeJSON(c.w, c.limit, http.StatusOK, s.describe(d, c.base, true))
}

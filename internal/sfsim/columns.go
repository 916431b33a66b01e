package sfsim

import (
	"net/http"
	"strings"

	"github.com/syncd-io/syncd/internal/sfsim/soql"
)

// columnMeta is one column of the query resource's columns=true answer. Salesforce
// does not document the resource fully; the shape is the one third-party clients type
// (Jetstream) and the Salesforce CLI reads: its `sf data query` asks for it after the
// records to lay out its table, and follows joinColumns for relationship fields.
type columnMeta struct {
	Aggregate      bool         `json:"aggregate"`
	ApexType       *string      `json:"apexType"`
	BooleanType    bool         `json:"booleanType"`
	ColumnName     string       `json:"columnName"`
	Custom         bool         `json:"custom"`
	DisplayName    string       `json:"displayName"`
	ForeignKeyName *string      `json:"foreignKeyName"`
	Insertable     bool         `json:"insertable"`
	JoinColumns    []columnMeta `json:"joinColumns"`
	NumberType     bool         `json:"numberType"`
	TextType       bool         `json:"textType"`
	Updatable      bool         `json:"updatable"`
}

// queryColumns is the answer of GET .../query?q=SOQL&columns=true: a description of
// the query's columns instead of its records.
type queryColumns struct {
	ColumnMetadata []columnMeta `json:"columnMetadata"`
	EntityName     string       `json:"entityName"`
	GroupBy        bool         `json:"groupBy"`
	IDSelected     bool         `json:"idSelected"`
	KeyPrefix      string       `json:"keyPrefix"`
}

// wantsColumns says whether a query request asks for the columns=true form.
func wantsColumns(r *http.Request) bool {
	return strings.EqualFold(r.URL.Query().Get("columns"), "true")
}

// describeColumns describes the columns of a parsed query.
func (s *Server) describeColumns(q *soql.Query) queryColumns {
	d, _ := s.schema.object(q.Object.Name)
	out := queryColumns{ColumnMetadata: s.columns(d, q.Fields, ""), EntityName: d.name, KeyPrefix: d.prefix}
	for _, f := range q.Fields {
		if len(f) == 1 && f[0] == "Id" {
			out.IDSelected = true
		}
	}
	return out
}

// columns describes fields of d in SELECT order. A relationship path such as
// Profile.Name becomes one column named after the relationship (once, however many of
// its fields are selected) with the parent's fields nested in joinColumns; prefix is
// the path so far, for display names.
func (s *Server) columns(d *objectDef, refs []soql.FieldRef, prefix string) []columnMeta {
	out := []columnMeta{}
	done := map[string]bool{}
	for i, f := range refs {
		if len(f) == 1 {
			_, fd, _ := d.field(f[0])
			out = append(out, fieldColumn(d, fd, prefix))
			continue
		}
		head := f[0]
		if done[head] {
			continue
		}
		done[head] = true
		rel, _ := d.parent(head)
		parent, _ := s.schema.object(rel.Object)
		out = append(out, columnMeta{
			ColumnName: head, DisplayName: prefix + head,
			JoinColumns: s.columns(parent, relationshipTails(refs[i:], head), prefix+head+"."),
		})
	}
	return out
}

// fieldColumn describes one field of d.
func fieldColumn(d *objectDef, fd *fieldDef, prefix string) columnMeta {
	apexType := "String"
	col := columnMeta{
		ColumnName: fd.name, DisplayName: prefix + fd.name, JoinColumns: []columnMeta{},
		Insertable: (fd.access == writable || fd.access == createOnly) && createable(d),
		Updatable:  fd.access == writable && updateable(d),
	}
	switch {
	case fd.name == "Id" || fd.kind == kindRef:
		apexType = "Id"
	case fd.kind == kindBool:
		apexType, col.BooleanType = "Boolean", true
	case fd.kind == kindInt:
		apexType, col.NumberType = "Integer", true
	case fd.kind == kindDateTime:
		apexType = "Datetime"
	case fd.kind == kindDate:
		apexType = "Date"
	default:
		col.TextType = true
	}
	col.ApexType = &apexType
	return col
}

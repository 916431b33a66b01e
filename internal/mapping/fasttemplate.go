package mapping

import (
	"bytes"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/syncd-io/syncd/internal/source"
)

// templateData is what a template sees: the record's attributes as fields (.GivenName,
// .Emails, .Groups), .Email (the primary address), .UsernameSuffix, and the methods
// Attr and InGroup. The fields are copied rather than embedded because text/template
// finds promoted fields through a slow reflective search, and a million records make
// that count.
type templateData struct {
	ID             string
	UserName       string
	Email          string
	Emails         []source.Email
	GivenName      string
	FamilyName     string
	DisplayName    string
	Active         bool
	Title          string
	Department     string
	ManagerID      string
	EmployeeNumber string
	Groups         []source.Group
	Attributes     []source.Attribute
	UsernameSuffix string
	record         *source.Record
}

func (d *templateData) load(r *source.Record) {
	*d = templateData{
		ID: r.ID, UserName: r.UserName, Email: r.PrimaryEmail(), Emails: r.Emails,
		GivenName: r.GivenName, FamilyName: r.FamilyName, DisplayName: r.DisplayName, Active: r.Active,
		Title: r.Title, Department: r.Department, ManagerID: r.ManagerID, EmployeeNumber: r.EmployeeNumber,
		Groups: r.Groups, Attributes: r.Attributes, UsernameSuffix: d.UsernameSuffix, record: r,
	}
}

// Attr returns an additional attribute by name (case-insensitive), "" when absent:
// {{ .Attr "costCenter" }}.
func (d *templateData) Attr(name string) string { return d.record.Attr(name) }

// InGroup reports membership by group name or id: {{ if .InGroup "Admins" }}.
func (d *templateData) InGroup(group string) bool { return d.record.InGroup(group) }

// stringField returns the accessor of a string field of templateData, for the fast path.
func stringField(name string) func(*templateData) string {
	switch name {
	case "ID":
		return func(d *templateData) string { return d.ID }
	case "UserName":
		return func(d *templateData) string { return d.UserName }
	case "Email":
		return func(d *templateData) string { return d.Email }
	case "GivenName":
		return func(d *templateData) string { return d.GivenName }
	case "FamilyName":
		return func(d *templateData) string { return d.FamilyName }
	case "DisplayName":
		return func(d *templateData) string { return d.DisplayName }
	case "Title":
		return func(d *templateData) string { return d.Title }
	case "Department":
		return func(d *templateData) string { return d.Department }
	case "ManagerID":
		return func(d *templateData) string { return d.ManagerID }
	case "EmployeeNumber":
		return func(d *templateData) string { return d.EmployeeNumber }
	case "UsernameSuffix":
		return func(d *templateData) string { return d.UsernameSuffix }
	}
	return nil
}

// fastTemplate renders the common shape of mapping templates, text and pipelines that
// start at a string field and go through the mapping functions with literal arguments
// ("{{ lower .Email }}{{ .UsernameSuffix }}", "{{ .Title | truncate 40 }}"), without
// reflection. When every part but one renders empty (a single pipeline, or the default
// Username "{{ .Email }}{{ .UsernameSuffix }}" without a suffix), the result is that
// part's string, the record's own when no function changes it, so the desired value
// shares memory with the record instead of being a copy. Anything else runs through
// text/template; both give the same output (see TestFastPathMatchesTemplate).
type fastTemplate struct {
	parts []fastPart
}

type fastPart struct {
	text  string
	field func(*templateData) string
	funcs []func(string) string
}

func (p *fastPart) eval(d *templateData) string {
	if p.field == nil {
		return p.text
	}
	v := p.field(d)
	for _, f := range p.funcs {
		v = f(v)
	}
	return v
}

func (t *fastTemplate) render(d *templateData, buf *bytes.Buffer) string {
	if len(t.parts) == 1 {
		return t.parts[0].eval(d)
	}
	buf.Reset()
	var only string // the one non-empty part, while there is at most one
	for i := range t.parts {
		v := t.parts[i].eval(d)
		if v != "" && buf.Len() == 0 {
			only = v
		}
		buf.WriteString(v)
	}
	if len(only) == buf.Len() {
		return only
	}
	return buf.String()
}

// compileFast returns the fast form of t, or nil when t uses anything beyond it.
func compileFast(t *template.Template) *fastTemplate {
	if t.Tree == nil || t.Root == nil || len(t.Templates()) != 1 {
		return nil
	}
	fast := &fastTemplate{}
	for _, node := range t.Root.Nodes {
		switch n := node.(type) {
		case *parse.TextNode:
			fast.parts = append(fast.parts, fastPart{text: string(n.Text)})
		case *parse.ActionNode:
			part, ok := compilePipe(n.Pipe)
			if !ok {
				return nil
			}
			fast.parts = append(fast.parts, part)
		default:
			return nil
		}
	}
	if len(fast.parts) == 0 {
		return nil
	}
	return fast
}

// compilePipe accepts a pipeline that starts at a string field, either alone
// ({{ .Email | lower }}) or as the last argument of a function ({{ lower .Email }}).
func compilePipe(pipe *parse.PipeNode) (fastPart, bool) {
	if pipe == nil || len(pipe.Decl) > 0 || len(pipe.Cmds) == 0 {
		return fastPart{}, false
	}
	first := pipe.Cmds[0].Args
	field, ok := first[len(first)-1].(*parse.FieldNode)
	if !ok || len(field.Ident) != 1 {
		return fastPart{}, false
	}
	part := fastPart{field: stringField(field.Ident[0])}
	if part.field == nil {
		return fastPart{}, false
	}
	stages := make([][]parse.Node, 0, len(pipe.Cmds))
	if len(first) > 1 {
		stages = append(stages, first[:len(first)-1])
	}
	for _, cmd := range pipe.Cmds[1:] {
		stages = append(stages, cmd.Args)
	}
	for _, args := range stages {
		f, ok := compileFunc(args)
		if !ok {
			return fastPart{}, false
		}
		part.funcs = append(part.funcs, f)
	}
	return part, true
}

// compileFunc turns one pipeline stage into a function of the piped value.
func compileFunc(args []parse.Node) (func(string) string, bool) {
	if len(args) == 0 {
		return nil, false
	}
	ident, ok := args[0].(*parse.IdentifierNode)
	if !ok {
		return nil, false
	}
	lits := make([]string, 0, 2)
	for _, a := range args[1:] {
		s, ok := a.(*parse.StringNode)
		if !ok {
			if n, isNum := a.(*parse.NumberNode); isNum && n.IsInt && ident.Ident == "truncate" && len(args) == 2 {
				limit := int(n.Int64)
				return func(s string) string { return truncate(limit, s) }, true
			}
			return nil, false
		}
		lits = append(lits, s.Text)
	}
	switch {
	case ident.Ident == "lower" && len(lits) == 0:
		return strings.ToLower, true
	case ident.Ident == "upper" && len(lits) == 0:
		return strings.ToUpper, true
	case ident.Ident == "trim" && len(lits) == 0:
		return strings.TrimSpace, true
	case ident.Ident == "asciifold" && len(lits) == 0:
		return asciiFold, true
	case ident.Ident == "default" && len(lits) == 1:
		def := lits[0]
		return func(s string) string { return defaultString(def, s) }, true
	case ident.Ident == "replace" && len(lits) == 2:
		old, new := lits[0], lits[1]
		return func(s string) string { return strings.ReplaceAll(s, old, new) }, true
	}
	return nil, false
}

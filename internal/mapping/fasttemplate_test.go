package mapping

import (
	"bytes"
	"testing"
	"text/template"

	"github.com/syncd-io/syncd/internal/source"
)

// fastPathTemplates lists templates with whether the fast path should take them.
var fastPathTemplates = []struct {
	from string
	fast bool
}{
	{"{{ .Email }}", true},
	{"{{ .Email | lower }}{{ .UsernameSuffix }}", true},
	{"{{.GivenName}} {{.FamilyName}}", true},
	{"prefix-{{ .EmployeeNumber | trim | default \"none\" }}-suffix", true},
	{"{{ .DisplayName | asciifold | upper | truncate 5 }}", true},
	{"{{ .Title | replace \"Sr.\" \"Senior\" }}", true},
	{"{{ .ID }}{{ .UserName }}{{ .ManagerID }}{{ .Department }}", true},
	{"fixed text", true},
	{"{{ lower .Email }}", true},
	{"{{ truncate 3 .GivenName | upper }}", true},
	{"{{ default \"x\" .Department }}", true},
	{"{{ lower .Emails }}", false},
	{"{{ lower \"X\" }}", false},
	{"{{ lower }}", false},
	{"{{ .Attr \"costCenter\" }}", false},
	{"{{ if .Active }}a{{ else }}b{{ end }}", false},
	{"{{ .Active }}", false},
	{"{{ $x := .Email }}{{ $x }}", false},
	{"{{ .Email | printf \"%s!\" }}", false},
	{"{{ .Title | truncate 3 | default \"x\" | lower }}", true},
	{"{{ .Title | truncate -2 }}", true},
	{"{{ range .Groups }}{{ .Name }},{{ end }}", false},
	{"{{/* comment */}}{{ .Email }}", true}, // the parser drops comments
}

var fastPathRecords = []source.Record{
	{ID: "1", UserName: "JDoe", Emails: []source.Email{{Value: "J.Doe@Acme.example"}}, GivenName: "Jöhn", FamilyName: "D'Arcy",
		DisplayName: "Jöhn D'Arcy", Title: "Sr. Engineer", Department: "", EmployeeNumber: "  ", Active: true,
		Attributes: []source.Attribute{{Name: "costCenter", Value: "CC"}}, Groups: []source.Group{{Name: "G"}}},
	{ID: "2", GivenName: "李", FamilyName: "伟", DisplayName: "李伟", Title: "工程师"},
	{},
}

// TestFastPathMatchesTemplate checks that the fast path takes what it should and gives
// exactly text/template's output.
func TestFastPathMatchesTemplate(t *testing.T) {
	for _, tt := range fastPathTemplates {
		tmpl := template.Must(template.New("x").Funcs(templateFuncs()).Parse(tt.from))
		fast := compileFast(tmpl)
		if (fast != nil) != tt.fast {
			t.Errorf("%q: fast path taken = %v, want %v", tt.from, fast != nil, tt.fast)
			continue
		}
		for i := range fastPathRecords {
			compareRender(t, tmpl, fast, &fastPathRecords[i])
		}
	}
}

func compareRender(t *testing.T, tmpl *template.Template, fast *fastTemplate, rec *source.Record) {
	t.Helper()
	var data templateData
	data.UsernameSuffix = ".sbx"
	data.load(rec)
	var want bytes.Buffer
	if err := tmpl.Execute(&want, &data); err != nil {
		if fast != nil {
			t.Errorf("%q: the fast path took a template that fails: %v", tmpl.Root, err)
		}
		return
	}
	if fast == nil {
		return
	}
	if got := fast.render(&data, &bytes.Buffer{}); got != want.String() {
		t.Errorf("%q on %q: fast %q, text/template %q", tmpl.Root, rec.ID, got, want.String())
	}
}

// FuzzFastPath feeds arbitrary record values through every fast-path template and
// compares with text/template.
func FuzzFastPath(f *testing.F) {
	f.Add("Jöhn", "D'Arcy", "J.Doe@Acme.example", "Sr. Engineer  ", "ﬁ ß Ø")
	f.Fuzz(func(t *testing.T, given, family, email, title, display string) {
		rec := source.Record{ID: given + family, UserName: email, GivenName: given, FamilyName: family,
			Emails: []source.Email{{Value: email}}, Title: title, DisplayName: display, EmployeeNumber: title, Department: display}
		for _, tt := range fastPathTemplates {
			tmpl := template.Must(template.New("x").Funcs(templateFuncs()).Parse(tt.from))
			compareRender(t, tmpl, compileFast(tmpl), &rec)
		}
	})
}

// TestFastPathSharesValues checks that a template rendering a single non-empty part
// returns that string itself rather than a copy: a million users would otherwise carry
// a million copies of their addresses.
func TestFastPathSharesValues(t *testing.T) {
	rec := source.Record{ID: "1", Emails: []source.Email{{Value: "J.Doe@Acme.example"}}, GivenName: "J"}
	tests := []struct {
		from, suffix string
		allocs       float64
	}{
		{"{{ .Email }}{{ .UsernameSuffix }}", "", 0},
		{"{{ .UsernameSuffix }}{{ .Email }}", "", 0},
		{"{{ .Email }}", ".sbx", 0},
		{"{{ .Email }}{{ .UsernameSuffix }}", ".sbx", 1}, // a real concatenation
	}
	for _, tt := range tests {
		fast := compileFast(template.Must(template.New("x").Funcs(templateFuncs()).Parse(tt.from)))
		data := templateData{UsernameSuffix: tt.suffix}
		data.load(&rec)
		var buf bytes.Buffer
		buf.Grow(64)
		if got := testing.AllocsPerRun(100, func() { fast.render(&data, &buf) }); got != tt.allocs {
			t.Errorf("%q with suffix %q: %v allocations, want %v", tt.from, tt.suffix, got, tt.allocs)
		}
	}
}

package mapping

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/source"
)

func person(id, given, family, email string) source.Record {
	r := source.Record{ID: id, GivenName: given, FamilyName: family, Active: true}
	if email != "" {
		r.Emails = []source.Email{{Value: email, Primary: true}}
	}
	return r
}

func mustNew(t *testing.T, cfg Config) *Mapper {
	t.Helper()
	if cfg.Profile.Default == "" && cfg.Profile.Rules == nil {
		cfg.Profile.Default = "Standard User"
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func TestMapDefaults(t *testing.T) {
	m := mustNew(t, Config{UsernameSuffix: ".UAT"})
	got := m.Map([]source.Record{person("00u1", "Zoë", "Núñez", "Zoe.Nunez@Acme.example")})
	want := Result{Desired: []Desired{{
		ID: "00u1", Profile: "Standard User",
		Fields: []Field{
			NewField("Alias", "znunez", Always),
			NewField("Email", "Zoe.Nunez@Acme.example", Always),
			NewField("EmailEncodingKey", "UTF-8", OnCreate),
			NewField("FederationIdentifier", "00u1", Always), // found again by it after a crash between create and record
			NewField("FirstName", "Zoë", Always),
			NewField("LanguageLocaleKey", "en_US", OnCreate),
			NewField("LastName", "Núñez", Always),
			NewField("LocaleSidKey", "en_US", OnCreate),
			NewField("TimeZoneSidKey", "America/New_York", OnCreate),
			NewField("Username", "zoe.nunez@acme.example.uat", Always),
		},
	}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Map (-want +got):\n%s", diff)
	}
}

func TestTemplates(t *testing.T) {
	rec := source.Record{ID: "00u7", UserName: "SEAN.OBRIEN", GivenName: "  Seán ", FamilyName: "O'Brien", Active: true,
		Emails:     []source.Email{{Value: "sean@home.example", Type: "home"}, {Value: "Sean.OBrien@acme.example", Type: "work"}},
		Title:      "Principal Engineer, Platform Reliability and Developer Experience, EMEA",
		Groups:     []source.Group{{ID: "g1", Name: "Engineering"}},
		Attributes: []source.Attribute{{Name: "costCenter", Value: "CC-42"}}}
	tests := []struct {
		from string
		want string
	}{
		{"{{ .Email }}", "Sean.OBrien@acme.example"},
		{"{{ .Email | lower }}", "sean.obrien@acme.example"},
		{"{{ .UserName | lower }}@acme.example", "sean.obrien@acme.example"},
		{"{{ .FamilyName | upper }}", "O'BRIEN"},
		{"[{{ .GivenName | trim }}]", "[Seán]"},
		{"{{ .GivenName | trim | asciifold }} {{ .FamilyName }}", "Sean O'Brien"},
		{"{{ .Title | truncate 19 }}", "Principal Engineer,"},
		{"{{ .Title | truncate 20 }}", "Principal Engineer,"}, // outputs are trimmed
		{"{{ .Department | default \"General\" }}", "General"},
		{"{{ .Title | truncate 9 | default \"x\" }}", "Principal"},
		{"{{ .Attr \"costcenter\" }}", "CC-42"},
		{"{{ .Attr \"missing\" | default \"none\" }}", "none"},
		{"{{ range .Groups }}{{ .Name }}{{ end }}", "Engineering"},
		{"{{ .FamilyName | replace \"'\" \"\" }}", "OBrien"},
		{"{{ if .Active }}yes{{ end }}", "yes"},
	}
	for _, tt := range tests {
		t.Run(tt.from, func(t *testing.T) {
			m := mustNew(t, Config{Fields: map[string]FieldConfig{"Nickname__c": {From: tt.from}}})
			res := m.Map([]source.Record{rec})
			if len(res.Desired) != 1 {
				t.Fatalf("rejected: %+v", res.Rejected)
			}
			if got, _ := res.Desired[0].Value("Nickname__c"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGenerateAlias(t *testing.T) {
	tests := []struct{ given, family, email, want string }{
		{"Zoë", "Núñez", "", "znunez"},
		{"Seán", "O'Brien", "", "sobrien"},
		{"Jürgen", "Groß", "", "jgross"},
		{"Øystein", "Ødegård", "", "oodegard"},
		{"Maximilian", "Mustermann-Schmidt", "", "mmusterm"},
		{"Li", "Xu", "", "lxu"},
		{"", "Ng", "", "ng"},
		{"伟", "李", "li.wei@acme.example", "liwei"},
		{"Cher", "", "cher@acme.example", "cher"},
		{"Анна", "Иванова", "anna.ivanova2@acme.example", "annaivan"},
		{"", "", "", "user"},
	}
	for _, tt := range tests {
		if got := generateAlias(&texts{}, tt.given, tt.family, tt.email); got != tt.want {
			t.Errorf("generateAlias(%q, %q, %q) = %q, want %q", tt.given, tt.family, tt.email, got, tt.want)
		}
	}
}

func TestFoldAndTruncate(t *testing.T) {
	for in, want := range map[string]string{
		"Núñez": "Nunez", "Groß": "Gross", "Ærø": "AEro", "Łódź": "Lodz", "ﬁle": "file", "李伟": "", "O’Brien": "O'Brien", "plain": "plain",
	} {
		if got := asciiFold(in); got != want {
			t.Errorf("asciiFold(%q) = %q, want %q", in, got, want)
		}
	}
	if got := truncate(3, "Zoë Núñez"); got != "Zoë" {
		t.Errorf("truncate counts bytes, not characters: %q", got)
	}
	if got := truncate(-1, "x"); got != "" {
		t.Errorf("truncate(-1) = %q", got)
	}
}

func TestProfileAndRoleRules(t *testing.T) {
	cfg := Config{
		Profile: AssignmentConfig{
			Rules: []Rule{
				{When: map[string]string{"department": "sales", "title": "Manager"}, Profile: "Sales Manager"},
				{When: map[string]string{"department": "Sales"}, Profile: "Sales User"},
				{When: map[string]string{"group": "Salesforce Admins"}, Profile: "System Administrator"},
				{When: map[string]string{"costCenter": "CC-9"}, Profile: "Finance User"},
			},
			Default: "Standard User",
		},
		Role: AssignmentConfig{
			Rules: []Rule{{When: map[string]string{"group": "g-emea"}, Role: "EMEA Sales"}},
			Mode:  modeAlways,
		},
		Attributes: []string{"costcenter"}, // declared in any case
	}
	m := mustNew(t, cfg)
	sales := person("1", "A", "A", "a@acme.example")
	sales.Department, sales.Title = "Sales", "manager"
	seller := person("2", "B", "B", "b@acme.example")
	seller.Department = "Sales"
	seller.Groups = []source.Group{{ID: "g-emea", Name: "EMEA"}}
	admin := person("3", "C", "C", "c@acme.example")
	admin.Groups = []source.Group{{ID: "g7", Name: "salesforce admins"}}
	finance := person("4", "D", "D", "d@acme.example")
	finance.Attributes = []source.Attribute{{Name: "costCenter", Value: "CC-9"}}
	other := person("5", "E", "E", "e@acme.example")

	res := m.Map([]source.Record{sales, seller, admin, finance, other})
	type choice struct{ Profile, Role string }
	var got []choice
	for _, d := range res.Desired {
		got = append(got, choice{d.Profile, d.Role})
	}
	want := []choice{{"Sales Manager", ""}, {"Sales User", "EMEA Sales"}, {"System Administrator", ""}, {"Finance User", ""}, {"Standard User", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("choices (-want +got):\n%s", diff)
	}

	profiles := map[string]string{"Sales Manager": "00e1", "Sales User": "00e2", "system administrator": "00e3", "Finance User": "00e4", "Standard User": "00e5"}
	roles := map[string]string{"EMEA Sales": "00E1"}
	if err := m.ResolveIDs(res.Desired, profiles, roles); err != nil {
		t.Fatalf("ResolveIDs: %v", err)
	}
	seller2 := res.Desired[1]
	if v, _ := seller2.Value("ProfileId"); v != "00e2" {
		t.Errorf("ProfileId %q", v)
	}
	if _, hasRole := res.Desired[0].Value("UserRoleId"); hasRole {
		t.Errorf("a user without a role got UserRoleId")
	}
	if v, _ := res.Desired[2].Value("ProfileId"); v != "00e3" {
		t.Errorf("case-insensitive profile name not resolved: %q", v)
	}
	wantFields := []Field{NewField("ProfileId", "00e2", OnCreate), NewField("UserRoleId", "00E1", Always)}
	var gotFields []Field
	for _, f := range seller2.Fields {
		if f.Name == "ProfileId" || f.Name == "UserRoleId" {
			gotFields = append(gotFields, f)
		}
	}
	if diff := cmp.Diff(wantFields, gotFields); diff != "" {
		t.Errorf("resolved fields and modes (-want +got):\n%s", diff)
	}
	if !isSorted(seller2.Fields) {
		t.Errorf("fields not sorted after ResolveIDs: %v", seller2.Fields)
	}
	// Resolving again replaces instead of adding.
	if err := m.ResolveIDs(res.Desired, profiles, roles); err != nil || len(res.Desired[1].Fields) != len(seller2.Fields) {
		t.Errorf("second ResolveIDs: %v, %d fields", err, len(res.Desired[1].Fields))
	}
}

func isSorted(fields []Field) bool {
	for i := 1; i < len(fields); i++ {
		if fields[i-1].Name >= fields[i].Name {
			return false
		}
	}
	return true
}

func TestResolveUnknownNames(t *testing.T) {
	m := mustNew(t, Config{Role: AssignmentConfig{Default: "Nobody Role"}, Profile: AssignmentConfig{
		Rules:   []Rule{{When: map[string]string{"department": "Sales"}, Profile: "Sales Usr"}},
		Default: "Standard User"}})
	a, b := person("1", "A", "A", "a@acme.example"), person("2", "B", "B", "b@acme.example")
	a.Department = "Sales"
	res := m.Map([]source.Record{a, b})
	before := cmp.Diff(nil, res.Desired)
	err := m.ResolveIDs(res.Desired, map[string]string{"Standard User": "00e1", "Sales User": "00e2"}, map[string]string{})
	want := "mapping.profile: Salesforce has no profile named \"Sales Usr\"\nmapping.role: Salesforce has no role named \"Nobody Role\""
	if err == nil || err.Error() != want {
		t.Fatalf("ResolveIDs error = %v, want %q", err, want)
	}
	if after := cmp.Diff(nil, res.Desired); after != before {
		t.Errorf("a failed ResolveIDs changed the users")
	}
}

func TestModes(t *testing.T) {
	m := mustNew(t, Config{Fields: map[string]FieldConfig{
		"Title":          {From: "{{ .Title }}"},
		"Department":     {From: "{{ .Department }}", Mode: modeOnCreate},
		"TimeZoneSidKey": {Value: "Europe/Berlin", Mode: modeAlways},
		"Alias":          {From: "{{ .EmployeeNumber }}", Mode: modeOnCreate},
	}})
	rec := person("1", "A", "Able", "a@acme.example")
	rec.EmployeeNumber = "E1"
	res := m.Map([]source.Record{rec})
	got := map[string]Mode{}
	for _, f := range res.Desired[0].Fields {
		got[f.Name] = f.Mode
	}
	want := map[string]Mode{"Alias": OnCreate, "Email": Always, "EmailEncodingKey": OnCreate, "FederationIdentifier": Always, "FirstName": Always,
		"LanguageLocaleKey": OnCreate, "LastName": Always, "LocaleSidKey": OnCreate, "TimeZoneSidKey": Always,
		"Username": Always, "Title": Always, "Department": OnCreate}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
	if v, _ := res.Desired[0].Value("Alias"); v != "E1" {
		t.Errorf("configured Alias replaced by a generated one: %q", v)
	}
	if OnCreate.String() != "on_create" || Always.String() != "always" {
		t.Errorf("mode names %q %q", OnCreate, Always)
	}
}

func TestValidation(t *testing.T) {
	m := mustNew(t, Config{
		Fields: map[string]FieldConfig{
			"Title":           {From: "{{ .Title }}"},
			"FirstName":       {From: "{{ .GivenName }}"},
			"Second_Email__c": {From: "{{ (index .Emails 1).Value }}"},
			"Code__c":         {From: "{{ .EmployeeNumber }}", MaxLength: 4},
		},
		Profile: AssignmentConfig{Rules: []Rule{{When: map[string]string{"department": "Sales"}, Profile: "Sales User"}}},
	})
	withTwo := func(r source.Record) source.Record {
		r.Emails = append(r.Emails, source.Email{Value: "other@home.example"})
		r.Department = "Sales"
		return r
	}
	long := withTwo(person("long", strings.Repeat("é", 41), "Long", "long@acme.example"))
	long.Title = strings.Repeat("t", 81)
	long.EmployeeNumber = "12345"
	oneEmail := person("oneemail", "O", "One", "one@acme.example")
	oneEmail.Department = "Sales"
	inactiveTwin := withTwo(person("old-id", "Ana", "Lima", "ANA@acme.example"))
	inactiveTwin.Active = false
	records := []source.Record{
		withTwo(person("ok", "Ok", "Person", "ok@acme.example")),
		{ID: "noemail", FamilyName: "X", Active: true, Department: "Sales", Emails: []source.Email{{Value: ""}, {Value: ""}}},
		withTwo(person("bad", "B", "Bad", "bad@@acme")),
		withTwo(person("nolast", "N", "", "nolast@acme.example")),
		long,
		withTwo(person("dup", "D", "One", "d1@acme.example")),
		withTwo(person("dup", "D", "Two", "d2@acme.example")),
		withTwo(person("e1", "E", "One", "Same@Acme.example")),
		withTwo(person("e2", "E", "Two", "same@acme.example")),
		oneEmail, // the Second_Email__c template fails
		inactiveTwin,
		withTwo(person("new-id", "Ana", "Lima", "ana@acme.example")), // rehired: same email as an inactive record
		withTwo(person("", "No", "Id", "noid@acme.example")),
		person("nosales", "N", "S", "ns@acme.example"),
	}
	records[len(records)-1].Emails = append(records[len(records)-1].Emails, source.Email{Value: "x@y.example"})
	records = append(records,
		withTwo(person("twin", "T", "Twin", "twin@acme.example")),
		withTwo(person("", "T", "Twin", "TWIN@acme.example")), // rejected anyway, but still a duplicate of the one before
	)
	res := m.Map(records)

	var desired []string
	for _, d := range res.Desired {
		desired = append(desired, d.ID)
	}
	if diff := cmp.Diff([]string{"ok", "new-id"}, desired); diff != "" {
		t.Errorf("desired (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"old-id"}, res.Inactive); diff != "" {
		t.Errorf("inactive (-want +got):\n%s", diff)
	}
	type rejection struct {
		ID       string
		Position int
		Codes    string
	}
	var got []rejection
	for _, r := range res.Rejected {
		var codes []string
		for _, reason := range r.Reasons {
			codes = append(codes, string(reason.Code)+":"+reason.Field)
		}
		got = append(got, rejection{r.ID, r.Position, strings.Join(codes, ",")})
	}
	want := []rejection{
		{"noemail", 2, "no_email:Email"},
		{"bad", 3, "malformed_email:Email"},
		{"nolast", 4, "no_last_name:LastName"},
		{"long", 5, "too_long:Code__c,too_long:FirstName,too_long:Title"},
		{"dup", 6, "duplicate_id:"},
		{"dup", 7, "duplicate_id:"},
		{"e1", 8, "duplicate_email:Email,duplicate_username:Username"},
		{"e2", 9, "duplicate_email:Email,duplicate_username:Username"},
		{"oneemail", 10, "template_failed:Second_Email__c"},
		{"", 13, "no_id:"},
		{"nosales", 14, "no_profile:ProfileId"},
		{"twin", 15, "duplicate_email:Email,duplicate_username:Username"},
		{"", 16, "no_id:,duplicate_email:Email,duplicate_username:Username"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rejections (-want +got):\n%s", diff)
	}
	for _, r := range res.Rejected {
		for _, reason := range r.Reasons {
			if reason.Detail == "" || reason.String() == "" {
				t.Errorf("reason without detail: %+v", reason)
			}
		}
	}
	if d := res.Rejected[3].Reasons[1].Detail; d != "41 characters, at most 40 allowed" {
		t.Errorf("length detail %q", d)
	}
}

func TestUsernameCollision(t *testing.T) {
	// Different emails, same login: a Username template on the login collides.
	m := mustNew(t, Config{Fields: map[string]FieldConfig{"Username": {From: "{{ .UserName }}@acme.example"}}})
	a, b, c := person("1", "A", "A", "a@acme.example"), person("2", "B", "B", "b@acme.example"), person("3", "C", "C", "c@acme.example")
	a.UserName, b.UserName, c.UserName = "jdoe", "JDOE", "other"
	res := m.Map([]source.Record{a, b, c})
	if len(res.Desired) != 1 || res.Desired[0].ID != "3" || len(res.Rejected) != 2 {
		t.Fatalf("desired %+v rejected %+v", res.Desired, res.Rejected)
	}
	for _, r := range res.Rejected {
		if len(r.Reasons) != 1 || r.Reasons[0].Code != DuplicateUsername {
			t.Errorf("rejection %+v", r)
		}
	}
	// A malformed configured Username is reported even with a good email.
	bad := mustNew(t, Config{Fields: map[string]FieldConfig{"Username": {From: "{{ .UserName }}"}}})
	res = bad.Map([]source.Record{a})
	if len(res.Rejected) != 1 || res.Rejected[0].Reasons[0].Code != MalformedUsername {
		t.Errorf("rejections %+v", res.Rejected)
	}
}

func TestEmailProblem(t *testing.T) {
	good := []string{"a@b.co", "first.last+tag@sub.example.com", "o'brien@acme.example", "x_y-z@a-b.example"}
	bad := []string{"", "plain", "a@b", "a@@b.co", "a@b@c.co", ".a@b.co", "a.@b.co", "a..b@c.co", "a b@c.co", "zoë@acme.example",
		"a@-b.co", "a@b-.co", "a@b..co", "a@b_c.co", "<a@b.co>", "a@b.co\n", strings.Repeat("x", 65) + "@b.co"}
	for _, s := range good {
		if p := emailProblem(s); p != "" {
			t.Errorf("emailProblem(%q) = %q, want none", s, p)
		}
	}
	for _, s := range bad {
		if emailProblem(s) == "" {
			t.Errorf("emailProblem(%q) found nothing", s)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"minimal", Config{Profile: AssignmentConfig{Default: "Standard User"}}, ""},
		{"no profile", Config{}, "mapping.profile: needs a default or rules: Salesforce requires a profile on every user"},
		{"bad username suffix", Config{UsernameSuffix: " sandbox", Profile: AssignmentConfig{Default: "P"}},
			`mapping.username_suffix: " sandbox" would make every Username malformed: it has spaces or control characters`},
		{"every problem at once", Config{
			Match: []string{"email", "phone", "email"},
			Fields: map[string]FieldConfig{
				"ProfileId":   {Value: "00e1"},
				"Bad Name":    {Value: "x"},
				"Both__c":     {Value: "x", From: "{{ .ID }}"},
				"Neither__c":  {},
				"Mode__c":     {Value: "x", Mode: "sometimes", MaxLength: -1},
				"Syntax__c":   {From: "{{ .ID "},
				"Unknown__c":  {From: "{{ .Nmae }}"},
				"NoFunc__c":   {From: "{{ .ID | shout }}"},
				"BadArgs__c":  {From: "{{ .ID | truncate \"x\" }}"},
				"Attr__c":     {From: "{{ .Attr \"anything\" }}"},
				"Groups__c":   {From: "{{ (index .Groups 0).Name }}"},
				"Optional__c": {From: "{{ .Department | default \"x\" }}"},
			},
			Profile: AssignmentConfig{Mode: "never", Rules: []Rule{{Role: "R"}, {When: map[string]string{"": "x"}, Profile: "P"}}},
			Role:    AssignmentConfig{Rules: []Rule{{When: map[string]string{"group": "g"}, Role: "R", Profile: "P"}}},
		}, strings.Join([]string{
			`mapping.match[1]: "phone" is not one of link, federation_id, email, username`,
			`mapping.match[2]: "email" listed twice`,
			`mapping.fields.Bad Name: is not a Salesforce field API name`,
			`mapping.fields.Both__c: needs exactly one of from, value`,
			`mapping.fields.Mode__c.mode: "sometimes" is not one of always, on_create`,
			`mapping.fields.Mode__c.max_length: must not be negative`,
			`mapping.fields.Neither__c: needs exactly one of from, value`,
			`mapping.fields.ProfileId: cannot be mapped: chosen by mapping.profile by name`,
			`mapping.profile.mode: "never" is not one of always, on_create`,
			`mapping.profile.rules[0].profile: required`,
			`mapping.profile.rules[0].role: belongs in mapping.role.rules`,
			`mapping.profile.rules[0].when: needs at least one condition (use profile.default for everyone else)`,
			`mapping.profile.rules[1].when: condition "": "x" needs a name and a value`,
			`mapping.role.rules[0].profile: belongs in mapping.profile.rules`,
		}, "\n")},
	}
	for _, tt := range append(tests, ruleAttributeTests()...) {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			// Template errors follow the others; their text is text/template's.
			static, templates := got, ""
			if i := strings.Index(got, "from: template:"); i >= 0 {
				static, templates = got[:strings.LastIndex(got[:i], "\n")], got[strings.LastIndex(got[:i], "\n")+1:]
			}
			if static != tt.want {
				t.Errorf("Validate() =\n%s\nwant\n%s", static, tt.want)
			}
			if tt.name == "every problem at once" {
				for _, field := range []string{"Syntax__c.from: template: Syntax__c:1: unclosed action",
					"Unknown__c.from: template: Unknown__c:1:3: executing \"Unknown__c\" at <.Nmae>: can't evaluate field Nmae",
					"NoFunc__c.from: template: NoFunc__c:1: function \"shout\" not defined",
					"BadArgs__c.from: template: BadArgs__c:1:18: executing \"BadArgs__c\" at <\"x\">: expected integer"} {
					if !strings.Contains(templates, field) {
						t.Errorf("template errors\n%s\nlack %q", templates, field)
					}
				}
				for _, fine := range []string{"Attr__c", "Groups__c", "Optional__c", "Both__c.from"} {
					if strings.Contains(templates, fine) {
						t.Errorf("template %s reported: %s", fine, templates)
					}
				}
			}
		})
	}
}

func TestDuplicateIDAcrossActiveAndInactive(t *testing.T) {
	m := mustNew(t, Config{})
	old := person("00u1", "A", "Old", "old@acme.example")
	old.Active = false
	current := person("00u1", "A", "New", "new@acme.example")
	res := m.Map([]source.Record{old, current})
	if len(res.Desired) != 0 || len(res.Inactive) != 0 || len(res.Rejected) != 2 {
		t.Fatalf("desired %v inactive %v rejected %v", res.Desired, res.Inactive, res.Rejected)
	}
	for i, r := range res.Rejected {
		if r.Position != i+1 || len(r.Reasons) != 1 || r.Reasons[0].Code != DuplicateID {
			t.Errorf("rejection %+v", r)
		}
	}
}

// ruleAttributeTests are TestConfigValidate cases for the names a rule's `when` tests.
func ruleAttributeTests() []struct {
	name string
	cfg  Config
	want string
} {
	rules := func(when ...map[string]string) []Rule {
		var out []Rule
		for _, w := range when {
			out = append(out, Rule{When: w, Profile: "P"})
		}
		return out
	}
	return []struct {
		name string
		cfg  Config
		want string
	}{
		{"standard names in any case", Config{Profile: AssignmentConfig{Rules: rules(
			map[string]string{"Department": "x", "GROUP": "g", "employeenumber": "1", "managerId": "m", "active": "true"})}}, ""},
		{"a misspelt standard name", Config{Profile: AssignmentConfig{Default: "P", Rules: rules(
			map[string]string{"group": "g"}, map[string]string{"title": "t"}, map[string]string{"departmnet": "Sales"})}},
			`mapping.profile.rules[2].when.departmnet: unknown attribute "departmnet": a rule on it would silently match nobody; did you mean "department"? (other attributes must be listed in mapping.attributes)`},
		{"a misspelt declared name in a role rule", Config{Profile: AssignmentConfig{Default: "P"}, Attributes: []string{"costCenter"},
			Role: AssignmentConfig{Rules: []Rule{{When: map[string]string{"costCentre": "CC-1", "costcenter": "CC-1"}, Role: "R"}}}},
			`mapping.role.rules[0].when.costCentre: unknown attribute "costCentre": a rule on it would silently match nobody; did you mean "costCenter"? (other attributes must be listed in mapping.attributes)`},
		{"an undeclared name far from any known one", Config{Profile: AssignmentConfig{Default: "P", Rules: rules(map[string]string{"shoeSize": "44"})}},
			`mapping.profile.rules[0].when.shoeSize: unknown attribute "shoeSize": a rule on it would silently match nobody (other attributes must be listed in mapping.attributes)`},
		{"an empty declared name", Config{Profile: AssignmentConfig{Default: "P"}, Attributes: []string{"a", " "}},
			`mapping.attributes[1]: must not be empty`},
	}
}

// TestReasonsKeepValuesOutOfText checks that no email, Username or id from the source
// is baked into a reason's text: each is in Reason.Value, which String leaves out and
// StringWithValue shows.
func TestReasonsKeepValuesOutOfText(t *testing.T) {
	m := mustNew(t, Config{Fields: map[string]FieldConfig{"Username": {From: "{{ .UserName }}"}}})
	bad := person("1", "B", "Bad", "bad@@acme.example")
	bad.UserName = "bad.user@acme.example"
	shapeless := person("2", "S", "Shape", "shape@acme.example")
	shapeless.UserName = "not an address"
	twinA, twinB := person("3", "T", "A", "twin@acme.example"), person("4", "T", "B", "TWIN@acme.example")
	twinA.UserName, twinB.UserName = "twin.login@acme.example", "Twin.Login@acme.example"
	dupA, dupB := person("00u-dup", "D", "A", "d1@acme.example"), person("00u-dup", "D", "B", "d2@acme.example")
	dupA.UserName, dupB.UserName = "d1@acme.example", "d2@acme.example"
	res := m.Map([]source.Record{bad, shapeless, twinA, twinB, dupA, dupB})

	type reason struct{ Code, Value, Text, WithValue string }
	var got []reason
	for _, r := range res.Rejected {
		for _, why := range r.Reasons {
			got = append(got, reason{string(why.Code), why.Value, why.String(), why.StringWithValue()})
		}
	}
	want := []reason{
		{"malformed_email", "bad@@acme.example", "malformed_email (Email): the address has more than one @",
			`malformed_email (Email): the address has more than one @: "bad@@acme.example"`},
		{"malformed_username", "not an address", "malformed_username (Username): not email-shaped: it has spaces or control characters",
			`malformed_username (Username): not email-shaped: it has spaces or control characters: "not an address"`},
		{"duplicate_email", "twin@acme.example", "duplicate_email (Email): 2 records have this email",
			`duplicate_email (Email): 2 records have this email: "twin@acme.example"`},
		{"duplicate_username", "twin.login@acme.example", "duplicate_username (Username): 2 records map to this Username",
			`duplicate_username (Username): 2 records map to this Username: "twin.login@acme.example"`},
		{"duplicate_email", "twin@acme.example", "duplicate_email (Email): 2 records have this email",
			`duplicate_email (Email): 2 records have this email: "twin@acme.example"`},
		{"duplicate_username", "twin.login@acme.example", "duplicate_username (Username): 2 records map to this Username",
			`duplicate_username (Username): 2 records map to this Username: "twin.login@acme.example"`},
		{"duplicate_id", "00u-dup", "duplicate_id: 2 records have this id", `duplicate_id: 2 records have this id: "00u-dup"`},
		{"duplicate_id", "00u-dup", "duplicate_id: 2 records have this id", `duplicate_id: 2 records have this id: "00u-dup"`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	no := Reason{Code: NoEmail, Field: "Email", Detail: "the record has no email"}
	if no.StringWithValue() != no.String() {
		t.Errorf("a reason without a value renders differently with it: %q", no.StringWithValue())
	}
}

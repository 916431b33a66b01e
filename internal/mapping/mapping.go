package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/syncd-io/syncd/internal/source"
)

// Mapper turns records into desired users. It is built once from configuration (all
// templates parsed and probed there), is read-only afterwards, and so is safe for
// concurrent use.
type Mapper struct {
	fields         []compiledField // sorted by name
	usernameSuffix string
	profile        assignment
	role           assignment
	entitlements   entitlementRules
	match          []string
	// at holds the positions in fields (and so in every Desired.Fields, until
	// ResolveIDs inserts more) of the fields that validation reads.
	at struct{ email, username, firstName, lastName int }
	// aliasAt is the position of the generated Alias in fields, -1 when Alias is
	// configured.
	aliasAt int
	// usernameFromEmail is true when the Username template mentions .Email, so a
	// missing email need not be reported twice.
	usernameFromEmail bool
}

type fieldKind uint8

const (
	kindFixed fieldKind = iota
	kindTemplate
	kindAlias // generated from the mapped names
)

type compiledField struct {
	name   string
	kind   fieldKind
	value  string
	tmpl   *template.Template
	fast   *fastTemplate // nil when the template needs text/template
	mode   Mode
	maxLen int // 0: no known limit
	// knownUTF8 is true when the value is valid UTF-8 whatever the record: a fixed
	// value that is, or a generated Alias (ASCII letters and digits), so that check
	// need not validate it for every person.
	knownUTF8 bool
	// spec is the name and mode every person's Field of this name shares.
	spec *FieldSpec
}

type assignment struct {
	rules   []compiledRule
	def     string
	mode    Mode
	idField string
	// spec is the name and mode every person's ProfileId or UserRoleId shares.
	spec *FieldSpec
}

type compiledRule struct {
	conditions []condition
	name       string
}

type condition struct {
	key, value string
}

// New compiles the configuration. Its error lists every problem, as Config.Validate.
func New(cfg Config) (*Mapper, error) { return compile(&cfg) }

func compile(c *Config) (*Mapper, error) {
	errs := c.validateStatic()
	m := &Mapper{usernameSuffix: c.UsernameSuffix, match: slices.Clone(c.Match)}
	if len(m.match) == 0 {
		m.match = DefaultMatch()
	}
	merged := DefaultFields()
	for name, f := range c.Fields {
		if reservedField(name) == "" {
			merged[name] = f
		}
	}
	sample := sampleData(c.UsernameSuffix)
	names := make([]string, 0, len(merged))
	for name := range merged {
		names = append(names, name)
	}
	sort.Strings(names) // errors in a stable order
	for _, name := range names {
		f := merged[name]
		cf := compiledField{name: name, mode: parseMode(f.Mode, Always), maxLen: fieldLength(name)}
		if f.MaxLength > 0 {
			cf.maxLen = f.MaxLength
		}
		switch {
		case f.Value != "":
			cf.kind, cf.value, cf.knownUTF8 = kindFixed, f.Value, utf8.ValidString(f.Value)
		case f.From != "":
			t, err := template.New(name).Funcs(templateFuncs()).Option("missingkey=error").Parse(f.From)
			if err == nil {
				err = t.Execute(&bytes.Buffer{}, sample)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("mapping.fields.%s.from: %w", name, err))
				continue
			}
			cf.kind, cf.tmpl, cf.fast = kindTemplate, t, compileFast(t)
		default:
			continue // reported by validateStatic
		}
		m.fields = append(m.fields, cf)
	}
	if _, ok := merged["Alias"]; !ok {
		m.fields = append(m.fields, compiledField{name: "Alias", kind: kindAlias, maxLen: aliasLength, knownUTF8: true})
	}
	slices.SortFunc(m.fields, func(a, b compiledField) int { return strings.Compare(a.name, b.name) })
	for i := range m.fields {
		m.fields[i].spec = &FieldSpec{Name: m.fields[i].name, Mode: m.fields[i].mode}
	}
	m.aliasAt = -1
	for i, f := range m.fields {
		if f.kind == kindAlias {
			m.aliasAt = i
		}
		switch f.name {
		case "Email":
			m.at.email = i
		case "Username":
			m.at.username = i
			m.usernameFromEmail = f.kind == kindTemplate && strings.Contains(f.tmpl.Root.String(), ".Email")
		case "FirstName":
			m.at.firstName = i
		case "LastName":
			m.at.lastName = i
		}
	}
	m.profile = compileAssignment(&c.Profile, func(r Rule) string { return r.Profile }, "ProfileId")
	m.role = compileAssignment(&c.Role, func(r Rule) string { return r.Role }, "UserRoleId")
	m.entitlements = compileEntitlements(&c.Entitlements)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

func compileAssignment(a *AssignmentConfig, target func(Rule) string, idField string) assignment {
	out := assignment{def: a.Default, mode: parseMode(a.Mode, OnCreate), idField: idField}
	out.spec = &FieldSpec{Name: idField, Mode: out.mode}
	for _, r := range a.Rules {
		cr := compiledRule{name: target(r)}
		for k, v := range r.When {
			cr.conditions = append(cr.conditions, condition{key: k, value: v})
		}
		sort.Slice(cr.conditions, func(i, j int) bool { return cr.conditions[i].key < cr.conditions[j].key })
		out.rules = append(out.rules, cr)
	}
	return out
}

// choose returns the name the first matching rule gives, else the default.
func (a *assignment) choose(r *source.Record) string {
	for _, rule := range a.rules {
		if rule.matches(r) {
			return rule.name
		}
	}
	return a.def
}

func (rule *compiledRule) matches(r *source.Record) bool {
	for _, c := range rule.conditions {
		if strings.EqualFold(c.key, "group") {
			if !r.InGroup(c.value) {
				return false
			}
			continue
		}
		v, ok := r.Lookup(c.key)
		if !ok || !strings.EqualFold(strings.TrimSpace(v), c.value) {
			return false
		}
	}
	return true
}

// sampleData is a fully populated record that every template must render without
// error at configuration time, so a misspelt field name fails the configuration
// instead of every record.
func sampleData(suffix string) *templateData {
	rec := source.Record{
		ID: "00u1sample", UserName: "sample.user@example.com",
		Emails:    []source.Email{{Value: "sample.user@example.com", Type: "work", Primary: true}, {Value: "sample@home.example", Type: "home"}},
		GivenName: "Sample", FamilyName: "User", DisplayName: "Sample User", Active: true,
		Title: "Title", Department: "Department", ManagerID: "00u2sample", EmployeeNumber: "1",
		Groups:     []source.Group{{ID: "00g1sample", Name: "Group"}},
		Attributes: []source.Attribute{{Name: "attribute", Value: "value"}},
	}
	d := &templateData{UsernameSuffix: suffix}
	d.load(&rec)
	return d
}

// MatchKeys returns the configured match keys in order (the default when unset).
func (m *Mapper) MatchKeys() []string { return slices.Clone(m.match) }

// Map maps every record of a snapshot. Invalid records are rejected with their reasons
// and never stop the others. Records that share an IdP id are all rejected, and so are
// active records that share an Email or a Username (case-insensitively), whatever else
// is wrong with them: syncd cannot tell which one is meant. Inactive records take no
// part in the Email and Username checks, so a rehire under a new id with the address
// of an old, deactivated account is desired.
func (m *Mapper) Map(records []source.Record) Result {
	s := m.newStream(len(records))
	s.ids = repeatedKeys(len(records), func(i int) string { return records[i].ID }, false)
	s.Add(records, len(records))
	s.c.apply(&s.res, m.at.email, m.at.username)
	return s.res
}

// Stream maps records handed over in chunks (source.Streamer), so that the caller
// never holds all of them: each record is mapped as it comes, and only what Map
// keeps of it (the desired user, its rejection, its id when inactive) stays.
type Stream struct {
	m *Mapper
	// ids counts the ids that repeat among all the records, when known before they
	// are mapped (Map); a stream checks them at the end instead (Result).
	ids map[string]int32
	res Result
	c   collisions
	st  mapState
	n   int // records added
}

// NewStream starts mapping a snapshot whose records will be handed to Add in source
// order.
func (m *Mapper) NewStream() *Stream { return m.newStream(0) }

// newStream prepares the mapping of a snapshot of about records records (0: unknown).
func (m *Mapper) newStream(records int) *Stream {
	return &Stream{m: m, res: Result{Desired: make([]Desired, 0, records)}, c: collisions{positions: make([]int32, 0, records)},
		st: mapState{data: templateData{UsernameSuffix: m.usernameSuffix}, fields: m.fieldAlloc(records), grants: grantCache{}}}
}

// Add maps the next records of the snapshot. expected is how many records the whole
// snapshot is thought to have (0: unknown), so that the desired users are allocated
// once. Add keeps none of the records, only their strings.
func (s *Stream) Add(records []source.Record, expected int) {
	if more := expected - s.n; more > cap(s.res.Desired)-len(s.res.Desired) {
		s.res.Desired = slices.Grow(s.res.Desired, more)
		s.c.positions = slices.Grow(s.c.positions, more)
	}
	m, res := s.m, &s.res
	for i := range records {
		rec, position := &records[i], s.n+i+1
		var reasons []Reason
		switch {
		case rec.ID == "":
			reasons = append(reasons, Reason{Code: NoID, Detail: "the record has no IdP id"})
		case s.ids[rec.ID] > 1:
			reasons = append(reasons, Reason{Code: DuplicateID, Detail: fmt.Sprintf("%d records have this id", s.ids[rec.ID]), Value: rec.ID})
		}
		if !rec.Active {
			if len(reasons) == 0 {
				res.Inactive = append(res.Inactive, rec.ID)
			} else {
				res.Rejected = append(res.Rejected, Rejection{ID: rec.ID, Email: rec.PrimaryEmail(), Position: position, Reasons: reasons})
			}
			continue
		}
		d, more := m.mapRecord(rec, &s.st)
		reasons = append(reasons, more...)
		s.c.add(d.Fields[m.at.email].Value, d.Fields[m.at.username].Value, position, len(reasons) == 0)
		if len(reasons) == 0 {
			res.Desired = append(res.Desired, d)
			continue
		}
		res.Rejected = append(res.Rejected, Rejection{ID: rec.ID, Email: rec.PrimaryEmail(), Position: position, Reasons: reasons})
	}
	s.n += len(records)
	s.st.data = templateData{UsernameSuffix: m.usernameSuffix} // holds the last record otherwise
}

// Result ends the stream and returns what Map returns for all the records added.
// ok is false when two of them share an IdP id: Map rejects every record of a
// repeated id, which a stream learns only at the end, when the records are gone; the
// caller then reads them again and maps them with Map. An export with repeated ids
// is broken, so the second read is rare.
func (s *Stream) Result() (res Result, ok bool) {
	ids := func(i int) string {
		switch r := &s.res; {
		case i < len(r.Desired):
			return r.Desired[i].ID
		case i < len(r.Desired)+len(r.Inactive):
			return r.Inactive[i-len(r.Desired)]
		default:
			return r.Rejected[i-len(r.Desired)-len(r.Inactive)].ID
		}
	}
	if len(repeatedKeys(len(s.res.Desired)+len(s.res.Inactive)+len(s.res.Rejected), ids, false)) > 0 {
		return Result{}, false
	}
	s.c.apply(&s.res, s.m.at.email, s.m.at.username)
	return s.res, true
}

// collisions finds active records that share an Email or Username. Desired users carry
// their own Email and Username, so only the positions of theirs are kept here (a
// million mapped strings held twice would cost the GC a scan of 48 MB), and the
// mapped values of the few records rejected while mapping.
type collisions struct {
	// emails and usernames count the lower-case keys that occur more than once.
	emails, usernames map[string]int32
	positions         []int32        // of each desired user, in order
	rejected          []collisionKey // active records rejected while mapping, in source order
}

type collisionKey struct {
	email, username string // as mapped, lower-cased by reasons when repeated; "" takes no part
	position        int
}

func (c *collisions) add(email, username string, position int, desired bool) {
	if desired {
		c.positions = append(c.positions, int32(position)) //nolint:gosec // positions of one snapshot, far below 2^31
		return
	}
	c.rejected = append(c.rejected, collisionKey{email: email, username: username, position: position})
}

// count finds the Emails and Usernames that repeat among the desired users and the
// records rejected while mapping, once every active record has been added.
func (c *collisions) count(desired []Desired, emailAt, usernameAt int) {
	n := len(desired)
	c.emails = repeatedKeys(n+len(c.rejected), func(i int) string {
		if i < n {
			return desired[i].Fields[emailAt].Value
		}
		return c.rejected[i-n].email
	}, true)
	c.usernames = repeatedKeys(n+len(c.rejected), func(i int) string {
		if i < n {
			return desired[i].Fields[usernameAt].Value
		}
		return c.rejected[i-n].username
	}, true)
}

func (c *collisions) reasons(k *collisionKey) []Reason {
	k.email, k.username = foldedKey(c.emails, k.email), foldedKey(c.usernames, k.username)
	var reasons []Reason
	if n := c.emails[k.email]; n > 1 {
		reasons = append(reasons, Reason{Code: DuplicateEmail, Field: "Email", Detail: fmt.Sprintf("%d records have this email", n), Value: k.email})
	}
	if n := c.usernames[k.username]; n > 1 {
		reasons = append(reasons, Reason{Code: DuplicateUsername, Field: "Username", Detail: fmt.Sprintf("%d records map to this Username", n), Value: k.username})
	}
	return reasons
}

// apply adds the collision reasons: to rejected records as further reasons, and by
// moving desired users to Rejected. emailAt and usernameAt are the positions of Email
// and Username in Desired.Fields.
func (c *collisions) apply(res *Result, emailAt, usernameAt int) {
	c.count(res.Desired, emailAt, usernameAt)
	rejected := 0
	for i := range c.rejected {
		k := &c.rejected[i]
		for res.Rejected[rejected].Position != k.position {
			rejected++ // skip inactive records rejected for their id
		}
		res.Rejected[rejected].Reasons = append(res.Rejected[rejected].Reasons, c.reasons(k)...)
	}
	if len(c.emails) == 0 && len(c.usernames) == 0 {
		return // no desired user shares an Email or a Username: all stay
	}
	kept := 0
	var moved []Rejection
	for i := range res.Desired {
		d := &res.Desired[i]
		k := collisionKey{email: d.Fields[emailAt].Value, username: d.Fields[usernameAt].Value, position: int(c.positions[i])}
		if reasons := c.reasons(&k); len(reasons) > 0 {
			moved = append(moved, Rejection{ID: d.ID, Email: d.Fields[emailAt].Value, Position: k.position, Reasons: reasons})
			continue
		}
		if kept != i { // move only the users after the first one rejected
			res.Desired[kept] = *d
		}
		kept++
	}
	clear(res.Desired[kept:])
	res.Desired = res.Desired[:kept]
	if len(moved) > 0 {
		res.Rejected = append(res.Rejected, moved...)
		slices.SortStableFunc(res.Rejected, func(a, b Rejection) int { return a.Position - b.Position })
	}
}

// mapState is what Map reuses from one record to the next.
type mapState struct {
	data   templateData
	buf    bytes.Buffer
	fields fieldAlloc
	grants grantCache
	texts  texts
}

// fieldAlloc hands out the Fields of desired users from shared chunks: one allocation
// per chunk of users instead of one per user, and no bytes lost to the allocator's
// size classes (13 fields of 40 bytes would take a 576-byte block each). A chunk holds
// fieldChunkUsers users, so that a full one is a whole number of 8 KiB pages; the slot
// of a user rejected after mapping stays unused.
type fieldAlloc struct {
	n, room, users int // fields mapped, fields per user (room included), users per chunk
	chunk          []Field
}

// fieldAlloc prepares the Fields of up to records users (0: unknown), each with room for the mapped
// fields, ProfileId and, when a role can be chosen, UserRoleId, so that ResolveIDs does
// not copy every user's fields once more.
func (m *Mapper) fieldAlloc(records int) fieldAlloc {
	room := len(m.fields) + 1
	if len(m.role.rules) > 0 || m.role.def != "" {
		room++
	}
	users := fieldChunkUsers
	if records > 0 {
		users = min(records, users)
	}
	return fieldAlloc{n: len(m.fields), room: room, users: users}
}

// next returns the Fields of one user: n zero fields, with room to insert the rest
// without touching the next user's.
func (a *fieldAlloc) next() []Field {
	if len(a.chunk) < a.room {
		a.chunk = make([]Field, a.room*a.users)
	}
	f := a.chunk[:a.n:a.room]
	a.chunk = a.chunk[a.room:]
	return f
}

// fieldChunkUsers is the number of users a chunk of Fields holds: 1024 × 40 bytes is
// five pages, so a chunk of any number of fields wastes nothing.
const fieldChunkUsers = 1024

// mapRecord renders every field of one active record and validates the result.
func (m *Mapper) mapRecord(rec *source.Record, st *mapState) (Desired, []Reason) {
	data, buf := &st.data, &st.buf
	data.load(rec)
	d := Desired{ID: rec.ID, Fields: st.fields.next()}
	var reasons []Reason
	for i := range m.fields { // by position: a compiledField is too large to copy per person
		f := &m.fields[i]
		v := f.value // "" unless fixed
		if f.kind == kindTemplate {
			rendered, err := f.render(data, buf)
			switch {
			case err != nil:
				reasons = append(reasons, Reason{Code: TemplateFailed, Field: f.name, Detail: err.Error()})
			case f.name == "Username":
				v = st.texts.lower(strings.TrimSpace(rendered)) // Salesforce stores Usernames lower-case
			default:
				v = strings.TrimSpace(rendered)
			}
		}
		d.Fields[i] = Field{FieldSpec: f.spec, Value: v}
	}
	if m.aliasAt >= 0 {
		d.Fields[m.aliasAt].Value = generateAlias(&st.texts, d.Fields[m.at.firstName].Value, d.Fields[m.at.lastName].Value, d.Fields[m.at.email].Value)
	}
	reasons = append(reasons, m.check(&d, reasons)...)
	if d.Profile = m.profile.choose(rec); d.Profile == "" {
		reasons = append(reasons, Reason{Code: NoProfile, Field: "ProfileId", Detail: "no profile rule matches and mapping.profile.default is empty"})
	}
	d.Role = m.role.choose(rec)
	d.Grants = m.entitlements.grants(rec, st.grants)
	return d, reasons
}

// render runs the field's template on one record, by the fast path when it can.
func (f *compiledField) render(data *templateData, buf *bytes.Buffer) (string, error) {
	if f.fast != nil {
		return f.fast.render(data, buf), nil
	}
	buf.Reset()
	if err := f.tmpl.Execute(buf, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// check validates the required fields and every length limit. Fields whose template
// failed (listed in earlier) are not reported again.
func (m *Mapper) check(d *Desired, earlier []Reason) []Reason {
	failed := func(field string) bool {
		return slices.ContainsFunc(earlier, func(r Reason) bool { return r.Code == TemplateFailed && r.Field == field })
	}
	var reasons []Reason
	// emailASCII and usernameASCII are true once emailProblem has found nothing,
	// which means the value is ASCII: valid UTF-8 without another look.
	emailOK, emailASCII, usernameASCII := true, false, false
	if email := d.Fields[m.at.email].Value; !failed("Email") {
		switch problem := emailProblem(email); {
		case email == "":
			reasons = append(reasons, Reason{Code: NoEmail, Field: "Email", Detail: "the record has no email"})
			emailOK = false
		case problem != "":
			reasons = append(reasons, Reason{Code: MalformedEmail, Field: "Email", Detail: "the address " + problem, Value: email})
			emailOK = false
		default:
			emailASCII = true
		}
	}
	// A Username derived from a missing or bad email would only repeat that reason.
	if username := d.Fields[m.at.username].Value; !failed("Username") && (emailOK || !m.usernameFromEmail) {
		switch problem := emailProblem(username); {
		case username == "":
			reasons = append(reasons, Reason{Code: NoUsername, Field: "Username", Detail: "the Username template gives nothing"})
		case problem != "":
			reasons = append(reasons, Reason{Code: MalformedUsername, Field: "Username", Detail: "not email-shaped: it " + problem, Value: username})
		default:
			usernameASCII = true
		}
	}
	if last := d.Fields[m.at.lastName].Value; last == "" && !failed("LastName") {
		reasons = append(reasons, Reason{Code: NoLastName, Field: "LastName", Detail: "the record has no last name"})
	}
	for i := range m.fields {
		f, v := &m.fields[i], d.Fields[i].Value
		known := f.knownUTF8 || (i == m.at.email && emailASCII) || (i == m.at.username && usernameASCII)
		if !known && !utf8.ValidString(v) {
			reasons = append(reasons, Reason{Code: InvalidUTF8, Field: f.name, Detail: "the value holds bytes that are not UTF-8"})
			continue
		}
		// A value of at most maxLen bytes has at most maxLen characters: only longer
		// ones need counting, and at a million users most values are short.
		if f.maxLen > 0 && len(v) > f.maxLen {
			if n := utf8.RuneCountInString(v); n > f.maxLen {
				reasons = append(reasons, Reason{Code: TooLong, Field: f.name, Detail: fmt.Sprintf("%d characters, at most %d allowed", n, f.maxLen)})
			}
		}
	}
	return reasons
}

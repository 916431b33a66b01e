package reconcile

import (
	"slices"
	"strings"

	"github.com/syncd-io/syncd/internal/mapping"
)

// Profile Ids of the test org, in the 18-character form the API returns.
const (
	standardProfile = "00e000000000001AAA"
	salesProfile    = "00e000000000002AAA"
	adminProfile    = "00e000000000009AAA"
)

// syncAll is the sync policy with every guardrail disabled, for tests of the plan
// itself.
func syncAll() Policy {
	return Policy{Mode: ModeSync, Guardrails: Guardrails{MaxDeactivations: -1, MaxDeactivationPercent: -1, MaxSourceShrinkPercent: -1}}
}

// person is a desired person with the fields a typical mapping produces: always-managed
// identity and job fields, on_create locale and profile.
func person(id string, edits ...func(*mapping.Desired)) mapping.Desired {
	email := id + "@example.com"
	d := mapping.Desired{ID: id, Profile: "Standard User", Fields: []mapping.Field{
		mapping.NewField("Department", "R&D", mapping.Always),
		mapping.NewField("Email", email, mapping.Always),
		mapping.NewField("FederationIdentifier", id, mapping.Always),
		mapping.NewField("FirstName", "First "+id, mapping.Always),
		mapping.NewField("LanguageLocaleKey", "en_US", mapping.OnCreate),
		mapping.NewField("LastName", "Last", mapping.Always),
		mapping.NewField("ProfileId", standardProfile, mapping.OnCreate),
		mapping.NewField("TimeZoneSidKey", "Europe/Paris", mapping.OnCreate),
		mapping.NewField("Title", "Engineer", mapping.Always),
		mapping.NewField("Username", email+".sf", mapping.Always),
	}}
	for _, e := range edits {
		e(&d)
	}
	return d
}

// with sets a desired field, inserting it (always-managed) when it is missing.
func with(name, value string) func(*mapping.Desired) {
	return func(d *mapping.Desired) {
		i, ok := slices.BinarySearchFunc(d.Fields, name, func(f mapping.Field, n string) int { return strings.Compare(f.Name, n) })
		if ok {
			d.Fields[i].Value = value
			return
		}
		d.Fields = slices.Insert(d.Fields, i, mapping.NewField(name, value, mapping.Always))
	}
}

// userOf is the Salesforce user syncd would have created for d, with Id id.
func userOf(d mapping.Desired, id string, edits ...func(*Existing)) Existing {
	fields := make([]FieldValue, len(d.Fields))
	for i, f := range d.Fields {
		fields[i] = FieldValue{Name: f.Name, Value: f.Value}
	}
	e := withFields(Existing{ID: id, IsActive: true, UserType: "Standard"}, fields, new(FieldPacker))
	for _, edit := range edits {
		edit(&e)
	}
	return e
}

// withFields returns u with fields packed by p, and the identifying fields in step
// with them: the same strings, as a read packs them.
func withFields(u Existing, fields []FieldValue, p *FieldPacker) Existing {
	u.Fields = p.Pack(fields)
	for name, value := range u.Fields.All() {
		setIdentity(&u, name, value)
	}
	return u
}

// setUserField sets a field of a user as Salesforce would store it, the identifying
// fields in step.
func setUserField(e *Existing, name, value string) {
	if name == "IsActive" {
		e.IsActive = value == "true"
		return
	}
	e.Fields = e.Fields.With(name, value)
	setIdentity(e, name, value)
}

// setIdentity sets the identifying field name, if it is one, to value.
func setIdentity(e *Existing, name, value string) {
	switch name {
	case "Username":
		e.Username = value
	case "Email":
		e.Email = value
	case "FederationIdentifier":
		e.FederationIdentifier = value
	case "ProfileId":
		e.ProfileID = value
	}
}

// field edits a user's field.
func field(name, value string) func(*Existing) {
	return func(e *Existing) { setUserField(e, name, value) }
}

func inactive(e *Existing) { e.IsActive = false }

// sfID returns a well-formed 18-character user Id for n.
func sfID(n int) string {
	const digits = "0123456789"
	b := []byte("005000000000000AAA")
	for i := 14; n > 0 && i >= 3; i-- {
		b[i] = digits[n%10]
		n /= 10
	}
	return string(b)
}

// brief is an action reduced to what most scenarios check.
type brief struct {
	Kind         Kind
	IdPID        string
	SalesforceID string
	MatchedBy    MatchKey
	Changes      []Change
}

func briefs(actions []Action) []brief {
	out := make([]brief, 0, len(actions))
	for _, a := range actions {
		out = append(out, brief{a.Kind, a.IdPID, a.SalesforceID, a.MatchedBy, a.Changes})
	}
	return out
}

// skipBrief is a Skip reduced to its kind, person, user and reason.
type skipBrief struct {
	Kind         Kind
	IdPID        string
	SalesforceID string
	Reason       string
}

func skipBriefs(skips []Skip) []skipBrief {
	out := make([]skipBrief, 0, len(skips))
	for _, s := range skips {
		out = append(out, skipBrief{s.Action.Kind, s.Action.IdPID, s.Action.SalesforceID, s.Reason})
	}
	return out
}

func complete(in Input) Input {
	in.Source = Source{Complete: true, Count: len(in.Desired)}
	return in
}

package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/syncd-io/syncd/internal/sfsim"
	"github.com/syncd-io/syncd/internal/sfsim/soql"
)

// hostile is one row of a hostile export and what syncd must make of it: the person
// is created with every value exactly as written (want "created"), or skipped as
// rejected with the given reason code, their row written to the org nowhere.
type hostile struct {
	name   string
	p      person
	reason string // "" when the person must be created
}

// hostileRows are values an attacker or a broken exporter could put in an export.
func hostileRows() []hostile {
	row := func(id, email, given, family, title string) person {
		return person{ID: id, Email: email, GivenName: given, FamilyName: family, Title: title, Department: "Ops"}
	}
	return []hostile{
		{name: "quotes", p: row(`H'01"`, "h01@acme.example.com", `Ann "the" O'Hara`, "O'Brien", `He said "hi"`)},
		{name: "backslashes", p: row(`H\02\`, "h02@acme.example.com", `Back\slash`, `End\`, `C:\temp\`)},
		{name: "a SOQL fragment closing the literal", p: row(`X' OR FederationIdentifier != '`, "h03@acme.example.com",
			"Bobby", "Robert'); DELETE FROM User; --", `%' OR Name LIKE '%`)},
		{name: "a SOQL fragment with escapes", p: row(`\' OR Id != null OR Id = \'`, "h04@acme.example.com",
			"Eve", "Tables", `') OR (IsActive = false`)},
		{name: "a 10,000-character last name", p: row("H05", "h05@acme.example.com", "Long", strings.Repeat("n", 10000), "Engineer"),
			reason: "too_long"},
		{name: "control characters", p: row("H06", "h06@acme.example.com", "Ctl\x07\x1b[31mRed", "Tab\there", "Line\r\nbreak")},
		{name: "invalid UTF-8", p: row("H07", "h07@acme.example.com", "Bad\xff\xfeUTF", "Bytes", "Engineer"), reason: "invalid_utf8"},
		{name: "a BOM in the middle", p: row("H\ufeff08", "h08@acme.example.com", "Mid\ufeffBOM", "Mark", "Engineer")},
		{name: "a duplicate id, first row", p: row("D09", "h09a@acme.example.com", "Dup", "First", "Engineer"), reason: "duplicate_id"},
		{name: "a duplicate id, second row", p: row("D09", "h09b@acme.example.com", "Dup", "Second", "Engineer"), reason: "duplicate_id"},
	}
}

// queries returns every SOQL statement sfsim received.
func (s *sfsimProcess) queries(t testing.TB) []string {
	t.Helper()
	var out struct {
		Queries []string `json:"queries"`
	}
	s.do(t, http.MethodGet, s.url+"/__sim/queries", "", nil, &out)
	return out.Queries
}

// soqlSchema is the schema sfsim parses queries against, from an in-process sfsim.
func soqlSchema(t testing.TB) soql.Schema {
	t.Helper()
	sim, err := sfsim.New(sfsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sim.SOQLSchema()
}

// checkQueriesAreSyncds parses every query the org received and checks each has the
// shape syncd's builders give it: at most one comparison, a UserType = 'Standard', a
// SystemModstamp >= bound (a delta read) or an IN list, and every literal of an IN list on FederationIdentifier one of the ids
// syncd meant to look up, exactly. A value that escaped its quotes would add a
// comparison, or arrive as a different literal. It returns the literals looked up.
func checkQueriesAreSyncds(t testing.TB, org *sfsimProcess, ids map[string]bool) []string {
	t.Helper()
	schema := soqlSchema(t)
	var looked []string
	for _, text := range org.queries(t) {
		q, err := soql.Parse(text, schema)
		if err != nil {
			t.Errorf("sfsim received a query it cannot parse: %v\n%s", err, text)
			continue
		}
		if len(q.Conditions) > 1 {
			t.Errorf("a query has %d comparisons, syncd's builders make at most one: %s", len(q.Conditions), text)
			continue
		}
		for _, c := range q.Conditions {
			switch field := strings.Join(c.Field, "."); {
			case field == "UserType" && c.Operator == "=" && len(c.Values) == 1 && c.Values[0] == "Standard":
			case field == "SystemModstamp" && c.Operator == ">=" && len(c.Values) == 1:
			case field == "FederationIdentifier" && c.Operator == "IN":
				for _, v := range c.Values {
					if !ids[v] {
						t.Errorf("a FederationIdentifier looked up is %q, no id of the export: %s", v, text)
					}
					looked = append(looked, v)
				}
			case (field == "Id" || field == "UserId") && c.Operator == "IN":
			default:
				t.Errorf("a query compares %s %s %q, which syncd's builders never do: %s", field, c.Operator, c.Values, text)
			}
		}
	}
	return looked
}

func TestHostileValuesAreWrittenVerbatimOrRejectedAndNeverBecomeSOQL(t *testing.T) {
	t.Parallel()
	org, d, people := synced(t, lenient(), 20)
	rows := hostileRows()
	export := append([]person(nil), people...)
	ids := map[string]bool{}
	for _, h := range rows {
		export = append(export, h.p)
		ids[h.p.ID] = true
	}
	d.write(t, export)
	// The create batch's answer is lost, so syncd must find the users it created by
	// FederationIdentifier: every hostile id goes into a SOQL literal.
	org.injectFault(t, sfsim.FaultRule{Endpoint: "collections.create", Fault: sfsim.LostAnswerFault()})
	d.must(t, exitOK, "apply", "--once")
	d.must(t, exitOK, "apply", "--once")
	d.must(t, exitOK, "plan")

	byUsername := map[string]orgUser{}
	for _, u := range org.people(t) {
		byUsername[u.Username] = u
	}
	for _, h := range rows {
		u, found := byUsername[h.p.username()]
		if h.reason != "" {
			if found {
				t.Errorf("%s: the record should be rejected (%s), but %s has a user %+v", h.name, h.reason, h.p.ID, u)
			}
			continue
		}
		if !found || !u.IsActive {
			t.Errorf("%s: no active user %s: %+v", h.name, h.p.username(), u)
			continue
		}
		got := org.user(t, u.ID)
		// encoding/csv reads a quoted CRLF as LF, as RFC 4180 readers may.
		want := map[string]string{"FederationIdentifier": h.p.ID, "FirstName": h.p.GivenName,
			"LastName": h.p.FamilyName, "Title": strings.ReplaceAll(h.p.Title, "\r\n", "\n")}
		for field, value := range want {
			if got.field(field) != value {
				t.Errorf("%s: %s is %q, want %q", h.name, field, got.field(field), value)
			}
		}
	}
	checkNoHarm(t, org, export)
	for _, p := range people {
		if !byUsername[p.username()].IsActive {
			t.Errorf("person %s, untouched by the hostile rows, is inactive", p.ID)
		}
	}

	looked := checkQueriesAreSyncds(t, org, ids)
	// Every created person's id went through a literal, hostile ones included.
	for _, h := range rows {
		if h.reason == "" && !slices.Contains(looked, h.p.ID) {
			t.Errorf("%s: the id %q was never looked up by FederationIdentifier: the test proved nothing for it", h.name, h.p.ID)
		}
	}
}

func TestBrokenExportsWriteNothingWrong(t *testing.T) {
	t.Parallel()
	header := "employeeId,email,firstName,lastName,title,department\n"
	full := func(people []person) string {
		var b strings.Builder
		b.WriteString(header)
		for _, p := range people {
			fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s\n", p.ID, p.Email, p.GivenName, p.FamilyName, p.Title, p.Department)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name string
		// export turns the 20 synced people into the broken export.
		export func(people []person) string
		// code is syncd apply's exit code (an incomplete pull still creates and
		// updates what it read; it only deactivates nobody); incomplete is how the
		// pull must say it is incomplete, "" when it is complete.
		code       int
		incomplete string
	}{
		{name: "an export cut in the middle of a row", code: 0, incomplete: "line 21: 4 fields where the header has 6",
			export: func(people []person) string { s := full(people); return s[:len(s)-30] }},
		{name: "an export cut inside a quoted field", code: 0, incomplete: "CSV: parse error on line 12",
			export: func(people []person) string { return full(people[:10]) + `E99,"p99@acme.example.com` }},
		{name: "a row without an id among valid rows", code: 0, incomplete: "line 12: no id: the id is blank",
			export: func(people []person) string { return full(people[:10]) + ",x@acme.example.com,No,Id,T,D\n" }},
		{name: "an export whose every record is invalid", code: 0,
			export: func(people []person) string {
				bad := append([]person(nil), people...)
				for i := range bad {
					bad[i].Email = "not-an-address"
				}
				return full(bad)
			}},
	} {
		t.Run(tc.name+" deactivates nobody and writes nothing wrong", func(t *testing.T) {
			t.Parallel()
			org, d, people := synced(t, lenient(), 20)
			d.writeRaw(t, []byte(tc.export(people)))
			before := org.state(t)
			o := d.must(t, tc.code, "apply", "--once")
			if w := writeCalls(callsSince(before, org.state(t))); len(w) > 0 {
				t.Errorf("the run wrote to the org: %v", w)
			}
			if tc.incomplete != "" && !strings.Contains(o.stderr, "source pull incomplete: "+tc.incomplete) {
				t.Errorf("syncd does not say the pull is incomplete (%q):\n%s", tc.incomplete, o.stderr)
			}
			checkSynced(t, org, d, people, nil)
		})
	}
}

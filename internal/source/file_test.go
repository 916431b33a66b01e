package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testNow = time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

func pullFixture(t *testing.T, cfg Config) (Snapshot, error) {
	t.Helper()
	cfg.Type = TypeFile
	cfg.Path = filepath.Join("testdata", cfg.Path)
	src, err := New(cfg, Options{Clock: fixedClock})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return src.Pull(context.Background())
}

func TestFileFormats(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []Record
	}{
		{
			name: "Entra export with BOM, CRLF, quoted newline, unicode, apostrophe, empty cells, extra column",
			cfg:  Config{Path: "entra.csv", Format: FormatCSV},
			want: []Record{
				{ID: "11111111-aaaa", UserName: "zoe.nunez@acme.example", DisplayName: "Zoë Núñez", GivenName: "Zoë", FamilyName: "Núñez",
					Emails: []Email{{Value: "Zoe.Nunez@acme.example", Primary: true}}, Title: "Head of Sales, EMEA", Department: "Sales", Active: true,
					Attributes: []Attribute{{Name: "usageLocation", Value: "ES"}}},
				{ID: "22222222-bbbb", UserName: "sean.obrien@acme.example", DisplayName: "Seán O'Brien", GivenName: "Seán", FamilyName: "O'Brien",
					Emails: []Email{{Value: "sean.obrien@acme.example", Primary: true}}, Title: "Engineer\n(on call)", Active: false},
				{ID: "33333333-cccc", UserName: "li.wei@acme.example", DisplayName: "李伟", GivenName: "伟", FamilyName: "李", Active: true,
					Attributes: []Attribute{{Name: "usageLocation", Value: "CN"}}},
			},
		},
		{
			name: "Google template with bracketed headers and no id column: id falls back to the email",
			cfg:  Config{Path: "google.csv", Format: FormatCSV},
			want: []Record{
				{ID: "ana.lima@acme.example", GivenName: "Ana", FamilyName: "Lima", Emails: []Email{{Value: "ana.lima@acme.example", Primary: true}},
					EmployeeNumber: "E-1001", Department: "Support", ManagerID: "boss@acme.example", Active: true,
					Attributes: []Attribute{{Name: "Cost Center", Value: "CC-7"}}},
				{ID: "bob@acme.example", GivenName: "Bob", FamilyName: `Smith "Jr"`, Emails: []Email{{Value: "bob@acme.example", Primary: true}},
					EmployeeNumber: "E-1002", Department: "Support", Active: true},
			},
		},
		{
			name: "Okta import with status and groups, no id: id falls back to the login",
			cfg:  Config{Path: "okta.csv", Format: FormatCSV},
			want: []Record{
				{ID: "ana@acme.example", UserName: "ana@acme.example", GivenName: "Ana", FamilyName: "Lima",
					Emails: []Email{{Value: "ana@acme.example", Primary: true}}, Active: true,
					Groups: []Group{{Name: "EMEA"}, {Name: "Sales"}}},
				{ID: "max@acme.example", UserName: "max@acme.example", GivenName: "Max", FamilyName: "Mustermann",
					Emails: []Email{{Value: "max@acme.example", Primary: true}}, Active: false},
			},
		},
		{
			name: "configured columns and delimiter",
			cfg: Config{Path: "custom.csv", Format: FormatCSV, CSV: CSVConfig{Delimiter: ";"},
				Columns: Columns{ID: "Personalnummer", GivenName: "Vorname", FamilyName: "Nachname", Email: "E-Mail", Department: "Abteilung"}},
			want: []Record{
				{ID: "4711", GivenName: "Jürgen", FamilyName: "Groß", Emails: []Email{{Value: "juergen.gross@acme.example", Primary: true}},
					Department: "Vertrieb", Active: true},
			},
		},
		{
			name: "JSON array of Okta users with nested profile, numbers and nulls",
			cfg:  Config{Path: "okta.json", Format: FormatJSON},
			want: []Record{
				{ID: "00u1", UserName: "ana@acme.example", GivenName: "Ana", FamilyName: "Lima", Emails: []Email{{Value: "ana@acme.example", Primary: true}},
					Title: "Account Executive", Department: "Sales", EmployeeNumber: "1001", ManagerID: "00u9", Active: true,
					Attributes: []Attribute{{Name: "lastUpdated", Value: "2026-01-02T03:04:05.000Z"}, {Name: "profile.costCenter", Value: "CC-7"}}},
				{ID: "00u2", UserName: "bo@acme.example", GivenName: "Bø", FamilyName: "Ås", Emails: []Email{{Value: "bo@acme.example", Primary: true}}, Active: false},
			},
		},
		{
			name: "CSV with a count trailer that matches",
			cfg:  Config{Path: "trailer.csv", Format: FormatCSV, CountTrailer: true},
			want: []Record{
				{ID: "u1", FamilyName: "A", Emails: []Email{{Value: "a@acme.example", Primary: true}}, Active: true},
				{ID: "u2", FamilyName: "B", Emails: []Email{{Value: "b@acme.example", Primary: true}}, Active: true},
			},
		},
		{
			name: "NDJSON with a blank line and a count trailer that matches",
			cfg:  Config{Path: "trailer.ndjson", Format: FormatNDJSON, CountTrailer: true},
			want: []Record{
				{ID: "u1", FamilyName: "A", Emails: []Email{{Value: "a@acme.example", Primary: true}}, Active: true},
				{ID: "u2", FamilyName: "B", Emails: []Email{{Value: "b@acme.example", Primary: true}}, Active: true},
			},
		},
		{
			name: "JSON array with BOM and CRLF",
			cfg:  Config{Path: "bom.json", Format: FormatJSON},
			want: []Record{{ID: "1", FamilyName: "Ä", Emails: []Email{{Value: "a@acme.example", Primary: true}}, Active: true}},
		},
		{
			name: "NDJSON with BOM, CRLF, a blank line, SCIM-style emails and groups",
			cfg:  Config{Path: "scimish.ndjson", Format: FormatNDJSON},
			want: []Record{
				{ID: "u1", UserName: "kim", GivenName: "Kim", FamilyName: "Park", Active: true,
					Emails: []Email{{Value: "kim@home.example", Type: "home"}, {Value: "kim@acme.example", Type: "work"}},
					Groups: []Group{{ID: "g1", Name: "All Staff"}, {ID: "g2", Name: "Sales"}}},
				{ID: "u2", UserName: "lee", GivenName: "Lee", FamilyName: "O'Neil", Active: false,
					Emails: []Email{{Value: "lee@acme.example", Primary: true}, {Value: "lee2@acme.example"}},
					Groups: []Group{{Name: "Support"}}},
			},
		},
		{
			name: "SCIM ListResponse with enterprise extension, mixed-case names, several emails none primary",
			cfg:  Config{Path: "scim-list.json", Format: FormatSCIM},
			want: []Record{
				{ID: "2819c223-7f76-453a-919d-413861904646", UserName: "bjensen", GivenName: "Barbara", FamilyName: "Jensen", Active: true,
					Emails: []Email{{Value: "bjensen@example.com", Type: "work", Primary: true}, {Value: "babs@jensen.org", Type: "home"}},
					Title:  "Tour Guide", Groups: []Group{{ID: "e9e30dba", Name: "Tour Guides"}},
					EmployeeNumber: "701984", Department: "Tour Operations", ManagerID: "26118915",
					Attributes: []Attribute{{Name: "costCenter", Value: "4130"}, {Name: "externalId", Value: "bjensen"},
						{Name: "name.formatted", Value: "Ms. Barbara J Jensen III"}, {Name: "phoneNumbers.work", Value: "555-555-8377"}}},
				{ID: "c3a1", UserName: "jdoe", GivenName: "Jöhn", FamilyName: "D'Arcy", Active: false, Department: "Finance",
					Emails: []Email{{Value: "jd@home.example", Type: "home"}, {Value: "jd@other.example", Type: "other"}, {Value: "jdoe@example.com", Type: "Work"}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := pullFixture(t, tt.cfg)
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if !snap.Complete || len(snap.Reasons) != 0 {
				t.Fatalf("snapshot not complete: %v", snap.Reasons)
			}
			if diff := cmp.Diff(tt.want, snap.Records); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if snap.Count != len(tt.want) || snap.Digest != Digest(tt.want) || !snap.FetchedAt.Equal(testNow) || snap.NotModified {
				t.Errorf("Count %d Digest %s FetchedAt %v NotModified %v", snap.Count, snap.Digest, snap.FetchedAt, snap.NotModified)
			}
		})
	}
}

func TestFileIncomplete(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		wantRecords int
		wantReason  string
	}{
		{"empty file", Config{Path: "empty.csv", Format: FormatCSV}, 0, "the file is empty (no header row)"},
		{"header only", Config{Path: "header-only.csv", Format: FormatCSV}, 0, "the file has a header row but no records"},
		{"ragged row", Config{Path: "ragged.csv", Format: FormatCSV}, 1, "line 3: 2 fields where the header has 3"},
		{"unterminated quote", Config{Path: "bad-quote.csv", Format: FormatCSV}, 1, "line 3"},
		{"unreadable active flag", Config{Path: "bad-active.csv", Format: FormatCSV}, 0, `line 2: column "active": active flag "maybe" is neither true nor false`},
		{"configured column missing", Config{Path: "custom.csv", Format: FormatCSV, CSV: CSVConfig{Delimiter: ";"}, Columns: Columns{Title: "Funktion"}}, 0,
			`configured column "Funktion" (source.columns.title) is not in the header`},
		{"wrong delimiter: every column folds into one", Config{Path: "custom.csv", Format: FormatCSV, Columns: Columns{Email: "E-Mail"}}, 0, "E-Mail"},
		{"missing file", Config{Path: "nope.csv", Format: FormatCSV}, 0, "open testdata/nope.csv"},
		{"truncated JSON array", Config{Path: "bad-array.json", Format: FormatJSON}, 1, "JSON array element 2"},
		{"null element in a JSON array", Config{Path: "null-element.json", Format: FormatJSON}, 1, "JSON array element 2: not an object"},
		{"data after JSON array", Config{Path: "trailing.json", Format: FormatJSON}, 1, "unexpected data after the array"},
		{"empty JSON array", Config{Path: "empty-array.json", Format: FormatJSON}, 0, "the JSON array is empty"},
		{"a JSON document read as SCIM without Resources", Config{Path: "okta.json", Format: FormatSCIM}, 0, "SCIM document"},
		{"broken NDJSON line", Config{Path: "bad-line.ndjson", Format: FormatNDJSON}, 1, "line 2"},
		{"empty NDJSON", Config{Path: "empty.csv", Format: FormatNDJSON}, 0, "the NDJSON file has no records"},
		{"SCIM document with totalResults above its resources", Config{Path: "scim-partial.json", Format: FormatSCIM}, 2, "totalResults is 3 but it holds 2 resources"},
		{"NDJSON line without the id key others have", Config{Path: "missing-id.ndjson", Format: FormatNDJSON}, 1,
			"line 2: no id: the record lacks the id key that the first record has"},
		{"NDJSON line with an id where the first has none", Config{Path: "mixed-id.ndjson", Format: FormatNDJSON}, 1,
			"line 2: an id key where the first record has none"},
		{"JSON element with a blank id", Config{Path: "blank-id.json", Format: FormatJSON}, 1, "JSON array element 2: no id: the id is blank"},
		{"JSON element without the configured id key", Config{Path: "configured-id.json", Format: FormatJSON, Columns: Columns{ID: "employeeId"}}, 1,
			`JSON array element 2: no id: the record lacks "employeeId" (source.columns.id)`},
		{"CSV row with a blank id cell", Config{Path: "blank-id.csv", Format: FormatCSV}, 1, "line 3: no id: the id is blank"},
		{"CSV without ids, logins or emails", Config{Path: "no-identity.csv", Format: FormatCSV}, 0, "line 2: no id: the export has no id column"},
		{"count trailer required but absent", Config{Path: "entra.csv", Format: FormatCSV, CountTrailer: true}, 3,
			"no #count=N line at the end (source.count_trailer): the export may be truncated"},
		{"count trailer disagrees", Config{Path: "trailer-wrong.csv", Format: FormatCSV, CountTrailer: true}, 2,
			"the count trailer says 3 records but the export holds 2"},
		{"count trailer unreadable", Config{Path: "trailer-bad.csv", Format: FormatCSV, CountTrailer: true}, 1,
			`line 3: count trailer "#count=two" is not #count=N with N a number`},
		{"a record after the count trailer", Config{Path: "trailer-after.ndjson", Format: FormatNDJSON, CountTrailer: true}, 1,
			"line 3: a record after the count trailer, which must be the last line"},
		{"a trailer line read as data when no trailer is configured", Config{Path: "trailer.csv", Format: FormatCSV}, 2,
			"line 4: 1 fields where the header has 3"},
		{"file larger than max_bytes", Config{Path: "trailer.csv", Format: FormatCSV, MaxBytes: 40}, 1,
			"input larger than source.max_bytes (40 bytes): the read stopped there; raise source.max_bytes if the export really is that large"},
		{"SCIM document repeating an id", Config{Path: "scim-dup.json", Format: FormatSCIM}, 1, `resource 2 repeats id "2819c223-7f76-453a-919d-413861904646"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := pullFixture(t, tt.cfg)
			assertIncomplete(t, snap, err, tt.wantReason)
			if snap.Count != tt.wantRecords || len(snap.Records) != tt.wantRecords {
				t.Errorf("Count %d, %d records; want %d", snap.Count, len(snap.Records), tt.wantRecords)
			}
		})
	}
}

// assertIncomplete checks both halves of the contract: a non-nil error wrapping
// ErrIncomplete and a snapshot that says it is incomplete, with a reason containing want.
func assertIncomplete(t *testing.T, snap Snapshot, err error, want string) {
	t.Helper()
	if err == nil || !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Pull error = %v, want one wrapping ErrIncomplete", err)
	}
	if snap.Complete {
		t.Fatalf("snapshot claims to be complete")
	}
	if !strings.Contains(strings.Join(snap.Reasons, "; "), want) {
		t.Fatalf("reasons %q do not mention %q", snap.Reasons, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not mention %q", err, want)
	}
}

// TestNDJSONLineBound reads an NDJSON export whose second line is longer than one
// record may be: the read stops there, naming the line, instead of buffering it.
func TestNDJSONLineBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "long.ndjson")
	long := `{"id":"u2","email":"b@acme.example","familyName":"` + strings.Repeat("B", maxLineBytes) + `"}`
	body := `{"id":"u1","email":"a@acme.example","familyName":"A"}` + "\n" + long + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{Type: TypeFile, Path: path, Format: FormatNDJSON}, Options{Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := src.Pull(context.Background())
	assertIncomplete(t, snap, err, fmt.Sprintf("line 2: longer than %d bytes, the most one record may take", maxLineBytes))
	if snap.Count != 1 {
		t.Errorf("Count %d, want 1", snap.Count)
	}
}

func TestFileContextCancelled(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.csv")
	rows := strings.Repeat("1,a@acme.example,A\n", 3*ctxCheckEvery)
	if err := os.WriteFile(path, []byte("id,email,surname\n"+rows), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{Type: TypeFile, Path: path, Format: FormatCSV}, Options{Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	snap, err := src.Pull(ctx)
	assertIncomplete(t, snap, err, "context canceled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
}

func TestPrimaryEmail(t *testing.T) {
	tests := []struct {
		name   string
		emails []Email
		want   string
	}{
		{"none", nil, ""},
		{"primary flag wins over work", []Email{{Value: "w@x", Type: "work"}, {Value: "p@x", Type: "home", Primary: true}}, "p@x"},
		{"work wins over first", []Email{{Value: "h@x", Type: "home"}, {Value: "w@x", Type: "WORK"}}, "w@x"},
		{"first when no primary and no work", []Email{{Value: "a@x", Type: "home"}, {Value: "b@x", Type: "other"}}, "a@x"},
		{"empty values are skipped", []Email{{Value: "", Primary: true}, {Value: "", Type: "work"}, {Value: "c@x"}}, "c@x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Record{Emails: tt.emails}
			if got := r.PrimaryEmail(); got != tt.want {
				t.Errorf("PrimaryEmail() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRecordLookup(t *testing.T) {
	r := Record{ID: "1", Department: "Sales", Active: true, Emails: []Email{{Value: "a@x"}},
		Groups:     []Group{{ID: "g1", Name: "EMEA Sellers"}},
		Attributes: []Attribute{{Name: "Cost Center", Value: "CC-7"}, {Name: "costCenter", Value: "4130"}}}
	tests := []struct {
		name   string
		want   string
		wantOK bool
	}{
		{"DEPARTMENT", "Sales", true}, {"email", "a@x", true}, {"active", "true", true},
		{"costCenter", "4130", true}, {"COST CENTER", "CC-7", true}, {"nothing", "", false},
	}
	for _, tt := range tests {
		if got, ok := r.Lookup(tt.name); got != tt.want || ok != tt.wantOK {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
	if !r.InGroup("emea sellers") || !r.InGroup("G1") || r.InGroup("Sales") {
		t.Errorf("InGroup misreads %v", r.Groups)
	}
	if r.Attr("costcenter") != "4130" {
		t.Errorf("Attr is not case-insensitive")
	}
}

func TestDigest(t *testing.T) {
	a := Record{ID: "1", Emails: []Email{{Value: "a@x"}}, Active: true}
	b := Record{ID: "2", Emails: []Email{{Value: "b@x"}}, Active: true}
	changed := b
	changed.Title = "New"
	base := Digest([]Record{a, b})
	if Digest([]Record{b, a}) != base {
		t.Error("digest depends on order")
	}
	for name, other := range map[string][]Record{
		"a field changed":  {a, changed},
		"a record dropped": {a},
		"a record twice":   {a, b, b},
		"none":             nil,
	} {
		if Digest(other) == base {
			t.Errorf("%s: digest unchanged", name)
		}
	}
	// Field boundaries are length-prefixed: moving text between fields changes the digest.
	if Digest([]Record{{ID: "ab", UserName: "c"}}) == Digest([]Record{{ID: "a", UserName: "bc"}}) {
		t.Error("digest ignores field boundaries")
	}
}

func TestEstimateRows(t *testing.T) {
	tests := []struct {
		size, offset int64
		rows, want   int
	}{
		{0, 100, 10, 0},
		{1000, 0, 10, 0},
		{1000, 100, 10, 102},
		{1000, 1000, 10, 10},
		{1000, 10, 1000, 125}, // capped at one row per 8 bytes
	}
	for _, tt := range tests {
		if got := estimateRows(tt.size, tt.offset, tt.rows); got != tt.want {
			t.Errorf("estimateRows(%d, %d, %d) = %d, want %d", tt.size, tt.offset, tt.rows, got, tt.want)
		}
	}
}

// TestCSVRecordsSizedOnce checks that a file's record slice is allocated from the
// size estimate rather than grown step by step.
func TestCSVRecordsSizedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "people.csv")
	var b strings.Builder
	b.WriteString("id,email,surname\n")
	const rows = 5000
	for i := range rows {
		fmt.Fprintf(&b, "%d,user%d@acme.example,Family%d\n", i, i, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{Type: TypeFile, Path: path, Format: FormatCSV}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := src.Pull(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Count != rows || cap(snap.Records) > rows*11/10 {
		t.Errorf("%d records in a slice of capacity %d", snap.Count, cap(snap.Records))
	}
}

// TestCSVRecordsDoNotShareSlices checks that each CSV record owns its Emails and
// Attributes although they are carved from shared chunks: appending to one record's
// never changes another's.
func TestCSVRecordsDoNotShareSlices(t *testing.T) {
	snap, err := pullFixture(t, Config{Path: "entra.csv", Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]Record, len(snap.Records))
	for i, r := range snap.Records {
		r.Emails, r.Attributes = slices.Clone(r.Emails), slices.Clone(r.Attributes)
		want[i] = r
	}
	for i := range snap.Records {
		_ = append(snap.Records[i].Emails, Email{Value: "spilled@acme.example"})
		_ = append(snap.Records[i].Attributes, Attribute{Name: "spilled", Value: "x"})
	}
	if diff := cmp.Diff(want, snap.Records); diff != "" {
		t.Errorf("appending changed other records (-want +got):\n%s", diff)
	}
}

package salesforce

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/sfsim/soql"
)

// userSchema is the small schema the query checks parse against.
type userSchema struct{}

func (userSchema) Object(name string) (*soql.Object, bool) {
	switch strings.ToLower(name) {
	case "user":
		return &soql.Object{Name: "User", Fields: []soql.Field{
			{Name: "Id", Type: soql.TypeString},
			{Name: "Username", Type: soql.TypeString},
		}}, true
	case "userlogin":
		return &soql.Object{Name: "UserLogin", Fields: []soql.Field{
			{Name: "Id", Type: soql.TypeString},
			{Name: "UserId", Type: soql.TypeString},
			{Name: "IsFrozen", Type: soql.TypeBoolean},
		}}, true
	}
	return nil, false
}

// userRow is a record holding only a Username.
type userRow string

func (u userRow) Field(name string) any {
	if name == "Username" {
		return string(u)
	}
	return nil
}
func (userRow) Parent(string) soql.Record { return nil }

func TestQuote(t *testing.T) {
	tests := []struct {
		in, want, wantLike string
	}{
		{"", `''`, `''`},
		{"jdoe@example.com", `'jdoe@example.com'`, `'jdoe@example.com'`},
		{"O'Brien", `'O\'Brien'`, `'O\'Brien'`},
		{`a"b\c`, `'a\"b\\c'`, `'a\"b\\c'`},
		{"l1\nl2\r\t\b\f", `'l1\nl2\r\t\b\f'`, `'l1\nl2\r\t\b\f'`},
		{"nul\x00bell\x07del\x7f", `'nul\u0000bell\u0007del\u007f'`, `'nul\u0000bell\u0007del\u007f'`},
		{"50%_off", `'50%_off'`, `'50\%\_off'`},
		{"Zoë 東京 🙂", `'Zoë 東京 🙂'`, `'Zoë 東京 🙂'`},
		{`' OR Username != '`, `'\' OR Username != \''`, `'\' OR Username != \''`},
	}
	for _, tt := range tests {
		got, err := Quote(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Quote(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
		got, err = QuoteLike(tt.in)
		if err != nil || got != tt.wantLike {
			t.Errorf("QuoteLike(%q) = %s, %v; want %s", tt.in, got, err, tt.wantLike)
		}
	}
	if _, err := Quote("bad\xffutf8"); !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("Quote(invalid UTF-8) error = %v, want ErrInvalidUTF8", err)
	}
}

// checkLiteralRoundTrip asserts, with sfsim's real SOQL parser, that s quoted by Quote
// and QuoteLike stays one literal that matches exactly s.
func checkLiteralRoundTrip(t *testing.T, s string) {
	t.Helper()
	lit, err := Quote(s)
	if !utf8.ValidString(s) {
		if err == nil {
			t.Fatalf("Quote(%q) accepted invalid UTF-8", s)
		}
		return
	}
	if err != nil {
		t.Fatalf("Quote(%q): %v", s, err)
	}
	other := s + "x"
	for _, tc := range []struct {
		op, lit  string
		nonMatch []string
	}{
		{"=", lit, []string{other}},
		{"LIKE", mustQuoteLike(t, s), likeNonMatches(s)},
	} {
		query := "SELECT Id FROM User WHERE Username " + tc.op + " " + tc.lit
		q, err := soql.Parse(query, userSchema{})
		if err != nil {
			t.Fatalf("input %q: %s does not parse: %v", s, query, err)
		}
		if diff := cmp.Diff([]soql.FieldRef{{"Id"}}, q.Fields); diff != "" || q.Limit != -1 || q.Offset != 0 || len(q.OrderBy) != 0 || q.Count {
			t.Fatalf("input %q escaped its literal: %s parsed as %+v", s, query, q)
		}
		if !q.Match(userRow(s)) {
			t.Errorf("input %q: %s does not match the input itself", s, query)
		}
		for _, nm := range tc.nonMatch {
			if q.Match(userRow(nm)) {
				t.Errorf("input %q: %s also matches %q", s, query, nm)
			}
		}
	}
}

func mustQuoteLike(t *testing.T, s string) string {
	t.Helper()
	lit, err := QuoteLike(s)
	if err != nil {
		t.Fatalf("QuoteLike(%q): %v", s, err)
	}
	return lit
}

// likeNonMatches returns values an escaped LIKE literal of s must not match: s with a
// suffix, and s with its first wildcard character replaced.
func likeNonMatches(s string) []string {
	out := []string{s + "x"}
	if i := strings.IndexAny(s, "_%"); i >= 0 {
		out = append(out, s[:i]+"Q"+s[i+1:])
	}
	return out
}

// TestQuoteRoundTripProperty throws random strings built from SOQL's special
// characters at the escaper and parses the result with sfsim's parser.
func TestQuoteRoundTripProperty(t *testing.T) {
	alphabet := []rune{'\'', '"', '\\', '\n', '\r', '\t', '\b', '\f', 0, 1, 0x1f, 0x7f, '%', '_', ' ', '(', ')', ',', '=',
		'a', 'Z', '0', 'u', 'n', 'é', '東', '🙂', 0x2028, 0xfeff}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		var b strings.Builder
		for range rng.IntN(24) {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		checkLiteralRoundTrip(t, b.String())
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "O'Brien", `\`, `\'`, `\\'`, "' OR Id != '", "%_", "\x00", "\u2028", "\\u0027", "a\xffb"} {
		f.Add(s)
	}
	f.Fuzz(checkLiteralRoundTrip)
}

func TestUsersQuery(t *testing.T) {
	got, err := UsersQuery("Id", "Username", "Profile.Name")
	if err != nil {
		t.Fatal(err)
	}
	if want := "SELECT Id, Username, Profile.Name FROM User WHERE UserType = 'Standard'"; got != want {
		t.Errorf("UsersQuery = %q, want %q", got, want)
	}
	if _, err := UsersQuery("Id", "Name FROM Account --"); ClassOf(err) != ClassPermanent || err == nil {
		t.Errorf("UsersQuery with a bad field name: err = %v, want a ConfigError", err)
	}
	def, err := UsersQuery()
	if err != nil || !strings.HasPrefix(def, "SELECT Id, Username, Email,") {
		t.Errorf("UsersQuery() = %q, %v", def, err)
	}
}

func TestInQueriesChunking(t *testing.T) {
	var ids []string
	for i := range 2000 {
		ids = append(ids, fmt.Sprintf("005%015d", i))
	}
	queries, err := UserLoginsQueries(ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) < 2 {
		t.Fatalf("2000 ids fit in %d queries; want a split", len(queries))
	}
	var got []string
	for _, q := range queries {
		if n := len(url.QueryEscape(q)); n > MaxQueryLength {
			t.Errorf("query of %d encoded bytes is over MaxQueryLength", n)
		}
		if _, err := soql.Parse(q, userSchema{}); err != nil {
			t.Fatalf("chunk does not parse: %v", err)
		}
		inner := strings.TrimSuffix(strings.TrimPrefix(q, "SELECT Id, UserId, IsFrozen FROM UserLogin WHERE UserId IN ("), ")")
		for _, lit := range strings.Split(inner, ", ") {
			got = append(got, strings.Trim(lit, "'"))
		}
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("chunks do not cover the ids exactly once, in order (-want +got):\n%s", diff)
	}

	if q, err := UserLoginsQueries(nil); err != nil || q != nil {
		t.Errorf("no ids: got %v, %v; want no queries", q, err)
	}
	if _, err := UsersWhereInQueries("Email", []string{strings.Repeat("é", MaxQueryLength)}); err == nil {
		t.Error("a value longer than a query allows was accepted")
	}
	if _, err := UsersWhereInQueries("Email", []string{"ok", "bad\xff"}); err == nil || !strings.Contains(err.Error(), "value 1") {
		t.Errorf("invalid UTF-8 value: err = %v, want one naming value 1", err)
	}
}

func TestCanonicalID(t *testing.T) {
	tests := []struct{ in, want string }{
		// Pairs from Salesforce's documentation and public examples.
		{"005RO0000035WQg", "005RO0000035WQgYAM"},
		{"005RM000003oLnn", "005RM000003oLnnYAE"},
		{"005RO0000035WQgYAM", "005RO0000035WQgYAM"},
		{"not-an-id-at-al", "not-an-id-at-al"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := CanonicalID(tt.in); got != tt.want {
			t.Errorf("CanonicalID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestUsersChangedSinceQuery renders the delta read: inclusive, in whole UTC
// seconds rounded down, ordered by SystemModstamp then Id, for every user type.
func TestUsersChangedSinceQuery(t *testing.T) {
	since := time.Date(2026, 11, 30, 9, 15, 42, 900_000_000, time.FixedZone("", 3600))
	got, err := UsersChangedSinceQuery(since, "Id", "SystemModstamp")
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT Id, SystemModstamp FROM User WHERE SystemModstamp >= 2026-11-30T08:15:42Z ORDER BY SystemModstamp, Id"
	if got != want {
		t.Errorf("UsersChangedSinceQuery = %q, want %q", got, want)
	}
	if _, err := UsersChangedSinceQuery(since, "Id; DELETE"); err == nil {
		t.Error("a bad field name was accepted")
	}
}

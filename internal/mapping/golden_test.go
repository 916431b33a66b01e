package mapping

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/source"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// adversarialValues are the values adversarialRecords draws from: ASCII and not,
// invalid UTF-8, upper case, the Kelvin sign and the long s (which lower-case to
// ASCII letters), empty and blank values, lengths around 8-byte boundaries and the
// field limits, and every way an address can be malformed.
func adversarialValues() (emails, names []string) {
	emails = []string{
		"", " ", "a@acme.example", "A@Acme.example", "A@ACME.EXAMPLE", "k@acme.example", "\u212a@acme.example",
		"s@acme.example", "\u017f@acme.example", "S@acme.example", "not-an-email", "c @acme.example", "a@@b.co",
		"a@b@c.co", ".a@b.co", "a.@b.co", "a..b@c.co", "a@b", "a@-b.co", "a@b-.co", "a@b..co", "a@.b.co", "a@b.co.",
		"@b.co", "a@", strings.Repeat("x", 64) + "@b.co", strings.Repeat("x", 65) + "@b.co",
		"a@" + strings.Repeat("l", 63) + ".co", "a@" + strings.Repeat("l", 64) + ".co", "a(b)@c.co", "a\x7f@b.co",
		"\xff@b.co", "é@b.co", "a@b_c.co", "a@b.co\x00", "Zoë@acme.example", "a+tag@b.co", "o'brien@acme.example",
		"1234@b.co", "12345@b.co", "123456789@b.cd", "a:b@c.co", "a;b@c.co", "<a@b.co>", "a@b.co\n", "\ta@b.co",
		"a\"b@c.co", "a[b]@c.co", "a\\b@c.co", "a,b@c.co", "x@" + strings.Repeat("d", 60) + "." + strings.Repeat("e", 70),
		strings.Repeat("y", 60) + "@" + strings.Repeat("z", 63) + "." + strings.Repeat("w", 63), "U1@acme.example",
		"MiXeD.Case@Sub.Acme.Example", "a@1.2", "a@b.c-d.e",
	}
	names = []string{
		"", " ", "  Pat  ", "Pat", "PAT", "Zoë", "Núñez", "李", "伟", "\xff\xfe", "ab\xc3", "K", "\u212a", "\u017f", "ẞ", "Ø",
		"O'Brien", "1234567", "12345678", "123456789", "ABCDEFGH", "abcdefghijklmnop", strings.Repeat("é", 40),
		strings.Repeat("é", 41), strings.Repeat("a", 80), strings.Repeat("a", 81), strings.Repeat("b", 40), strings.Repeat("b", 41),
		"Ωmega", "!!!", "van der Berg", "Łukasz", "Ærø", "José-María",
	}
	return emails, names
}

// adversarialRecords returns n records drawn from adversarialValues, with repeated
// addresses, inactive people and missing ids mixed in.
func adversarialRecords(seed uint64, n int) []source.Record {
	emails, names := adversarialValues()
	r := rand.New(rand.NewPCG(seed, seed))
	pick := func(pool []string) string { return pool[r.IntN(len(pool))] }
	records := make([]source.Record, n)
	for i := range records {
		rec := source.Record{ID: fmt.Sprintf("E%04d", i), GivenName: pick(names), FamilyName: pick(names),
			Active: r.IntN(8) > 0, Title: pick(names), Department: pick(names)}
		if r.IntN(30) == 0 {
			rec.ID = ""
		}
		if r.IntN(3) == 0 {
			rec.UserName = pick(emails)
		} else {
			rec.UserName = fmt.Sprintf("user%d@acme.example", i)
		}
		switch r.IntN(4) {
		case 0:
		case 1:
			rec.Emails = []source.Email{{Value: fmt.Sprintf("Person%d@Acme.example", i), Primary: true}}
		default:
			rec.Emails = []source.Email{{Value: pick(emails), Primary: true}}
		}
		records[i] = rec
	}
	return records
}

// goldenMappers are the configurations TestMapGolden maps with: the defaults (Username
// from Email, a generated Alias), and a Username from the login with a suffix.
func goldenMappers(t *testing.T) map[string]*Mapper {
	return map[string]*Mapper{
		"defaults": mustNew(t, Config{Fields: map[string]FieldConfig{"Title": {From: "{{ .Title }}"}, "Department": {From: "{{ .Department }}"}}}),
		"login": mustNew(t, Config{UsernameSuffix: ".sbx", Fields: map[string]FieldConfig{
			"Username":          {From: "{{ .UserName }}{{ .UsernameSuffix }}"},
			"CommunityNickname": {From: "{{ .GivenName | asciifold }}"},
			"Title":             {From: "{{ .Title | trim }}"},
		}}),
	}
}

// TestMapGolden maps adversarial records and compares everything Map returns (desired
// people and their fields, inactive ids, rejections with their positions, reasons and
// messages) with what it returned before the mapping was made faster, so that no fast
// path changes a result. A stream given the same records in chunks returns the same.
// go test -run TestMapGolden -update rewrites the files.
func TestMapGolden(t *testing.T) {
	for name, m := range goldenMappers(t) {
		t.Run(name, func(t *testing.T) {
			records := adversarialRecords(7, 1000)
			res := m.Map(records)
			got, err := json.MarshalIndent(res, "", " ")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden-"+name+".json")
			if *updateGolden {
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.TrimSpace(string(want)), string(got)); diff != "" {
				t.Errorf("Map differs from %s (-want +got):\n%s", path, diff)
			}
			s := m.NewStream()
			for start := 0; start < len(records); start += 97 {
				s.Add(records[start:min(start+97, len(records))], len(records))
			}
			streamed, ok := s.Result()
			if !ok {
				t.Fatal("the stream found repeated ids")
			}
			if diff := cmp.Diff(res, streamed); diff != "" {
				t.Errorf("the stream differs from Map (-Map +stream):\n%s", diff)
			}
		})
	}
}

package mapping

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/source"
)

// TestLengthLimitCountsCharacters checks that length limits count characters, as
// Salesforce does, not bytes: 40 two-byte letters fit FirstName's 40, 41 do not.
func TestLengthLimitCountsCharacters(t *testing.T) {
	m := mustNew(t, Config{})
	tests := []struct {
		name, given string
		want        []Reason
	}{
		{"40 ASCII letters fit", strings.Repeat("e", 40), nil},
		{"40 two-byte letters fit although they take 80 bytes", strings.Repeat("é", 40), nil},
		{"41 two-byte letters are too long", strings.Repeat("é", 41),
			[]Reason{{Code: TooLong, Field: "FirstName", Detail: "41 characters, at most 40 allowed"}}},
		// Salesforce would store U+FFFD for the bad bytes, and the next cycle would
		// find the value changed and write it again, forever.
		{"bytes that are not UTF-8 are refused, not written mangled", "Bad\xff\xfeUTF",
			[]Reason{{Code: InvalidUTF8, Field: "FirstName", Detail: "the value holds bytes that are not UTF-8"}}},
		{"a BOM in the middle is valid UTF-8 and kept", "Mid\ufeffBOM", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := m.Map([]source.Record{person("1", tt.given, "Lima", "a@acme.example")})
			var got []Reason
			for _, r := range res.Rejected {
				got = append(got, r.Reasons...)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

package source

import (
	"fmt"
	"strings"
	"testing"
)

// digestRecords are records that use every field of the canonical form, with lengths
// of one, two and three digits.
func digestRecords() []Record {
	return []Record{
		{ID: "00u1", UserName: "ana@acme.example", Emails: []Email{{Value: "Ana@Acme.example", Type: "work", Primary: true}, {Value: "ana@home.example"}},
			GivenName: "Ana", FamilyName: "Lima", DisplayName: "Ana Lima", Active: true, Title: strings.Repeat("t", 120), Department: "Sales",
			ManagerID: "00u9", EmployeeNumber: "1001", Groups: []Group{{ID: "g1", Name: "EMEA"}}, Attributes: []Attribute{{Name: "costCenter", Value: "CC-7"}}},
		{ID: "00u2", FamilyName: "李"},
		{},
	}
}

// TestDigestStable pins the digest of known records: digests are stored with every good
// pull and compared with the next, so a change of the canonical form would make an
// unchanged export look changed once.
func TestDigestStable(t *testing.T) {
	const want = "7e8bf5744aa8c4d68383551d15b6c59c1ae50564d5d5af9b26e79e4046e23f12"
	if got := Digest(digestRecords()); got != want {
		t.Errorf("Digest = %s, want %s", got, want)
	}
}

// BenchmarkDigest measures the digest of 100,000 records shaped like an Entra export's.
func BenchmarkDigest(b *testing.B) {
	records := make([]Record, 100_000)
	for i := range records {
		records[i] = Record{ID: fmt.Sprintf("%08x-0000-4000-8000-%012d", i, i), UserName: fmt.Sprintf("user%d@acme.example", i),
			Emails:    []Email{{Value: fmt.Sprintf("User%d@acme.example", i), Primary: true}},
			GivenName: fmt.Sprintf("Given%d", i), FamilyName: fmt.Sprintf("Family%d", i), Active: true, Title: "Engineer",
			Department: fmt.Sprintf("Dept %d", i%50), Attributes: []Attribute{{Name: "usageLocation", Value: "DE"}}}
	}
	b.ReportAllocs()
	for b.Loop() {
		Digest(records)
	}
}

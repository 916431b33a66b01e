package mapping

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"weak"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/source"
)

// randomRecords returns n records drawn from a small pool of values, so that the
// things Map checks across records happen often: inactive people, missing ids, bad
// and repeated emails (in other case too), Usernames that collide, missing last
// names. With repeatIDs, some ids repeat too.
func randomRecords(r *rand.Rand, n int, repeatIDs bool) []source.Record {
	emails := []string{"", "a@acme.example", "A@Acme.example", "not-an-email", "b@acme.example", "c @acme.example"}
	records := make([]source.Record, n)
	for i := range records {
		rec := source.Record{ID: fmt.Sprintf("E%05d", i), GivenName: "Pat", FamilyName: fmt.Sprintf("Person%d", i), Active: r.IntN(10) > 0,
			Title: []string{"", "Engineer", "Manager"}[r.IntN(3)]}
		switch r.IntN(20) {
		case 0:
			rec.ID = ""
		case 1:
			if repeatIDs {
				rec.ID = fmt.Sprintf("E%05d", r.IntN(n))
			}
		case 2:
			rec.FamilyName = ""
		}
		if r.IntN(4) == 0 {
			rec.Emails = []source.Email{{Value: emails[r.IntN(len(emails))], Primary: true}}
		} else {
			rec.Emails = []source.Email{{Value: fmt.Sprintf("p%d@acme.example", i), Primary: true}}
		}
		records[i] = rec
	}
	return records
}

// TestStreamMapsAsMap: records handed to a Stream in chunks of any size give what
// Map gives for all of them at once (the same desired users, inactive ids and
// rejections with their positions and reasons, collisions across chunks included);
// when ids repeat, Result says the records must be mapped again with Map.
func TestStreamMapsAsMap(t *testing.T) {
	m := mustNew(t, Config{
		Fields:  map[string]FieldConfig{"Title": {From: "{{ .Title }}"}},
		Role:    AssignmentConfig{Rules: []Rule{{When: map[string]string{"title": "Manager"}, Role: "Managers"}}},
		Profile: AssignmentConfig{Default: "Standard User"},
	})
	r := rand.New(rand.NewPCG(9, 9))
	for round := range 200 {
		n := 1 + r.IntN(300)
		repeatIDs := round%2 == 1
		records := randomRecords(r, n, repeatIDs)
		want := m.Map(records)
		s := m.NewStream()
		for start := 0; start < n; {
			end := min(n, start+1+r.IntN(40))
			chunk := append([]source.Record(nil), records[start:end]...)
			s.Add(chunk, n*r.IntN(2))
			clear(chunk) // the source re-uses a chunk's memory once Add returns
			start = end
		}
		got, ok := s.Result()
		if repeated := len(repeatedKeys(n, func(i int) string { return records[i].ID }, false)) > 0; ok == repeated {
			t.Fatalf("round %d: Result ok %v with repeated ids %v", round, ok, repeated)
		}
		if !ok {
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("round %d: streamed result (-Map +Stream):\n%s", round, diff)
		}
	}
}

// TestStreamKeepsNoRecords: once Add returns, the chunk is free to collect (the
// source re-uses its memory), so a stream holds only what Map keeps of each record.
func TestStreamKeepsNoRecords(t *testing.T) {
	m := mustNew(t, Config{})
	s := m.NewStream()
	chunk := randomRecords(rand.New(rand.NewPCG(1, 2)), 50, false)
	handed := weak.Make(&chunk[0])
	s.Add(chunk, 0)
	runtime.KeepAlive(chunk) // the last use: the stream may not hold it beyond this
	runtime.GC()
	if handed.Value() != nil {
		t.Error("the stream still holds the records of a chunk it was handed")
	}
	if _, ok := s.Result(); !ok {
		t.Error("Result reports repeated ids in records that have none")
	}
}

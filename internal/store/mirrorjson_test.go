package store

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestFieldsJSONIsJSONMarshals compares fieldsEncoder with json.Marshal on maps of
// values that take the fast path and values that must not: quotes, backslashes,
// control characters, the HTML characters json.Marshal escapes, non-ASCII, invalid
// UTF-8 and U+2028.
func TestFieldsJSONIsJSONMarshals(t *testing.T) {
	values := []string{"", "Engineer", "a b", `say "hi"`, `C:\dir`, "tab\there", "line\nbreak", "\x00", "\x1f", "\x7f",
		"<b>", "a<b", "R&D", "a>b", "Zoë", "東京", "\xff\xfe", "\u2028", "~!@#$%^*()_+`-={}[]|;':,./?"}
	r := rand.New(rand.NewPCG(3, 3))
	maps := []map[string]string{nil, {}}
	for range 500 {
		m := map[string]string{}
		for range r.IntN(6) {
			m[values[r.IntN(len(values))]+"__c"] = values[r.IntN(len(values))] + values[r.IntN(len(values))]
		}
		maps = append(maps, m)
	}
	for _, v := range values {
		maps = append(maps, map[string]string{v: v})
	}
	var enc fieldsEncoder // one for all, as mirrorRows uses it
	for _, m := range maps {
		want, err := json.Marshal(orEmpty(m))
		if err != nil {
			t.Fatal(err)
		}
		if got := enc.encode(m); got != string(want) {
			t.Errorf("appendFieldsJSON(%q) = %s, want %s", m, got, want)
		}
	}
}

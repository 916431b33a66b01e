package reconcile

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPackedFieldsReadAsTheirList packs random field lists (unsorted, with names
// given twice, empty and multi-byte values) and checks that every accessor reads
// what the list, stably sorted by name, says.
func TestPackedFieldsReadAsTheirList(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	names := []string{"Email", "Title", "Cost_Center__c", "ProfileId", "Username", "Department"}
	values := []string{"", "a", "東京", "Head, Sales\nEMEA", strings.Repeat("x", 300), `CC "7"`}
	var packer FieldPacker
	for range 2000 {
		list := make([]FieldValue, r.IntN(8))
		for i := range list {
			list[i] = FieldValue{Name: names[r.IntN(len(names))], Value: values[r.IntN(len(values))]}
		}
		given := slices.Clone(list)
		f := packer.Pack(list)
		if !slices.Equal(list, given) {
			t.Fatalf("Pack changed its argument: %v, was %v", list, given)
		}
		want := slices.Clone(list)
		slices.SortStableFunc(want, compareFieldNames)
		if diff := cmp.Diff(want, f.List()); diff != "" {
			t.Fatalf("List of %v (-want +got):\n%s", given, diff)
		}
		if f.Len() != len(want) {
			t.Fatalf("Len = %d, want %d", f.Len(), len(want))
		}
		for i, w := range want {
			if f.Name(i) != w.Name || f.Value(i) != w.Value {
				t.Fatalf("field %d of %v = %s=%q, want %s=%q", i, given, f.Name(i), f.Value(i), w.Name, w.Value)
			}
		}
		for _, name := range names {
			got, ok := f.Get(name)
			i := slices.IndexFunc(want, func(v FieldValue) bool { return v.Name == name })
			if ok != (i >= 0) || (ok && got != want[i].Value) {
				t.Fatalf("Get(%s) of %v = %q, %v; want the first %s", name, given, got, ok, name)
			}
		}
	}
}

// TestAPackerSharesNamesOnlyBetweenLikeLists checks that users packed in a row with
// the same names share them (the fingerprints tell layouts apart by that), and that
// another list gets names of its own.
func TestAPackerSharesNamesOnlyBetweenLikeLists(t *testing.T) {
	var p FieldPacker
	a := p.Pack([]FieldValue{{"Email", "a@x"}, {"Title", "A"}})
	b := p.Pack([]FieldValue{{"Title", "B"}, {"Email", "b@x"}})
	c := p.Pack([]FieldValue{{"Email", "c@x"}, {"Phone", "1"}})
	d := p.Pack([]FieldValue{{"Email", "d@x"}, {"Title", "D"}, {"Title", "E"}})
	if a.names != b.names {
		t.Error("two users with the same names, one given unsorted, do not share them")
	}
	if c.names == a.names || d.names == a.names {
		t.Error("users with other names share the first user's")
	}
	if got, _ := b.Get("Title"); got != "B" {
		t.Errorf("b's Title = %q, want B", got)
	}
}

func TestWithSetsOrAddsAField(t *testing.T) {
	f := PackFields(FieldValue{"Email", "a@x"}, FieldValue{"Title", "A"})
	tests := []struct {
		name, field, value string
		want               []FieldValue
	}{
		{"replaced", "Title", "B", []FieldValue{{"Email", "a@x"}, {"Title", "B"}}},
		{"added in order", "Phone", "1", []FieldValue{{"Email", "a@x"}, {"Phone", "1"}, {"Title", "A"}}},
		{"added first", "Alias", "ax", []FieldValue{{"Alias", "ax"}, {"Email", "a@x"}, {"Title", "A"}}},
		{"cleared", "Email", "", []FieldValue{{"Email", ""}, {"Title", "A"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, f.With(tt.field, tt.value).List()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff([]FieldValue{{"Email", "a@x"}, {"Title", "A"}}, f.List()); diff != "" {
		t.Errorf("With changed the original (-want +got):\n%s", diff)
	}
}

func TestUserFieldsEqualAndJSON(t *testing.T) {
	a := PackFields(FieldValue{"Title", "A"}, FieldValue{"Email", "a@x"})
	var p FieldPacker
	b := p.Pack([]FieldValue{{"Email", "a@x"}, {"Title", "A"}})
	if !a.Equal(b) || a.Equal(b.With("Title", "B")) || a.Equal(UserFields{}) || !(UserFields{}).Equal(PackFields()) {
		t.Error("Equal does not compare names and values")
	}
	raw, err := json.Marshal(Existing{ID: "005A", Fields: a})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"Fields":[{"Name":"Email","Value":"a@x"},{"Name":"Title","Value":"A"}]`) {
		t.Errorf("encoded as %s", raw)
	}
	var back Existing
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Existing{ID: "005A", Fields: a}, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(`{"Fields":{"Title":"A"}}`), &back); err == nil {
		t.Error("an object decoded as a field list")
	}
}

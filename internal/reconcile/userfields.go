package reconcile

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
)

// UserFields is a Salesforce user's values of the fields the mapping manages, by API
// name, sorted by name (a stable sort: a list that names a field twice keeps both, the
// first as given found first). A null field has the value "".
//
// It is packed because an org's users are the largest thing a cycle holds: a million
// users as []FieldValue are two pointers per field for the garbage collector to follow
// on every collection, about 0.55 s of CPU a collection. Packed, a user's fields are two
// pointers: the names, shared by every user packed by one FieldPacker with the same
// list (as the users of one read are), and one string that holds the values' ends as
// little-endian uint32s followed by the values.
//
// The zero value has no fields. A UserFields is immutable; With returns a new one.
type UserFields struct {
	names *[]string
	data  string
}

// FieldPacker packs field lists into UserFields. The lists it packs in a row share
// one copy of their names when they name the same fields, so a reader of many users
// keeps one packer for the whole read. Its zero value is ready to use.
type FieldPacker struct {
	names  *[]string
	sorted []FieldValue
	buf    []byte
}

// PackFields packs fields on their own (their names shared with no other user).
func PackFields(fields ...FieldValue) UserFields {
	var p FieldPacker
	return p.Pack(fields)
}

// Pack returns fields packed; fields itself is left as it was. It panics when the
// values together exceed 4 GiB, which no Salesforce user's fields can.
func (p *FieldPacker) Pack(fields []FieldValue) UserFields {
	if len(fields) == 0 {
		return UserFields{}
	}
	sorted := fields
	if !slices.IsSortedFunc(fields, compareFieldNames) {
		p.sorted = append(p.sorted[:0], fields...)
		slices.SortStableFunc(p.sorted, compareFieldNames)
		sorted = p.sorted
	}
	if p.names == nil || !sameNames(*p.names, sorted) {
		names := make([]string, len(sorted))
		for i, f := range sorted {
			names[i] = f.Name
		}
		p.names = &names
	}
	size := 4 * len(sorted)
	for _, f := range sorted {
		size += len(f.Value)
	}
	if uint64(size) > math.MaxUint32 {
		panic(fmt.Sprintf("reconcile: a user's field values total %d bytes, more than 4 GiB", size))
	}
	p.buf = slices.Grow(p.buf[:0], size)
	end := 4 * len(sorted)
	for _, f := range sorted {
		end += len(f.Value)
		p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(end)) //nolint:gosec // size was checked above
	}
	for _, f := range sorted {
		p.buf = append(p.buf, f.Value...)
	}
	return UserFields{names: p.names, data: string(p.buf)}
}

func compareFieldNames(a, b FieldValue) int { return strings.Compare(a.Name, b.Name) }

// sameNames reports whether fields name exactly names, in order.
func sameNames(names []string, fields []FieldValue) bool {
	if len(names) != len(fields) {
		return false
	}
	for i, f := range fields {
		if names[i] != f.Name {
			return false
		}
	}
	return true
}

// Len returns how many fields f holds.
func (f UserFields) Len() int {
	if f.names == nil {
		return 0
	}
	return len(*f.names)
}

// Name returns the i-th field's name.
func (f UserFields) Name(i int) string { return (*f.names)[i] }

// Value returns the i-th field's value.
func (f UserFields) Value(i int) string {
	start := 4 * f.Len()
	if i > 0 {
		start = f.end(i - 1)
	}
	return f.data[start:f.end(i)]
}

// end returns where the i-th value ends in f.data.
func (f UserFields) end(i int) int {
	d := f.data[4*i : 4*i+4]
	return int(uint32(d[0]) | uint32(d[1])<<8 | uint32(d[2])<<16 | uint32(d[3])<<24)
}

// Get returns the value of the named field and whether f has it (the first, when
// named twice).
func (f UserFields) Get(name string) (string, bool) {
	if i := f.index(name); i >= 0 {
		return f.Value(i), true
	}
	return "", false
}

// index returns where the named field is, -1 when f does not have it.
func (f UserFields) index(name string) int {
	if f.names == nil {
		return -1
	}
	if i, ok := slices.BinarySearch(*f.names, name); ok {
		return i
	}
	return -1
}

// All yields every field's name and value, in order.
func (f UserFields) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for i := range f.Len() {
			if !yield(f.Name(i), f.Value(i)) {
				return
			}
		}
	}
}

// List returns the fields as a new slice.
func (f UserFields) List() []FieldValue {
	out := make([]FieldValue, f.Len())
	for i := range out {
		out[i] = FieldValue{Name: f.Name(i), Value: f.Value(i)}
	}
	return out
}

// With returns f with the named field set to value: its first occurrence replaced, or
// the field added when f does not have it.
func (f UserFields) With(name, value string) UserFields {
	list := f.List()
	if i := f.index(name); i >= 0 {
		list[i].Value = value
	} else {
		i, _ := slices.BinarySearchFunc(list, name, func(v FieldValue, n string) int { return cmp.Compare(v.Name, n) })
		list = slices.Insert(list, i, FieldValue{Name: name, Value: value})
	}
	return PackFields(list...)
}

// Equal reports whether f and g hold the same fields with the same values (go-cmp
// compares UserFields with it).
func (f UserFields) Equal(g UserFields) bool {
	if f.Len() != g.Len() {
		return false
	}
	for i := range f.Len() {
		if f.Name(i) != g.Name(i) || f.Value(i) != g.Value(i) {
			return false
		}
	}
	return true
}

// String formats f as its list of fields.
func (f UserFields) String() string { return fmt.Sprint(f.List()) }

// MarshalJSON encodes f as its list of fields, [{"Name":..., "Value":...}, ...].
func (f UserFields) MarshalJSON() ([]byte, error) { return json.Marshal(f.List()) }

// UnmarshalJSON decodes a list of fields, as MarshalJSON encodes it.
func (f *UserFields) UnmarshalJSON(data []byte) error {
	var list []FieldValue
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	*f = PackFields(list...)
	return nil
}

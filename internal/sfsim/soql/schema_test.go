package soql

import "strings"

type testSchema struct{}

var testObjects = []*Object{
	{Name: "User", Fields: []Field{{"Id", TypeString}, {"Username", TypeString}, {"IsActive", TypeBoolean}, {"ProfileId", TypeString}, {"a", TypeInt}, {"b", TypeInt}, {"c", TypeInt}},
		Parents: []Relationship{{Name: "Profile", Field: "ProfileId", Object: "Profile"}}},
	{Name: "Profile", Fields: []Field{{"Id", TypeString}, {"Name", TypeString}}},
}

func (testSchema) Object(name string) (*Object, bool) {
	for _, o := range testObjects {
		if strings.EqualFold(o.Name, name) {
			return o, true
		}
	}
	return nil, false
}

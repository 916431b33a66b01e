package sfsim

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/syncd-io/syncd/internal/sfsim/soql"
)

// CustomField is a custom field an admin added to a standard object in Setup, such as
// User.Cost_Center__c. The simulator supports the two kinds an identity sync maps
// most: text (255 characters) and checkbox (a boolean that is never null).
type CustomField struct {
	Object string `json:"object"` // e.g. "User"
	Name   string `json:"name"`   // the API name, ending in __c
	Type   string `json:"type"`   // "text" or "checkbox"
}

// customName is the shape of a custom field's API name.
var customName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*__c$`)

// addCustom adds a custom field to its object, writable through the API, queryable
// and described like any other field. It is called only while the schema is built,
// before any row exists.
func (s *schema) addCustom(cf CustomField) error {
	d, ok := s.object(cf.Object)
	if !ok {
		return fmt.Errorf("custom field %s: no object %q", cf.Name, cf.Object)
	}
	if !customName.MatchString(cf.Name) {
		return fmt.Errorf("custom field %q on %s: an API name of letters, digits and single underscores ending in __c", cf.Name, d.name)
	}
	if _, _, taken := d.field(cf.Name); taken {
		return fmt.Errorf("custom field %s on %s: the object already has that field", cf.Name, d.name)
	}
	label := strings.ReplaceAll(strings.TrimSuffix(cf.Name, "__c"), "_", " ")
	var f fieldDef
	switch cf.Type {
	case "text":
		f = text(cf.Name, label, 255)
	case "checkbox":
		f = boolean(cf.Name, label)
	default:
		return fmt.Errorf("custom field %s on %s: type %q is not text or checkbox", cf.Name, d.name, cf.Type)
	}
	d.fields = append(d.fields, f)
	i := len(d.fields) - 1
	d.index[strings.ToLower(f.name)] = i
	d.exact[f.name] = i
	d.soql.Fields = append(d.soql.Fields, soql.Field{Name: f.name, Type: f.soqlType()})
	return nil
}

// setCustom sets a seeded user's custom fields, and every checkbox left unset to
// false, as Salesforce defaults them.
func (o *org) setCustom(next []any, values map[string]any) error {
	d := o.s.user
	for name, v := range values {
		i, fd, ok := d.field(name)
		if !ok || !strings.HasSuffix(fd.name, "__c") {
			return fmt.Errorf("no custom field %q on User", name)
		}
		switch x := v.(type) {
		case bool:
			if fd.kind != kindBool {
				return fmt.Errorf("custom field %s is text, not a checkbox", fd.name)
			}
			next[i] = x
		case string:
			if fd.kind == kindBool {
				return fmt.Errorf("custom field %s is a checkbox: give true or false", fd.name)
			}
			if x != "" {
				next[i] = x
			}
		default:
			return fmt.Errorf("custom field %s: %T is neither a string nor a boolean", fd.name, v)
		}
	}
	for i := range d.fields {
		if d.fields[i].kind == kindBool && next[i] == nil {
			next[i] = false
		}
	}
	return nil
}

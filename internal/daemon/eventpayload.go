package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Formats of a pushed notification, the format label of syncd_events_received_total.
const (
	FormatIDs   = "ids"   // {"ids": ["idp-id", ...]}
	FormatSCIM  = "scim"  // a SCIM User, ListResponse or BulkRequest
	FormatOkta  = "okta"  // an Okta event hook delivery
	FormatGraph = "graph" // a Microsoft Graph change notification collection
)

var eventFormats = []string{FormatIDs, FormatSCIM, FormatOkta, FormatGraph}

// Notification is one pushed change notification: who changed, as the IdP names them.
type Notification struct {
	Format string
	// Keys name the people: IdP ids, and for Okta also the login (alternateId).
	Keys []string
	// ClientStates are the clientState values of a Graph notification, which Graph
	// sends instead of an Authorization header.
	ClientStates []string
}

// errNotANotification says what POST /v1/events accepts.
var errNotANotification = errors.New(`want {"ids": [...]}, a SCIM User, ListResponse or BulkRequest, ` +
	`an Okta event hook delivery (data.events[].target[]) or a Graph change notification (value[].resourceData.id)`)

// scimUserSchema is the core User schema URI; a SCIM message is recognised by its
// schemas (compared without case, as RFC 7643 asks).
const (
	scimUserSchema = "urn:ietf:params:scim:schemas:core:2.0:user"
	scimListSchema = "urn:ietf:params:scim:api:messages:2.0:listresponse"
	scimBulkSchema = "urn:ietf:params:scim:api:messages:2.0:bulkrequest"
)

// eventBody holds every shape's top-level members; which are present says the shape.
type eventBody struct {
	IDs        *[]string          `json:"ids"`
	Schemas    []string           `json:"schemas"`
	ID         string             `json:"id"`
	UserName   string             `json:"userName"`
	Resources  []scimResource     `json:"Resources"`
	Operations []scimOperation    `json:"Operations"`
	EventType  string             `json:"eventType"`
	Data       *oktaData          `json:"data"`
	Value      []graphNotificaton `json:"value"`
}

type scimResource struct {
	Schemas  []string `json:"schemas"`
	ID       string   `json:"id"`
	UserName string   `json:"userName"`
}

type scimOperation struct {
	Method string        `json:"method"`
	Path   string        `json:"path"`
	Data   *scimResource `json:"data"`
}

type oktaData struct {
	Events []struct {
		EventType string `json:"eventType"`
		Target    []struct {
			ID          string `json:"id"`
			Type        string `json:"type"`
			AlternateID string `json:"alternateId"`
		} `json:"target"`
	} `json:"events"`
}

type graphNotificaton struct {
	ClientState  string `json:"clientState"`
	Resource     string `json:"resource"`
	ResourceData *struct {
		ODataType string `json:"@odata.type"`
		ID        string `json:"id"`
	} `json:"resourceData"`
}

// ParseNotification reads one notification body in any of the accepted shapes. Its
// keys are the people it names, each once, in the order given; a delivery that names
// no user (an Okta event about a group) has none. A body in none of the shapes, or
// {"ids": []}, is an error that says what is accepted.
func ParseNotification(body []byte) (Notification, error) {
	var b eventBody
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&b); err != nil {
		return Notification{}, fmt.Errorf("body is not a JSON object of an accepted shape: %w", err)
	}
	if dec.More() {
		return Notification{}, errors.New("body: unexpected data after the JSON object")
	}
	var n Notification
	switch {
	case b.IDs != nil:
		n.Format = FormatIDs
		for i, id := range *b.IDs {
			if strings.TrimSpace(id) == "" {
				return Notification{}, fmt.Errorf(`ids[%d] is blank`, i)
			}
			n.add(id)
		}
		if len(n.Keys) == 0 {
			return Notification{}, errors.New(`"ids" is empty: name at least one person`)
		}
	case hasSchema(b.Schemas, scimUserSchema):
		n.Format = FormatSCIM
		n.add(scimKey(scimResource{ID: b.ID, UserName: b.UserName}))
	case hasSchema(b.Schemas, scimListSchema):
		n.Format = FormatSCIM
		for _, r := range b.Resources {
			n.add(scimKey(r))
		}
	case hasSchema(b.Schemas, scimBulkSchema):
		n.Format = FormatSCIM
		for _, op := range b.Operations {
			n.add(bulkKey(op))
		}
	case b.Data != nil && b.Data.Events != nil:
		n.Format = FormatOkta
		for _, ev := range b.Data.Events {
			for _, t := range ev.Target {
				if strings.EqualFold(t.Type, "User") {
					n.add(t.ID)
					n.add(t.AlternateID)
				}
			}
		}
	case b.Value != nil:
		n.Format = FormatGraph
		for _, v := range b.Value {
			n.ClientStates = append(n.ClientStates, v.ClientState)
			n.add(graphKey(v))
		}
	default:
		return Notification{}, errNotANotification
	}
	if n.Format == FormatSCIM && len(n.Keys) == 0 {
		return Notification{}, errors.New("the SCIM message names no user with an id or userName")
	}
	return n, nil
}

// add appends a key once; blanks are ignored.
func (n *Notification) add(key string) {
	key = strings.TrimSpace(key)
	if key == "" {
		return
	}
	for _, k := range n.Keys {
		if k == key {
			return
		}
	}
	n.Keys = append(n.Keys, key)
}

func hasSchema(schemas []string, want string) bool {
	for _, s := range schemas {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

// scimKey is a User resource's id, else its userName (a resource being created has
// no id of the service provider yet).
func scimKey(r scimResource) string {
	if r.ID != "" {
		return r.ID
	}
	return r.UserName
}

// bulkKey is the user a bulk operation concerns: its path's id (/Users/{id}), else
// its data's.
func bulkKey(op scimOperation) string {
	if id, ok := strings.CutPrefix(op.Path, "/Users/"); ok && id != "" {
		return id
	}
	if op.Data != nil {
		return scimKey(*op.Data)
	}
	return ""
}

// graphKey is the user a Graph notification concerns: resourceData.id, else the id
// at the end of resource ("Users/{id}").
func graphKey(v graphNotificaton) string {
	if v.ResourceData != nil && v.ResourceData.ID != "" {
		return v.ResourceData.ID
	}
	if i := strings.LastIndexByte(v.Resource, '/'); i >= 0 && strings.EqualFold(strings.Trim(v.Resource[:i], "/"), "users") {
		return v.Resource[i+1:]
	}
	return ""
}

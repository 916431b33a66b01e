package reconcile

import "slices"

// fakeOrg applies plans the way Salesforce and the engine together would, to check
// that planning again after applying a plan finds nothing left to do.
type fakeOrg struct {
	users []Existing
	links []Link
	next  int // the number in the next created user's Id
}

// apply writes every action of p that is not held: creates get a new Id and a link,
// adoptions and reactivations link the user they change.
func (o *fakeOrg) apply(p Plan) {
	for _, a := range p.Actions {
		if a.Held {
			continue
		}
		if a.Kind == KindCreate {
			o.next++
			id := sfID(900_000 + o.next)
			u := Existing{ID: id, IsActive: true, UserType: "Standard"}
			o.write(&u, a.Changes)
			o.users = append(o.users, u)
			o.links = append(o.links, Link{IdPID: a.IdPID, SalesforceID: id})
			continue
		}
		i := slices.IndexFunc(o.users, func(u Existing) bool { return idKey(u.ID) == idKey(a.SalesforceID) })
		if i < 0 {
			panic("the plan acts on a user the org does not have: " + a.SalesforceID)
		}
		o.write(&o.users[i], a.Changes)
		if a.MatchedBy != MatchLink {
			o.links = append(o.links, Link{IdPID: a.IdPID, SalesforceID: a.SalesforceID})
		}
	}
}

func (o *fakeOrg) write(u *Existing, changes []Change) {
	for _, ch := range changes {
		setUserField(u, ch.Field, ch.After)
	}
}

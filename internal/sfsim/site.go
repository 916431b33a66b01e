package sfsim

import "github.com/syncd-io/syncd/internal/sfsim/soql"

// prefixSite is the key prefix of Site records.
const prefixSite = "0DM"

// siteObject is Site, a Salesforce Site or Experience Cloud site, with the one field
// that blocks a deactivation: GuestRecordDefaultOwnerId, the user who owns the
// records guest users create (salesforce-second-wave.md §4). Sites are configured
// in Setup, not through the REST API, so the object is query-only; tests add sites
// with AddRecord or POST /__sim/records. An org with neither Sites nor Experience
// Cloud has no Site object (Options.WithoutSite).
func siteObject() *objectDef {
	return newObjectDef("Site", prefixSite, []soql.Relationship{
		{Name: "GuestRecordDefaultOwner", Field: "GuestRecordDefaultOwnerId", Object: "User"},
	},
		idField(),
		readonly(text("Name", "Site Name", 80)),
		readonly(text("Status", "Site Status", 40)),
		readonly(ref("GuestRecordDefaultOwnerId", "Default Record Owner ID", "User")),
		datetime("CreatedDate", "Created Date"),
		datetime("LastModifiedDate", "Last Modified Date"),
		datetime("SystemModstamp", "System Modstamp"),
	)
}

// guestRecordOwner reports whether user is the default owner of some site's guest
// records, which Salesforce refuses to deactivate with BlockerGuestRecordOwner.
func (o *org) guestRecordOwner(user string) bool {
	d, ok := o.s.object("Site")
	if !ok {
		return false
	}
	owner := d.mustIndex("GuestRecordDefaultOwnerId")
	for _, r := range o.tables[d].rows {
		if r.str(owner) == user {
			return true
		}
	}
	return false
}

package sfsim

// The simulated org's own record, the Organization object: one row whose Id is the
// org's Id. Clients look it up once after a login (the Salesforce CLI asks for Name,
// InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix and OrganizationType
// and keeps them; when the query fails it silently asks again on every command).

// The values of the simulated org's record: a production Enterprise Edition org
// without a namespace, never a trial.
const (
	orgName         = "sfsim"
	orgInstanceName = "SIM1"
	orgEdition      = "Enterprise Edition"
)

// newOrganizationDef describes Organization: read-only through the API.
func newOrganizationDef() *objectDef {
	return newObjectDef("Organization", prefixOrg, nil,
		idField(),
		readonly(text("Name", "Name", 80)),
		readonly(text("InstanceName", "Instance Name", 5)),
		readonly(boolean("IsSandbox", "Is Sandbox")),
		readonly(text("OrganizationType", "Edition", 40)),
		readonly(text("NamespacePrefix", "Namespace Prefix", 15)),
		datetime("TrialExpirationDate", "Trial Expiration Date"),
	)
}

// addOrganization adds the org's own record, under the org's Id.
func (o *org) addOrganization() {
	d := o.s.organization
	r := &row{def: d, vals: make([]any, len(d.fields))}
	r.vals[0] = o.id
	r.vals[d.mustIndex("Name")] = orgName
	r.vals[d.mustIndex("InstanceName")] = orgInstanceName
	r.vals[d.mustIndex("IsSandbox")] = false
	r.vals[d.mustIndex("OrganizationType")] = orgEdition
	o.tables[d].add(r)
}

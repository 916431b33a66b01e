package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
)

// Entitlements is reconcile.Entitlements over the Salesforce client: permission
// sets, permission set groups and licences, public groups and queues.
type Entitlements struct {
	c *salesforce.Client
}

// NewEntitlements adapts a client for the engine's entitlement step.
func NewEntitlements(c *salesforce.Client) *Entitlements { return &Entitlements{c: c} }

var _ reconcile.Entitlements = (*Entitlements)(nil)

// catalogQuery says how one kind is found by API name: its object, its name field
// and any further filter and fields.
type catalogQuery struct {
	object, nameField, where, fields string
}

func catalogQueries() map[mapping.EntitlementKind]catalogQuery {
	return map[mapping.EntitlementKind]catalogQuery{
		mapping.PermissionSet:        {"PermissionSet", "Name", "IsOwnedByProfile = false", "LicenseId"},
		mapping.PermissionSetGroup:   {"PermissionSetGroup", "DeveloperName", "", ""},
		mapping.PermissionSetLicense: {"PermissionSetLicense", "DeveloperName", "", "TotalLicenses, UsedLicenses"},
		mapping.PublicGroup:          {"Group", "DeveloperName", "Type = 'Regular'", ""},
		mapping.Queue:                {"Group", "DeveloperName", "Type = 'Queue'", ""},
	}
}

// catalogRow is one row of a catalog query.
type catalogRow struct {
	ID            string `json:"Id"`
	Name          string `json:"Name"`
	DeveloperName string `json:"DeveloperName"`
	LicenseID     string `json:"LicenseId"`
	TotalLicenses int    `json:"TotalLicenses"`
	UsedLicenses  int    `json:"UsedLicenses"`
}

// ReadCatalog reads every entitlement of each configured kind (one query a kind,
// paged), so that an unknown name can be reported with the valid ones, and the user
// licence of every profile. A name the org lacks is a configuration error.
func (e *Entitlements) ReadCatalog(ctx context.Context, names map[mapping.EntitlementKind][]string) (reconcile.Catalog, error) {
	cat := reconcile.Catalog{ProfileLicense: map[string]string{}}
	var problems []error
	for _, kind := range mapping.EntitlementKinds() {
		want := names[kind]
		if len(want) == 0 {
			continue
		}
		q := catalogQueries()[kind]
		soql := "SELECT Id, " + q.nameField
		if q.fields != "" {
			soql += ", " + q.fields
		}
		soql += " FROM " + q.object
		if q.where != "" {
			soql += " WHERE " + q.where
		}
		rows, err := salesforce.QueryAll[catalogRow](ctx, e.c, soql)
		if err != nil {
			return cat, callError(fmt.Errorf("reading %s: %w", kind.Key(), err))
		}
		byName := map[string]catalogRow{}
		var valid []string
		for _, r := range rows {
			n := r.DeveloperName
			if q.nameField == "Name" {
				n = r.Name
			}
			byName[n] = r
			valid = append(valid, n)
		}
		slices.Sort(valid)
		for _, n := range want {
			r, ok := byName[n]
			if !ok {
				problems = append(problems, fmt.Errorf("mapping.entitlements: the org has no %s %q (it has: %s)",
					strings.ReplaceAll(string(kind), "_", " "), n, strings.Join(valid, ", ")))
				continue
			}
			ent := reconcile.Entitlement{Kind: kind, Name: n, ID: r.ID, FreeSeats: r.TotalLicenses - r.UsedLicenses}
			switch {
			case strings.HasPrefix(r.LicenseID, "0PL"):
				ent.PermissionSetLicenseID = r.LicenseID
			case r.LicenseID != "":
				ent.UserLicenseID = r.LicenseID
			}
			cat.Entitlements = append(cat.Entitlements, ent)
		}
	}
	if err := errors.Join(problems...); err != nil {
		return cat, err
	}
	if err := e.licencesNeeded(ctx, &cat); err != nil {
		return cat, err
	}
	// The profiles' licences matter only when a permission set is tied to a user
	// licence: otherwise the query is not worth its call.
	if !slices.ContainsFunc(cat.Entitlements, func(e reconcile.Entitlement) bool { return e.UserLicenseID != "" }) {
		return cat, nil
	}
	profiles, err := salesforce.QueryAll[seatRow](ctx, e.c, "SELECT Id, UserLicenseId FROM Profile")
	if err != nil {
		return cat, callError(fmt.Errorf("reading the profiles' licences: %w", err))
	}
	for _, p := range profiles {
		cat.ProfileLicense[salesforce.CanonicalID(p.ID)] = salesforce.CanonicalID(p.UserLicenseID)
	}
	return cat, nil
}

// licencesNeeded adds the permission set licences the configured permission sets
// need but the configuration does not name, so the plan can assign them first.
func (e *Entitlements) licencesNeeded(ctx context.Context, cat *reconcile.Catalog) error {
	have := map[string]bool{}
	var missing []string
	for _, ent := range cat.Entitlements {
		have[ent.ID] = true
	}
	for _, ent := range cat.Entitlements {
		if id := ent.PermissionSetLicenseID; id != "" && !have[id] {
			have[id] = true
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := salesforce.QueryAll[catalogRow](ctx, e.c,
		"SELECT Id, DeveloperName, TotalLicenses, UsedLicenses FROM PermissionSetLicense WHERE Id IN ("+quoteAll(missing)+")")
	if err != nil {
		return callError(fmt.Errorf("reading permission set licences: %w", err))
	}
	for _, r := range rows {
		cat.Entitlements = append(cat.Entitlements, reconcile.Entitlement{Kind: mapping.PermissionSetLicense,
			Name: r.DeveloperName, ID: r.ID, FreeSeats: r.TotalLicenses - r.UsedLicenses})
	}
	return nil
}

// quoteAll renders Ids as a SOQL IN list. Ids come from the org, so they need no
// escaping beyond the quotes.
func quoteAll(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = "'" + id + "'"
	}
	return strings.Join(q, ", ")
}

// assignmentRow is a row of any of the three assignment objects.
type assignmentRow struct {
	ID                     string `json:"Id"`
	AssigneeID             string `json:"AssigneeId"`
	PermissionSetID        string `json:"PermissionSetId"`
	PermissionSetGroupID   string `json:"PermissionSetGroupId"`
	PermissionSetLicenseID string `json:"PermissionSetLicenseId"`
	GroupID                string `json:"GroupId"`
	UserOrGroupID          string `json:"UserOrGroupId"`
}

// ReadAssignments reads the current assignments of the catalog's entitlements, one
// paged query per object (permission set licences, permission sets and groups,
// group members), filtered by the managed Ids.
func (e *Entitlements) ReadAssignments(ctx context.Context, cat reconcile.Catalog) ([]reconcile.Assignment, error) {
	ids := map[mapping.EntitlementKind][]string{}
	kindOf := map[string]mapping.EntitlementKind{}
	for _, ent := range cat.Entitlements {
		ids[ent.Kind] = append(ids[ent.Kind], ent.ID)
		kindOf[salesforce.CanonicalID(ent.ID)] = ent.Kind
	}
	var queries []string
	if l := ids[mapping.PermissionSetLicense]; len(l) > 0 {
		queries = append(queries, "SELECT Id, AssigneeId, PermissionSetLicenseId FROM PermissionSetLicenseAssign WHERE PermissionSetLicenseId IN ("+quoteAll(l)+")")
	}
	var psa []string
	if l := ids[mapping.PermissionSet]; len(l) > 0 {
		psa = append(psa, "PermissionSetId IN ("+quoteAll(l)+")")
	}
	if l := ids[mapping.PermissionSetGroup]; len(l) > 0 {
		psa = append(psa, "PermissionSetGroupId IN ("+quoteAll(l)+")")
	}
	if len(psa) > 0 {
		queries = append(queries, "SELECT Id, AssigneeId, PermissionSetId, PermissionSetGroupId FROM PermissionSetAssignment WHERE "+strings.Join(psa, " OR "))
	}
	if groups := append(slices.Clone(ids[mapping.PublicGroup]), ids[mapping.Queue]...); len(groups) > 0 {
		queries = append(queries, "SELECT Id, GroupId, UserOrGroupId FROM GroupMember WHERE GroupId IN ("+quoteAll(groups)+")")
	}
	var out []reconcile.Assignment
	for _, q := range queries {
		rows, err := salesforce.QueryAll[assignmentRow](ctx, e.c, q)
		if err != nil {
			return nil, callError(fmt.Errorf("reading assignments: %w", err))
		}
		for _, r := range rows {
			a := reconcile.Assignment{ID: r.ID, UserID: r.AssigneeID}
			switch {
			case r.PermissionSetGroupID != "":
				a.EntitlementID = r.PermissionSetGroupID
			case r.PermissionSetID != "":
				a.EntitlementID = r.PermissionSetID
			case r.PermissionSetLicenseID != "":
				a.EntitlementID = r.PermissionSetLicenseID
			default:
				a.EntitlementID, a.UserID = r.GroupID, r.UserOrGroupID
			}
			a.Kind = kindOf[salesforce.CanonicalID(a.EntitlementID)]
			out = append(out, a)
		}
	}
	return out, nil
}

// assignmentRecord is the object an assignment is a record of, and the record.
func assignmentRecord(a reconcile.Assignment) (string, salesforce.Fields) {
	switch a.Kind {
	case mapping.PermissionSetLicense:
		return "PermissionSetLicenseAssign", salesforce.Fields{"AssigneeId": a.UserID, "PermissionSetLicenseId": a.EntitlementID}
	case mapping.PermissionSet:
		return "PermissionSetAssignment", salesforce.Fields{"AssigneeId": a.UserID, "PermissionSetId": a.EntitlementID}
	case mapping.PermissionSetGroup:
		return "PermissionSetAssignment", salesforce.Fields{"AssigneeId": a.UserID, "PermissionSetGroupId": a.EntitlementID}
	}
	return "GroupMember", salesforce.Fields{"GroupId": a.EntitlementID, "UserOrGroupId": a.UserID}
}

// Assign creates up to 200 assignments of one object in one Collections call. A
// duplicate permission set assignment is a success: the user holds it.
func (e *Entitlements) Assign(ctx context.Context, as []reconcile.Assignment) ([]reconcile.WriteResult, error) {
	if len(as) == 0 {
		return nil, nil
	}
	object, _ := assignmentRecord(as[0])
	records := make([]salesforce.Fields, len(as))
	for i, a := range as {
		o, rec := assignmentRecord(a)
		if o != object {
			return nil, &reconcile.CallError{Class: reconcile.ClassPermanent, Err: fmt.Errorf("assign: %s and %s in one call", object, o)}
		}
		records[i] = rec
	}
	rs, err := e.c.CreateRecords(ctx, object, records)
	if err != nil {
		return nil, callError(err)
	}
	out := writeResults(rs)
	for i := range out {
		if !out[i].OK && strings.Contains(out[i].Message, "Duplicate PermissionSetAssignment") {
			out[i] = reconcile.WriteResult{OK: true}
		}
	}
	return out, nil
}

// Unassign deletes up to 200 assignments by Id in one Collections call.
func (e *Entitlements) Unassign(ctx context.Context, ids []string) ([]reconcile.WriteResult, error) {
	rs, err := e.c.DeleteRecords(ctx, ids)
	if err != nil {
		return nil, callError(err)
	}
	return writeResults(rs), nil
}

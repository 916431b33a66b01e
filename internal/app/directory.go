// Package app wires syncd's parts together: it builds them from the configuration
// (Open), fits internal/salesforce and internal/store to the interfaces
// internal/reconcile declares (Directory, Journal), and paces the client with the
// API budget (Budget). It holds no business logic: what to do lives in reconcile,
// how to talk to Salesforce in salesforce, how to remember in store.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/syncd-io/syncd/internal/config"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
)

// baseFields returns the User fields every Existing carries outside Fields.
func baseFields() []string {
	return []string{"Id", "Username", "Email", "FederationIdentifier", "IsActive", "UserType", "ProfileId", "ManagerId"}
}

// isBoolean reports whether a User field is written as a JSON boolean; every other
// managed field is written as a string, "" as null.
func isBoolean(field string) bool { return field == "IsActive" }

// Directory adapts a *salesforce.Client to reconcile.Directory.
type Directory struct {
	c    *salesforce.Client
	bulk Bulk
	// users is the org's number of Standard users as the last full read found it,
	// 0 before one: it decides whether the next read goes through Bulk API 2.0.
	users atomic.Int64
	// overlap is how far before the time asked for a delta read starts.
	overlap time.Duration
}

// NewDirectory returns the org behind c as the reconcile engine sees it, its delta
// reads overlapping by config.DefaultDeltaOverlap.
func NewDirectory(c *salesforce.Client) *Directory {
	return &Directory{c: c, overlap: config.DefaultDeltaOverlap}
}

// WithDeltaOverlap makes d's delta reads start overlap before the time they are
// asked for (salesforce.delta_overlap), and returns d.
func (d *Directory) WithDeltaOverlap(overlap time.Duration) *Directory {
	d.overlap = overlap
	return d
}

var _ reconcile.Directory = (*Directory)(nil)

// callError classifies a client error once, through salesforce.ClassOf.
func callError(err error) error {
	if err == nil {
		return nil
	}
	return &reconcile.CallError{Class: classOf(err), Err: err}
}

// classOf maps the client's error classes onto the engine's.
func classOf(err error) reconcile.ErrorClass {
	switch salesforce.ClassOf(err) {
	case salesforce.ClassRetryable:
		return reconcile.ClassTransient
	case salesforce.ClassRateLimited:
		return reconcile.ClassBudget
	case salesforce.ClassAuth:
		return reconcile.ClassAuth
	case salesforce.ClassOutcomeUnknown:
		return reconcile.ClassOutcomeUnknown
	}
	return reconcile.ClassPermanent
}

// named is a row of SELECT Id, Name.
type named struct {
	ID   string `json:"Id"`
	Name string `json:"Name"`
}

// profileRow is a row of ProfilesQuery.
type profileRow struct {
	named
	UserLicense *struct {
		Name string `json:"Name"`
	} `json:"UserLicense"`
}

// ResolveNames reads every profile (with its license) and role: two queries.
func (d *Directory) ResolveNames(ctx context.Context) (reconcile.Names, error) {
	profiles, err := salesforce.QueryAll[profileRow](ctx, d.c, salesforce.ProfilesQuery())
	if err != nil {
		return reconcile.Names{}, callError(fmt.Errorf("reading profiles: %w", err))
	}
	roles, err := salesforce.QueryAll[named](ctx, d.c, salesforce.RolesQuery())
	if err != nil {
		return reconcile.Names{}, callError(fmt.Errorf("reading roles: %w", err))
	}
	byName := func(rows []named) map[string]string {
		m := make(map[string]string, len(rows))
		for _, r := range rows {
			m[r.Name] = r.ID
		}
		return m
	}
	names := reconcile.Names{Profiles: map[string]string{}, Roles: byName(roles), Licenses: map[string]string{}}
	for _, p := range profiles {
		names.Profiles[p.Name] = p.ID
		if p.UserLicense != nil {
			names.Licenses[p.ID] = p.UserLicense.Name
		}
	}
	return names, nil
}

// ReadUsers reads every Standard user with the base fields and the managed ones:
// through Bulk API 2.0 when the org is large enough (see Bulk), otherwise, or when
// Bulk fails, by SOQL pages of 2000 users. The org's size comes from the previous
// read, or else from the first SOQL page's totalSize, which then costs one page.
func (d *Directory) ReadUsers(ctx context.Context, fields []string, progress func(read, total int)) ([]reconcile.Existing, error) {
	soql, err := salesforce.UsersQuery(readFields(fields)...)
	if err != nil {
		return nil, callError(err)
	}
	if !d.bulk.wanted(int(d.users.Load())) {
		users, err := d.readSOQL(ctx, soql, fields, progress, true)
		if !errors.Is(err, errLargeOrg) {
			return users, err
		}
	}
	if users, ok, err := d.readBulk(ctx, soql, fields, progress); ok || err != nil {
		return users, err
	}
	return d.readSOQL(ctx, soql, fields, progress, false)
}

// errLargeOrg stops SOQL paging at the first page of an org large enough for Bulk
// API 2.0.
var errLargeOrg = errors.New("the org is large enough for Bulk API 2.0")

// readSOQL pages through the users, one query page per 2000. With mayDivert, a first
// page whose totalSize makes the org large enough for Bulk API 2.0 ends the read
// with errLargeOrg.
func (d *Directory) readSOQL(ctx context.Context, soql string, fields []string, progress func(read, total int), mayDivert bool) ([]reconcile.Existing, error) {
	users, _, err := d.readPages(ctx, soql, fields, progress, func(total int) error {
		d.users.Store(int64(total))
		if mayDivert && d.bulk.wanted(total) {
			return errLargeOrg
		}
		return nil
	})
	return users, err
}

// readPages runs a users query through every page, decoding each record, and
// returns Salesforce's clock when it answered the first page. first, when not nil,
// sees the first page's totalSize and may stop the read with its error.
func (d *Directory) readPages(ctx context.Context, soql string, fields []string, progress func(read, total int),
	first func(total int) error) ([]reconcile.Existing, time.Time, error) {
	var users []reconcile.Existing
	var asOf time.Time
	reader := newUserReader(fields)
	for page, err := range salesforce.Query[map[string]json.RawMessage](ctx, d.c, soql) {
		if err != nil {
			return nil, time.Time{}, callError(fmt.Errorf("reading users: %w", err))
		}
		if users == nil {
			if first != nil {
				if err := first(page.TotalSize); err != nil {
					return nil, time.Time{}, err
				}
			}
			users, asOf = make([]reconcile.Existing, 0, page.TotalSize), page.ServerTime
		}
		for _, rec := range page.Records {
			u, err := reader.record(rec)
			if err != nil {
				return nil, time.Time{}, callError(err)
			}
			users = append(users, u)
		}
		if progress != nil {
			progress(len(users), page.TotalSize)
		}
	}
	return users, asOf, nil
}

// ReadUsersChangedSince reads the users of every type written since since less
// the overlap, by SOQL pages of 2000 (never Bulk: a delta is small, and a job
// costs several calls); a quiet org costs one call. A user written again while
// the pages are read can come twice (the cursor is ordered by SystemModstamp): its
// latest version is kept.
func (d *Directory) ReadUsersChangedSince(ctx context.Context, fields []string, since time.Time) ([]reconcile.Existing, time.Time, error) {
	soql, err := salesforce.UsersChangedSinceQuery(since.Add(-d.overlap), readFields(fields)...)
	if err != nil {
		return nil, time.Time{}, callError(err)
	}
	users, asOf, err := d.readPages(ctx, soql, fields, nil, nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	return latestOnce(users), asOf, nil
}

// latestOnce returns each user once, its version with the latest SystemModstamp,
// ordered by SystemModstamp then Id.
func latestOnce(users []reconcile.Existing) []reconcile.Existing {
	latest := make(map[string]reconcile.Existing, len(users))
	for _, u := range users {
		if prev, seen := latest[u.ID]; !seen || !u.SystemModstamp.Before(prev.SystemModstamp) {
			latest[u.ID] = u
		}
	}
	out := make([]reconcile.Existing, 0, len(latest))
	for _, u := range latest {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b reconcile.Existing) int {
		if c := a.SystemModstamp.Compare(b.SystemModstamp); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// OrgID returns the org's Id from the session's identity URL.
func (d *Directory) OrgID(ctx context.Context) (string, error) {
	id, err := d.c.OrgID(ctx)
	if err != nil {
		return "", callError(fmt.Errorf("reading the org's Id: %w", err))
	}
	return id, nil
}

// IntegrationUserID returns the Id of the user syncd's session runs as, from the
// session's identity URL.
func (d *Directory) IntegrationUserID(ctx context.Context) (string, error) {
	id, err := d.c.UserID(ctx)
	if err != nil {
		return "", callError(fmt.Errorf("reading the integration user's Id: %w", err))
	}
	return id, nil
}

// FindUsers re-reads the users whose field equals one of values, with the base
// fields only, in as few queries as the URL length allows.
func (d *Directory) FindUsers(ctx context.Context, field string, values []string) ([]reconcile.Existing, error) {
	return d.ReadUsersWhere(ctx, field, values, nil)
}

// ReadUsersWhere reads the users whose field equals one of values, with the base
// fields and the managed ones, in as few queries as the URL length allows.
func (d *Directory) ReadUsersWhere(ctx context.Context, field string, values, fields []string) ([]reconcile.Existing, error) {
	queries, err := salesforce.UsersWhereInQueries(field, values, selectFields(fields)...)
	if err != nil {
		return nil, callError(err)
	}
	var users []reconcile.Existing
	reader := newUserReader(fields)
	for _, q := range queries {
		rows, err := salesforce.QueryAll[map[string]json.RawMessage](ctx, d.c, q)
		if err != nil {
			return nil, callError(fmt.Errorf("reading users by %s: %w", field, err))
		}
		for _, rec := range rows {
			u, err := reader.record(rec)
			if err != nil {
				return nil, callError(err)
			}
			users = append(users, u)
		}
	}
	return users, nil
}

// selectFields returns the base fields followed by the managed ones not among them.
func selectFields(managed []string) []string {
	out := baseFields()
	for _, f := range managed {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// readFields are the fields a read of users selects: the base fields, the managed
// ones and SystemModstamp, which delta cycles keep their watermark with.
func readFields(managed []string) []string {
	out := selectFields(managed)
	if !slices.Contains(out, "SystemModstamp") {
		out = append(out, "SystemModstamp")
	}
	return out
}

// userReader turns the User records of one read into Existing users. It packs every
// user's managed fields with one packer, so that the users of a read share one copy
// of their field names.
type userReader struct {
	managed []string
	packer  reconcile.FieldPacker
	fields  []reconcile.FieldValue
}

func newUserReader(managed []string) *userReader { return &userReader{managed: managed} }

// record decodes one User record of a SOQL answer generically: the base fields
// into Existing's own fields, the managed ones into Fields, every value as a string
// ("true"/"false" for booleans, "" for null, numbers as Salesforce wrote them).
func (r *userReader) record(rec map[string]json.RawMessage) (reconcile.Existing, error) {
	return r.user(func(name string) (string, error) { return normalise(rec[name]) })
}

// user builds an Existing from a lookup of each field's value as a string, naming
// the user and the field of any value that cannot be one.
func (r *userReader) user(lookup func(name string) (string, error)) (reconcile.Existing, error) {
	id, _ := lookup("Id")
	value := func(name string) (string, error) {
		v, err := lookup(name)
		if err != nil {
			return "", fmt.Errorf("user %s: field %s: %w", id, name, err)
		}
		return v, nil
	}
	var u reconcile.Existing
	var errs []error
	base := []struct {
		name string
		dst  *string
	}{
		{"Id", &u.ID}, {"Username", &u.Username}, {"Email", &u.Email},
		{"FederationIdentifier", &u.FederationIdentifier}, {"UserType", &u.UserType}, {"ProfileId", &u.ProfileID},
		{"ManagerId", &u.ManagerID},
	}
	for _, f := range base {
		v, err := value(f.name)
		errs = append(errs, err)
		*f.dst = v
	}
	active, err := value("IsActive")
	errs = append(errs, err)
	u.IsActive = active == "true"
	r.fields = r.fields[:0]
	for _, name := range r.managed {
		v, err := value(name)
		errs = append(errs, err)
		r.fields = append(r.fields, reconcile.FieldValue{Name: name, Value: v})
	}
	u.Fields = r.packer.Pack(r.fields)
	// The base fields a mapping manages are read twice; taking them from the packed
	// values lets the decoded copies go.
	for _, f := range base {
		if v, ok := u.Fields.Get(f.name); ok && v == *f.dst {
			*f.dst = v
		}
	}
	if v, _ := lookup("SystemModstamp"); v != "" {
		t, err := salesforce.ParseDatetime(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("user %s: field SystemModstamp: %w", id, err))
		}
		u.SystemModstamp = t
	}
	return u, errors.Join(errs...)
}

// normalise renders one JSON field value as a string. Objects and arrays
// (relationships) are not field values a mapping manages.
func normalise(raw json.RawMessage) (string, error) {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "" || s == "null":
		return "", nil
	case s == "true" || s == "false":
		return s, nil
	case s[0] == '"':
		var v string
		err := json.Unmarshal(raw, &v)
		return v, err
	case s[0] == '{' || s[0] == '[':
		return "", errors.New("is an object, not a field value")
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return "", fmt.Errorf("%q is not a JSON value", s)
	}
	return s, nil
}

// CreateUsers creates up to 200 users in one Collections call.
func (d *Directory) CreateUsers(ctx context.Context, users []reconcile.UserWrite) ([]reconcile.WriteResult, error) {
	records := make([]salesforce.Fields, len(users))
	for i, u := range users {
		records[i] = fields(u.Fields)
	}
	rs, err := d.c.CreateRecords(ctx, "User", records)
	if err != nil {
		return nil, callError(err)
	}
	return writeResults(rs), nil
}

// UpdateUsers updates up to 200 users in one Collections call.
func (d *Directory) UpdateUsers(ctx context.Context, users []reconcile.UserWrite) ([]reconcile.WriteResult, error) {
	records := make([]salesforce.RecordUpdate, len(users))
	for i, u := range users {
		records[i] = salesforce.RecordUpdate{ID: u.ID, Fields: fields(u.Fields)}
	}
	rs, err := d.c.UpdateRecords(ctx, "User", records)
	if err != nil {
		return nil, callError(err)
	}
	return writeResults(rs), nil
}

// FreezeUsers freezes users through their UserLogin rows (a query and an update).
func (d *Directory) FreezeUsers(ctx context.Context, userIDs []string) ([]reconcile.WriteResult, error) {
	return setFrozen(ctx, d.c, userIDs, true)
}

// setFrozen freezes or unfreezes users, for the Directory and the Offboarder.
func setFrozen(ctx context.Context, c *salesforce.Client, userIDs []string, frozen bool) ([]reconcile.WriteResult, error) {
	rs, err := c.SetFrozen(ctx, userIDs, frozen)
	if err != nil {
		return nil, callError(err)
	}
	return writeResults(rs), nil
}

// seatRow is a Profile with its license's seat counts.
type seatRow struct {
	ID            string `json:"Id"`
	UserLicenseID string `json:"UserLicenseId"`
	UserLicense   *struct {
		TotalLicenses int `json:"TotalLicenses"`
		UsedLicenses  int `json:"UsedLicenses"`
	} `json:"UserLicense"`
}

// FreeSeats reads the licenses behind the profiles, with their seat counts, in one
// query on Profile.
func (d *Directory) FreeSeats(ctx context.Context, profileIDs []string) (reconcile.Seats, error) {
	seats := reconcile.Seats{LicenseOf: map[string]string{}, Free: map[string]int{}}
	if len(profileIDs) == 0 {
		return seats, nil
	}
	ids := make([]string, len(profileIDs))
	for i, id := range profileIDs {
		q, err := salesforce.Quote(id)
		if err != nil {
			return seats, callError(err)
		}
		ids[i] = q
	}
	soql := "SELECT Id, UserLicenseId, UserLicense.TotalLicenses, UserLicense.UsedLicenses FROM Profile WHERE Id IN (" + strings.Join(ids, ", ") + ")"
	rows, err := salesforce.QueryAll[seatRow](ctx, d.c, soql)
	if err != nil {
		return seats, callError(fmt.Errorf("reading license seats: %w", err))
	}
	for _, r := range rows {
		if r.UserLicense == nil || r.UserLicenseID == "" {
			continue
		}
		seats.LicenseOf[r.ID] = r.UserLicenseID
		seats.Free[r.UserLicenseID] = r.UserLicense.TotalLicenses - r.UserLicense.UsedLicenses
	}
	if len(seats.LicenseOf) == 0 {
		return seats, reconcile.ErrSeatsUnknown
	}
	return seats, nil
}

// Usage returns the org's usage from the client's latest answer.
func (d *Directory) Usage() (reconcile.Usage, bool) {
	u, ok := d.c.Usage()
	return reconcile.Usage{Used: u.Used, Max: u.Max}, ok
}

// fields turns the engine's string values into a Collections record: "" clears the
// field (null), booleans are sent as JSON booleans.
func fields(values []reconcile.FieldValue) salesforce.Fields {
	f := make(salesforce.Fields, len(values))
	for _, v := range values {
		switch {
		case v.Value == "":
			f[v.Name] = nil
		case isBoolean(v.Name):
			f[v.Name] = v.Value == "true"
		default:
			f[v.Name] = v.Value
		}
	}
	return f
}

// writeResults turns the client's per-record results into the engine's, keeping
// Salesforce's first error code and message and classifying the failure.
func writeResults(rs []salesforce.RecordResult) []reconcile.WriteResult {
	out := make([]reconcile.WriteResult, len(rs))
	for i, r := range rs {
		w := reconcile.WriteResult{ID: r.ID, OK: r.Success}
		if !r.Success {
			w.Class = classOf(r.Err())
			if len(r.Errors) > 0 {
				w.Code, w.Message = r.Errors[0].StatusCode, r.Errors[0].Message
			}
		}
		out[i] = w
	}
	return out
}

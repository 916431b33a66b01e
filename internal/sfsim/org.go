package sfsim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// row is one record: values in the order of its object's fields. Values are nil
// (null), string, bool, int64 or time.Time. Id is always the first value.
type row struct {
	def  *objectDef
	vals []any
}

func (r *row) id() string { return r.vals[0].(string) }

// str returns a text value, "" for null.
func (r *row) str(i int) string {
	s, _ := r.vals[i].(string)
	return s
}

func (r *row) flag(i int) bool {
	b, _ := r.vals[i].(bool)
	return b
}

// table holds the rows of one object type in insertion (and so Id) order.
type table struct {
	rows []*row
	byID map[string]*row
}

func (t *table) add(r *row) {
	t.rows = append(t.rows, r)
	t.byID[r.id()] = r
}

// remove drops a row and returns where it was, so insertAt can put it back. It
// searches from the end, where undone inserts are.
func (t *table) remove(r *row) int {
	delete(t.byID, r.id())
	for i := len(t.rows) - 1; i >= 0; i-- {
		if t.rows[i] == r {
			t.rows = append(t.rows[:i], t.rows[i+1:]...)
			return i
		}
	}
	return len(t.rows)
}

// insertAt puts a removed row back at its place, undoing a delete.
func (t *table) insertAt(r *row, i int) {
	t.rows = append(t.rows[:i], append([]*row{r}, t.rows[i:]...)...)
	t.byID[r.id()] = r
}

// userFields caches the positions of the User fields the simulator's logic touches.
type userFields struct {
	id, username, lastName, firstName, name, email, alias, nickname, profileID, roleID,
	isActive, fedID, managerID, userType, lastLogin, created, createdBy, modified,
	modifiedBy, modstamp int
}

// org is the simulated organization's data. It is not safe for concurrent use; the
// Server guards it with its mutex.
type org struct {
	s       *schema
	id      string
	nextSeq uint64
	tables  map[*objectDef]*table
	uf      userFields

	usernames      map[string]*row   // lower-case Username → user
	nicknames      map[string]*row   // lower-case CommunityNickname → user
	fedIDs         map[string][]*row // lower-case FederationIdentifier → users (seeds may repeat one)
	loginByUser    map[string]*row   // user Id → its UserLogin
	takenElsewhere map[string]bool   // lower-case usernames used in other orgs
	blockers       map[string][]string
	// locked, noRead and assignRules shape ownership transfers (offboarding.go):
	// records an approval locks, users who cannot read owned records, and the
	// owner each object's active assignment rule gives.
	locked       map[string]bool
	noRead       map[string]bool
	assignRules  map[string]string
	sysAdminID   string // the System Administrator profile's Id
	activeAdmins int
	// validPicklist remembers the picklist values found valid, as "Field=value".
	validPicklist map[string]bool
	// licenseUserType is the UserType a license gives its users' profiles.
	licenseUserType map[string]string
	// integrationUser is the Id of the user the API acts as; "" while the fresh org is
	// being built.
	integrationUser string
}

func newOrg(s *schema) *org {
	u := s.user
	o := &org{
		s:      s,
		tables: map[*objectDef]*table{},
		uf: userFields{
			id: u.mustIndex("Id"), username: u.mustIndex("Username"), lastName: u.mustIndex("LastName"),
			firstName: u.mustIndex("FirstName"), name: u.mustIndex("Name"), email: u.mustIndex("Email"),
			alias: u.mustIndex("Alias"), nickname: u.mustIndex("CommunityNickname"),
			profileID: u.mustIndex("ProfileId"), roleID: u.mustIndex("UserRoleId"),
			isActive: u.mustIndex("IsActive"), fedID: u.mustIndex("FederationIdentifier"),
			managerID: u.mustIndex("ManagerId"), userType: u.mustIndex("UserType"),
			lastLogin: u.mustIndex("LastLoginDate"), created: u.mustIndex("CreatedDate"),
			createdBy: u.mustIndex("CreatedById"), modified: u.mustIndex("LastModifiedDate"),
			modifiedBy: u.mustIndex("LastModifiedById"), modstamp: u.mustIndex("SystemModstamp"),
		},
		usernames:       map[string]*row{},
		nicknames:       map[string]*row{},
		fedIDs:          map[string][]*row{},
		loginByUser:     map[string]*row{},
		takenElsewhere:  map[string]bool{},
		blockers:        map[string][]string{},
		locked:          map[string]bool{},
		noRead:          map[string]bool{},
		assignRules:     map[string]string{},
		licenseUserType: map[string]string{},
		validPicklist:   map[string]bool{},
		nextSeq:         0x2A0000,
	}
	for _, d := range s.objects {
		o.tables[d] = &table{byID: map[string]*row{}}
	}
	o.id = o.newID(prefixOrg)
	return o
}

func (o *org) newID(prefix string) string {
	o.nextSeq++
	return newID(prefix, o.nextSeq)
}

// get finds a record of any object by its 18-character Id.
func (o *org) get(id string) (*row, bool) {
	if len(id) < 3 {
		return nil, false
	}
	d, ok := o.s.byPrefix[id[:3]]
	if !ok {
		return nil, false
	}
	r, ok := o.tables[d].byID[id]
	return r, ok
}

// insert adds a new row of an object other than User, stamping its Id.
func (o *org) insert(d *objectDef, values map[string]any) *row {
	r := &row{def: d, vals: make([]any, len(d.fields))}
	r.vals[0] = o.newID(d.prefix)
	for name, v := range values {
		r.vals[d.mustIndex(name)] = v
	}
	o.tables[d].add(r)
	return r
}

// findByName finds a row of d whose Name equals name, case-insensitively.
func (o *org) findByName(d *objectDef, name string) (*row, bool) {
	i := d.mustIndex("Name")
	for _, r := range o.tables[d].rows {
		if strings.EqualFold(r.str(i), name) {
			return r, true
		}
	}
	return nil, false
}

// licenseOf returns the UserLicense row of a profile.
func (o *org) licenseOf(profileID string) *row {
	p, ok := o.tables[o.s.profile].byID[profileID]
	if !ok {
		return nil
	}
	l, _ := o.tables[o.s.license].byID[p.str(o.s.profile.mustIndex("UserLicenseId"))]
	return l
}

// seats returns the used and total seats of a license.
func (o *org) seats(license *row) (used, total int64) {
	d := o.s.license
	used, _ = license.vals[d.mustIndex("UsedLicenses")].(int64)
	total, _ = license.vals[d.mustIndex("TotalLicenses")].(int64)
	return used, total
}

func (o *org) addSeats(license *row, delta int64) {
	i := o.s.license.mustIndex("UsedLicenses")
	used, _ := license.vals[i].(int64)
	license.vals[i] = used + delta
}

// setUser moves a user from the old values to the new ones, keeping every index and
// counter in step. old is nil for an insert, next nil for undoing one. It returns the
// function that reverts the change, so a Collections call with allOrNone can roll back.
func (o *org) setUser(r *row, old, next []any) (undo func()) {
	t := o.tables[o.s.user]
	if old != nil && next == nil {
		t.remove(r)
	}
	o.unindexUser(r, old)
	r.vals = next
	o.indexUser(r, next)
	if old == nil && next != nil {
		t.add(r)
	}
	return func() { o.setUser(r, next, old) }
}

func (o *org) unindexUser(r *row, vals []any) {
	if vals == nil {
		return
	}
	f := o.uf
	if s, ok := vals[f.username].(string); ok {
		delete(o.usernames, strings.ToLower(s))
	}
	if s, ok := vals[f.nickname].(string); ok && o.nicknames[strings.ToLower(s)] == r {
		delete(o.nicknames, strings.ToLower(s))
	}
	if s, ok := vals[f.fedID].(string); ok {
		key := strings.ToLower(s)
		rows := o.fedIDs[key]
		for i, x := range rows {
			if x == r {
				rows = append(rows[:i:i], rows[i+1:]...)
				break
			}
		}
		if len(rows) == 0 {
			delete(o.fedIDs, key)
		} else {
			o.fedIDs[key] = rows
		}
	}
	if active, _ := vals[f.isActive].(bool); active {
		if l := o.licenseOf(vals[f.profileID].(string)); l != nil {
			o.addSeats(l, -1)
		}
		if vals[f.profileID] == o.sysAdminID {
			o.activeAdmins--
		}
	}
}

func (o *org) indexUser(r *row, vals []any) {
	if vals == nil {
		return
	}
	f := o.uf
	if s, ok := vals[f.username].(string); ok {
		o.usernames[strings.ToLower(s)] = r
	}
	if s, ok := vals[f.nickname].(string); ok {
		o.nicknames[strings.ToLower(s)] = r
	}
	if s, ok := vals[f.fedID].(string); ok {
		key := strings.ToLower(s)
		o.fedIDs[key] = append(o.fedIDs[key], r)
	}
	if active, _ := vals[f.isActive].(bool); active {
		if l := o.licenseOf(vals[f.profileID].(string)); l != nil {
			o.addSeats(l, 1)
		}
		if vals[f.profileID] == o.sysAdminID {
			o.activeAdmins++
		}
	}
}

// apiError is one entry of a Salesforce REST error array.
type apiError struct {
	Status  int
	Code    string
	Message string
	Fields  []string
}

func (e apiError) Error() string { return e.Code + ": " + e.Message }

func badRequest(code, message string, fields ...string) apiError {
	return apiError{Status: 400, Code: code, Message: message, Fields: fields}
}

// Salesforce's messages for the errors the simulator raises.
const (
	msgDuplicateUsername = "Duplicate Username.<br>The username already exists in this or another Salesforce organization. " +
		"Usernames must be unique across all Salesforce organizations. To resolve, use a different username " +
		"(it doesn't need to match the user's email address)."
	msgDuplicateNickname = "The nickname you entered is already in use. Please enter a different nickname."
	msgLicenseLimit      = "License Limit Exceeded"
	msgLastAdmin         = "You cannot deactivate the last active user with the System Administrator profile."
	msgInvalidCrossRef   = "invalid cross reference id"
	msgNotFound          = "The requested resource does not exist"
)

// emailShape is a pragmatic check of an address: one @, no spaces, a dot in the domain.
var emailShape = regexp.MustCompile(`^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$`)

// writeContext is who writes and when.
type writeContext struct {
	actor string // the acting user's Id
	now   time.Time
	// autoAssign is false when the request said Sforce-Auto-Assign: FALSE.
	autoAssign bool
}

// validateUser checks a user's new values against the old ones (nil on create) as
// Salesforce does, normalizing them in place (lower-case Username, 18-character Ids).
// changed marks the fields the request set. self is the row being updated, nil on
// create. It returns every error of the first failing stage.
func (o *org) validateUser(next, old []any, changed []bool, self *row) []apiError {
	f := o.uf
	if errs := o.validateFields(o.s.user, next, old, changed); errs != nil {
		return errs
	}

	if changed[f.username] {
		u := next[f.username].(string)
		if other, ok := o.usernames[u]; (ok && other != self) || o.takenElsewhere[u] {
			return []apiError{badRequest("DUPLICATE_USERNAME", msgDuplicateUsername, "Username")}
		}
	}
	if fed, ok := next[f.fedID].(string); ok && changed[f.fedID] {
		for _, other := range o.fedIDs[strings.ToLower(fed)] {
			if other != self {
				return []apiError{badRequest("DUPLICATE_VALUE",
					"duplicate value found: FederationIdentifier duplicates value on record with id: "+other.id(),
					"FederationIdentifier")}
			}
		}
	}
	if nick, ok := next[f.nickname].(string); ok && changed[f.nickname] {
		if other, ok := o.nicknames[strings.ToLower(nick)]; ok && other != self {
			return []apiError{badRequest("DUPLICATE_COMM_NICKNAME", msgDuplicateNickname, "CommunityNickname")}
		}
	}

	wasActive := old != nil && old[f.isActive] == true
	isActive := next[f.isActive] == true
	if isActive {
		l := o.licenseOf(next[f.profileID].(string))
		needsSeat := !wasActive || o.licenseOf(old[f.profileID].(string)) != l
		if used, total := o.seats(l); needsSeat && used >= total {
			return []apiError{badRequest("LICENSE_LIMIT_EXCEEDED", msgLicenseLimit)}
		}
	}
	if wasActive && !isActive {
		if reasons := o.blockers[self.id()]; len(reasons) > 0 {
			return []apiError{blockerError(reasons[0])}
		}
		if o.guestRecordOwner(self.id()) {
			return []apiError{blockerError(BlockerGuestRecordOwner)}
		}
	}
	if wasActive && old[f.profileID] == o.sysAdminID && o.activeAdmins <= 1 &&
		(!isActive || next[f.profileID] != o.sysAdminID) {
		return []apiError{badRequest("CANNOT_DISABLE_LAST_ADMIN", msgLastAdmin, "IsActive")}
	}
	return nil
}

// picklistAllows checks a restricted picklist value, remembering the values found
// valid (a bounded set), since checking a time zone loads it.
func (o *org) picklistAllows(fd *fieldDef, v string) bool {
	key := fd.name + "=" + v
	if o.validPicklist[key] {
		return true
	}
	if !fd.allowed(v) {
		return false
	}
	o.validPicklist[key] = true
	return true
}

// checkRef validates an Id written into a reference field: its shape, its object type
// and that the record exists.
func (o *org) checkRef(fd *fieldDef, value string) (string, *apiError) {
	id, err := normalizeID(value)
	if err != nil {
		e := badRequest("MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", fd.label, value), fd.name)
		return "", &e
	}
	target, _ := o.s.object(fd.ref)
	if id[:3] != target.prefix {
		e := badRequest("FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("%s: id value of incorrect type: %s", fd.label, value), fd.name)
		return "", &e
	}
	if _, ok := o.tables[target].byID[id]; !ok {
		e := badRequest("INVALID_CROSS_REFERENCE_KEY", msgInvalidCrossRef, fd.name)
		return "", &e
	}
	return id, nil
}

// nickname derives a free CommunityNickname from a username's local part, as
// Salesforce does when a create omits it.
func (o *org) nickname(username string) string {
	base, _, _ := strings.Cut(username, "@")
	if r := []rune(base); len(r) > 30 {
		base = string(r[:30])
	}
	nick := base
	for n := 1; ; n++ {
		if _, taken := o.nicknames[strings.ToLower(nick)]; !taken {
			return nick
		}
		nick = base + strconv.Itoa(n)
	}
}

// stampUser fills the values Salesforce derives on every write.
func (o *org) stampUser(next []any, created bool, w writeContext) {
	f := o.uf
	if created {
		next[f.created] = auditTime(w.now)
		next[f.createdBy] = w.actor
		if next[f.nickname] == nil {
			next[f.nickname] = o.nickname(next[f.username].(string))
		}
	}
	next[f.modified] = auditTime(w.now)
	next[f.modifiedBy] = w.actor
	next[f.modstamp] = auditTime(w.now)
	name := next[f.lastName].(string)
	if first, ok := next[f.firstName].(string); ok {
		name = first + " " + name
	}
	next[f.name] = name
	if p, ok := o.tables[o.s.profile].byID[next[f.profileID].(string)]; ok {
		next[f.userType] = p.vals[o.s.profile.mustIndex("UserType")]
	}
}

// createUser validates and inserts a user from decoded values. It also creates the
// user's UserLogin row. The returned undo removes both.
func (o *org) createUser(values map[int]any, w writeContext) (*row, func(), []apiError) {
	next, changed := createdValues(o.s.user, values)
	if _, ok := values[o.uf.isActive]; !ok {
		next[o.uf.isActive] = true // a new user is active unless the request says otherwise
	}
	r := &row{def: o.s.user}
	if errs := o.validateUser(next, nil, changed, nil); errs != nil {
		return nil, nil, errs
	}
	next[o.uf.id] = o.newID(prefixUser)
	o.stampUser(next, true, w)
	undoUser := o.setUser(r, nil, next)
	login := o.insert(o.s.login, map[string]any{
		"UserId": r.id(), "IsFrozen": false, "IsPasswordLocked": false,
		"LastModifiedDate": w.now, "LastModifiedById": w.actor,
	})
	o.loginByUser[r.id()] = login
	return r, func() {
		o.tables[o.s.login].remove(login)
		delete(o.loginByUser, r.id())
		undoUser()
	}, nil
}

// updateUser validates and applies changed values to a user.
func (o *org) updateUser(r *row, values map[int]any, w writeContext) (func(), []apiError) {
	old := r.vals
	next, changed := updatedValues(old, values)
	if errs := o.validateUser(next, old, changed, r); errs != nil {
		return nil, errs
	}
	o.stampUser(next, false, w)
	return o.setUser(r, old, next), nil
}

// updateLogin applies a write to a UserLogin row (IsFrozen, IsPasswordLocked).
func (o *org) updateLogin(r *row, values map[int]any, w writeContext) (func(), []apiError) {
	d := o.s.login
	locked := d.mustIndex("IsPasswordLocked")
	if v, ok := values[locked]; ok && v == true {
		return nil, []apiError{badRequest("FIELD_INTEGRITY_EXCEPTION",
			"Is Password Locked: a password can be unlocked, not locked, through the API", "IsPasswordLocked")}
	}
	old := r.vals
	next := append([]any(nil), old...)
	for i, v := range values {
		next[i] = v
	}
	next[d.mustIndex("LastModifiedDate")] = w.now
	next[d.mustIndex("LastModifiedById")] = w.actor
	r.vals = next
	return func() { r.vals = old }, nil
}

// usersByField finds the users whose external-id field equals value, as upsert
// matches: case-insensitively.
func (o *org) usersByField(field int, value string) []*row {
	f := o.uf
	switch field {
	case f.fedID:
		return append([]*row(nil), o.fedIDs[strings.ToLower(value)]...)
	case f.username:
		if r, ok := o.usernames[strings.ToLower(value)]; ok {
			return []*row{r}
		}
		return nil
	case f.id:
		id, err := normalizeID(value)
		if err != nil {
			return nil
		}
		if r, ok := o.tables[o.s.user].byID[id]; ok {
			return []*row{r}
		}
		return nil
	}
	var out []*row
	for _, r := range o.tables[o.s.user].rows {
		if s, ok := r.vals[field].(string); ok && strings.EqualFold(s, value) {
			out = append(out, r)
		}
	}
	return out
}

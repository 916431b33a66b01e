package sfsim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/syncd-io/syncd/internal/sfsim/soql"
)

// Key prefixes of the objects a leaver's offboarding touches.
const (
	prefixAccount      = "001"
	prefixContact      = "003"
	prefixOpportunity  = "006"
	prefixCase         = "500"
	prefixLead         = "00Q"
	prefixWorkitem     = "04i"
	prefixAuthSession  = "0Ak"
	prefixOauthToken   = "0CQ"
	maxRevokeBodyBytes = 8 << 10
)

// Salesforce's messages for the errors of an ownership transfer
// (salesforce-second-wave.md §3).
const (
	msgInactiveOwner  = "operation performed with inactive user"
	msgTransferRead   = "The new owner must have read permission"
	msgEntityIsLocked = "the entity is locked for editing"
)

// Deactivation blockers with Salesforce's own messages (salesforce-second-wave.md
// §4). A blocker that starts with an upper-case letter is the whole message; the
// older lower-case reasons (BlockerDefaultCaseOwner ...) complete "You cannot
// deactivate a user who is ...".
const (
	BlockerWebToLeadCreator = "You cannot disable the Web to Lead Default Creator."
	BlockerDefaultWorkflow  = "You cannot deactivate the Default Workflow User"
	BlockerCaseRules        = "You cannot deactivate this user. You cannot deactivate a user who is receiving cases or notifications as part of your case assignment/escalation rules. Click here to view the rules."
	BlockerGuestRecordOwner = "This user is the default owner of records created by guest users and can't be deactivated"
	BlockerPortalAdmin      = "You cannot deactivate a user who is a portal administrator"
)

// BlockerHierarchyField is the blocker of a user named in a custom hierarchy field.
func BlockerHierarchyField(field string) string {
	return "Cannot inactivate user that is the value of a hierarchy field:" + field
}

// blockerError is the refusal of a deactivation for a blocker.
func blockerError(reason string) apiError {
	msg := reason
	if first := reason[:1]; strings.ToLower(first) == first {
		msg = "You cannot deactivate this user. You cannot deactivate a user who is " + reason
	}
	return badRequest("FIELD_INTEGRITY_EXCEPTION", msg, "IsActive")
}

// offboardingObjects are the objects a leaver's offboarding reads and writes: the
// records they own (OwnerId, moved with their open/unconverted state), their pending
// approval work items, their sessions and their OAuth tokens.
func offboardingObjects() []*objectDef {
	owner := func() fieldDef { return ref("OwnerId", "Owner ID", "User") }
	audit := []fieldDef{
		datetime("CreatedDate", "Created Date"),
		readonly(ref("CreatedById", "Created By ID", "User")),
		datetime("LastModifiedDate", "Last Modified Date"),
		readonly(ref("LastModifiedById", "Last Modified By ID", "User")),
		datetime("SystemModstamp", "System Modstamp"),
	}
	owned := func(name, prefix string, fields ...fieldDef) *objectDef {
		all := append(append([]fieldDef{idField()}, fields...), owner())
		d := newObjectDef(name, prefix, []soql.Relationship{{Name: "Owner", Field: "OwnerId", Object: "User"}}, append(all, audit...)...)
		d.ops = ownedOps()
		return d
	}
	account := owned("Account", prefixAccount, required(text("Name", "Account Name", 255)))
	contact := owned("Contact", prefixContact, required(text("LastName", "Last Name", 80)), text("FirstName", "First Name", 40),
		ref("AccountId", "Account ID", "Account"))
	opportunity := owned("Opportunity", prefixOpportunity, required(text("Name", "Name", 120)),
		required(text("StageName", "Stage", 255)), readonly(boolean("IsClosed", "Closed")), ref("AccountId", "Account ID", "Account"))
	kase := owned("Case", prefixCase, text("Subject", "Subject", 255), text("Status", "Status", 40), readonly(boolean("IsClosed", "Closed")))
	lead := owned("Lead", prefixLead, required(text("LastName", "Last Name", 80)), required(text("Company", "Company", 255)),
		text("Status", "Status", 40), readonly(boolean("IsConverted", "Converted")))
	workitem := newObjectDef("ProcessInstanceWorkitem", prefixWorkitem, []soql.Relationship{
		{Name: "Actor", Field: "ActorId", Object: "User"},
	},
		idField(),
		readonly(text("ProcessInstanceId", "Process Instance ID", 18)),
		ref("ActorId", "Actor ID", "User"),
		readonly(ref("OriginalActorId", "Original Actor ID", "User")),
		datetime("CreatedDate", "Created Date"),
		datetime("SystemModstamp", "System Modstamp"),
	)
	// Only ActorId may change: a pending approval is reassigned, never created or
	// deleted through the API.
	workitem.ops = objectOps{update: reassignWorkitem}
	session := newObjectDef("AuthSession", prefixAuthSession, []soql.Relationship{
		{Name: "Users", Field: "UsersId", Object: "User"},
	},
		idField(),
		readonly(ref("UsersId", "User ID", "User")),
		readonly(text("SessionType", "Session Type", 40)),
		readonly(text("LoginType", "Login Type", 40)),
		readonly(text("ParentId", "Parent ID", 18)),
		readonly(boolean("IsCurrent", "Is Current")),
		integer("NumSecondsValid", "Valid For"),
		readonly(text("SourceIp", "Source IP", 39)),
		readonly(text("UserType", "User Type", 40)),
		datetime("LastModifiedDate", "Last Modified Date"),
	)
	// AuthSession can be read and deleted, never changed (§2).
	session.ops = objectOps{delete: deleteRecord}
	token := newObjectDef("OauthToken", prefixOauthToken, []soql.Relationship{
		{Name: "User", Field: "UserId", Object: "User"},
	},
		idField(),
		readonly(ref("UserId", "User ID", "User")),
		readonly(text("AppName", "App Name", 255)),
		readonly(text("DeleteToken", "Delete Token", 255)),
		datetime("LastUsedDate", "Last Used Date"),
		integer("UseCount", "Use Count"),
		datetime("CreatedDate", "Created Date"),
	)
	// OauthToken supports query only; tokens are revoked through
	// /services/oauth2/revoke.
	return []*objectDef{account, contact, opportunity, kase, lead, workitem, session, token}
}

// autoAssigned are the objects whose writes run the active assignment rules unless
// the request says Sforce-Auto-Assign: FALSE (§3).
func autoAssigned(name string) bool {
	return name == "Account" || name == "Case" || name == "Lead"
}

// ownedOps are the writes of an owned record: the generic ones, with Salesforce's
// ownership rules on update. The new owner must be active (INACTIVE_OWNER_OR_USER)
// and able to read the record (TRANSFER_REQUIRES_READ); a record an approval locks
// cannot change (ENTITY_IS_LOCKED); and for Account, Case and Lead the org's active
// assignment rule overwrites OwnerId unless auto-assignment is off.
func ownedOps() objectOps {
	ops := genericOps()
	ops.update = func(o *org, r *row, values map[int]any, w writeContext) (func(), []apiError) {
		d := r.def
		if o.locked[r.id()] {
			return nil, []apiError{badRequest("ENTITY_IS_LOCKED", msgEntityIsLocked)}
		}
		oi := d.mustIndex("OwnerId")
		if v, ok := values[oi].(string); ok {
			if u, found := o.get(v); found && u.def == o.s.user {
				if !u.flag(o.uf.isActive) {
					return nil, []apiError{badRequest("INACTIVE_OWNER_OR_USER", msgInactiveOwner, "OwnerId")}
				}
				if o.noRead[u.id()] {
					return nil, []apiError{badRequest("TRANSFER_REQUIRES_READ", msgTransferRead, "OwnerId")}
				}
			}
		}
		undo, errs := updateRecord(o, r, values, w)
		if errs != nil {
			return nil, errs
		}
		if owner, ok := o.assignRules[d.name]; ok && w.autoAssign && autoAssigned(d.name) {
			r.vals[oi] = owner
		}
		return undo, nil
	}
	return ops
}

// reassignWorkitem changes a pending approval's actor, who must be active.
func reassignWorkitem(o *org, r *row, values map[int]any, w writeContext) (func(), []apiError) {
	if v, ok := values[r.def.mustIndex("ActorId")].(string); ok {
		if u, found := o.get(v); found && u.def == o.s.user && !u.flag(o.uf.isActive) {
			return nil, []apiError{badRequest("INACTIVE_OWNER_OR_USER", msgInactiveOwner, "ActorId")}
		}
	}
	return updateRecord(o, r, values, w)
}

// serveRevoke is POST /services/oauth2/revoke (form token=...): it revokes the OAuth
// token whose DeleteToken is given. Success is 200 with an empty body; an unknown
// token is 400 invalid_token (§2).
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code, description string) {
		s.writeJSON(w, "", status, oauthError{Error: code, Description: description})
	}
	if r.Method != http.MethodPost {
		fail(http.StatusBadRequest, "invalid_request", "must use HTTP POST")
		return
	}
	body, apiErr := readBody(w, r, maxRevokeBodyBytes)
	if apiErr != nil {
		fail(http.StatusBadRequest, "invalid_request", "request body too large")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("token") == "" {
		fail(http.StatusBadRequest, "unsupported_token_type", "missing token")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, _ := s.schema.object("OauthToken")
	t := s.org.tables[d]
	di := d.mustIndex("DeleteToken")
	for _, row := range t.rows {
		if row.str(di) == form.Get("token") {
			t.remove(row)
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	fail(http.StatusBadRequest, "invalid_token", "invalid token")
}

// AddRecord inserts a record of any object as it would already exist in the org,
// read-only fields included (IsClosed, UsersId, DeleteToken ...). Reference fields
// to User take an Id or a Username. It returns the new Id.
func (s *Server) AddRecord(object string, fields map[string]any) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.schema.object(object)
	if !ok {
		return "", fmt.Errorf("no object %q", object)
	}
	vals := make([]any, len(d.fields))
	for i := range d.fields {
		if d.fields[i].kind == kindBool {
			vals[i] = false
		}
	}
	for name, v := range fields {
		i, fd, ok := d.field(name)
		if !ok || i == 0 {
			return "", fmt.Errorf("%s has no settable field %q", d.name, name)
		}
		if sv, isText := v.(string); isText && fd.kind == kindRef && fd.ref == "User" {
			u, found := s.findUser(sv)
			if !found {
				return "", fmt.Errorf("%s.%s: no user %q", d.name, fd.name, sv)
			}
			v = u.id()
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("%s.%s: %w", d.name, fd.name, err)
		}
		val, apiErr := decodeValue(fd, raw)
		if apiErr != nil {
			return "", fmt.Errorf("%s.%s: %s", d.name, fd.name, apiErr.Message)
		}
		vals[i] = val
	}
	vals[0] = s.org.newID(d.prefix)
	stampAudit(d, vals, true, writeContext{actor: s.org.integrationUser, now: s.now()})
	s.org.tables[d].add(&row{def: d, vals: vals})
	return vals[0].(string), nil
}

// Records returns every record of an object, field name → value (times in
// Salesforce's format), in Id order.
func (s *Server) Records(object string) ([]map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.schema.object(object)
	if !ok {
		return nil, fmt.Errorf("no object %q", object)
	}
	var out []map[string]any
	for _, r := range s.org.tables[d].rows {
		m := make(map[string]any, len(d.fields))
		for i := range d.fields {
			v := r.vals[i]
			if t, isTime := v.(time.Time); isTime {
				v = t.Format(dateTimeLayout)
			}
			m[d.fields[i].name] = v
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return cmp.Compare(a["Id"].(string), b["Id"].(string)) })
	return out, nil
}

// SetAssignmentRule makes the org's active assignment rule for Account, Case or Lead
// give every record written without Sforce-Auto-Assign: FALSE to owner (an Id or a
// Username).
func (s *Server) SetAssignmentRule(object, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.schema.object(object)
	if !ok || !autoAssigned(d.name) {
		return fmt.Errorf("%q has no assignment rules (Account, Case, Lead)", object)
	}
	u, ok := s.findUser(owner)
	if !ok {
		return fmt.Errorf("no user %q", owner)
	}
	s.org.assignRules[d.name] = u.id()
	return nil
}

// LockRecord locks a record as a pending approval does: updates fail with
// ENTITY_IS_LOCKED.
func (s *Server) LockRecord(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	nid, err := normalizeID(id)
	if err != nil {
		return err
	}
	if _, ok := s.org.get(nid); !ok {
		return fmt.Errorf("no record %q", id)
	}
	s.org.locked[nid] = true
	return nil
}

// UnlockRecord unlocks a record LockRecord locked, as a decided approval does.
func (s *Server) UnlockRecord(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if nid, err := normalizeID(id); err == nil {
		delete(s.org.locked, nid)
	}
}

// DenyRead makes a user unable to read owned records, so a transfer to them fails
// with TRANSFER_REQUIRES_READ.
func (s *Server) DenyRead(user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.findUser(user)
	if !ok {
		return fmt.Errorf("no user %q", user)
	}
	s.org.noRead[u.id()] = true
	return nil
}

// serveOffboardingControl serves the controls of offboarding's objects and reports
// whether the route was one of them:
//
//	POST /__sim/records            {"type": "Opportunity", "fields": {...}} → {"id": ...}
//	GET  /__sim/records/{type}     every record of the type
//	POST /__sim/assignment-rules   {"object": "Case", "owner": id or username}
//	POST /__sim/locks              {"id": ...}
//	POST /__sim/no-read            {"user": id or username}
func (s *Server) serveOffboardingControl(r *http.Request, path string, decode func(any) bool, ok func(any), fail func(int, error)) bool {
	switch route := r.Method + " " + path; {
	case route == "POST records":
		var body struct {
			Type   string         `json:"type"`
			Fields map[string]any `json:"fields"`
		}
		if decode(&body) {
			id, err := s.AddRecord(body.Type, body.Fields)
			if err != nil {
				fail(http.StatusBadRequest, err)
				return true
			}
			ok(map[string]string{"id": id})
		}
	case r.Method == http.MethodGet && strings.HasPrefix(path, "records/"):
		recs, err := s.Records(strings.TrimPrefix(path, "records/"))
		if err != nil {
			fail(http.StatusNotFound, err)
			return true
		}
		if recs == nil {
			recs = []map[string]any{}
		}
		ok(recs)
	case route == "POST assignment-rules":
		var body struct{ Object, Owner string }
		if decode(&body) {
			if err := s.SetAssignmentRule(body.Object, body.Owner); err != nil {
				fail(http.StatusBadRequest, err)
				return true
			}
			ok(map[string]bool{"set": true})
		}
	case route == "POST locks":
		var body struct{ ID string }
		if decode(&body) {
			if err := s.LockRecord(body.ID); err != nil {
				fail(http.StatusNotFound, err)
				return true
			}
			ok(map[string]bool{"locked": true})
		}
	case route == "POST no-read":
		var body struct{ User string }
		if decode(&body) {
			if err := s.DenyRead(body.User); err != nil {
				fail(http.StatusNotFound, err)
				return true
			}
			ok(map[string]bool{"denied": true})
		}
	default:
		return false
	}
	return true
}

package sfsim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/syncd-io/syncd/internal/sfsim/soql"
)

// UserInfo is a user as tests inspect it.
type UserInfo struct {
	ID          string
	Username    string
	IsActive    bool
	IsFrozen    bool
	ProfileName string
	RoleName    string // "" without a role
	// Fields holds every User field by its API name: nil, string, bool or time.Time.
	Fields map[string]any
}

// AddUsers adds users directly, as a seed does, and returns their Ids. It is meant for
// tests that need large orgs fast: no HTTP, no JSON. Seats are enforced, so raise a
// license's seats (SetSeats) before adding more users than it has.
func (s *Server) AddUsers(users ...SeedUser) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.org.addUsers(users, s.now())
}

// ApplySeed adds a seed document's records to the org.
func (s *Server) ApplySeed(seed *Seed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.org.applySeed(seed, s.now())
}

// SetSeats sets the number of seats of a license.
func (s *Server) SetSeats(license string, seats int64) error {
	return s.ApplySeed(&Seed{Licenses: []SeedLicense{{Name: license, Seats: seats}}})
}

// Seats returns the used and total seats of a license.
func (s *Server) Seats(license string) (used, total int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.org.findByName(s.schema.license, license)
	if !ok {
		return 0, 0, false
	}
	used, total = s.org.seats(l)
	return used, total, true
}

// findUser finds a user by Id (15 or 18 characters) or username. s.mu held.
func (s *Server) findUser(idOrUsername string) (*row, bool) {
	if r, ok := s.org.usernames[strings.ToLower(idOrUsername)]; ok {
		return r, true
	}
	if id, err := normalizeID(idOrUsername); err == nil {
		r, ok := s.org.tables[s.schema.user].byID[id]
		return r, ok
	}
	return nil, false
}

// User returns a user by Id or username.
func (s *Server) User(idOrUsername string) (UserInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.findUser(idOrUsername)
	if !ok {
		return UserInfo{}, false
	}
	f := s.org.uf
	info := UserInfo{ID: r.id(), Username: r.str(f.username), IsActive: r.flag(f.isActive), Fields: map[string]any{}}
	for i := range r.def.fields {
		info.Fields[r.def.fields[i].name] = r.vals[i]
	}
	if p := s.org.parentOf(r, "Profile"); p != nil {
		info.ProfileName = p.str(s.schema.profile.mustIndex("Name"))
	}
	if role := s.org.parentOf(r, "UserRole"); role != nil {
		info.RoleName = role.str(s.schema.role.mustIndex("Name"))
	}
	if l := s.org.loginByUser[r.id()]; l != nil {
		info.IsFrozen = l.flag(s.schema.login.mustIndex("IsFrozen"))
	}
	return info, true
}

// UserSummary is a user as GET /__sim/users lists it: the fields that tell who the
// user is and whether they may log in.
type UserSummary struct {
	ID                   string `json:"id"`
	Username             string `json:"username"`
	Email                string `json:"email"`
	FederationIdentifier string `json:"federationIdentifier"`
	IsActive             bool   `json:"isActive"`
}

// Users lists every user, active or not, in creation order. Tests check the whole
// org with it without spending API calls or meeting injected faults.
func (s *Server) Users() []UserSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.org.uf
	rows := s.org.tables[s.schema.user].rows
	out := make([]UserSummary, 0, len(rows))
	for _, r := range rows {
		out = append(out, UserSummary{ID: r.id(), Username: r.str(f.username), Email: r.str(f.email),
			FederationIdentifier: r.str(f.fedID), IsActive: r.flag(f.isActive)})
	}
	return out
}

// Queries returns the text of every SOQL query received so far, in order.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// SOQLSchema is the schema the simulator parses queries against, for tests that
// parse the queries it received (Queries) with package soql.
func (s *Server) SOQLSchema() soql.Schema { return soqlSchema{s.schema} }

// UserCount is the number of users in the org, active or not.
func (s *Server) UserCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.org.tables[s.schema.user].rows)
}

// ProfileID returns the Id of the profile with the given name.
func (s *Server) ProfileID(name string) (string, bool) { return s.idByName(s.schema.profile, name) }

// RoleID returns the Id of the role with the given name.
func (s *Server) RoleID(name string) (string, bool) { return s.idByName(s.schema.role, name) }

func (s *Server) idByName(d *objectDef, name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.org.findByName(d, name)
	if !ok {
		return "", false
	}
	return r.id(), true
}

// OrgID is the simulated org's Id.
func (s *Server) OrgID() string { return s.org.id }

// IntegrationUserID is the Id of the user tokens act as.
func (s *Server) IntegrationUserID() string { return s.org.integrationUser }

// AddBlocker makes a user impossible to deactivate for the given reason, which
// completes "You cannot deactivate a user who is ..." (see the Blocker constants).
func (s *Server) AddBlocker(idOrUsername, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.findUser(idOrUsername)
	if !ok {
		return fmt.Errorf("no user %q", idOrUsername)
	}
	s.org.blockers[r.id()] = append(s.org.blockers[r.id()], reason)
	return nil
}

// AddTakenUsernames marks usernames as used in other orgs.
func (s *Server) AddTakenUsernames(usernames ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range usernames {
		s.org.takenElsewhere[strings.ToLower(u)] = true
	}
}

// SetOtherUsage sets the API calls that other integrations spent in the current 24
// hours; they count against the same allowance.
func (s *Server) SetOtherUsage(calls int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usage.other = calls
}

// APIUsage returns the calls spent over the rolling 24 hours and the allowance.
func (s *Server) APIUsage() (used, limit int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage.used(s.now()), s.opts.APIMax
}

// ExpireSessions invalidates every access token, as a session timeout or an admin
// revoking them would.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// Calls returns how many requests each endpoint received (see FaultRule.Endpoint for
// the names), whatever their outcome.
func (s *Server) Calls() map[string]int {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return maps.Clone(s.counters)
}

// ResetCalls zeroes the call counters.
func (s *Server) ResetCalls() {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	clear(s.counters)
}

// controlState is the answer of GET /__sim/state.
type controlState struct {
	OrgID             string         `json:"orgId"`
	IntegrationUserID string         `json:"integrationUserId"`
	APIUsage          int64          `json:"apiUsage"`
	APIMax            int64          `json:"apiMax"`
	Users             int            `json:"users"`
	Calls             map[string]int `json:"calls"`
}

// serveControl exposes the test controls over HTTP for the binary:
//
//	GET    /__sim/state                   usage, user count, call counters
//	POST   /__sim/faults                  queue a FaultRule (JSON; latency in nanoseconds)
//	DELETE /__sim/faults                  drop queued faults
//	POST   /__sim/sessions/expire         invalidate every access token
//	POST   /__sim/usage                   {"other": N}: calls spent by other integrations
//	POST   /__sim/seed                    apply a seed document
//	POST   /__sim/users                   [SeedUser, ...] → {"ids": [...]}
//	GET    /__sim/users                   every user: id, username, email, federationIdentifier, isActive
//	GET    /__sim/users/{id or username}  a user's fields
//	GET    /__sim/queries                 {"queries": [...]}: every SOQL statement received
//	PATCH  /__sim/users/{id or username} {"Field": value, ...}: an administrator's edit in Setup
//	POST   /__sim/users/{id or username}/touch  a system-driven update: SystemModstamp only
//	POST   /__sim/clock                   {"advance": "15m"}: move the org's clock forward
//	POST   /__sim/blockers                {"user": id or username, "reason": "..."}
//	DELETE /__sim/calls                   zero the call counters
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/__sim/"), "/")
	fail := func(status int, err error) {
		s.writeJSON(w, "", status, map[string]string{"error": err.Error()})
	}
	decode := func(v any) bool {
		body, apiErr := readBody(w, r, s.opts.MaxBodyBytes*16)
		if apiErr != nil {
			fail(apiErr.Status, apiErr)
			return false
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			fail(http.StatusBadRequest, fmt.Errorf("decode %s body: %w", path, err))
			return false
		}
		return true
	}
	ok := func(v any) { s.writeJSON(w, "", http.StatusOK, v) }
	switch route := r.Method + " " + path; {
	case route == "GET state":
		used, limit := s.APIUsage()
		ok(controlState{OrgID: s.OrgID(), IntegrationUserID: s.IntegrationUserID(), APIUsage: used, APIMax: limit,
			Users: s.UserCount(), Calls: s.Calls()})
	case route == "POST faults":
		var rule FaultRule
		if decode(&rule) {
			s.InjectFault(rule)
			ok(map[string]bool{"queued": true})
		}
	case route == "DELETE faults":
		s.ClearFaults()
		ok(map[string]bool{"cleared": true})
	case route == "POST sessions/expire":
		s.ExpireSessions()
		ok(map[string]bool{"expired": true})
	case route == "POST usage":
		var body struct {
			Other int64 `json:"other"`
		}
		if decode(&body) {
			s.SetOtherUsage(body.Other)
			ok(map[string]int64{"other": body.Other})
		}
	case route == "POST seed":
		var seed Seed
		if decode(&seed) {
			if err := s.ApplySeed(&seed); err != nil {
				fail(http.StatusBadRequest, err)
				return
			}
			ok(map[string]bool{"applied": true})
		}
	case route == "POST users":
		var users []SeedUser
		if decode(&users) {
			ids, err := s.AddUsers(users...)
			if err != nil {
				fail(http.StatusBadRequest, err)
				return
			}
			ok(map[string][]string{"ids": ids})
		}
	case route == "GET users":
		ok(s.Users())
	case route == "GET queries":
		ok(map[string][]string{"queries": s.Queries()})
	case r.Method == http.MethodPost && strings.HasPrefix(path, "users/") && strings.HasSuffix(path, "/touch"):
		if err := s.TouchUser(strings.TrimSuffix(strings.TrimPrefix(path, "users/"), "/touch")); err != nil {
			fail(http.StatusNotFound, err)
			return
		}
		ok(map[string]bool{"touched": true})
	case r.Method == http.MethodPatch && strings.HasPrefix(path, "users/"):
		var fields map[string]any
		if decode(&fields) {
			if err := s.EditUser(strings.TrimPrefix(path, "users/"), fields); err != nil {
				fail(http.StatusBadRequest, err)
				return
			}
			ok(map[string]bool{"edited": true})
		}
	case r.Method == http.MethodGet && strings.HasPrefix(path, "users/"):
		info, found := s.User(strings.TrimPrefix(path, "users/"))
		if !found {
			fail(http.StatusNotFound, fmt.Errorf("no user %q", strings.TrimPrefix(path, "users/")))
			return
		}
		fields := map[string]any{}
		for k, v := range info.Fields {
			if t, isTime := v.(time.Time); isTime {
				v = t.Format(dateTimeLayout)
			}
			fields[k] = v
		}
		ok(map[string]any{"id": info.ID, "username": info.Username, "isActive": info.IsActive,
			"isFrozen": info.IsFrozen, "profile": info.ProfileName, "role": info.RoleName, "fields": fields})
	case route == "POST blockers":
		var body struct {
			User   string `json:"user"`
			Reason string `json:"reason"`
		}
		if decode(&body) {
			if err := s.AddBlocker(body.User, body.Reason); err != nil {
				fail(http.StatusNotFound, err)
				return
			}
			ok(map[string]bool{"added": true})
		}
	case route == "POST clock":
		var body struct {
			Advance string `json:"advance"`
		}
		if decode(&body) {
			d, err := time.ParseDuration(body.Advance)
			if err != nil || d <= 0 {
				fail(http.StatusBadRequest, fmt.Errorf("advance %q is not a positive duration such as 15m", body.Advance))
				return
			}
			s.AdvanceClock(d)
			ok(map[string]string{"now": s.now().Format(dateTimeLayout)})
		}
	case route == "DELETE calls":
		s.ResetCalls()
		ok(map[string]bool{"reset": true})
	default:
		if !s.serveOffboardingControl(r, path, decode, ok, fail) {
			fail(http.StatusNotFound, fmt.Errorf("no control %s /__sim/%s", r.Method, path))
		}
	}
}

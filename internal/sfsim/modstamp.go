package sfsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// auditTime is the value Salesforce keeps in CreatedDate, LastModifiedDate and
// SystemModstamp: whole seconds (answers show ".000", and SOQL ignores milliseconds
// when it compares them). So many writes share one SystemModstamp, and a reader that
// resumes with `SystemModstamp > last seen` must allow for writes that land later in
// the same second; the simulator reproduces that instead of hiding it behind
// nanosecond stamps.
func auditTime(t time.Time) time.Time { return t.Truncate(time.Second) }

// EditUser changes a user as an administrator does in Setup: the same validation
// and the same stamps as an API update (LastModifiedDate and SystemModstamp move,
// LastModifiedById is the integration user, the administrator every simulated org has), without spending the API allowance or meeting
// injected faults. fields holds values as a JSON body would (strings, booleans,
// null); IsActive false deactivates, true reactivates. Tests use it to model
// drift made in Salesforce between syncd's cycles.
func (s *Server) EditUser(idOrUsername string, fields map[string]any) error {
	return s.edit(idOrUsername, fields, time.Time{})
}

// EditUserStartedAt is EditUser in a transaction that started at started and
// commits now: the change becomes visible now but carries started's stamps, older
// than writes already visible. Salesforce stamps a write when its transaction
// starts (getUpdated's latestDateCovered exists for this), so a reader that resumes
// from the newest SystemModstamp it saw misses such a write unless it reads back an
// overlap.
func (s *Server) EditUserStartedAt(idOrUsername string, fields map[string]any, started time.Time) error {
	return s.edit(idOrUsername, fields, started)
}

// edit applies an administrator's edit stamped at, or now when at is zero.
func (s *Server) edit(idOrUsername string, fields map[string]any, at time.Time) error {
	raw := make(map[string]json.RawMessage, len(fields))
	for k, v := range fields {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("edit user %s: field %s: %w", idOrUsername, k, err)
		}
		raw[k] = b
	}
	values, errs := decodeFields(s.schema.user, raw, func(string) bool { return false })
	if errs != nil {
		return fmt.Errorf("edit user %s: %w", idOrUsername, errors.Join(asErrors(errs)...))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.findUser(idOrUsername)
	if !ok {
		return fmt.Errorf("edit user: no user %q", idOrUsername)
	}
	if at.IsZero() {
		at = s.now()
	}
	if _, errs := s.org.updateUser(r, values, writeContext{actor: s.org.integrationUser, now: at}); errs != nil {
		return fmt.Errorf("edit user %s: %w", idOrUsername, errors.Join(asErrors(errs)...))
	}
	return nil
}

// TouchUser models a system-driven update of a user (a password reset, one of
// Salesforce's internal processes): SystemModstamp moves, LastModifiedDate does
// not, so LastModifiedDate <= SystemModstamp keeps holding. A reader that looks for
// changes by LastModifiedDate misses such writes; one that uses SystemModstamp, as
// Salesforce advises for delta loads, sees them.
func (s *Server) TouchUser(idOrUsername string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.findUser(idOrUsername)
	if !ok {
		return fmt.Errorf("touch user: no user %q", idOrUsername)
	}
	next := append([]any(nil), r.vals...)
	next[s.org.uf.modstamp] = auditTime(s.now())
	r.vals = next
	return nil
}

// AdvanceClock moves the org's clock forward by d for good, as time passing would:
// end-to-end tests of the sfsim binary use it to let minutes pass between cycles
// (a delta read's overlap, a session's expiry) without waiting for them.
func (s *Server) AdvanceClock(d time.Duration) {
	if d > 0 {
		s.ahead.Add(int64(d))
	}
}

// asErrors turns API errors into errors for errors.Join.
func asErrors(errs []apiError) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

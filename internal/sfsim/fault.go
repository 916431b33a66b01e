package sfsim

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Fault is what an injected failure does to a request. Exactly one of its forms is
// used: a Salesforce error (ErrorCode set), a raw body (Body or Status without
// ErrorCode), a connection dropped before the request is handled (Drop) or after it
// was handled, its answer lost (DropAfter), or only a delay (Latency, after which the
// request proceeds normally unless another form is set).
type Fault struct {
	Status      int           `json:"status,omitempty"`
	ErrorCode   string        `json:"errorCode,omitempty"`
	Message     string        `json:"message,omitempty"`
	Body        string        `json:"body,omitempty"`
	ContentType string        `json:"contentType,omitempty"`
	Drop        bool          `json:"drop,omitempty"`
	DropAfter   bool          `json:"dropAfter,omitempty"`
	Latency     time.Duration `json:"latency,omitempty"`
}

// ErrorFault answers with a Salesforce error array of one entry.
func ErrorFault(status int, errorCode, message string) Fault {
	return Fault{Status: status, ErrorCode: errorCode, Message: message}
}

// LockRowFault is a row-lock timeout, which clients retry.
func LockRowFault() Fault {
	return ErrorFault(http.StatusInternalServerError, "UNABLE_TO_LOCK_ROW",
		"unable to obtain exclusive access to this record or 1 records: 005000000000000AAA")
}

// UnavailableFault is Salesforce down for maintenance or overloaded.
func UnavailableFault() Fault {
	return ErrorFault(http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later.")
}

// SessionFault is a token revoked or expired in a way the client could not foresee.
func SessionFault() Fault {
	return ErrorFault(http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
}

// RawFault answers with a body that is not Salesforce's, such as a proxy's HTML page
// or an empty error array.
func RawFault(status int, contentType, body string) Fault {
	return Fault{Status: status, ContentType: contentType, Body: body}
}

// DropFault closes the connection without an answer, before handling the request.
func DropFault() Fault { return Fault{Drop: true} }

// LostAnswerFault handles the request (a write takes effect) and then closes the
// connection without the answer, as a network failure after the fact would.
func LostAnswerFault() Fault { return Fault{DropAfter: true} }

// LatencyFault delays the request, which then proceeds.
func LatencyFault(d time.Duration) Fault { return Fault{Latency: d} }

// FaultRule injects a fault into matching requests: after Skip matching requests
// pass, the next Count (at least 1) get Fault. Empty matchers match everything.
type FaultRule struct {
	// Endpoint names the kind of request: token, userinfo, identity, versions, resources,
	// limits, describeGlobal, describe, updated, query, queryMore, sobject.create,
	// sobject.get, sobject.getByExternalId, sobject.update, sobject.delete,
	// sobject.upsert, collections.create, collections.update, collections.upsert,
	// collections.retrieve, collections.delete, jobs.query.create, jobs.query.list,
	// jobs.query.get, jobs.query.abort, jobs.query.delete, jobs.query.results,
	// jobs.query.resultPages, unknown.
	Endpoint   string `json:"endpoint,omitempty"`
	Method     string `json:"method,omitempty"`
	PathPrefix string `json:"pathPrefix,omitempty"`
	Skip       int    `json:"skip,omitempty"`
	Count      int    `json:"count,omitempty"`
	Fault      Fault  `json:"fault"`
}

func (f *FaultRule) matches(r *http.Request, endpoint string) bool {
	return (f.Endpoint == "" || f.Endpoint == endpoint) &&
		(f.Method == "" || strings.EqualFold(f.Method, r.Method)) &&
		strings.HasPrefix(r.URL.Path, f.PathPrefix)
}

// InjectFault queues a fault rule. Rules are tried in the order they were added.
func (s *Server) InjectFault(rule FaultRule) {
	if rule.Count < 1 {
		rule.Count = 1
	}
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.faults = append(s.faults, &rule)
}

// ClearFaults drops every queued fault rule.
func (s *Server) ClearFaults() {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.faults = nil
}

// count adds one to an endpoint's call counter.
func (s *Server) count(endpoint string) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.counters[endpoint]++
}

// pickFault consumes the fault a request gets, if any: the first queued rule that
// matches, else a random draw for REST requests.
func (s *Server) pickFault(r *http.Request, endpoint string, rest bool) (Fault, bool) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	for i, f := range s.faults {
		if !f.matches(r, endpoint) {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			continue
		}
		f.Count--
		if f.Count == 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return f.Fault, true
	}
	if rest && s.opts.FaultRate > 0 && len(s.opts.RandomFaults) > 0 && s.rng.Float64() < s.opts.FaultRate {
		return s.opts.RandomFaults[s.rng.IntN(len(s.opts.RandomFaults))], true
	}
	return Fault{}, false
}

// intercept counts a request, applies the configured latency and any fault. It
// returns true when the request was answered (or dropped) here; otherwise the writer
// to answer through, which swallows the answer of a DropAfter fault.
func (s *Server) intercept(w http.ResponseWriter, r *http.Request, endpoint string, rest bool) (http.ResponseWriter, bool) {
	s.count(endpoint)
	if !sleep(r.Context(), s.opts.Latency) {
		return w, true
	}
	f, ok := s.pickFault(r, endpoint, rest)
	if !ok {
		return w, false
	}
	if !sleep(r.Context(), f.Latency) {
		return w, true
	}
	switch {
	case f.Drop:
		// net/http closes the connection without an answer on this panic.
		panic(http.ErrAbortHandler)
	case f.DropAfter:
		return &lostAnswer{header: http.Header{}}, false
	case f.ErrorCode != "":
		s.writeErrors(w, "", apiError{Status: f.Status, Code: f.ErrorCode, Message: f.Message})
		return w, true
	case f.Status != 0 || f.Body != "":
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if f.ContentType != "" {
			w.Header().Set("Content-Type", f.ContentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
		return w, true
	}
	return w, false
}

// lostAnswer swallows the answer to a request that a DropAfter fault processes but
// never answers.
type lostAnswer struct{ header http.Header }

func (l *lostAnswer) Header() http.Header         { return l.header }
func (l *lostAnswer) Write(p []byte) (int, error) { return len(p), nil }
func (l *lostAnswer) WriteHeader(int)             {}

// sleep waits for d unless the request is cancelled first; it reports whether the
// whole delay passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Class says what a caller may do about an error. Every error this package returns is
// classified by exactly one function, ClassOf, so that retry loops, the reconcile layer
// and metrics all agree on what an error means.
type Class int

const (
	// ClassNone is the class of a nil error.
	ClassNone Class = iota
	// ClassRetryable errors are transient (row locks, maintenance, 5xx, a connection
	// that failed, the token endpoint down or answering 429, query pages that did not
	// add up to their totalSize) on requests that are safe to repeat: reads, updates
	// and upserts (GET, PATCH), token requests, and creates that provably did not reach
	// Salesforce (the connection failed before the request was written, or Salesforce
	// refused it with a 4xx UNABLE_TO_LOCK_ROW). Trying again later is safe and may
	// succeed; the client itself already retried within its RetryPolicy.
	ClassRetryable
	// ClassRateLimited errors mean the org's API allowance is spent
	// (REQUEST_LIMIT_EXCEEDED, HTTP 429), this client refused to spend the configured
	// reserve (*ReserveError), or the configured Limiter would not let the request go
	// before the context's deadline (*LimiterError). Nothing was applied. Retrying soon
	// only makes it worse; wait for the window or the limiter to refill.
	ClassRateLimited
	// ClassAuth errors mean syncd cannot authenticate: the token endpoint refused us, or
	// the session was still invalid after the one renewal. An operator must act.
	ClassAuth
	// ClassPermanent errors will fail the same way again: bad data, unknown records,
	// malformed queries, several upsert matches, a mistake in the setup (*ConfigError,
	// such as a plain http login or instance URL), a cancelled context.
	ClassPermanent
	// ClassOutcomeUnknown errors belong to non-idempotent writes (creates: POST) that
	// may have been applied: the connection failed after the request was sent, the
	// answer could not be read, or Salesforce (or a proxy before it) answered with any
	// 5xx status, UNABLE_TO_LOCK_ROW and SERVER_UNAVAILABLE included. The client never
	// resends them. Retrying blindly could create a record twice; re-read the org (by
	// FederationIdentifier or Username) and create only what is missing.
	ClassOutcomeUnknown
)

// String returns the class as a lower-case word fit for a metric label.
func (c Class) String() string {
	switch c {
	case ClassNone:
		return "ok"
	case ClassRetryable:
		return "retryable"
	case ClassRateLimited:
		return "rate_limited"
	case ClassAuth:
		return "auth"
	case ClassPermanent:
		return "permanent"
	case ClassOutcomeUnknown:
		return "outcome_unknown"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Salesforce error codes this package gives a meaning to. Others are kept verbatim in
// errors and classified as permanent.
const (
	CodeInvalidSessionID     = "INVALID_SESSION_ID"
	CodeRequestLimitExceeded = "REQUEST_LIMIT_EXCEEDED"
	CodeUnableToLockRow      = "UNABLE_TO_LOCK_ROW"
	CodeServerUnavailable    = "SERVER_UNAVAILABLE"
)

// ClassOf classifies err, looking through wrapping. It is the only place where errors
// are given a meaning; see Class for what each class allows.
func ClassOf(err error) Class {
	if err == nil {
		return ClassNone
	}
	var (
		limiter  *LimiterError
		apiErr   *APIError
		recErr   *RecordError
		oauthErr *OAuthError
		transErr *TransportError
		reserve  *ReserveError
		multiple *MultipleChoicesError
		batchErr *BatchError
		count    *QueryCountError
	)
	switch {
	case errors.As(err, &batchErr):
		return ClassOf(batchErr.Err)
	case errors.As(err, &reserve), errors.As(err, &limiter):
		return ClassRateLimited
	case errors.As(err, &oauthErr):
		if oauthErr.StatusCode >= 500 || oauthErr.StatusCode == http.StatusTooManyRequests {
			return ClassRetryable
		}
		return ClassAuth
	case errors.As(err, &transErr):
		if transErr.Written && !transErr.Idempotent {
			return ClassOutcomeUnknown
		}
		return ClassRetryable
	case errors.As(err, &multiple):
		return ClassPermanent
	case errors.As(err, &count):
		return ClassRetryable
	case errors.As(err, &recErr):
		if c := classOfCode(recErr.StatusCode); c != ClassNone {
			return c
		}
		return ClassPermanent
	case errors.As(err, &apiErr):
		return apiErr.class()
	}
	// Everything else (a *ConfigError, a body that does not decode, a cancelled
	// context) fails the same way when tried again.
	return ClassPermanent
}

// classOfCode gives the meaning of one Salesforce error code, or ClassNone when the
// code alone says nothing (the HTTP status then decides).
func classOfCode(code string) Class {
	switch code {
	case CodeUnableToLockRow, CodeServerUnavailable:
		return ClassRetryable
	case CodeRequestLimitExceeded:
		return ClassRateLimited
	case CodeInvalidSessionID:
		return ClassAuth
	case "":
		return ClassNone
	}
	return ClassPermanent
}

// ErrorDetail is one entry of a Salesforce REST error array. REST calls name the code
// errorCode; sObject Collections results name it statusCode. Both land in Code.
type ErrorDetail struct {
	Code    string
	Message string
	Fields  []string
}

// wireErrorDetail is the JSON shape of one REST error; it exists so that both names of
// the code decode.
type wireErrorDetail struct {
	ErrorCode  string   `json:"errorCode"`
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func (w wireErrorDetail) detail() ErrorDetail {
	code := w.ErrorCode
	if code == "" {
		code = w.StatusCode
	}
	return ErrorDetail{Code: code, Message: w.Message, Fields: w.Fields}
}

// maxRawBody bounds how much of a body that is not a Salesforce error array an APIError
// keeps: enough to recognise a proxy's HTML page, not a whole download.
const maxRawBody = 2048

// APIError is an answer from Salesforce's REST API that is not a success. It keeps the
// HTTP status and every error of the body; when the body is not a JSON error array (a
// proxy's HTML page, an empty body) Details is nil and RawBody holds the trimmed body.
//
// Error() is fit for logs: it prints each code and fields with Salesforce's message
// redacted (see RecordError). The full messages are in Details[i].Message and RawBody
// for a caller that handles personal data deliberately.
type APIError struct {
	Method string
	// Path is the request path without the query string (it may carry data); an
	// upsert's external id value, which is personal data, reads "{value}".
	Path       string
	StatusCode int
	Details    []ErrorDetail
	RawBody    string
}

// newAPIError builds the error for a failed answer, parsing body as a Salesforce error
// array and falling back to the raw body.
func newAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, StatusCode: status}
	var arr []wireErrorDetail
	var one wireErrorDetail
	switch {
	case json.Unmarshal(body, &arr) == nil && arr != nil:
		e.Details = make([]ErrorDetail, 0, len(arr))
		for _, w := range arr {
			e.Details = append(e.Details, w.detail())
		}
	case json.Unmarshal(body, &one) == nil && (one.ErrorCode != "" || one.StatusCode != ""):
		e.Details = []ErrorDetail{one.detail()}
	}
	if len(e.Details) == 0 {
		e.Details = nil
		e.RawBody = trimBody(body)
	}
	return e
}

// trimBody shortens a body for an error message, keeping it valid UTF-8.
func trimBody(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) <= maxRawBody {
		return strings.ToValidUTF8(s, "?")
	}
	return strings.ToValidUTF8(s[:maxRawBody], "?") + "…"
}

// Error describes the failed request and every error Salesforce gave.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "salesforce: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if len(e.Details) == 0 {
		if e.RawBody == "" {
			b.WriteString(" (empty body)")
		} else {
			fmt.Fprintf(&b, ": %q", redactRaw(e.RawBody))
		}
		return b.String()
	}
	for i, d := range e.Details {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		writeDetail(&b, d.Code, d.Message, d.Fields)
	}
	return b.String()
}

// writeDetail writes one Salesforce error as "CODE redacted message (fields A, B)".
func writeDetail(b *strings.Builder, code, message string, fields []string) {
	b.WriteString(code)
	if message != "" {
		if code != "" {
			b.WriteString(": ")
		}
		b.WriteString(redact(message))
	}
	if len(fields) > 0 {
		fmt.Fprintf(b, " (fields %s)", strings.Join(fields, ", "))
	}
}

// Salesforce messages echo the values they refuse: "Email: invalid email address:
// jo@x", "Alias: data value too large: jonathans (max length=8)", a duplicate
// username, a SOQL literal in a parse error. redact replaces such values with
// "<redacted>" so that an error string never carries personal data.
var (
	redactEmail   = regexp.MustCompile(`[^\s@<>()\[\]{}"',;:]+@[^\s@<>()\[\]{}"',;:]+`)
	redactQuoted  = regexp.MustCompile(`'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"`)
	redactEchoed  = regexp.MustCompile(`(?i)(invalid email address:|data value too large:|bad value for [^:]*:|invalid [a-z ]*value[^:]*:)\s*(.*?)(\s*\(max length=\d+\))?$`)
	redactBearer  = regexp.MustCompile(`(?i)(bearer|oauth)\s+\S+`)
	redactURLData = regexp.MustCompile(`\?\S+`)
)

// redacted replaces a value in a message.
const redacted = "<redacted>"

// redact removes values from a message that Salesforce (or a proxy, or a transport
// library) may have echoed: email addresses, quoted literals, the value after the
// known "invalid ...:" phrases, bearer tokens and URL query strings.
func redact(msg string) string {
	msg = redactEchoed.ReplaceAllString(msg, "${1} "+redacted+"${3}")
	msg = redactBearer.ReplaceAllString(msg, "${1} "+redacted)
	msg = redactURLData.ReplaceAllString(msg, "?"+redacted)
	msg = redactQuoted.ReplaceAllString(msg, "'"+redacted+"'")
	return redactEmail.ReplaceAllString(msg, redacted)
}

// maxRawInError bounds how much of a non-Salesforce body (an HTML page) an error
// string shows; RawBody keeps more.
const maxRawInError = 200

// redactRaw shortens and redacts a raw body for an error string.
func redactRaw(body string) string {
	if len(body) > maxRawInError {
		body = strings.ToValidUTF8(body[:maxRawInError], "") + "…"
	}
	return redact(body)
}

// HasCode reports whether any of the error's details carries code.
func (e *APIError) HasCode(code string) bool {
	for _, d := range e.Details {
		if d.Code == code {
			return true
		}
	}
	return false
}

// class decides from the codes first and the status second, except that any 5xx
// answer to a non-idempotent request (a create) is outcome-unknown: a gateway's 502,
// an HTML 500, even Salesforce's own 500 UNABLE_TO_LOCK_ROW or 503 SERVER_UNAVAILABLE
// may come after the records were written, and a resend would create them twice.
func (e *APIError) class() Class {
	if e.StatusCode >= 500 && !idempotent(e.Method) {
		return ClassOutcomeUnknown
	}
	worst := ClassNone
	for _, d := range e.Details {
		c := classOfCode(d.Code)
		// A rate limit or auth failure dominates; a retryable code only counts when
		// nothing permanent accompanies it.
		switch {
		case c == ClassRateLimited || c == ClassAuth:
			return c
		case c == ClassPermanent:
			worst = ClassPermanent
		case c == ClassRetryable && worst == ClassNone:
			worst = ClassRetryable
		}
	}
	if worst != ClassNone {
		return worst
	}
	switch {
	case e.StatusCode == http.StatusTooManyRequests:
		return ClassRateLimited
	case e.StatusCode == http.StatusUnauthorized:
		return ClassAuth
	case e.StatusCode == http.StatusServiceUnavailable:
		return ClassRetryable
	case e.StatusCode >= 500:
		return ClassRetryable
	}
	return ClassPermanent
}

// MultipleChoicesError is a 300 answer: an upsert (or a lookup by an idLookup field)
// matched several records, and nothing was written.
type MultipleChoicesError struct {
	Method string
	Path   string
	URLs   []string // the matching records' URLs, when the body listed them
	// RawBody holds the trimmed body when it was not a list of URLs.
	RawBody string
}

// Error lists the matching records.
func (e *MultipleChoicesError) Error() string {
	if len(e.URLs) == 0 {
		return fmt.Sprintf("salesforce: %s %s: 300 Multiple Choices: %q", e.Method, e.Path, redactRaw(e.RawBody))
	}
	return fmt.Sprintf("salesforce: %s %s: 300 Multiple Choices: %d records match: %s",
		e.Method, e.Path, len(e.URLs), strings.Join(e.URLs, ", "))
}

func newMultipleChoicesError(method, path string, body []byte) *MultipleChoicesError {
	e := &MultipleChoicesError{Method: method, Path: path}
	if json.Unmarshal(body, &e.URLs) != nil || len(e.URLs) == 0 {
		e.URLs = nil
		e.RawBody = trimBody(body)
	}
	return e
}

// TransportError is a request that got no complete answer: the connection failed, was
// reset or timed out. Written says whether the request had been fully sent, which
// decides whether a non-idempotent write may have been applied. Err is the cause
// without net/http's *url.Error (whose URL may carry the query's data or a token)
// and, when its message echoed a credential or data, a redacted stand-in.
type TransportError struct {
	Method     string
	Path       string
	Written    bool
	Idempotent bool
	Err        error
}

// Error names the request and the cause.
func (e *TransportError) Error() string {
	return fmt.Sprintf("salesforce: %s %s: %v", e.Method, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// ReserveError is a request this client refused to send because the org's remaining
// API allowance, as last reported in Sforce-Limit-Info, less the calls in flight, has no
// call left above the configured reserve kept for other integrations.
type ReserveError struct {
	Used, Max int64
	Reserve   float64
}

// Error says how much is left and how much is reserved.
func (e *ReserveError) Error() string {
	return fmt.Sprintf("salesforce: request not sent: org API usage %d/%d leaves no call above the reserved %.0f%%",
		e.Used, e.Max, e.Reserve*100)
}

// LimiterError is a request this client did not send because the configured Limiter
// refused to wait for it, typically because its pace would not let the request go
// before the context's deadline (golang.org/x/time/rate's "would exceed context
// deadline"). syncd's own budget is spent for now; the org was not asked.
type LimiterError struct {
	Err error // the Limiter's refusal
}

// Error says that the request waited for syncd's share of the API budget in vain.
func (e *LimiterError) Error() string {
	return fmt.Sprintf("salesforce: request not sent: the API budget limiter refused it: %v", e.Err)
}

// Unwrap returns the Limiter's refusal.
func (e *LimiterError) Unwrap() error { return e.Err }

// RecordError is one failed record of an sObject Collections call, or of a single
// record write that answered 2xx with success false.
//
// Salesforce's messages echo the values they refuse (DUPLICATE_USERNAME the username,
// INVALID_EMAIL_ADDRESS the address, STRING_TOO_LONG the value), so Error() prints the
// code, the message with such values replaced by "<redacted>", and the fields; it is
// safe to log. Message keeps Salesforce's full text: read it from the field (errors.As
// to *RecordError, or RecordResult.Errors) where personal data may be shown.
type RecordError struct {
	StatusCode string
	Message    string
	Fields     []string
}

// Error returns the code, the redacted message and the fields.
func (e *RecordError) Error() string {
	var b strings.Builder
	writeDetail(&b, e.StatusCode, e.Message, e.Fields)
	return b.String()
}

// QueryCountError is a query whose pages did not add up to the totalSize Salesforce
// reported for it: a page reported another total, or the records delivered (Records,
// up to and including page Page) exceed TotalSize or, at the last page, fall short of
// it. The read is not the whole answer; reading again may succeed (ClassOf says
// retryable), but nothing may be concluded from what was read, such as that a user
// missing from it is gone.
type QueryCountError struct {
	TotalSize     int // the total the first page reported
	Records       int // records delivered up to and including Page
	Page          int // the page, counted from 1, where the count went wrong
	PageTotalSize int // the total that Page reported
}

// Error says how the count went wrong.
func (e *QueryCountError) Error() string {
	if e.PageTotalSize != e.TotalSize {
		return fmt.Sprintf("salesforce: query page %d reports totalSize %d, the first page %d", e.Page, e.PageTotalSize, e.TotalSize)
	}
	return fmt.Sprintf("salesforce: query delivered %d records by page %d, but its totalSize is %d", e.Records, e.Page, e.TotalSize)
}

// BatchError is a multi-call operation (Collections in chunks) that stopped at a call
// that failed as a whole. Offset is the index of the first input record whose result is
// unknown; results for the records before it were returned.
type BatchError struct {
	Offset int
	Err    error
}

// Error names the first record of the failed call.
func (e *BatchError) Error() string {
	return fmt.Sprintf("salesforce: batch starting at record %d: %v", e.Offset, e.Err)
}

// Unwrap returns the failed call's error.
func (e *BatchError) Unwrap() error { return e.Err }

// ConfigError is a mistake in how the client or a call was set up, caught before
// anything is sent.
type ConfigError struct {
	Field  string
	Reason string
}

// Error names the setting and the problem.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("salesforce: %s: %s", e.Field, e.Reason)
}

// safeCause returns a transport failure's cause fit to keep: net/http's *url.Error
// layers are removed (their URL carries the query's values, and could carry a
// token), and a cause whose message still shows a bearer token, a query string, a
// quoted value or an address is replaced by a stand-in with the redacted message that
// still answers errors.Is for context errors and Timeout for timeouts.
func safeCause(err error) error {
	for {
		var urlErr *url.Error
		if !errors.As(err, &urlErr) || urlErr.Err == nil {
			break
		}
		err = urlErr.Err
	}
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := redact(msg); clean != msg {
		var t interface{ Timeout() bool }
		return &strippedError{msg: clean, timeout: errors.As(err, &t) && t.Timeout(),
			canceled: errors.Is(err, context.Canceled), deadline: errors.Is(err, context.DeadlineExceeded)}
	}
	return err
}

// strippedError stands in for a cause whose message had to be redacted.
type strippedError struct {
	msg                         string
	timeout, canceled, deadline bool
}

func (e *strippedError) Error() string { return e.msg }

// Timeout reports whether the original cause was a timeout.
func (e *strippedError) Timeout() bool { return e.timeout }

// Is keeps errors.Is working for the context errors the original cause wrapped.
func (e *strippedError) Is(target error) bool {
	return (e.canceled && target == context.Canceled) || (e.deadline && target == context.DeadlineExceeded)
}

// idempotent reports whether sending a request twice has the effect of sending it once.
// PATCH is an update or an upsert by external id, both of which converge; POST creates.
func idempotent(method string) bool {
	return method != http.MethodPost
}

package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxSCIMPageBytes bounds one page's body; a larger page is treated as an error rather
// than read into memory without limit.
const maxSCIMPageBytes = 64 << 20

// SCIMSource lists users from a SCIM 2.0 service provider (RFC 7644 §3.4.2), page by
// page. A pull is complete only when the rule of idp-apis.md holds: pages are fetched
// until the collected count reaches the first page's totalResults (index paging) or
// nextCursor is absent (cursor paging, RFC 9865); every page is a 2xx that parses; every
// page's totalResults equals the first; every index page echoes the startIndex asked
// for; no id repeats and no page repeats the previous one; no page comes back empty
// before the total is reached (or, with cursors, while a nextCursor is still given). An
// empty list (totalResults 0, or no users at all) is refused as incomplete: a directory
// does not lose every person between two pulls, a broken filter or permission does.
// Every page must bring new users, so a pull ends after at most totalResults pages
// whatever the server does (cursor paging: at the caller's deadline or source.max_bytes).
//
// totalResults itself is not trusted: servers have been seen to report the page size
// as the total. So once the count is reached, index paging asks for one more page, at
// startIndex totalResults+1 (the "end check"). A truthful server answers it with no
// users; SCIMMY answers a startIndex past the end with the first page again, so users
// already listed are accepted too; any user not seen before means the total
// understates the list, and the pull is incomplete. The end check's startIndex echo is
// not required, for the same reason. What remains undetectable: a server that
// truncates silently and consistently (the same short total on every page, nothing
// after it), and changes to the directory while the pages are read (paging is
// stateless); the shrink gate of the reconcile engine is the backstop for both.
type SCIMSource struct {
	base     string
	filter   string
	pageSize int
	cursor   bool
	maxBytes int64 // source.max_bytes, over all pages of one pull
	client   *http.Client
	auth     authenticator
	redact   redactor // the URL's query values; the credential is added per request
	timeout  time.Duration
	clock    func() time.Time
	// fullEvery is source.scim.full_every: the longest time between full lists.
	fullEvery time.Duration

	mu    sync.Mutex // one pull at a time: the state follows the pulls
	state scimState
}

// Format shows the source as its kind and base URL, whatever the verb, for the reason
// given at HTTPSource.Format.
func (s *SCIMSource) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "scim source %s", withoutQuery(s.base))
}

// listResponse is one page. encoding/json matches field names case-insensitively, as
// SCIM requires.
type listResponse struct {
	Schemas      []string         `json:"schemas"`
	TotalResults *int             `json:"totalResults"`
	StartIndex   *int             `json:"startIndex"`
	NextCursor   *string          `json:"nextCursor"`
	Resources    []map[string]any `json:"Resources"`
}

// listed is what one list of users gave: the records and problems, and the newest
// meta.lastModified among them (zero when one of them had none).
type listed struct {
	pullResult
	newest time.Time
	// stamps are the records' meta.lastModified, in order (zero when absent).
	stamps []time.Time
}

// list reads every user the filter selects, with the completeness rule of
// SCIMSource; an empty list is refused unless allowEmpty (a filter for changes may
// select no one).
func (s *SCIMSource) list(ctx context.Context, filter string, allowEmpty bool) listed {
	var (
		l        listed
		p        = &l.pullResult
		ids      = idSet{}
		total    = -1 // from the first page; -1 when not (yet) known
		start    = 1
		cursor   string
		cursors  = map[string]bool{}
		previous []string
		read     int64 // bytes of all pages so far, against maxBytes
		probe    bool  // this request checks that nothing follows totalResults
	)
	for page := 1; ; page++ {
		where := fmt.Sprintf("page %d (startIndex %d)", page, start)
		switch {
		case s.cursor:
			where = fmt.Sprintf("page %d", page)
		case probe:
			where = fmt.Sprintf("end check (startIndex %d)", start)
		}
		lr, n, err := s.fetch(ctx, s.pageURL(filter, start, cursor, page == 1), s.maxBytes-read)
		read += n
		if err != nil {
			p.fail(err, fmt.Sprintf("%s: %v", where, err))
			break
		}
		if lr.Schemas != nil && !hasSchema(lr.Schemas, scimListResponse) {
			p.fail(nil, where+": schemas does not name "+scimListResponse)
			break
		}
		// totalResults: required with index paging, optional with cursors, and never
		// allowed to change between pages.
		switch {
		case page == 1 && lr.TotalResults != nil:
			total = *lr.TotalResults
		case page == 1 && !s.cursor:
			p.fail(nil, where+": no totalResults")
		case lr.TotalResults != nil && *lr.TotalResults != total:
			p.fail(nil, fmt.Sprintf("%s: totalResults changed from %d to %d", where, total, *lr.TotalResults))
		case lr.TotalResults == nil && total >= 0:
			p.fail(nil, where+": totalResults missing on a later page")
		}
		if !s.cursor && !probe && lr.StartIndex != nil && *lr.StartIndex != start {
			p.fail(nil, fmt.Sprintf("%s: server answered startIndex %d", where, *lr.StartIndex))
		}
		if len(p.reasons) > 0 {
			break
		}
		if probe {
			checkEnd(lr, ids, where, total, p)
			break
		}
		pageIDs := make([]string, 0, len(lr.Resources))
		for i, res := range lr.Resources {
			rec, err := scimUser(res)
			if err != nil {
				p.fail(nil, fmt.Sprintf("%s: resource %d: %v", where, i+1, err))
				break
			}
			pageIDs = append(pageIDs, rec.ID)
			if !ids.add(rec.ID) {
				if previous != nil && slices.Equal(lr.resourceIDs(), previous) {
					p.fail(nil, fmt.Sprintf("%s repeats the previous page", where))
				} else {
					p.fail(nil, fmt.Sprintf("%s: id %s was already listed", where, quote(rec.ID)))
				}
				break
			}
			p.records = append(p.records, rec)
			l.stamps = append(l.stamps, lastModified(res))
		}
		if len(p.reasons) > 0 {
			break
		}
		previous = pageIDs
		collected := len(p.records)
		if total >= 0 && collected > total {
			p.fail(nil, fmt.Sprintf("%s: %d users received but totalResults is %d", where, collected, total))
			break
		}
		if s.cursor {
			next := ""
			if lr.NextCursor != nil {
				next = *lr.NextCursor
			}
			if next == "" {
				if total >= 0 && collected != total {
					p.fail(nil, fmt.Sprintf("%s: last page (no nextCursor) after %d of totalResults %d", where, collected, total))
				}
				break
			}
			if len(lr.Resources) == 0 {
				p.fail(nil, fmt.Sprintf("%s: empty page that is not the last (nextCursor present) after %d users", where, collected))
				break
			}
			if cursors[next] {
				p.fail(nil, fmt.Sprintf("%s: nextCursor %s repeats an earlier one", where, quote(next)))
				break
			}
			cursors[next] = true
			cursor = next
			continue
		}
		if collected == total {
			if total == 0 {
				break // refused below: an empty list is never trusted
			}
			probe = true // totalResults may understate the list: ask for what follows it
			start += len(lr.Resources)
			continue
		}
		if len(lr.Resources) == 0 {
			p.fail(nil, fmt.Sprintf("%s: empty page after %d of totalResults %d", where, collected, total))
			break
		}
		start += len(lr.Resources) // by what was received, never by the count asked for
	}
	if len(p.reasons) == 0 && len(p.records) == 0 && !allowEmpty {
		p.fail(nil, "the SCIM service lists no users")
	}
	for _, t := range l.stamps {
		if t.IsZero() {
			l.newest = time.Time{}
			break
		}
		if t.After(l.newest) {
			l.newest = t
		}
	}
	return l
}

// checkEnd checks the answer to a request for the users after totalResults: a server
// that tells the truth has none, or (as SCIMMY does for a startIndex past the end) answers
// with users already listed. A user not seen before means totalResults understates the
// list, as servers that report the page size as the total do.
func checkEnd(lr *listResponse, ids idSet, where string, total int, p *pullResult) {
	for _, id := range lr.resourceIDs() {
		if _, seen := ids[id]; !seen {
			p.fail(nil, fmt.Sprintf("%s: user %s follows the %d of totalResults: the server's total understates its list", where, quote(id), total))
			return
		}
	}
}

// resourceIDs lists the ids of a page as given (for the repeated-page check).
func (lr *listResponse) resourceIDs() []string {
	out := make([]string, len(lr.Resources))
	for i, r := range lr.Resources {
		out[i] = str(foldKeys(r), "id")
	}
	return out
}

func (s *SCIMSource) pageURL(filter string, start int, cursor string, first bool) string {
	q := url.Values{}
	q.Set("count", strconv.Itoa(s.pageSize))
	if filter != "" {
		q.Set("filter", filter)
	}
	query := q.Encode()
	switch {
	case s.cursor && first:
		query += "&cursor" // RFC 9865: a bare cursor parameter asks for the first page
	case s.cursor:
		query += "&cursor=" + url.QueryEscape(cursor)
	default:
		query += "&startIndex=" + strconv.Itoa(start)
	}
	return s.base + "/Users?" + query
}

// fetch GETs one page and parses it; a non-2xx answer becomes an error carrying the
// SCIM error's status, scimType and detail. It reads at most budget bytes (what is left
// of source.max_bytes) and maxSCIMPageBytes, and returns how many it read.
func (s *SCIMSource) fetch(ctx context.Context, u string, budget int64) (*listResponse, int64, error) {
	body, err := s.get(ctx, u, budget)
	n := int64(len(body))
	if err != nil {
		return nil, n, err
	}
	lr, err := parseSCIMPage(body)
	return lr, n, err
}

// get GETs one SCIM document and returns its body; a non-2xx answer becomes a
// *SCIMError with the body read so far. It reads at most budget bytes and
// maxSCIMPageBytes.
func (s *SCIMSource) get(ctx context.Context, u string, budget int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/scim+json, application/json;q=0.9")
	credentials, err := s.auth.apply(req)
	if err != nil {
		return nil, err
	}
	redact := s.redact.with(credentials)
	resp, err := s.client.Do(req)
	if err != nil {
		cause, _ := redact.transportError(err) // its URL has no query: the filter stays out
		return nil, cause
	}
	defer resp.Body.Close()
	limit := min(maxSCIMPageBytes, budget)
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	n := int64(len(body))
	switch {
	case err != nil:
		_, inner := redact.transportError(err)
		return body, fmt.Errorf("reading the response: %w", inner)
	case n > limit && limit == budget:
		return body, fmt.Errorf("this page and the ones before: %w", tooLarge(s.maxBytes))
	case n > limit:
		return body, fmt.Errorf("response larger than %d bytes", maxSCIMPageBytes)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		e := parseSCIMError(resp.StatusCode, body)
		e.Detail = redact.text(e.Detail)
		return body, e
	}
	return body, nil
}

// parseSCIMPage parses one ListResponse page.
func parseSCIMPage(body []byte) (*listResponse, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var lr listResponse
	if err := dec.Decode(&lr); err != nil {
		return nil, fmt.Errorf("parsing the ListResponse: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("parsing the ListResponse: unexpected data after the document")
	}
	return &lr, nil
}

// SCIMError is a non-2xx answer from a SCIM service provider (RFC 7644 §3.12).
type SCIMError struct {
	// HTTPStatus is the response's status code.
	HTTPStatus int
	// Status is the body's own status, 0 when the body gave none; it normally equals
	// HTTPStatus and is shown when it does not.
	Status int
	// ScimType is the error's scimType (invalidFilter, tooMany, invalidCursor, ...).
	ScimType string
	Detail   string
}

// Error renders the status, the scimType and the detail.
func (e *SCIMError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
	if e.Status != 0 && e.Status != e.HTTPStatus {
		fmt.Fprintf(&b, " (body status %d)", e.Status)
	}
	if e.ScimType != "" {
		fmt.Fprintf(&b, " (%s)", e.ScimType)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// parseSCIMError reads an error body; its status may be a string (as the RFC says) or a
// number (as some servers send). A body that is not a SCIM error is quoted instead.
func parseSCIMError(status int, body []byte) *SCIMError {
	var e struct {
		Schemas  []string        `json:"schemas"`
		Status   json.RawMessage `json:"status"`
		ScimType string          `json:"scimType"`
		Detail   string          `json:"detail"`
	}
	if err := json.Unmarshal(body, &e); err != nil || (e.Detail == "" && e.ScimType == "" && len(e.Status) == 0) {
		return &SCIMError{HTTPStatus: status, Detail: bodyExcerpt(bytes.NewReader(body))}
	}
	return &SCIMError{HTTPStatus: status, Status: scimStatus(e.Status), ScimType: e.ScimType, Detail: strings.TrimSpace(e.Detail)}
}

// scimStatus reads "400" or 400; 0 when it is neither.
func scimStatus(raw json.RawMessage) int {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}

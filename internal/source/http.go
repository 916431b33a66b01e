package source

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// errorBodyLimit caps how much of an error response is quoted in a reason.
const errorBodyLimit = 512

// HTTPSource downloads an export from a URL at every pull. It remembers the ETag and
// Last-Modified of the last complete download and sends If-None-Match and
// If-Modified-Since (RFC 9110 §13.1), so an unchanged export costs one small request:
// on 304 it returns the previous snapshot again, marked NotModified, without its
// records: they are not kept between pulls, and PullFresh downloads the export
// unconditionally when a caller needs them.
type HTTPSource struct {
	url     string
	format  string
	dec     decoderOptions
	client  *http.Client
	auth    authenticator
	redact  redactor // the URL's query values; the credential is added per pull
	timeout time.Duration
	clock   func() time.Time

	mu           sync.Mutex
	etag         string
	lastModified string
	last         *Snapshot // the last complete snapshot without its records, for 304 answers
}

// Pull downloads and parses the export; Config.Timeout bounds the whole download. See
// Source for the meaning of the result.
func (s *HTTPSource) Pull(ctx context.Context) (Snapshot, error) { return s.pull(ctx, true, nil) }

// PullFresh downloads and parses the export without a conditional request: it never
// answers NotModified, so the snapshot carries its records.
func (s *HTTPSource) PullFresh(ctx context.Context) (Snapshot, error) {
	return s.pull(ctx, false, nil)
}

// PullEach is Pull with the records handed to each as they are read (Streamer).
func (s *HTTPSource) PullEach(ctx context.Context, each func(records []Record, expected int)) (Snapshot, error) {
	return s.pull(ctx, true, each)
}

// pull downloads the export; with conditional set, it asks the server to answer 304
// when the export has not changed since the last complete download, and then returns
// that download's snapshot without records. With each set, the records are handed to
// it as they are read instead of returned.
func (s *HTTPSource) pull(ctx context.Context, conditional bool, each func([]Record, int)) (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := pullResult{each: each}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	where := "GET " + withoutQuery(s.url) // a query may carry a token: keep it out of reasons
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		p.fail(err, fmt.Sprintf("%s: %v", where, err))
		return p.snapshot(s.clock())
	}
	req.Header.Set("Accept", acceptFor(s.format))
	if conditional && s.last != nil && s.etag != "" {
		req.Header.Set("If-None-Match", s.etag)
	}
	if conditional && s.last != nil && s.lastModified != "" {
		req.Header.Set("If-Modified-Since", s.lastModified)
	}
	credentials, err := s.auth.apply(req)
	if err != nil {
		p.fail(err, fmt.Sprintf("%s: %v", where, err))
		return p.snapshot(s.clock())
	}
	redact := s.redact.with(credentials)
	resp, err := s.client.Do(req)
	if err != nil {
		cause, inner := redact.transportError(err)
		p.fail(cause, fmt.Sprintf("%s: %v", where, inner))
		return p.snapshot(s.clock())
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && conditional && s.last != nil:
		snap := *s.last
		snap.NotModified = true
		snap.FetchedAt = s.clock()
		return snap, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		p.fail(nil, fmt.Sprintf("%s: HTTP %d: %s", where, resp.StatusCode, redact.text(bodyExcerpt(resp.Body))))
		return p.snapshot(s.clock())
	case resp.ContentLength > s.dec.maxBytes:
		err := tooLarge(s.dec.maxBytes)
		p.fail(err, fmt.Sprintf("%s: Content-Length %d: %v", where, resp.ContentLength, err))
		return p.snapshot(s.clock())
	}
	decode(ctx, s.format, resp.Body, max(resp.ContentLength, 0), s.dec, &p)
	p.redact(redact) // a read error may quote what the server sent
	snap, err := p.snapshot(s.clock())
	if err == nil {
		last := snap.withoutRecords()
		s.last = &last
		s.etag, s.lastModified = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	}
	return snap, err
}

// Format shows the source as its kind and URL without query, whatever the verb: the
// struct holds the URL's query (which may carry a token) and the redactor's secrets,
// and fmt prints unexported fields raw, without calling secret.Secret's own Format.
func (s *HTTPSource) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "http source %s", withoutQuery(s.url))
}

func acceptFor(format string) string {
	switch format {
	case FormatCSV:
		return "text/csv"
	case FormatNDJSON:
		return "application/x-ndjson, application/json;q=0.9"
	case FormatSCIM:
		return "application/scim+json, application/json;q=0.9"
	default:
		return "application/json"
	}
}

// withoutQuery drops the query and fragment of a URL for messages.
func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// bodyExcerpt returns the start of an error body on one line, for a reason.
func bodyExcerpt(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, errorBodyLimit))
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	if s == "" {
		return "(empty body)"
	}
	return s
}

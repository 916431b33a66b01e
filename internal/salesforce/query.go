package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Page is one page of a SOQL answer.
type Page[T any] struct {
	// TotalSize is the number of records of the whole query, not of this page (0 when
	// the answer did not say).
	TotalSize int `json:"totalSize"`
	// Done is true on the last page.
	Done bool `json:"done"`
	// NextRecordsURL is the cursor to the next page, relative to the instance URL.
	NextRecordsURL string `json:"nextRecordsUrl"`
	// Records are this page's records. Salesforce may return fewer than the batch size
	// asked for; never rely on a page's length.
	Records []T `json:"records"`
	// ServerTime is the answer's Date header, Salesforce's clock in whole seconds when
	// it answered; zero when the answer had none. A reader of what changed resumes
	// from the first page's, so that a quiet org's next read starts after it.
	ServerTime time.Time `json:"-"`
}

// QueryOption tunes a query.
type QueryOption func(*queryOptions)

type queryOptions struct {
	batchSize int
}

// WithBatchSize asks for pages of n records (200 to 2000; Salesforce's default is
// 2000) through the Sforce-Query-Options header. Salesforce may return fewer.
func WithBatchSize(n int) QueryOption {
	return func(o *queryOptions) { o.batchSize = n }
}

// Query runs a SOQL statement and yields its answer page by page, following
// nextRecordsUrl from the instance URL, so only one page is held at a time. Records are
// decoded into T (a struct with json tags such as User, or map[string]any). Iteration
// stops at the first error, which is yielded with a nil page.
//
// The records are counted against totalSize, which a Salesforce query cursor fixes
// when the query runs (rows written while the pages are read do not change it): a
// page that reports another total, more records than the total, or a last page that
// leaves the count short yields a *QueryCountError instead of that page, so a caller
// never takes a short read for the whole org. COUNT() queries, whose totalSize is the
// count and whose records are empty, are not checked.
func Query[T any](ctx context.Context, c *Client, soql string, opts ...QueryOption) iter.Seq2[*Page[T], error] {
	return func(yield func(*Page[T], error) bool) {
		var o queryOptions
		for _, opt := range opts {
			opt(&o)
		}
		var header http.Header
		if o.batchSize != 0 {
			if o.batchSize < 200 || o.batchSize > 2000 {
				yield(nil, &ConfigError{Field: "batch_size", Reason: fmt.Sprintf("%d is outside 200..2000", o.batchSize)})
				return
			}
			header = http.Header{"Sforce-Query-Options": {"batchSize=" + strconv.Itoa(o.batchSize)}}
		}
		path := c.dataPath("/query?q=" + url.QueryEscape(soql))
		// One body buffer serves every page, and each page's records are allocated at
		// the previous page's length, so paging a large org allocates little beyond the
		// records themselves.
		var buf bytes.Buffer
		lastLen := 0
		count := countQuery.MatchString(soql)
		tally := queryTally{total: -1}
		for {
			resp, err := c.do(ctx, &request{endpoint: "query", method: http.MethodGet, path: path, header: header, buf: &buf})
			if err != nil {
				yield(nil, err)
				return
			}
			// totalSize stays -1 when the answer leaves it out.
			page := &Page[T]{TotalSize: -1, Records: make([]T, 0, lastLen)}
			if err := json.Unmarshal(resp.body, page); err != nil {
				yield(nil, fmt.Errorf("salesforce: decoding a query page: %w", err))
				return
			}
			lastLen = len(page.Records)
			page.ServerTime, _ = http.ParseTime(resp.header.Get("Date"))
			reported := page.TotalSize >= 0
			page.TotalSize = max(page.TotalSize, 0)
			if !count {
				if err := tally.add(reported, page.TotalSize, len(page.Records), page.Done); err != nil {
					yield(nil, err)
					return
				}
			}
			next, err := nextPagePath(page, path)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(page, nil) || next == "" {
				return
			}
			path = next
		}
	}
}

// countQuery recognises SELECT COUNT() statements, answered with a totalSize and no
// records.
var countQuery = regexp.MustCompile(`(?i)^\s*SELECT\s+COUNT\s*\(\s*\)`)

// queryTally counts a query's records against the totalSize its pages report.
type queryTally struct {
	total   int // the first reported totalSize, or -1 while none was
	records int
	pages   int
}

// add counts one page and returns a *QueryCountError when the pages stop adding up.
func (q *queryTally) add(reported bool, total, records int, done bool) error {
	q.pages++
	q.records += records
	if !reported {
		return nil
	}
	if q.total < 0 {
		q.total = total
	}
	if total != q.total || q.records > q.total || (done && q.records != q.total) {
		return &QueryCountError{TotalSize: q.total, Records: q.records, Page: q.pages, PageTotalSize: total}
	}
	return nil
}

// nextPagePath checks a page's cursor and returns the path of the next page, or "" on
// the last one. The cursor is used verbatim, never rebuilt with this client's API
// version. An absolute cursor is refused rather than sent the access token elsewhere.
func nextPagePath[T any](page *Page[T], current string) (string, error) {
	if page.Done {
		return "", nil
	}
	next := page.NextRecordsURL
	switch {
	case next == "":
		return "", fmt.Errorf("salesforce: query page is not done but has no nextRecordsUrl")
	case !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//"):
		return "", fmt.Errorf("salesforce: nextRecordsUrl %s is not a path on the instance", describeURL(next))
	case next == current:
		return "", fmt.Errorf("salesforce: nextRecordsUrl %s points at the page just read", describeURL(next))
	}
	return next, nil
}

// QueryAll runs a SOQL statement and returns every record. Use it for small answers
// (profiles, roles, a chunk of users); page through large ones with Query.
func QueryAll[T any](ctx context.Context, c *Client, soql string, opts ...QueryOption) ([]T, error) {
	var all []T
	for page, err := range Query[T](ctx, c, soql, opts...) {
		if err != nil {
			return nil, err
		}
		all = append(all, page.Records...)
	}
	return all, nil
}

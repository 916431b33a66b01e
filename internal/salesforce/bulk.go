package salesforce

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// BulkOptions tune BulkQuery. The zero value is usable.
type BulkOptions struct {
	// MaxRecords asks for result sets of at most this many records (maxRecords); 0
	// leaves the size to Salesforce. Records are streamed whatever the size: it only
	// decides how many requests the results take.
	MaxRecords int
	// PollInterval is the first wait between two reads of the job's state; each wait
	// doubles it, up to PollMaxInterval. Defaults 1 s and 30 s.
	PollInterval, PollMaxInterval time.Duration
	// MaxWait bounds, on the client's clock, how long the job may take to complete;
	// past it the job is aborted and the query fails with a *BulkJobError. Default 30
	// minutes.
	MaxWait time.Duration
	// Wait pauses between two reads of the job's state and fails when ctx ends first;
	// default a timer. A test passes one that moves a simulated clock instead.
	Wait func(ctx context.Context, d time.Duration) error
}

func (o BulkOptions) withDefaults() BulkOptions {
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.PollMaxInterval <= 0 {
		o.PollMaxInterval = 30 * time.Second
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 30 * time.Minute
	}
	if o.Wait == nil {
		o.Wait = waitTimer
	}
	return o
}

// waitTimer waits for d or until ctx ends.
func waitTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("salesforce: waiting for a bulk query job: %w", context.Cause(ctx))
	}
}

// BulkRecord is one record of a Bulk API 2.0 query's results: its values in CSV as
// Salesforce wrote them, "" for null (CSV does not tell the two apart, and
// Salesforce stores no empty text).
type BulkRecord struct {
	// Columns is the header row, shared by every record of one query: field names,
	// parent fields as Relationship.Field.
	Columns []string
	Values  []string
}

// Value returns the value of a column and whether the results have that column.
func (r BulkRecord) Value(column string) (string, bool) {
	i := slices.Index(r.Columns, column)
	if i < 0 {
		return "", false
	}
	return r.Values[i], true
}

// BulkJobError is a Bulk API 2.0 query job that ended without results: Salesforce
// failed it (State "Failed", with its errorMessage), someone aborted it ("Aborted"),
// or it was still running when BulkOptions.MaxWait passed (the state it was in; this
// client then aborted it). ClassOf calls it permanent: running the same job again is
// not the remedy, reading another way is.
type BulkJobError struct {
	JobID   string
	State   string
	Message string
}

// Error names the job, its state and Salesforce's message.
func (e *BulkJobError) Error() string {
	msg := fmt.Sprintf("salesforce: bulk query job %s ended %s", e.JobID, e.State)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// bulkJob is the part of a query job's description this client reads.
type bulkJob struct {
	ID                     string `json:"id"`
	State                  string `json:"state"`
	ErrorMessage           string `json:"errorMessage"`
	NumberRecordsProcessed *int   `json:"numberRecordsProcessed"`
}

// The states of a query job that end it.
const (
	bulkComplete = "JobComplete"
	bulkFailed   = "Failed"
	bulkAborted  = "Aborted"
)

var bulkJobID = regexp.MustCompile(`^[a-zA-Z0-9]{15,18}$`)

// BulkQuery runs soql as a Bulk API 2.0 query job and yields its records one at a
// time: it creates the job, reads its state with a doubling wait until it completes,
// then streams the CSV result sets one after the other, following Sforce-Locator, so
// no more than one record is held, whatever the size of the org. Every request goes
// through the limiter, the reserve and the retries of other calls, and its
// Sforce-Limit-Info is read.
//
// Iteration stops at the first error, which is yielded with an empty record. When
// the query does not finish (an error, ctx ends, the caller stops early), the job is
// aborted if it still runs and deleted, on a best-effort basis; a job that finished
// is left to Salesforce, which deletes it after seven days. Records delivered short
// of the count Salesforce reported (per set, Sforce-NumberOfRecords; in all, the
// job's numberRecordsProcessed) yield a *QueryCountError.
func (c *Client) BulkQuery(ctx context.Context, soql string, opts BulkOptions) iter.Seq2[BulkRecord, error] {
	return func(yield func(BulkRecord, error) bool) {
		opts = opts.withDefaults()
		job, err := c.createBulkJob(ctx, soql)
		if err != nil {
			yield(BulkRecord{}, err)
			return
		}
		finished := false
		defer func() {
			if !finished {
				c.discardBulkJob(ctx, job)
			}
		}()
		if err := c.awaitBulkJob(ctx, job, opts); err != nil {
			yield(BulkRecord{}, err)
			return
		}
		delivered, complete, err := c.readBulkResults(ctx, job.ID, opts.MaxRecords, yield)
		switch {
		case err != nil:
			yield(BulkRecord{}, err)
			return
		case !complete:
			return // the caller stopped
		case job.NumberRecordsProcessed != nil && *job.NumberRecordsProcessed != delivered:
			yield(BulkRecord{}, &QueryCountError{TotalSize: *job.NumberRecordsProcessed, Records: delivered,
				PageTotalSize: *job.NumberRecordsProcessed})
			return
		}
		finished = true
	}
}

func (c *Client) bulkPath(id, rest string) string {
	return c.dataPath("/jobs/query/" + url.PathEscape(id) + rest)
}

// createBulkJob creates the query job: CSV, comma-separated, LF line endings.
func (c *Client) createBulkJob(ctx context.Context, soql string) (*bulkJob, error) {
	body, err := json.Marshal(map[string]string{
		"operation": "query", "query": soql, "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF",
	})
	if err != nil {
		return nil, fmt.Errorf("salesforce: encoding a bulk query job: %w", err)
	}
	resp, err := c.do(ctx, &request{endpoint: "jobs.query.create", method: http.MethodPost, path: c.dataPath("/jobs/query"), body: body})
	if err != nil {
		return nil, err
	}
	return decodeBulkJob(resp.body)
}

func decodeBulkJob(body []byte) (*bulkJob, error) {
	var job bulkJob
	if err := json.Unmarshal(body, &job); err != nil {
		return nil, fmt.Errorf("salesforce: decoding a bulk query job: %w", err)
	}
	if !bulkJobID.MatchString(job.ID) {
		return nil, fmt.Errorf("salesforce: bulk query job answer has no valid id (%q)", job.ID)
	}
	return &job, nil
}

// awaitBulkJob reads the job's state until it is complete, updating job. A job that
// failed or was aborted, or that outlasts opts.MaxWait, is a *BulkJobError.
func (c *Client) awaitBulkJob(ctx context.Context, job *bulkJob, opts BulkOptions) error {
	start := c.now()
	wait := opts.PollInterval
	for {
		resp, err := c.do(ctx, &request{endpoint: "jobs.query.get", method: http.MethodGet, path: c.bulkPath(job.ID, "")})
		if err != nil {
			return err
		}
		next, err := decodeBulkJob(resp.body)
		if err != nil {
			return err
		}
		*job = *next
		switch job.State {
		case bulkComplete:
			return nil
		case bulkFailed, bulkAborted:
			return &BulkJobError{JobID: job.ID, State: job.State, Message: job.ErrorMessage}
		}
		if c.now().Sub(start) >= opts.MaxWait {
			return &BulkJobError{JobID: job.ID, State: job.State, Message: fmt.Sprintf("not complete after %v", opts.MaxWait)}
		}
		if err := opts.Wait(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, opts.PollMaxInterval)
	}
}

// readBulkResults streams every result set of a complete job into yield. It returns
// how many records were delivered, and complete=false when yield asked to stop.
func (c *Client) readBulkResults(ctx context.Context, id string, maxRecords int, yield func(BulkRecord, error) bool) (delivered int, complete bool, err error) {
	var columns []string
	locator := ""
	for set := 1; ; set++ {
		q := url.Values{}
		if maxRecords > 0 {
			q.Set("maxRecords", strconv.Itoa(maxRecords))
		}
		if locator != "" {
			q.Set("locator", locator)
		}
		path := c.bulkPath(id, "/results")
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		resp, err := c.do(ctx, &request{endpoint: "jobs.query.results", method: http.MethodGet, path: path,
			header: http.Header{"Accept": {"text/csv"}}, stream: true})
		if err != nil {
			return delivered, false, err
		}
		n, more, err := readBulkSet(resp, &columns, yield)
		_ = resp.stream.Close() // read to its end or abandoned; a failed close changes nothing
		delivered += n
		if err != nil {
			return delivered, false, fmt.Errorf("salesforce: reading result set %d of bulk query job %s: %w", set, id, readError(path, err))
		}
		if !more {
			return delivered, false, nil
		}
		if want := resp.header.Get("Sforce-NumberOfRecords"); want != "" && want != strconv.Itoa(n) {
			expected, _ := strconv.Atoi(want)
			return delivered, false, &QueryCountError{TotalSize: expected, Records: n, Page: set, PageTotalSize: expected}
		}
		next := resp.header.Get("Sforce-Locator")
		switch next {
		case "null":
			return delivered, true, nil
		case "":
			return delivered, false, fmt.Errorf("salesforce: result set %d of bulk query job %s has no Sforce-Locator", set, id)
		case locator:
			return delivered, false, fmt.Errorf("salesforce: result set %d of bulk query job %s points at itself", set, id)
		}
		locator = next
	}
}

// readError classifies a failure to read a result set: CSV that does not parse is
// permanent; a body cut off is a transport failure of an idempotent GET.
func readError(path string, err error) error {
	var parse *csv.ParseError
	if errors.As(err, &parse) || errors.Is(err, errColumns) {
		return err
	}
	path, _, _ = strings.Cut(path, "?")
	return &TransportError{Method: http.MethodGet, Path: path, Written: true, Idempotent: true, Err: safeCause(err)}
}

var errColumns = errors.New("the header row differs from the first result set's")

// readBulkSet parses one CSV result set and yields its records. columns is the
// first set's header row, which every later set must repeat. more is false when
// yield asked to stop.
func readBulkSet(resp *response, columns *[]string, yield func(BulkRecord, error) bool) (n int, more bool, err error) {
	r := csv.NewReader(resp.stream)
	header, err := r.Read()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // a set always starts with its header row
		}
		return 0, false, err
	}
	if *columns == nil {
		*columns = header
	} else if !slices.Equal(*columns, header) {
		return 0, false, errColumns
	}
	for {
		values, err := r.Read()
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
		n++
		if !yield(BulkRecord{Columns: *columns, Values: values}, nil) {
			return n, false, nil
		}
	}
}

// discardBulkJob aborts a job that may still run and deletes it, ignoring failures:
// it is called on the way out of a query that went wrong, with ctx possibly over.
func (c *Client) discardBulkJob(ctx context.Context, job *bulkJob) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	if job.State != bulkComplete && job.State != bulkFailed && job.State != bulkAborted {
		_, _ = c.do(ctx, &request{endpoint: "jobs.query.abort", method: http.MethodPatch, path: c.bulkPath(job.ID, ""),
			body: []byte(`{"state":"Aborted"}`)})
	}
	_, _ = c.do(ctx, &request{endpoint: "jobs.query.delete", method: http.MethodDelete, path: c.bulkPath(job.ID, "")})
}

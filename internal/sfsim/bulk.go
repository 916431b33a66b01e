package sfsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/syncd-io/syncd/internal/sfsim/soql"
)

// Bulk API 2.0 query: the defaults and bounds the simulator applies.
const (
	// DefaultBulkQueryJobsMax is DailyBulkV2QueryJobs.Max: query jobs per rolling 24 hours.
	DefaultBulkQueryJobsMax = 10000
	// DefaultBulkMaxRecords is the page size of GET .../results without maxRecords.
	// Salesforce documents no default ("based on the service"); 50,000 is the
	// simulator's choice.
	DefaultBulkMaxRecords = 50000
	// bulkResultPagesSince is the first API version with GET .../resultPages.
	bulkResultPagesSince = 58
	// bulkResultPagesPerAnswer is how many result URLs one resultPages answer lists.
	bulkResultPagesPerAnswer = 5
	// bulkJobRetention is how long a job in a terminal state is kept.
	bulkJobRetention = 7 * 24 * time.Hour
	// bulkRenderChunk is how many rows are rendered under the org's lock at a time,
	// so a large page never holds the lock while it is written to the network.
	bulkRenderChunk = 2000
)

// The states of a query job.
const (
	jobUploadComplete = "UploadComplete"
	jobInProgress     = "InProgress"
	jobComplete       = "JobComplete"
	jobFailed         = "Failed"
	jobAborted        = "Aborted"
)

// bulkDelimiters maps columnDelimiter values to the byte they stand for.
var bulkDelimiters = map[string]byte{
	"BACKQUOTE": '`', "CARET": '^', "COMMA": ',', "PIPE": '|', "SEMICOLON": ';', "TAB": '\t',
}

// bulkLineEndings maps lineEnding values to the bytes they stand for.
var bulkLineEndings = map[string]string{"LF": "\n", "CRLF": "\r\n"}

// bulkJob is one Bulk API 2.0 query job. The Server's mutex guards it.
type bulkJob struct {
	id, operation, object, query string
	createdBy                    string
	created, modstamp, started   time.Time
	state                        string
	version                      int
	columnDelimiter, lineEnding  string
	errorMessage                 string
	fields                       []soql.FieldRef
	parsed                       *soql.Query
	// results are the selected records as they were when the job ran: copies of the
	// rows' headers, whose value slices the org replaces rather than changes.
	results []*row
}

// bulkState is the simulator's Bulk API 2.0 bookkeeping; the zero value is ready.
type bulkState struct {
	jobs    map[string]*bulkJob
	order   []string    // job Ids in creation order, for the listing
	created []time.Time // creation times of the jobs of the last 24 hours, oldest first
	// failures are the errorMessages the next jobs to run fail with (FailBulkJobs).
	failures []string
}

// FailBulkJobs makes the next query jobs that finish processing end in state Failed
// with the given errorMessages, one job each, as a query that times out in
// Salesforce does.
func (s *Server) FailBulkJobs(errorMessages ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bulk.failures = append(s.bulk.failures, errorMessages...)
}

// BulkJobStates returns the state of every query job the org holds, by Id.
func (s *Server) BulkJobStates() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.bulk.jobs))
	for id, j := range s.bulk.jobs {
		out[id] = j.state
	}
	return out
}

// routeBulkQuery routes the requests under .../jobs/query; segs is the path after it.
func (s *Server) routeBulkQuery(segs []string, method string, methods func(string, map[string]func(*call)) func(*call)) (string, func(*call)) {
	switch {
	case len(segs) == 0:
		if method == http.MethodPost {
			return "jobs.query.create", s.serveBulkCreate
		}
		return "jobs.query.list", methods("GET,POST", map[string]func(*call){"GET": s.serveBulkList})
	case len(segs) == 1:
		switch method {
		case http.MethodPatch:
			return "jobs.query.abort", s.serveBulkAbort
		case http.MethodDelete:
			return "jobs.query.delete", s.serveBulkDelete
		}
		return "jobs.query.get", methods("GET,PATCH,DELETE", map[string]func(*call){"GET": s.serveBulkGet})
	case len(segs) == 2 && segs[1] == "results":
		return "jobs.query.results", methods("GET", map[string]func(*call){"GET": s.serveBulkResults})
	case len(segs) == 2 && segs[1] == "resultPages":
		return "jobs.query.resultPages", methods("GET", map[string]func(*call){"GET": s.serveBulkResultPages})
	}
	return "unknown", func(c *call) { s.writeErrors(c.w, c.limit, notFound()) }
}

// jobInfo is a query job as the API shows it. The fields after columnDelimiter
// appear in GET answers and listings, not in the answers to create and abort.
type jobInfo struct {
	ID                     string  `json:"id"`
	Operation              string  `json:"operation"`
	Object                 string  `json:"object"`
	CreatedByID            string  `json:"createdById"`
	CreatedDate            string  `json:"createdDate"`
	SystemModstamp         string  `json:"systemModstamp"`
	State                  string  `json:"state"`
	ConcurrencyMode        string  `json:"concurrencyMode"`
	ContentType            string  `json:"contentType"`
	APIVersion             float64 `json:"apiVersion"`
	JobType                string  `json:"jobType,omitempty"`
	LineEnding             string  `json:"lineEnding"`
	ColumnDelimiter        string  `json:"columnDelimiter"`
	NumberRecordsProcessed *int    `json:"numberRecordsProcessed,omitempty"`
	Retries                *int    `json:"retries,omitempty"`
	TotalProcessingTime    *int64  `json:"totalProcessingTime,omitempty"`
	IsPkChunkingSupported  *bool   `json:"isPkChunkingSupported,omitempty"`
	ErrorMessage           string  `json:"errorMessage,omitempty"`
}

// info renders a job; detailed adds the processing figures of GET answers.
func (j *bulkJob) info(detailed bool) jobInfo {
	out := jobInfo{
		ID: j.id, Operation: j.operation, Object: j.object, CreatedByID: j.createdBy,
		CreatedDate:    j.created.Format(dateTimeLayout),
		SystemModstamp: j.modstamp.Format(dateTimeLayout),
		State:          j.state, ConcurrencyMode: "Parallel", ContentType: "CSV",
		APIVersion: float64(j.version), LineEnding: j.lineEnding, ColumnDelimiter: j.columnDelimiter,
	}
	if !detailed {
		return out
	}
	processed, retries, took := len(j.results), 0, int64(0)
	if !j.started.IsZero() && j.state != jobInProgress {
		took = j.modstamp.Sub(j.started).Milliseconds()
	}
	chunking := true
	out.JobType = "V2Query"
	out.NumberRecordsProcessed, out.Retries, out.TotalProcessingTime = &processed, &retries, &took
	out.IsPkChunkingSupported = &chunking
	out.ErrorMessage = j.errorMessage
	return out
}

// readJSON reads a request body into v, answering 400 (or 413) when it cannot.
func (s *Server) readJSON(c *call, v any) bool {
	body, e := readBody(c.w, c.r, s.opts.MaxBodyBytes)
	if e != nil {
		s.writeErrors(c.w, c.limit, *e)
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		s.writeErrors(c.w, c.limit, jsonError(err))
		return false
	}
	return true
}

// soqlError is the REST error for SOQL the parser refused.
func soqlError(err error) apiError {
	var qe *soql.Error
	if errors.As(err, &qe) {
		return badRequest(qe.Code, qe.Message)
	}
	return badRequest("MALFORMED_QUERY", err.Error())
}

// invalidJob is the simulator's error for a job definition Salesforce refuses.
// Salesforce's exact code for these is not documented; INVALIDJOB is Bulk API 1.0's.
func invalidJob(message string) apiError { return badRequest("INVALIDJOB", message) }

// serveBulkCreate is POST .../jobs/query: it checks the job definition and the SOQL
// at once (a query that does not parse is refused here with the REST API's error,
// not left to fail later) and counts the job against DailyBulkV2QueryJobs.
func (s *Server) serveBulkCreate(c *call) {
	var req struct {
		Operation       string `json:"operation"`
		Query           string `json:"query"`
		ContentType     string `json:"contentType"`
		ColumnDelimiter string `json:"columnDelimiter"`
		LineEnding      string `json:"lineEnding"`
	}
	if !s.readJSON(c, &req) {
		return
	}
	if req.ContentType == "" {
		req.ContentType = "CSV"
	}
	if req.ColumnDelimiter == "" {
		req.ColumnDelimiter = "COMMA"
	}
	if req.LineEnding == "" {
		req.LineEnding = "LF"
	}
	_, delimOK := bulkDelimiters[req.ColumnDelimiter]
	_, eolOK := bulkLineEndings[req.LineEnding]
	switch {
	case req.Operation != "query" && req.Operation != "queryAll":
		s.writeErrors(c.w, c.limit, invalidJob(fmt.Sprintf("Invalid operation '%s': a query job's operation is query or queryAll", req.Operation)))
		return
	case req.ContentType != "CSV":
		s.writeErrors(c.w, c.limit, invalidJob(fmt.Sprintf("Invalid contentType '%s': the only content type is CSV", req.ContentType)))
		return
	case !delimOK:
		s.writeErrors(c.w, c.limit, invalidJob(fmt.Sprintf("Invalid columnDelimiter '%s': use BACKQUOTE, CARET, COMMA, PIPE, SEMICOLON or TAB", req.ColumnDelimiter)))
		return
	case !eolOK:
		s.writeErrors(c.w, c.limit, invalidJob(fmt.Sprintf("Invalid lineEnding '%s': use LF or CRLF", req.LineEnding)))
		return
	case strings.TrimSpace(req.Query) == "":
		s.writeErrors(c.w, c.limit, invalidJob("A query job needs a query"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, req.Query)
	query, err := soql.Parse(req.Query, soqlSchema{s.schema})
	if err != nil {
		s.writeErrors(c.w, c.limit, soqlError(err))
		return
	}
	switch {
	case query.Count:
		s.writeErrors(c.w, c.limit, invalidJob("Aggregate queries such as COUNT() are not supported by Bulk API 2.0"))
		return
	case query.Offset > 0:
		s.writeErrors(c.w, c.limit, invalidJob("OFFSET is not supported by Bulk API 2.0"))
		return
	}
	now := s.now()
	s.pruneBulk(now)
	if int64(len(s.bulk.created)) >= s.opts.BulkQueryJobsMax {
		s.writeErrors(c.w, c.limit, badRequest("LIMIT_EXCEEDED",
			fmt.Sprintf("Max number of Bulk API 2.0 query jobs (%d) in the last 24 hours exceeded", s.opts.BulkQueryJobsMax)))
		return
	}
	if s.bulk.jobs == nil {
		s.bulk.jobs = map[string]*bulkJob{}
	}
	j := &bulkJob{
		id: s.org.newID(prefixBulkJob), operation: req.Operation, object: query.Object.Name, query: req.Query,
		createdBy: c.user, created: now, modstamp: now, state: jobUploadComplete, version: c.version,
		columnDelimiter: req.ColumnDelimiter, lineEnding: req.LineEnding, fields: query.Fields, parsed: query,
	}
	s.bulk.jobs[j.id] = j
	s.bulk.order = append(s.bulk.order, j.id)
	s.bulk.created = append(s.bulk.created, now)
	s.writeJSON(c.w, c.limit, http.StatusOK, j.info(false))
}

// pruneBulk forgets the job creations older than 24 hours (they no longer count
// against the daily limit) and the terminal jobs older than Salesforce keeps them.
// s.mu held.
func (s *Server) pruneBulk(now time.Time) {
	drop := 0
	for drop < len(s.bulk.created) && !s.bulk.created[drop].After(now.Add(-24*time.Hour)) {
		drop++
	}
	s.bulk.created = s.bulk.created[drop:]
	kept := s.bulk.order[:0]
	for _, id := range s.bulk.order {
		j := s.bulk.jobs[id]
		if j.terminal() && now.Sub(j.modstamp) > bulkJobRetention {
			delete(s.bulk.jobs, id)
			continue
		}
		kept = append(kept, id)
	}
	s.bulk.order = kept
}

func (j *bulkJob) terminal() bool {
	return j.state == jobComplete || j.state == jobFailed || j.state == jobAborted
}

// bulkRemaining is DailyBulkV2QueryJobs.Remaining.
func (s *Server) bulkRemaining(now time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneBulk(now)
	return max(s.opts.BulkQueryJobsMax-int64(len(s.bulk.created)), 0)
}

// job finds the job named in the path, answering 404 when there is none. On success
// s.mu is held and the caller must release it.
func (s *Server) job(c *call) (*bulkJob, bool) {
	s.mu.Lock()
	s.pruneBulk(s.now())
	j, ok := s.bulk.jobs[c.segs[2]]
	if !ok {
		s.mu.Unlock()
		s.writeErrors(c.w, c.limit, notFound())
	}
	return j, ok
}

// advance moves a job on as a status read finds it: a job waiting to run starts,
// and a running one finishes once Options.BulkProcessingTime has passed on the
// simulator's clock since it started. Finishing runs the query over the org as it
// is then. s.mu held.
func (s *Server) advance(j *bulkJob, now time.Time) {
	switch j.state {
	case jobUploadComplete:
		j.state, j.started, j.modstamp = jobInProgress, now, now
	case jobInProgress:
		if now.Sub(j.started) < s.opts.BulkProcessingTime {
			return
		}
		j.modstamp = now
		if len(s.bulk.failures) > 0 {
			j.state, j.errorMessage = jobFailed, s.bulk.failures[0]
			s.bulk.failures = s.bulk.failures[1:]
			return
		}
		d, _ := s.schema.object(j.object)
		rows := s.org.tables[d].rows
		frozen := make([]row, len(rows))
		candidates := make([]soql.Record, len(rows))
		for i, r := range rows {
			frozen[i] = *r
			candidates[i] = view{o: s.org, r: &frozen[i]}
		}
		for _, sj := range j.parsed.Semijoins {
			sj.Resolve(s.org.views(sj.Object.Name))
		}
		selected := j.parsed.Run(candidates)
		j.results = make([]*row, len(selected))
		for i, rec := range selected {
			j.results[i] = rec.(view).r
		}
		j.state, j.parsed = jobComplete, nil
	}
}

// serveBulkGet is GET .../jobs/query/{id}: the job's state, moved on by this read.
func (s *Server) serveBulkGet(c *call) {
	j, ok := s.job(c)
	if !ok {
		return
	}
	s.advance(j, s.now())
	info := j.info(true)
	s.mu.Unlock()
	s.writeJSON(c.w, c.limit, http.StatusOK, info)
}

// serveBulkList is GET .../jobs/query: every query job, oldest first, in one page.
func (s *Server) serveBulkList(c *call) {
	s.mu.Lock()
	s.pruneBulk(s.now())
	records := make([]jobInfo, 0, len(s.bulk.order))
	for _, id := range s.bulk.order {
		records = append(records, s.bulk.jobs[id].info(true))
	}
	s.mu.Unlock()
	s.writeJSON(c.w, c.limit, http.StatusOK, struct {
		Done           bool      `json:"done"`
		Records        []jobInfo `json:"records"`
		NextRecordsURL *string   `json:"nextRecordsUrl"`
	}{Done: true, Records: records})
}

// invalidJobState refuses an operation on a job in the wrong state.
func invalidJobState(message string) apiError { return badRequest("INVALIDJOBSTATE", message) }

// serveBulkAbort is PATCH .../jobs/query/{id} {"state":"Aborted"}.
func (s *Server) serveBulkAbort(c *call) {
	var req struct {
		State string `json:"state"`
	}
	if !s.readJSON(c, &req) {
		return
	}
	if req.State != jobAborted {
		s.writeErrors(c.w, c.limit, invalidJobState(fmt.Sprintf("Invalid state '%s': a query job can only be set to Aborted", req.State)))
		return
	}
	j, ok := s.job(c)
	if !ok {
		return
	}
	if j.terminal() {
		state := j.state
		s.mu.Unlock()
		s.writeErrors(c.w, c.limit, invalidJobState(fmt.Sprintf("Cannot abort a job in state %s", state)))
		return
	}
	j.state, j.modstamp, j.parsed = jobAborted, s.now(), nil
	info := j.info(false)
	s.mu.Unlock()
	s.writeJSON(c.w, c.limit, http.StatusOK, info)
}

// serveBulkDelete is DELETE .../jobs/query/{id}: 204, except while the job runs.
func (s *Server) serveBulkDelete(c *call) {
	j, ok := s.job(c)
	if !ok {
		return
	}
	if j.state == jobInProgress {
		s.mu.Unlock()
		s.writeErrors(c.w, c.limit, invalidJobState("Cannot delete a job in state InProgress: abort it first"))
		return
	}
	delete(s.bulk.jobs, j.id)
	for i, id := range s.bulk.order {
		if id == j.id {
			s.bulk.order = append(s.bulk.order[:i], s.bulk.order[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	c.w.Header().Set("Sforce-Limit-Info", c.limit)
	c.w.WriteHeader(http.StatusNoContent)
}

// completeJob finds a job whose results may be read with this request's API
// version, answering 404, 409 or 412 otherwise. On success s.mu is held.
func (s *Server) completeJob(c *call) (*bulkJob, bool) {
	j, ok := s.job(c)
	if !ok {
		return nil, false
	}
	var fail *apiError
	switch {
	case j.version != c.version:
		// The status is documented; the code and wording are the simulator's.
		fail = &apiError{Status: http.StatusConflict, Code: "API_ERROR",
			Message: fmt.Sprintf("The job was created with API version %d.0: read its results with the same version", j.version)}
	case j.state != jobComplete:
		fail = &apiError{Status: http.StatusPreconditionFailed, Code: "JOB_NOT_COMPLETE",
			Message: "can only download query results of successfully completed bulk job with status: JOB_COMPLETE. Current status: " + upperSnake(j.state)}
	}
	if fail != nil {
		s.mu.Unlock()
		s.writeErrors(c.w, c.limit, *fail)
		return nil, false
	}
	return j, true
}

// upperSnake writes a state as the JOB_NOT_COMPLETE message does: InProgress → IN_PROGRESS.
func upperSnake(state string) string {
	var b strings.Builder
	for i, r := range state {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// The locator of a result set is opaque to clients; the simulator's is the set's
// first record's position, base64-encoded as Salesforce's look ("MTAwMDA").
func encodeLocator(offset int) string {
	return base64.RawStdEncoding.EncodeToString([]byte(strconv.Itoa(offset)))
}

func decodeLocator(locator string, total int) (int, bool) {
	raw, err := base64.RawStdEncoding.DecodeString(locator)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(string(raw))
	return n, err == nil && n >= 0 && n <= total
}

// pageParams reads maxRecords and locator, answering 400 when they are not valid.
func (s *Server) pageParams(c *call, total int) (offset, limit int, ok bool) {
	q := c.r.URL.Query()
	limit = DefaultBulkMaxRecords
	if v := q.Get("maxRecords"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.writeErrors(c.w, c.limit, badRequest("API_ERROR", fmt.Sprintf("Invalid maxRecords '%s': it must be a positive integer", v)))
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("locator"); v != "" {
		n, valid := decodeLocator(v, total)
		if !valid {
			s.writeErrors(c.w, c.limit, badRequest("API_ERROR", fmt.Sprintf("Invalid locator '%s'", v)))
			return 0, 0, false
		}
		offset = n
	}
	return offset, limit, true
}

// serveBulkResults is GET .../jobs/query/{id}/results[?maxRecords=N][&locator=L]:
// one set of results as CSV, with Sforce-NumberOfRecords and Sforce-Locator ("null"
// after the last set). The rows are rendered a chunk at a time under the org's lock
// and written between chunks.
func (s *Server) serveBulkResults(c *call) {
	j, ok := s.completeJob(c)
	if !ok {
		return
	}
	results, fields := j.results, j.fields
	delim, eol := bulkDelimiters[j.columnDelimiter], bulkLineEndings[j.lineEnding]
	s.mu.Unlock()
	offset, limit, ok := s.pageParams(c, len(results))
	if !ok {
		return
	}
	end := min(offset+limit, len(results))
	next := "null"
	if end < len(results) {
		next = encodeLocator(end)
	}
	h := c.w.Header()
	h.Set("Content-Type", "text/csv")
	h.Set("Sforce-Limit-Info", c.limit)
	h.Set("Sforce-NumberOfRecords", strconv.Itoa(end-offset))
	h.Set("Sforce-Locator", next)
	c.w.WriteHeader(http.StatusOK)
	var b bytes.Buffer
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(delim)
		}
		writeCSVValue(&b, strings.Join(f, "."))
	}
	b.WriteString(eol)
	for start := offset; start < end; start += bulkRenderChunk {
		stop := min(start+bulkRenderChunk, end)
		s.mu.Lock()
		for _, r := range results[start:stop] {
			s.org.renderCSV(&b, r, fields, delim)
			b.WriteString(eol)
		}
		s.mu.Unlock()
		if _, err := c.w.Write(b.Bytes()); err != nil {
			return // the client went away
		}
		b.Reset()
	}
	_, _ = c.w.Write(b.Bytes())
}

// renderCSV writes one record's values as Bulk API 2.0 writes them: every value in
// double quotes (inner quotes doubled), null as "", booleans as true/false,
// datetimes in UTC with milliseconds and Z, parent fields through their
// relationship ("" when the reference is null).
func (o *org) renderCSV(b *bytes.Buffer, r *row, fields []soql.FieldRef, delim byte) {
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(delim)
		}
		target := r
		for _, rel := range f[:len(f)-1] {
			if target = o.parentOf(target, rel); target == nil {
				break
			}
		}
		if target == nil {
			b.WriteString(`""`)
			continue
		}
		idx, fd, ok := target.def.field(f[len(f)-1])
		if !ok {
			b.WriteString(`""`)
			continue
		}
		writeCSVValue(b, csvText(fd, target.vals[idx]))
	}
}

// The format of datetimes in Bulk API CSV.
const bulkDateTimeLayout = "2006-01-02T15:04:05.000Z"

// csvText is a value's text in a Bulk API CSV file.
func csvText(fd *fieldDef, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		if fd.kind == kindDate {
			return x.UTC().Format(dateLayout)
		}
		return x.UTC().Format(bulkDateTimeLayout)
	}
	panic(fmt.Sprintf("sfsim: field %s holds a %T", fd.name, v))
}

// writeCSVValue writes a value in double quotes, doubling the quotes inside.
func writeCSVValue(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b.WriteString(s[:i+1])
		b.WriteByte('"')
		s = s[i+1:]
	}
	b.WriteString(s)
	b.WriteByte('"')
}

// serveBulkResultPages is GET .../jobs/query/{id}/resultPages (API 58.0 and later):
// up to five result URLs, each for one set of DefaultBulkMaxRecords records, to
// download in parallel, and the URL of the next five.
func (s *Server) serveBulkResultPages(c *call) {
	if c.version < bulkResultPagesSince {
		s.writeErrors(c.w, c.limit, notFound())
		return
	}
	j, ok := s.completeJob(c)
	if !ok {
		return
	}
	total, id := len(j.results), j.id
	s.mu.Unlock()
	offset, _, ok := s.pageParams(c, total)
	if !ok {
		return
	}
	type resultPage struct {
		ResultURL string `json:"resultUrl"`
	}
	pages := []resultPage{}
	results := fmt.Sprintf("%s/jobs/query/%s/results", c.base, id)
	for n := 0; n < bulkResultPagesPerAnswer && (offset < total || (total == 0 && n == 0)); n++ {
		u := results + "?maxRecords=" + strconv.Itoa(DefaultBulkMaxRecords)
		if offset > 0 {
			u += "&locator=" + encodeLocator(offset)
		}
		pages = append(pages, resultPage{ResultURL: u})
		offset += DefaultBulkMaxRecords
	}
	var next *string
	if offset < total {
		u := fmt.Sprintf("%s/jobs/query/%s/resultPages?locator=%s", c.base, id, encodeLocator(offset))
		next = &u
	}
	s.writeJSON(c.w, c.limit, http.StatusOK, struct {
		ResultPages    []resultPage `json:"resultPages"`
		NextRecordsURL *string      `json:"nextRecordsUrl"`
		Done           bool         `json:"done"`
	}{pages, next, next == nil})
}

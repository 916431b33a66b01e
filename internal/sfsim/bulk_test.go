package sfsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const bulkPath = testVersion + "/jobs/query"

// createJob creates a query job and returns its Id, failing the test otherwise.
func (h *harness) createJob(body map[string]any) string {
	h.t.Helper()
	status, _, data := h.do("POST", bulkPath, body)
	if status != http.StatusOK {
		h.t.Fatalf("create job: %d %s", status, data)
	}
	var info jobInfo
	if err := json.Unmarshal(data, &info); err != nil {
		h.t.Fatalf("job %s: %v", data, err)
	}
	return info.ID
}

// jobState polls a job once and returns what it says.
func (h *harness) jobState(id string) jobInfo {
	h.t.Helper()
	status, _, data := h.do("GET", bulkPath+"/"+id, nil)
	if status != http.StatusOK {
		h.t.Fatalf("get job: %d %s", status, data)
	}
	var info jobInfo
	if err := json.Unmarshal(data, &info); err != nil {
		h.t.Fatalf("job %s: %v", data, err)
	}
	return info
}

// runJob creates a job and polls it to JobComplete (two reads with no processing time).
func (h *harness) runJob(body map[string]any) string {
	h.t.Helper()
	id := h.createJob(body)
	for _, want := range []string{jobInProgress, jobComplete} {
		if got := h.jobState(id).State; got != want {
			h.t.Fatalf("job %s is %s, want %s", id, got, want)
		}
	}
	return id
}

func TestBulkQueryJobLifecycleAndCSV(t *testing.T) {
	h := newHarness(t, Options{})
	quoted := h.newUser("quoted@acme.example.com")
	quoted["Title"] = "He said \"hi\", then\nleft"
	quoted["Department"] = "営業部"
	quoted["LastName"] = "山田"
	quotedID := h.create(quoted)
	plain := h.newUser("plain@acme.example.com")
	plain["IsActive"] = false
	plainID := h.create(plain)
	now := h.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z")

	usedBefore, _ := h.sim.APIUsage()
	soql := "SELECT Id, Username, LastName, Title, Department, IsActive, UserRole.Name, CreatedDate FROM User " +
		"WHERE Username IN ('quoted@acme.example.com', 'plain@acme.example.com')"
	status, header, data := h.do("POST", bulkPath, map[string]any{"operation": "query", "query": soql})
	if status != http.StatusOK {
		t.Fatalf("create: %d %s", status, data)
	}
	var created map[string]any
	if err := json.Unmarshal(data, &created); err != nil {
		t.Fatal(err)
	}
	id, _ := created["id"].(string)
	if !strings.HasPrefix(id, "750") || len(id) != 18 {
		t.Fatalf("job id %q is not an 18-character 750 id", id)
	}
	stamp := h.clock.Now().UTC().Format(dateTimeLayout)
	want := map[string]any{
		"id": id, "operation": "query", "object": "User", "createdById": h.sim.IntegrationUserID(),
		"createdDate": stamp, "systemModstamp": stamp, "state": "UploadComplete", "concurrencyMode": "Parallel",
		"contentType": "CSV", "apiVersion": 67.0, "lineEnding": "LF", "columnDelimiter": "COMMA",
	}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("create answer (-want +got):\n%s", diff)
	}
	if header.Get("Sforce-Limit-Info") == "" {
		t.Error("the create answer has no Sforce-Limit-Info")
	}

	if got := h.jobState(id); got.State != jobInProgress {
		t.Fatalf("first read: state %s, want InProgress", got.State)
	}
	status, _, data = h.do("GET", bulkPath+"/"+id+"/results", nil)
	if status != http.StatusPreconditionFailed || !strings.Contains(string(data), "Current status: IN_PROGRESS") {
		t.Errorf("results while running: %d %s, want 412 JOB_NOT_COMPLETE", status, data)
	}
	if codes := errorCodes(t, data); !cmp.Equal(codes, []string{"JOB_NOT_COMPLETE"}) {
		t.Errorf("codes %v", codes)
	}
	done := h.jobState(id)
	if done.State != jobComplete || done.NumberRecordsProcessed == nil || *done.NumberRecordsProcessed != 2 ||
		done.JobType != "V2Query" || done.Retries == nil || done.TotalProcessingTime == nil {
		t.Fatalf("second read: %+v, want JobComplete with 2 records", done)
	}

	// Two sets of one record each, then the locator "null".
	status, header, data = h.do("GET", bulkPath+"/"+id+"/results?maxRecords=1", nil)
	if status != http.StatusOK {
		t.Fatalf("results: %d %s", status, data)
	}
	wantFirst := `"Id","Username","LastName","Title","Department","IsActive","UserRole.Name","CreatedDate"` + "\n" +
		`"` + quotedID + `","quoted@acme.example.com","山田","He said ""hi"", then` + "\n" + `left","営業部","true","","` + now + `"` + "\n"
	if diff := cmp.Diff(wantFirst, string(data)); diff != "" {
		t.Errorf("first set (-want +got):\n%s", diff)
	}
	if got := []string{header.Get("Content-Type"), header.Get("Sforce-NumberOfRecords")}; !cmp.Equal(got, []string{"text/csv", "1"}) {
		t.Errorf("headers %v", got)
	}
	locator := header.Get("Sforce-Locator")
	if locator == "" || locator == "null" {
		t.Fatalf("first set's locator %q", locator)
	}
	status, header, data = h.do("GET", bulkPath+"/"+id+"/results?maxRecords=1&locator="+locator, nil)
	wantSecond := `"Id","Username","LastName","Title","Department","IsActive","UserRole.Name","CreatedDate"` + "\n" +
		`"` + plainID + `","plain@acme.example.com","Doe","","","false","","` + now + `"` + "\n"
	if status != http.StatusOK || string(data) != wantSecond {
		t.Errorf("second set: %d %q, want %q", status, data, wantSecond)
	}
	if got := header.Get("Sforce-Locator"); got != "null" {
		t.Errorf("last set's locator %q, want null", got)
	}
	// create, two reads of the job, the 412 and two sets: every request counts once.
	if used, _ := h.sim.APIUsage(); used-usedBefore != 6 {
		t.Errorf("the job's requests spent %d calls, want 6", used-usedBefore)
	}
}

func TestBulkQueryJobDelimiterAndLineEnding(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.runJob(map[string]any{"operation": "queryAll", "columnDelimiter": "PIPE", "lineEnding": "CRLF",
		"query": "SELECT Username, IsActive FROM User WHERE Username = '" + DefaultUsername + "'"})
	_, _, data := h.do("GET", bulkPath+"/"+id+"/results", nil)
	want := "\"Username\"|\"IsActive\"\r\n\"" + DefaultUsername + "\"|\"true\"\r\n"
	if string(data) != want {
		t.Errorf("results %q, want %q", data, want)
	}
}

func TestBulkQueryJobProgressesByTheClock(t *testing.T) {
	h := newHarness(t, Options{BulkProcessingTime: time.Hour})
	id := h.createJob(map[string]any{"operation": "query", "query": "SELECT Id FROM User"})
	for range 3 {
		if got := h.jobState(id).State; got != jobInProgress {
			t.Fatalf("state %s before the processing time passed, want InProgress", got)
		}
	}
	h.clock.Advance(time.Hour)
	info := h.jobState(id)
	if info.State != jobComplete || *info.TotalProcessingTime != time.Hour.Milliseconds() {
		t.Errorf("after an hour: state %s, totalProcessingTime %d", info.State, *info.TotalProcessingTime)
	}
}

func TestBulkQueryJobReadsTheOrgWhenItRuns(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.createJob(map[string]any{"operation": "query", "query": "SELECT Username FROM User WHERE Username LIKE 'late%'"})
	h.jobState(id) // starts it
	h.create(h.newUser("late@acme.example.com"))
	h.jobState(id) // finishes it
	h.create(h.newUser("later@acme.example.com"))
	_, _, data := h.do("GET", bulkPath+"/"+id+"/results", nil)
	if want := "\"Username\"\n\"late@acme.example.com\"\n"; string(data) != want {
		t.Errorf("results %q, want %q: the org as it was when the job finished", data, want)
	}
}

func TestBulkQueryErrors(t *testing.T) {
	h := newHarness(t, Options{})
	done := h.runJob(map[string]any{"operation": "query", "query": "SELECT Id FROM User"})
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"unknown field", "POST", bulkPath, map[string]any{"operation": "query", "query": "SELECT Nope FROM User"}, 400, "INVALID_FIELD"},
		{"query that does not parse", "POST", bulkPath, map[string]any{"operation": "query", "query": "SELECT FROM User"}, 400, "MALFORMED_QUERY"},
		{"unknown object", "POST", bulkPath, map[string]any{"operation": "query", "query": "SELECT Id FROM Quote"}, 400, "INVALID_TYPE"},
		{"COUNT()", "POST", bulkPath, map[string]any{"operation": "query", "query": "SELECT COUNT() FROM User"}, 400, "INVALIDJOB"},
		{"OFFSET", "POST", bulkPath, map[string]any{"operation": "query", "query": "SELECT Id FROM User LIMIT 5 OFFSET 10"}, 400, "INVALIDJOB"},
		{"ingest operation", "POST", bulkPath, map[string]any{"operation": "insert", "query": "SELECT Id FROM User"}, 400, "INVALIDJOB"},
		{"no query", "POST", bulkPath, map[string]any{"operation": "query"}, 400, "INVALIDJOB"},
		{"unknown delimiter", "POST", bulkPath, map[string]any{"operation": "query", "query": "SELECT Id FROM User", "columnDelimiter": "COLON"}, 400, "INVALIDJOB"},
		{"unknown line ending", "POST", bulkPath, map[string]any{"operation": "query", "query": "SELECT Id FROM User", "lineEnding": "CR"}, 400, "INVALIDJOB"},
		{"JSON content type", "POST", bulkPath, map[string]any{"operation": "query", "query": "SELECT Id FROM User", "contentType": "JSON"}, 400, "INVALIDJOB"},
		{"not JSON", "POST", bulkPath, "operation=query", 400, "JSON_PARSER_ERROR"},
		{"unknown job", "GET", bulkPath + "/750Sm00000000001AAA", nil, 404, "NOT_FOUND"},
		{"results of an unknown job", "GET", bulkPath + "/750Sm00000000001AAA/results", nil, 404, "NOT_FOUND"},
		{"results with another API version", "GET", "/services/data/v66.0/jobs/query/" + done + "/results", nil, 409, "API_ERROR"},
		{"zero maxRecords", "GET", bulkPath + "/" + done + "/results?maxRecords=0", nil, 400, "API_ERROR"},
		{"a locator that is not one", "GET", bulkPath + "/" + done + "/results?locator=%21%21", nil, 400, "API_ERROR"},
		{"resultPages before API 58.0", "GET", "/services/data/v57.0/jobs/query/" + done + "/resultPages", nil, 404, "NOT_FOUND"},
		{"set another state than Aborted", "PATCH", bulkPath + "/" + done, map[string]any{"state": "UploadComplete"}, 400, "INVALIDJOBSTATE"},
		{"abort a finished job", "PATCH", bulkPath + "/" + done, map[string]any{"state": "Aborted"}, 400, "INVALIDJOBSTATE"},
		{"PUT on a job", "PUT", bulkPath + "/" + done, nil, 405, "METHOD_NOT_ALLOWED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, data := h.do(tt.method, tt.path, tt.body)
			if status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, data, tt.status)
			}
			if codes := errorCodes(t, data); !cmp.Equal(codes, []string{tt.code}) {
				t.Errorf("codes %v, want [%s]: %s", codes, tt.code, data)
			}
		})
	}
	if n := len(h.sim.BulkJobStates()); n != 1 {
		t.Errorf("%d jobs exist, want only the one that was valid", n)
	}
}

func TestBulkQueryAbortDeleteAndList(t *testing.T) {
	h := newHarness(t, Options{})
	waiting := h.createJob(map[string]any{"operation": "query", "query": "SELECT Id FROM User"})
	running := h.createJob(map[string]any{"operation": "query", "query": "SELECT Id FROM User"})
	h.jobState(running)

	status, _, data := h.do("DELETE", bulkPath+"/"+running, nil)
	if status != 400 || !cmp.Equal(errorCodes(t, data), []string{"INVALIDJOBSTATE"}) {
		t.Errorf("delete while running: %d %s, want 400 INVALIDJOBSTATE", status, data)
	}
	for _, id := range []string{waiting, running} {
		status, _, data := h.do("PATCH", bulkPath+"/"+id, map[string]any{"state": "Aborted"})
		var info jobInfo
		_ = json.Unmarshal(data, &info)
		if status != 200 || info.State != jobAborted {
			t.Errorf("abort %s: %d %s", id, status, data)
		}
	}
	status, _, data = h.do("GET", bulkPath+"/"+waiting+"/results", nil)
	if status != 412 || !strings.Contains(string(data), "Current status: ABORTED") {
		t.Errorf("results of an aborted job: %d %s", status, data)
	}

	status, _, data = h.do("GET", bulkPath, nil)
	var list struct {
		Done           bool      `json:"done"`
		Records        []jobInfo `json:"records"`
		NextRecordsURL *string   `json:"nextRecordsUrl"`
	}
	if err := json.Unmarshal(data, &list); status != 200 || err != nil {
		t.Fatalf("list: %d %s %v", status, data, err)
	}
	var got []string
	for _, r := range list.Records {
		got = append(got, r.ID+" "+r.State)
	}
	if diff := cmp.Diff([]string{waiting + " Aborted", running + " Aborted"}, got); diff != "" || !list.Done || list.NextRecordsURL != nil {
		t.Errorf("listing (-want +got):\n%s", diff)
	}

	status, header, data := h.do("DELETE", bulkPath+"/"+waiting, nil)
	if status != 204 || len(data) != 0 || header.Get("Sforce-Limit-Info") == "" {
		t.Errorf("delete: %d %q", status, data)
	}
	if status, _, _ := h.do("GET", bulkPath+"/"+waiting, nil); status != 404 {
		t.Errorf("a deleted job answers %d, want 404", status)
	}
}

func TestBulkQueryDailyJobLimit(t *testing.T) {
	h := newHarness(t, Options{BulkQueryJobsMax: 2})
	remaining := func() int64 {
		_, _, data := h.do("GET", testVersion+"/limits", nil)
		var limits map[string]limitEntry
		if err := json.Unmarshal(data, &limits); err != nil {
			t.Fatalf("limits %s: %v", data, err)
		}
		if limits["DailyBulkV2QueryJobs"].Max != 2 {
			t.Fatalf("DailyBulkV2QueryJobs %+v", limits["DailyBulkV2QueryJobs"])
		}
		return limits["DailyBulkV2QueryJobs"].Remaining
	}
	job := map[string]any{"operation": "query", "query": "SELECT Id FROM User"}
	var got []int64
	got = append(got, remaining())
	h.createJob(job)
	h.clock.Advance(time.Hour)
	h.createJob(job)
	got = append(got, remaining())
	status, _, data := h.do("POST", bulkPath, job)
	if status != 400 || !cmp.Equal(errorCodes(t, data), []string{"LIMIT_EXCEEDED"}) {
		t.Errorf("a job over the limit: %d %s", status, data)
	}
	h.clock.Advance(23 * time.Hour) // the first job leaves the window
	h.token = h.login()             // and the session expired
	got = append(got, remaining())
	if diff := cmp.Diff([]int64{2, 0, 1}, got); diff != "" {
		t.Errorf("Remaining (-want +got):\n%s", diff)
	}
	h.createJob(job)
}

func TestBulkQueryFailedJob(t *testing.T) {
	h := newHarness(t, Options{})
	h.sim.FailBulkJobs("Query timeout")
	id := h.createJob(map[string]any{"operation": "query", "query": "SELECT Id FROM User"})
	h.jobState(id)
	info := h.jobState(id)
	if info.State != jobFailed || info.ErrorMessage != "Query timeout" {
		t.Errorf("job %+v, want Failed with the errorMessage", info)
	}
	if status, _, _ := h.do("GET", bulkPath+"/"+id+"/results", nil); status != 412 {
		t.Errorf("results of a failed job answer %d, want 412", status)
	}
	if next := h.runJob(map[string]any{"operation": "query", "query": "SELECT Id FROM User"}); next == "" {
		t.Error("the failure applied to more than one job")
	}
}

func TestBulkQueryResultPages(t *testing.T) {
	h := newHarness(t, Options{})
	seedUsers(t, h.sim, 3)
	id := h.runJob(map[string]any{"operation": "query", "query": "SELECT Username FROM User WHERE Username LIKE 'user%'"})
	status, _, data := h.do("GET", bulkPath+"/"+id+"/resultPages", nil)
	var pages struct {
		ResultPages []struct {
			ResultURL string `json:"resultUrl"`
		} `json:"resultPages"`
		NextRecordsURL *string `json:"nextRecordsUrl"`
		Done           bool    `json:"done"`
	}
	if err := json.Unmarshal(data, &pages); status != 200 || err != nil {
		t.Fatalf("resultPages: %d %s %v", status, data, err)
	}
	wantURL := fmt.Sprintf("%s/%s/results?maxRecords=%d", bulkPath, id, DefaultBulkMaxRecords)
	if len(pages.ResultPages) != 1 || pages.ResultPages[0].ResultURL != wantURL || !pages.Done || pages.NextRecordsURL != nil {
		t.Fatalf("resultPages %s, want one page %s", data, wantURL)
	}
	_, header, data := h.do("GET", pages.ResultPages[0].ResultURL, nil)
	if want := "\"Username\"\n\"user00000@acme.example.com\"\n\"user00001@acme.example.com\"\n\"user00002@acme.example.com\"\n"; string(data) != want ||
		header.Get("Sforce-Locator") != "null" {
		t.Errorf("the page's results %q (locator %q), want %q", data, header.Get("Sforce-Locator"), want)
	}
}

// TestBulkQuerySemiJoin runs a query with a semi-join sub-select as a Bulk job: the
// sub-select is answered from the org as the job runs, as the query resource does.
func TestBulkQuerySemiJoin(t *testing.T) {
	h := newHarness(t, Options{})
	frozen := h.create(h.newUser("frozen@acme.example.com"))
	h.create(h.newUser("thawed@acme.example.com"))
	status, p, body := h.query("SELECT Id FROM UserLogin WHERE UserId = '" + frozen + "'")
	if status != 200 || p.TotalSize != 1 {
		t.Fatalf("login of %s: %d %s", frozen, status, body)
	}
	if status, _, body := h.do("PATCH", testVersion+"/sobjects/UserLogin/"+p.Records[0]["Id"].(string), map[string]any{"IsFrozen": true}); status != 204 {
		t.Fatalf("freeze: %d %s", status, body)
	}
	id := h.runJob(map[string]any{"operation": "query",
		"query": "SELECT Username FROM User WHERE Id IN (SELECT UserId FROM UserLogin WHERE IsFrozen = true)"})
	_, _, data := h.do("GET", bulkPath+"/"+id+"/results", nil)
	if want := "\"Username\"\n\"frozen@acme.example.com\"\n"; string(data) != want {
		t.Errorf("results %q, want %q", data, want)
	}
}

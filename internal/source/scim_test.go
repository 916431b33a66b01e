package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeSCIM is a SCIM 2.0 service provider over an in-memory user list, with the faults
// real servers have been seen to show.
type fakeSCIM struct {
	scimFaults

	mu       sync.Mutex
	requests []string
}

// scimFaults describes the fake's users and misbehaviour; pages count from 1.
type scimFaults struct {
	users    int
	maxPage  int    // the server's own page cap (fewer than asked)
	token    string // required bearer token
	failPage int    // this page answers 500 with a SCIM error body
	// numericStatus makes the error body's status a number, as some servers send.
	numericStatus bool
	totalLieOn    int // this page reports totalResults one higher
	repeatLastOn  int // this page starts with the previous page's last user
	samePageOn    int // this page repeats the previous page exactly
	emptyOn       int // this page comes back empty
	// repeatCursorOn makes this page hand out the cursor of the page before.
	repeatCursorOn int
	shortTotal     int // report this totalResults (with every page), hiding users
	// totalIsPageSize reports the page size as totalResults, a bug seen in real servers.
	totalIsPageSize bool
	// wrapPastEnd answers a startIndex past the last user with the first page again,
	// as SCIMMY does.
	wrapPastEnd bool
	slow        time.Duration
	// failUser makes GET /Users/{failUser} answer 503.
	failUser string
	// modified, when not nil, gives users meta.lastModified (scimEpoch unless listed)
	// and serves meta.lastModified gt filters; filterMode "refuse" answers them 400
	// invalidFilter, "ignore" lists everyone as if there were no filter.
	modified   map[int]time.Time
	filterMode string
}

func (f *fakeSCIM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RequestURI())
	page := len(f.requests)
	f.mu.Unlock()
	if f.slow > 0 {
		select {
		case <-time.After(f.slow):
		case <-r.Context().Done():
			return
		}
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/scim/v2/Users/"); ok {
		f.serveUser(w, id)
		return
	}
	if r.URL.Path != "/scim/v2/Users" || r.Header.Get("Accept") == "" || !strings.Contains(r.Header.Get("Accept"), "application/scim+json") {
		http.Error(w, "bad request "+r.URL.Path, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/scim+json")
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"bad token"}`)
		return
	}
	if page == f.failPage {
		w.WriteHeader(http.StatusInternalServerError)
		status := `"500"`
		if f.numericStatus {
			status = `500`
		}
		fmt.Fprintf(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":%s,"scimType":"tooMany","detail":"try again"}`, status)
		return
	}
	q := r.URL.Query()
	selected, ok := f.selected(w, q.Get("filter"))
	if !ok {
		return
	}
	count, _ := strconv.Atoi(q.Get("count"))
	if f.maxPage > 0 && count > f.maxPage {
		count = f.maxPage
	}
	var start int
	var nextCursor string
	if _, ok := q["cursor"]; ok {
		start, _ = strconv.Atoi(q.Get("cursor")) // the cursor is the next start index
		if start == 0 {
			start = 1
		}
	} else if start, _ = strconv.Atoi(q.Get("startIndex")); start < 1 || (f.wrapPastEnd && start > len(selected)) {
		start = 1
	}
	from := start - 1
	switch page {
	case f.repeatLastOn:
		from--
	case f.samePageOn:
		from -= count
	}
	to := min(from+count, len(selected))
	if page == f.emptyOn {
		to = from
	}
	resources := []map[string]any{}
	for i := from; i < to; i++ {
		resources = append(resources, f.user(selected[i]))
	}
	total := len(selected)
	if f.shortTotal > 0 {
		total = f.shortTotal
	}
	if f.totalIsPageSize {
		total = count
	}
	if page == f.totalLieOn {
		total++
	}
	body := map[string]any{
		"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": total, "startIndex": start, "itemsPerPage": len(resources), "Resources": resources,
	}
	if _, ok := q["cursor"]; ok {
		delete(body, "startIndex")
		if to < len(selected) || page == f.emptyOn {
			nextCursor = strconv.Itoa(to + 1)
			if page == f.repeatCursorOn {
				nextCursor = strconv.Itoa(start)
			}
			body["nextCursor"] = nextCursor
		}
	}
	_ = json.NewEncoder(w).Encode(body)
}

// selected returns the users a list request selects: all of them (other filters are
// not evaluated), or with a `meta.lastModified gt "<ts>"` filter at its end the ones
// changed after ts, unless filterMode says the server refuses or ignores it. It answers
// a refused filter itself and then returns false.
func (f *fakeSCIM) selected(w http.ResponseWriter, filter string) ([]int, bool) {
	var after time.Time
	_, ts, changes := strings.Cut(filter, "meta.lastModified gt ")
	if changes && f.filterMode != "ignore" {
		t, err := time.Parse(time.RFC3339, strings.Trim(ts, `"`))
		if f.filterMode == "refuse" || err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"unsupported filter"}`)
			return nil, false
		}
		after = t
	}
	var out []int
	for i := range f.users {
		if after.IsZero() || f.modifiedAt(i).After(after) {
			out = append(out, i)
		}
	}
	return out, true
}

// modifiedAt is user i's meta.lastModified.
func (f *fakeSCIM) modifiedAt(i int) time.Time {
	if t, ok := f.modified[i]; ok {
		return t
	}
	return scimEpoch
}

// scimEpoch is when the fake's users were last modified unless modified says other.
var scimEpoch = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// user is the fake's user i: with meta.lastModified when the fake keeps modified
// times, and a family name that says how often it was modified.
func (f *fakeSCIM) user(i int) map[string]any {
	u := fakeUser(i)
	if f.modified != nil {
		u["meta"] = map[string]any{"resourceType": "User", "lastModified": f.modifiedAt(i).Format(time.RFC3339)}
		if t, ok := f.modified[i]; ok {
			u["name"] = map[string]any{"givenName": "Given", "familyName": "Changed " + t.Format(time.RFC3339)}
		}
	}
	return u
}

// fakeUser is the fake's user i.
func fakeUser(i int) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"id":       fmt.Sprintf("id-%04d", i),
		"userName": fmt.Sprintf("user%d", i),
		"name":     map[string]any{"givenName": "Given", "familyName": fmt.Sprintf("Family%d", i)},
		"emails":   []map[string]any{{"value": fmt.Sprintf("user%d@acme.example", i), "type": "work"}},
		"active":   true,
	}
}

// serveUser answers GET /Users/{id}: the user, 404 for an id it does not have, or
// the failure scimFaults.failUser asks for.
func (f *fakeSCIM) serveUser(w http.ResponseWriter, id string) {
	w.Header().Set("Content-Type", "application/scim+json")
	var i int
	_, err := fmt.Sscanf(id, "id-%04d", &i)
	switch {
	case id == f.failUser:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"503","detail":"busy"}`)
	case err != nil || i < 0 || i >= f.users:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"no user %s"}`, id)
	default:
		_ = json.NewEncoder(w).Encode(f.user(i))
	}
}

func (f *fakeSCIM) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func newSCIMSource(t *testing.T, fake *fakeSCIM, mutate func(*Config)) Source {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Type: TypeSCIM, URL: srv.URL + "/scim/v2/", Auth: AuthConfig{Method: "bearer", TokenFile: tokenFile},
		SCIM: SCIMConfig{PageSize: 10}}
	if mutate != nil {
		mutate(&cfg)
	}
	src, err := New(cfg, Options{HTTPClient: srv.Client(), Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestSCIMPaging(t *testing.T) {
	tests := []struct {
		name         string
		faults       scimFaults
		cfg          func(*Config)
		wantRequests []string
	}{
		{
			name:   "pages of the asked size",
			faults: scimFaults{users: 25},
			wantRequests: []string{"/scim/v2/Users?count=10&startIndex=1", "/scim/v2/Users?count=10&startIndex=11",
				"/scim/v2/Users?count=10&startIndex=21", "/scim/v2/Users?count=10&startIndex=26"},
		},
		{
			name:   "a server that answers a startIndex past the end with the first page again (SCIMMY)",
			faults: scimFaults{users: 15, wrapPastEnd: true},
			wantRequests: []string{"/scim/v2/Users?count=10&startIndex=1", "/scim/v2/Users?count=10&startIndex=11",
				"/scim/v2/Users?count=10&startIndex=16"},
		},
		{
			name:   "server sends fewer than asked: advance by what was received",
			faults: scimFaults{users: 12, maxPage: 4},
			wantRequests: []string{"/scim/v2/Users?count=10&startIndex=1", "/scim/v2/Users?count=10&startIndex=5",
				"/scim/v2/Users?count=10&startIndex=9", "/scim/v2/Users?count=10&startIndex=13"},
		},
		{
			name:   "filter is sent",
			faults: scimFaults{users: 3},
			cfg:    func(c *Config) { c.SCIM.Filter = `userType eq "Employee"` },
			wantRequests: []string{"/scim/v2/Users?count=10&filter=userType+eq+%22Employee%22&startIndex=1",
				"/scim/v2/Users?count=10&filter=userType+eq+%22Employee%22&startIndex=4"},
		},
		{
			name:         "cursor paging until nextCursor is absent",
			faults:       scimFaults{users: 15},
			cfg:          func(c *Config) { c.SCIM.Paging = "cursor" },
			wantRequests: []string{"/scim/v2/Users?count=10&cursor", "/scim/v2/Users?count=10&cursor=11"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSCIM{scimFaults: tt.faults}
			fake.token = "s3cret"
			src := newSCIMSource(t, fake, tt.cfg)
			snap, err := src.Pull(context.Background())
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if !snap.Complete || snap.Count != fake.users {
				t.Fatalf("Complete %v Count %d, want complete with %d", snap.Complete, snap.Count, fake.users)
			}
			for i, r := range snap.Records {
				if want := fmt.Sprintf("id-%04d", i); r.ID != want || r.PrimaryEmail() != fmt.Sprintf("user%d@acme.example", i) {
					t.Fatalf("record %d = %+v, want id %s", i, r, want)
				}
			}
			if diff := cmp.Diff(tt.wantRequests, fake.requestLog()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSCIMIncomplete(t *testing.T) {
	tests := []struct {
		name        string
		faults      scimFaults
		cfg         func(*Config)
		wantRecords int
		wantReason  string
	}{
		{"a failing page", scimFaults{users: 25, failPage: 2}, nil, 10,
			"page 2 (startIndex 11): HTTP 500 (tooMany): try again"},
		{"a failing page with a numeric status in the body", scimFaults{users: 25, failPage: 1, numericStatus: true}, nil, 0,
			"page 1 (startIndex 1): HTTP 500 (tooMany): try again"},
		{"totalResults changes between pages", scimFaults{users: 25, totalLieOn: 2}, nil, 10,
			"page 2 (startIndex 11): totalResults changed from 25 to 26"},
		{"the last user of a page repeated on the next", scimFaults{users: 25, repeatLastOn: 2}, nil, 10,
			`page 2 (startIndex 11): id "id-0009" was already listed`},
		{"a page equal to the previous one", scimFaults{users: 25, samePageOn: 2}, nil, 10,
			"page 2 (startIndex 11) repeats the previous page"},
		{"an empty page before the total", scimFaults{users: 25, emptyOn: 2}, nil, 10,
			"page 2 (startIndex 11): empty page after 10 of totalResults 25"},
		{"cursor paging with an empty page that is not the last", scimFaults{users: 25, emptyOn: 2}, func(c *Config) { c.SCIM.Paging = "cursor" }, 10,
			"page 2: empty page that is not the last (nextCursor present) after 10 users"},
		{"cursor paging with a repeated cursor", scimFaults{users: 25, repeatCursorOn: 2}, func(c *Config) { c.SCIM.Paging = "cursor" }, 20,
			`page 2: nextCursor "11" repeats an earlier one`},
		{"totalResults below the users sent", scimFaults{users: 25, shortTotal: 5}, nil, 10,
			"page 1 (startIndex 1): 10 users received but totalResults is 5"},
		{"no users at all", scimFaults{users: 0}, nil, 0, "the SCIM service lists no users"},
		{"totalResults equal to the page size while more users exist", scimFaults{users: 25, totalIsPageSize: true}, nil, 10,
			`end check (startIndex 11): user "id-0010" follows the 10 of totalResults: the server's total understates its list`},
		{"pages above max_bytes together", scimFaults{users: 25}, func(c *Config) { c.MaxBytes = 4000 }, 10,
			"page 2 (startIndex 11): this page and the ones before: input larger than source.max_bytes (4000 bytes)"},
		{"a failing end check", scimFaults{users: 5, failPage: 2}, nil, 5, "end check (startIndex 6): HTTP 500"},
		{"wrong token", scimFaults{users: 3, token: "other"}, nil, 0, "HTTP 401: bad token"},
		{"cursor paging with a failing page", scimFaults{users: 25, failPage: 3}, func(c *Config) { c.SCIM.Paging = "cursor" }, 20,
			"page 3: HTTP 500"},
		{"cursor paging ending before totalResults", scimFaults{users: 15, shortTotal: 16}, func(c *Config) { c.SCIM.Paging = "cursor" }, 15,
			"page 2: last page (no nextCursor) after 15 of totalResults 16"},
		{"bearer token file missing", scimFaults{users: 3}, func(c *Config) { c.Auth.TokenFile = "/nonexistent/token" }, 0,
			"bearer token: read secret file /nonexistent/token: open /nonexistent/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSCIM{scimFaults: tt.faults}
			if fake.token == "" {
				fake.token = "s3cret"
			}
			src := newSCIMSource(t, fake, tt.cfg)
			snap, err := src.Pull(context.Background())
			assertIncomplete(t, snap, err, tt.wantReason)
			if snap.Count != tt.wantRecords {
				t.Errorf("Count %d, want %d", snap.Count, tt.wantRecords)
			}
		})
	}
}

func TestSCIMSlowServer(t *testing.T) {
	t.Run("request timeout", func(t *testing.T) {
		fake := &fakeSCIM{scimFaults: scimFaults{users: 3, token: "s3cret", slow: 5 * time.Second}}
		src := newSCIMSource(t, fake, func(c *Config) { c.Timeout = 50 * time.Millisecond })
		snap, err := src.Pull(context.Background())
		assertIncomplete(t, snap, err, "page 1 (startIndex 1)")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
		}
	})
	t.Run("caller's context", func(t *testing.T) {
		fake := &fakeSCIM{scimFaults: scimFaults{users: 3, token: "s3cret", slow: 5 * time.Second}}
		src := newSCIMSource(t, fake, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		snap, err := src.Pull(ctx)
		assertIncomplete(t, snap, err, "page 1 (startIndex 1)")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
		}
	})
}

func TestParseSCIMError(t *testing.T) {
	tests := []struct {
		name string
		code int
		body string
		want string
	}{
		{"string status", 400, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"bad filter"}`,
			"HTTP 400 (invalidFilter): bad filter"},
		{"numeric status", 400, `{"status":400,"detail":"bad filter"}`, "HTTP 400: bad filter"},
		{"disagreeing status", 502, `{"status":"503","detail":"upstream"}`, "HTTP 502 (body status 503): upstream"},
		{"not JSON", 502, "<html>\n<b>Bad gateway</b>\n</html>", "HTTP 502: <html> <b>Bad gateway</b> </html>"},
		{"empty", 503, "", "HTTP 503: (empty body)"},
	}
	for _, tt := range tests {
		if got := parseSCIMError(tt.code, []byte(tt.body)).Error(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

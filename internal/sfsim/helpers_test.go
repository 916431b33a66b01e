package sfsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/syncd-io/syncd/internal/clocktest"
)

func newTestClock() *clocktest.Clock {
	return clocktest.New(time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC))
}

// harness is a simulator behind an httptest server with a token.
type harness struct {
	t     *testing.T
	sim   *Server
	http  *httptest.Server
	clock *clocktest.Clock
	token string
}

const testVersion = "/services/data/v67.0"

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	clock := newTestClock()
	if opts.Clock == nil {
		opts.Clock = clock.Now
	}
	sim, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := &harness{t: t, sim: sim, http: httptest.NewServer(sim), clock: clock}
	t.Cleanup(h.http.Close)
	h.token = h.login()
	return h
}

// login runs the client-credentials flow and returns the access token.
func (h *harness) login() string {
	h.t.Helper()
	status, _, body := h.form("/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {h.sim.opts.ClientID}, "client_secret": {h.sim.opts.ClientSecret},
	})
	if status != 200 {
		h.t.Fatalf("login: %d %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		h.t.Fatalf("login answer %s: %v", body, err)
	}
	return tok.AccessToken
}

func (h *harness) form(path string, v url.Values) (int, http.Header, []byte) {
	h.t.Helper()
	resp, err := http.Post(h.http.URL+path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	return readResponse(h.t, resp)
}

// do sends an authenticated request; body may be nil, a string, or a value to
// marshal as JSON.
func (h *harness) do(method, path string, body any, header ...string) (int, http.Header, []byte) {
	h.t.Helper()
	resp, err := h.send(method, path, body, header...)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return readResponse(h.t, resp)
}

func (h *harness) send(method, path string, body any, header ...string) (*http.Response, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatalf("marshal: %v", err)
		}
		r = strings.NewReader(string(data))
	}
	req, err := http.NewRequest(method, h.http.URL+path, r)
	if err != nil {
		h.t.Fatalf("request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return http.DefaultClient.Do(req)
}

func readResponse(t *testing.T, resp *http.Response) (int, http.Header, []byte) {
	t.Helper()
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, resp.Header, data
}

// errorCodes extracts the errorCode of each entry of a REST error array.
func errorCodes(t *testing.T, body []byte) []string {
	t.Helper()
	var errs []wireError
	if err := json.Unmarshal(body, &errs); err != nil {
		t.Fatalf("body %q is not an error array: %v", body, err)
	}
	var codes []string
	for _, e := range errs {
		codes = append(codes, e.ErrorCode)
	}
	return codes
}

func errorMessages(t *testing.T, body []byte) []string {
	t.Helper()
	var errs []wireError
	if err := json.Unmarshal(body, &errs); err != nil {
		t.Fatalf("body %q is not an error array: %v", body, err)
	}
	var messages []string
	for _, e := range errs {
		messages = append(messages, e.Message)
	}
	return messages
}

// newUser is a valid create body.
func (h *harness) newUser(username string) map[string]any {
	profile, _ := h.sim.ProfileID("Standard User")
	return map[string]any{
		"Username": username, "LastName": "Doe", "FirstName": "Jane", "Email": username,
		"Alias": "jdoe", "TimeZoneSidKey": "America/New_York", "LocaleSidKey": "en_US",
		"EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US", "ProfileId": profile,
	}
}

// create makes a user through the API and returns its Id.
func (h *harness) create(body map[string]any) string {
	h.t.Helper()
	status, _, data := h.do("POST", testVersion+"/sobjects/User", body)
	if status != 201 {
		h.t.Fatalf("create: %d %s", status, data)
	}
	var res struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(data, &res)
	return res.ID
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ignoreAttributes leaves a record's attributes out of a comparison.
func ignoreAttributes() cmp.Option {
	return cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "attributes" })
}

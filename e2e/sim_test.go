package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startupDeadline bounds the wait for sfsim's first line and for its exit after
// SIGTERM. It is a deadline for a process that hangs, not a timed assertion.
const startupDeadline = time.Minute

// sfsimProcess is one sfsim binary serving one org on a loopback port.
type sfsimProcess struct {
	url string
	// integrationUserID is the user every token acts as; it is not one of the people.
	integrationUserID string
	http              *http.Client
	token             string
}

// startSfsim starts sfsim on a free loopback port with the given extra flags and a
// seed document (nil for none), waits for the URL it prints first, and stops it with
// SIGTERM when the test ends, expecting a clean exit.
func startSfsim(t testing.TB, seed any, flags ...string) *sfsimProcess {
	t.Helper()
	args := append([]string{"--addr", "127.0.0.1:0"}, flags...)
	if seed != nil {
		data, err := json.Marshal(seed)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "seed.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--seed", path)
	}
	cmd := exec.Command(binaries.sfsim, args...)
	var stderr bytes.Buffer // written by exec's copier, read only after Wait
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sfsim: %v", err)
	}
	firstLine, exited := make(chan string, 1), make(chan error, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		firstLine <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, r)
		exited <- cmd.Wait()
	}()
	stopOnCleanup(t, "sfsim", cmd, exited, stderr.String)
	s := &sfsimProcess{http: &http.Client{}}
	select {
	case s.url = <-firstLine:
	case <-time.After(startupDeadline):
		t.Fatalf("sfsim printed no URL within %v", startupDeadline)
	}
	if u, err := url.Parse(s.url); err != nil || u.Host == "" {
		t.Fatalf("sfsim's first line is %q, not its URL", s.url)
	}
	s.integrationUserID = s.state(t).IntegrationUserID
	return s
}

// stopOnCleanup sends the process SIGTERM when the test ends and expects a clean
// exit (reported on exited) within startupDeadline, else kills it; the test fails
// with the process's log in both cases.
func stopOnCleanup(t testing.TB, name string, cmd *exec.Cmd, exited <-chan error, log func() string) {
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("%s did not exit cleanly on SIGTERM: %v\n%s", name, err, log())
			}
		case <-time.After(startupDeadline):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("%s still ran %v after SIGTERM", name, startupDeadline)
		}
	})
}

// simState is sfsim's GET /__sim/state: the org's API usage as Sforce-Limit-Info
// reports it, its user count and how many requests each endpoint received.
type simState struct {
	IntegrationUserID string         `json:"integrationUserId"`
	APIUsage          int64          `json:"apiUsage"`
	Users             int            `json:"users"`
	Calls             map[string]int `json:"calls"`
}

func (s *sfsimProcess) state(t testing.TB) simState {
	t.Helper()
	var st simState
	s.do(t, http.MethodGet, s.url+"/__sim/state", "", nil, &st)
	return st
}

// simUser is a user as sfsim's GET /__sim/users/{id or username} shows it; reading it
// spends no API call.
type simUser struct {
	ID       string         `json:"id"`
	Username string         `json:"username"`
	IsActive bool           `json:"isActive"`
	IsFrozen bool           `json:"isFrozen"`
	Profile  string         `json:"profile"`
	Fields   map[string]any `json:"fields"`
}

// user returns a user by Id or username, failing the test when there is none.
func (s *sfsimProcess) user(t testing.TB, idOrUsername string) simUser {
	t.Helper()
	var u simUser
	s.do(t, http.MethodGet, s.url+"/__sim/users/"+url.PathEscape(idOrUsername), "", nil, &u)
	return u
}

// field returns a user's field as a string ("" for null).
func (u simUser) field(name string) string {
	v, _ := u.Fields[name].(string)
	return v
}

// addUsers adds users straight into the org, as a seed does.
func (s *sfsimProcess) addUsers(t testing.TB, users ...map[string]any) []string {
	t.Helper()
	var out struct {
		IDs []string `json:"ids"`
	}
	s.do(t, http.MethodPost, s.url+"/__sim/users", "", users, &out)
	return out.IDs
}

// injectFault queues a FaultRule: an sfsim.FaultRule, or a map in its JSON form.
func (s *sfsimProcess) injectFault(t testing.TB, rule any) {
	t.Helper()
	s.do(t, http.MethodPost, s.url+"/__sim/faults", "", rule, nil)
}

// orgUser is a user as sfsim's GET /__sim/users lists it.
type orgUser struct {
	ID                   string `json:"id"`
	Username             string `json:"username"`
	Email                string `json:"email"`
	FederationIdentifier string `json:"federationIdentifier"`
	IsActive             bool   `json:"isActive"`
}

// people returns every user of the org but the integration user, through sfsim's
// control endpoint: checking the org spends no API call and meets no injected
// fault, so a test may call it between any two runs, even under a fault storm.
func (s *sfsimProcess) people(t testing.TB) []orgUser {
	t.Helper()
	var all, users []orgUser
	s.do(t, http.MethodGet, s.url+"/__sim/users", "", nil, &all)
	for _, u := range all {
		if u.ID != s.integrationUserID {
			users = append(users, u)
		}
	}
	return users
}

// updateUser changes a user's fields over the REST API, as an admin editing the
// user in Salesforce would.
func (s *sfsimProcess) updateUser(t testing.TB, id string, fields map[string]any) {
	t.Helper()
	s.do(t, http.MethodPatch, s.url+"/services/data/v67.0/sobjects/User/"+id, s.accessToken(t), fields, nil)
}

// accessToken logs in with client credentials once per process.
func (s *sfsimProcess) accessToken(t testing.TB) string {
	t.Helper()
	if s.token != "" {
		return s.token
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"sfsim-client-id"}, "client_secret": {"sfsim-client-secret"}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.url+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	s.send(t, req, &tok)
	s.token = tok.AccessToken
	return s.token
}

// do sends a JSON request (body nil for none) and decodes a 2xx JSON answer into out
// (nil to ignore it); anything else fails the test.
func (s *sfsimProcess) do(t testing.TB, method, target, token string, body, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	s.send(t, req, out)
}

func (s *sfsimProcess) send(t testing.TB, req *http.Request, out any) {
	t.Helper()
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, data)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", req.Method, req.URL.Path, data, err)
		}
	}
}

// callsSince returns the requests per endpoint between two states, leaving out the
// endpoints that received none.
func callsSince(before, after simState) map[string]int {
	out := map[string]int{}
	for name, n := range after.Calls {
		if d := n - before.Calls[name]; d != 0 {
			out[name] = d
		}
	}
	return out
}

// writeCalls keeps the endpoints of calls that write to the org.
func writeCalls(calls map[string]int) map[string]int {
	out := maps.Clone(calls)
	maps.DeleteFunc(out, func(name string, _ int) bool {
		switch name {
		case "collections.create", "collections.update", "collections.upsert", "collections.delete",
			"sobject.create", "sobject.update", "sobject.upsert", "sobject.delete":
			return false
		}
		return true
	})
	return out
}

package main

// Process tests: the built syncd and sfsim binaries run as processes, as an operator
// runs them, against sfsim and the store (SQLite, or the throwaway PostgreSQL server of
// internal/store/pgtest). Waiting is on events (a log line, a counter reaching a
// value), never on a fixed time; the deadlines are generous bounds for a noisy
// machine, not measurements.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/store"
	"github.com/syncd-io/syncd/internal/store/pgtest"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, &pg)) }

// Secrets and personal data that no log line of a process test may show.
const (
	simClientSecret = "sfsim-client-secret"
	adminToken      = "admin-token-7f3c9e"
	emailDomain     = "@acme.example.com"
	waitBound       = 90 * time.Second
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds syncd and sfsim once per test binary.
func binaries(t *testing.T) (syncd, sfsim string) {
	t.Helper()
	if testing.Short() {
		t.Skip("process tests build and run binaries; skipped with -short")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "syncd-bin-")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", binDir+"/", "../../cmd/syncd", "../../cmd/sfsim").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "syncd"), filepath.Join(binDir, "sfsim")
}

// logBuffer collects a process's output and wakes waiters on every write.
type logBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	notify chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{notify: make(chan struct{}, 1)} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a running process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout *logBuffer
	stderr *logBuffer
	exited chan struct{}
	err    error
}

func startProc(t *testing.T, dir, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), stdout: newLogBuffer(), stderr: newLogBuffer(), exited: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", p.name, p.stderr.String())
		}
	})
	return p
}

// waitFor blocks until cond holds, re-checking on each line the process writes and
// every 100 ms (for conditions outside the process), failing after waitBound.
func (p *proc) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitBound)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-p.stderr.notify:
		case <-tick.C:
		case <-p.exited:
			if !cond() {
				t.Fatalf("%s exited (%v) while waiting for %s", p.name, p.err, what)
			}
			return
		case <-deadline.C:
			t.Fatalf("%s: gave up waiting for %s", p.name, what)
		}
	}
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the process to exit, within waitBound.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(waitBound):
		t.Fatalf("%s did not exit", p.name)
		return nil
	}
}

// sim is a running sfsim.
type sim struct {
	*proc
	url string
}

func startSim(t *testing.T, dir, bin string) *sim {
	t.Helper()
	p := startProc(t, dir, "sfsim", bin, "--addr", "127.0.0.1:0")
	s := &sim{proc: p}
	deadline := time.After(waitBound)
	for {
		if line, _, ok := strings.Cut(p.stdout.String(), "\n"); ok {
			s.url = strings.TrimSpace(line)
			return s
		}
		select {
		case <-p.stdout.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("sfsim printed no URL")
		}
	}
}

type simState struct {
	Users int            `json:"users"`
	Calls map[string]int `json:"calls"`
}

func (s *sim) state(t *testing.T) simState {
	t.Helper()
	var st simState
	getJSON(t, s.url+"/__sim/state", "", &st)
	return st
}

// delay makes the next n calls to endpoint wait d before they are handled.
func (s *sim) delay(t *testing.T, endpoint string, n int, d time.Duration) {
	t.Helper()
	body := fmt.Sprintf(`{"endpoint":%q,"count":%d,"fault":{"latency":%d}}`, endpoint, n, d.Nanoseconds())
	resp, err := http.Post(s.url+"/__sim/faults", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("queueing a fault: %s", resp.Status)
	}
}

// call sends one request with the bearer token (when set) and returns the status
// and the body; a failure to connect is status 0.
func call(method, url, token, body string) (int, []byte) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// getJSON GETs url and decodes a 200 answer into v (when set).
func getJSON(t *testing.T, url, token string, v any) int {
	t.Helper()
	code, body := call(http.MethodGet, url, token, "")
	if code == 0 {
		t.Fatalf("GET %s: no answer", url)
	}
	if v != nil && code == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatal(err)
		}
	}
	return code
}

// getJSONLenient is getJSON for a server that may not be up yet: no answer, or one
// that does not decode, is status 0.
func getJSONLenient(url string, v any) int {
	code, body := call(http.MethodGet, url, "", "")
	if code == http.StatusOK && json.Unmarshal(body, v) != nil {
		return 0
	}
	return code
}

func post(t *testing.T, url, token, body string) int {
	t.Helper()
	code, _ := call(http.MethodPost, url, token, body)
	if code == 0 {
		t.Fatalf("POST %s: no answer", url)
	}
	return code
}

// deployment is a working directory with a configuration, the source file and the
// secrets, and the daemons started on it.
type deployment struct {
	t       *testing.T
	dir     string
	syncd   string
	sim     *sim
	daemons []*daemonProc
}

type daemonProc struct {
	*proc
	admin string // the admin server's base URL
}

type deployOpts struct {
	people    int
	interval  string
	storeYAML string
	listen    string // server.listen; default a port the system picks
	extra     string // appended to the configuration
}

func newDeployment(t *testing.T, o deployOpts) *deployment {
	t.Helper()
	syncdBin, simBin := binaries(t)
	d := &deployment{t: t, dir: t.TempDir(), syncd: syncdBin}
	d.sim = startSim(t, d.dir, simBin)
	d.write("client-secret", simClientSecret)
	d.write("admin-token", adminToken+"\n")
	d.setPeople(0, o.people)
	if o.interval == "" {
		o.interval = "1h"
	}
	if o.listen == "" {
		o.listen = "127.0.0.1:0"
	}
	if o.storeYAML == "" {
		o.storeYAML = "{ driver: sqlite, dsn: file:syncd.db }"
	}
	d.writeConfig(o, "")
	t.Cleanup(d.checkLogs)
	return d
}

func (d *deployment) writeConfig(o deployOpts, title string) {
	if title == "" {
		title = "{{ .Title }}"
	}
	d.write("syncd.yaml", fmt.Sprintf(`salesforce:
  login_url: %s
  auth: { method: client_credentials, client_id: sfsim-client-id, client_secret_file: client-secret }
  budget: { concurrency: 1 }
source: { type: file, path: people.csv, format: csv }
mapping:
  fields:
    Title: { from: %q }
  profile: { default: Standard User }
store: %s
schedule: { interval: %s, jitter: 0 }
server: { listen: %q, token_file: admin-token }
log: { level: info, format: json, pii: false }
%s`, d.sim.url, title, o.storeYAML, o.interval, o.listen, o.extra))
}

func (d *deployment) write(name, content string) {
	d.t.Helper()
	if err := os.WriteFile(filepath.Join(d.dir, name), []byte(content), 0o600); err != nil {
		d.t.Fatal(err)
	}
}

// setPeople writes a source of people from..to-1.
func (d *deployment) setPeople(from, to int) {
	var b strings.Builder
	b.WriteString("id,email,given_name,family_name,title,department\n")
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "E%d,person%d%s,Given%d,Family%d,Engineer,R&D\n", i, i, emailDomain, i, i)
	}
	d.write("people.csv", b.String())
}

// start starts `syncd run` and waits until it serves.
func (d *deployment) start(name string) *daemonProc {
	d.t.Helper()
	p := &daemonProc{proc: startProc(d.t, d.dir, name, d.syncd, "-c", "syncd.yaml", "run")}
	var addr string
	p.waitFor(d.t, "the admin server", func() bool {
		for line := range strings.Lines(p.stderr.String()) {
			var l struct{ Msg, Admin string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "syncd running" {
				addr = l.Admin
				return true
			}
		}
		return false
	})
	p.admin = "http://" + addr
	d.daemons = append(d.daemons, p)
	return p
}

// cli runs a one-shot syncd command in the deployment.
func (d *deployment) cli(args ...string) (int, string) {
	d.t.Helper()
	cmd := exec.Command(d.syncd, append([]string{"-c", "syncd.yaml"}, args...)...)
	cmd.Dir = d.dir
	out, err := cmd.CombinedOutput()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		d.t.Fatal(err)
	}
	return 0, string(out)
}

// checkLogs fails the test if any line a daemon wrote shows a secret or an email.
func (d *deployment) checkLogs() {
	for _, p := range d.daemons {
		out := p.stderr.String()
		for _, bad := range []string{simClientSecret, adminToken, emailDomain, "Given1", "Family1"} {
			if strings.Contains(out, bad) {
				d.t.Errorf("%s logged %q:\n%s", p.name, bad, grepLines(out, bad))
			}
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// metric reads one series from the daemon's /metrics, or -1 when it is absent.
func (p *daemonProc) metric(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := http.Get(p.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	return -1
}

const succeeded = `syncd_cycles_total{outcome="succeeded"}`

// waitCycles waits until the daemon has run n successful cycles.
func (p *daemonProc) waitCycles(t *testing.T, n float64) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("%v successful cycles", n), func() bool { return p.metric(t, succeeded) >= n })
	if got := p.metric(t, succeeded); got != n {
		t.Fatalf("%v successful cycles, want %v", got, n)
	}
}

// triggers lists the triggers of the runs in the store, oldest first.
func (d *deployment) triggers(p *daemonProc) []string {
	d.t.Helper()
	var runs []struct {
		Trigger string `json:"trigger"`
		Status  string `json:"status"`
	}
	if code := getJSON(d.t, p.admin+"/v1/runs?limit=100", adminToken, &runs); code != http.StatusOK {
		d.t.Fatalf("GET /v1/runs: %d", code)
	}
	out := []string{}
	for i := len(runs) - 1; i >= 0; i-- {
		out = append(out, runs[i].Trigger)
	}
	return out
}

func openStore(t *testing.T, driver, dsn string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Driver: driver, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

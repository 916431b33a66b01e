package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/syncd-io/syncd/internal/store"
)

// Exit codes of syncd (cmd/syncd/cli.go), as a script sees them.
const (
	exitOK      = 0
	exitPending = 2 // plan: changes are pending
	exitPartial = 3 // apply: some actions failed or wait for approval
	exitPaused  = 4 // apply: the org's remaining allowance fell below the reserve
)

// settings are what a test's configuration sets beyond its org and files: the
// guardrails, the Salesforce requests in flight (0 for the default, 4) and the API
// budget's share and reserve (0 for syncd's defaults).
type settings struct {
	MaxDeactivations       int
	MaxDeactivationPercent int
	MaxShrinkPercent       int
	Concurrency            int
	Share, Reserve         float64
	// FallbackUser, when set, is policy.offboarding.transfer.fallback_user;
	// ReturnRecords sets policy.offboarding.return_records.
	FallbackUser  string
	ReturnRecords bool
	// PostgresDSN, when set, is the PostgreSQL database of syncd's store; otherwise
	// the store is an SQLite file of the deployment's own.
	PostgresDSN string
	// Entitlements is the mapping.entitlements section, indented under mapping; ""
	// for none. MaxEntitlementRemovals is its cap; 0 for the default.
	Entitlements           string
	MaxEntitlementRemovals int
}

// lenient returns guardrails that let a small test's deactivations through: the
// shipped defaults (50, 5 %, 10 %) would hold any leaver among a few dozen people.
func lenient() settings {
	return settings{MaxDeactivations: 50, MaxDeactivationPercent: 100, MaxShrinkPercent: 100}
}

// deployment is one syncd installation: its configuration file (from
// testdata/syncd.yaml.tmpl), its CSV export and its store, pointed at one sfsim org.
type deployment struct {
	org    *sfsimProcess
	config string
	export string
	store  store.Config
}

// deploy writes a configuration for org with the given settings into a fresh
// directory, with an empty export (header only) until the test writes people.
func deploy(t testing.TB, org *sfsimProcess, s settings) *deployment {
	t.Helper()
	dir := t.TempDir()
	d := &deployment{org: org, config: filepath.Join(dir, "syncd.yaml"), export: filepath.Join(dir, "people.csv"),
		store: store.Config{Driver: store.DriverSQLite, DSN: "file:" + filepath.Join(dir, "syncd.db")}}
	if s.PostgresDSN != "" {
		d.store = store.Config{Driver: store.DriverPostgres, DSN: s.PostgresDSN}
	}
	secret := filepath.Join(dir, "client-secret")
	if err := os.WriteFile(secret, []byte("sfsim-client-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.ParseFiles(filepath.Join("testdata", "syncd.yaml.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Concurrency == 0 {
		s.Concurrency = 4
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, map[string]any{
		"LoginURL": org.url, "SecretFile": secret, "SourcePath": d.export,
		"StoreDriver": d.store.Driver, "StoreDSN": d.store.DSN,
		"MaxDeactivations": s.MaxDeactivations, "MaxDeactivationPercent": s.MaxDeactivationPercent,
		"MaxShrinkPercent": s.MaxShrinkPercent, "Concurrency": s.Concurrency,
		"Share": s.Share, "Reserve": s.Reserve, "Entitlements": s.Entitlements,
		"MaxEntitlementRemovals": s.MaxEntitlementRemovals, "FallbackUser": s.FallbackUser, "ReturnRecords": s.ReturnRecords,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.config, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	d.write(t, nil)
	return d
}

// person is one row of the IdP export.
type person struct {
	ID, Email, GivenName, FamilyName, Title, Department string
}

// username is the Salesforce Username the configuration's mapping gives a person.
func (p person) username() string { return strings.ToLower(p.Email) }

// staff returns n people numbered from first: E00001, p00001@acme.example.com, ...
func staff(first, n int) []person {
	out := make([]person, n)
	for i := range out {
		k := first + i
		out[i] = person{
			ID: fmt.Sprintf("E%05d", k), Email: fmt.Sprintf("p%05d@acme.example.com", k),
			GivenName: fmt.Sprintf("Given%d", k), FamilyName: fmt.Sprintf("Family%d", k),
			Title: "Engineer", Department: "Engineering",
		}
	}
	return out
}

// write replaces the export with these people, atomically (written aside, then
// renamed), as config.example.yaml asks of exporters.
func (d *deployment) write(t testing.TB, people []person) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	rows := [][]string{{"employeeId", "email", "firstName", "lastName", "title", "department"}}
	for _, p := range people {
		rows = append(rows, []string{p.ID, p.Email, p.GivenName, p.FamilyName, p.Title, p.Department})
	}
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	d.writeRaw(t, buf.Bytes())
}

// writeRaw replaces the export with data as it is.
func (d *deployment) writeRaw(t testing.TB, data []byte) {
	t.Helper()
	tmp := d.export + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, d.export); err != nil {
		t.Fatal(err)
	}
}

// outcome is how one syncd command ended.
type outcome struct {
	code           int
	stdout, stderr string
}

// syncd runs one syncd command with the deployment's configuration and waits for it
// to exit.
func (d *deployment) syncd(t testing.TB, args ...string) outcome {
	t.Helper()
	cmd := d.command(t, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return outcome{code: exitCodeOf(t, err), stdout: stdout.String(), stderr: stderr.String()}
}

// command prepares a syncd command with the deployment's configuration.
func (d *deployment) command(t testing.TB, args ...string) *exec.Cmd {
	return exec.CommandContext(t.Context(), binaries.syncd, append([]string{"--config", d.config}, args...)...)
}

// exitCodeOf returns a finished command's exit code; failing to run at all, or
// dying of a signal, fails the test.
func exitCodeOf(t testing.TB, err error) int {
	t.Helper()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	}
	t.Fatalf("running syncd: %v", err)
	return -1
}

// must runs a syncd command and fails the test, showing both streams, unless it
// exits with want.
func (d *deployment) must(t testing.TB, want int, args ...string) outcome {
	t.Helper()
	o := d.syncd(t, args...)
	if o.code != want {
		t.Fatalf("syncd %v exited %d, want %d\nstdout:\n%s\nstderr:\n%s", args, o.code, want, o.stdout, o.stderr)
	}
	return o
}

// applyWrites runs `syncd apply --once`, which must exit with want, and returns the
// write requests per endpoint it sent to the org.
func (d *deployment) applyWrites(t testing.TB, want int) map[string]int {
	t.Helper()
	before := d.org.state(t)
	d.must(t, want, "apply", "--once")
	return writeCalls(callsSince(before, d.org.state(t)))
}

// synced starts an org of its own, deploys syncd on it with s, and syncs the first n
// people of staff into it.
func synced(t testing.TB, s settings, n int) (*sfsimProcess, *deployment, []person) {
	t.Helper()
	org := startSfsim(t, nil)
	d := deploy(t, org, s)
	people := staff(1, n)
	d.write(t, people)
	d.must(t, exitOK, "apply", "--once")
	return org, d, people
}

// links returns the store's links, IdP id → Salesforce Id, read with the store
// package from the store the syncd processes wrote.
func (d *deployment) links(t testing.TB) map[string]store.Link {
	t.Helper()
	var links []store.Link
	d.readStore(t, func(ctx context.Context, st store.Store) (err error) {
		links, err = st.Links(ctx)
		return err
	})
	out := make(map[string]store.Link, len(links))
	for _, l := range links {
		out[l.IdPID] = l
	}
	return out
}

// readStore opens the deployment's store, calls read with it and closes it.
func (d *deployment) readStore(t testing.TB, read func(context.Context, store.Store) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st, err := store.Open(ctx, d.store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := read(ctx, st); err != nil {
		t.Fatal(err)
	}
}

// explanation is `syncd explain KEY -o json`: the person's link and every journal
// entry about them, newest first.
type explanation struct {
	Link *struct {
		IdPID        string `json:"idp_id"`
		SalesforceID string `json:"salesforce_id"`
		Origin       string `json:"origin"`
	} `json:"link"`
	Actions []explainedAction `json:"actions"`
}

// explainedAction is one action of `syncd explain -o json`.
type explainedAction struct {
	RunID         int64      `json:"run_id"`
	Kind          string     `json:"kind"`
	Status        string     `json:"status"`
	ErrorCode     string     `json:"error_code"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	Changes       []struct {
		Field  string `json:"field"`
		Before string `json:"before"`
		After  string `json:"after"`
	} `json:"changes"`
}

func (d *deployment) explain(t testing.TB, key string) explanation {
	t.Helper()
	var e explanation
	decodeStrict(t, d.must(t, exitOK, "explain", key, "-o", "json").stdout, &e)
	return e
}

// history lists an explanation's actions as "kind status", newest first.
func (e explanation) history() []string {
	out := make([]string, len(e.Actions))
	for i, a := range e.Actions {
		out[i] = a.Kind + " " + a.Status
	}
	return out
}

// runRecord is one run of `syncd runs -o json`.
type runRecord struct {
	ID     int64          `json:"id"`
	Status string         `json:"status"`
	Error  string         `json:"error"`
	Counts map[string]int `json:"counts"`
}

// actions is the number of actions the run planned, whatever became of them.
func (r runRecord) actions() int {
	n := 0
	for _, c := range r.Counts {
		n += c
	}
	return n
}

// runs returns every run, newest first.
func (d *deployment) runs(t testing.TB) []runRecord {
	t.Helper()
	var runs []runRecord
	decodeStrict(t, d.must(t, exitOK, "runs", "--limit", "1000", "-o", "json").stdout, &runs)
	return runs
}

// decodeStrict decodes a command's JSON output, which must be one JSON value.
func decodeStrict(t testing.TB, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("the output is not JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("the output holds more than one JSON value:\n%s", out)
	}
}

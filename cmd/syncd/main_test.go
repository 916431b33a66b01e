package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/migrations"
)

// runCLI runs one command line in-process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, env{
		stdout: &out, stderr: &errOut, now: time.Now,
		lookupEnv: func(string) (string, bool) { return "", false },
	})
	return code, out.String(), errOut.String()
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "version", args: []string{"version"}, wantCode: exitOK, wantStdout: "syncd dev\n"},
		{name: "no command shows help", args: nil, wantCode: exitOK, wantStdout: "Usage: syncd <command>"},
		{name: "help lists every command", args: []string{"--help"}, wantCode: exitOK, wantStdout: "check-config"},
		{name: "unknown command is a usage error", args: []string{"frobnicate"}, wantCode: exitUsage, wantStderr: "unexpected argument frobnicate"},
		{name: "apply needs --once", args: []string{"apply"}, wantCode: exitUsage, wantStderr: "--once"},
		{name: "approve needs --by", args: []string{"approve", "3"}, wantCode: exitUsage, wantStderr: "--by"},
		{name: "a bad output format is a usage error", args: []string{"plan", "-o", "yaml"}, wantCode: exitUsage, wantStderr: `--output must be one of "table","json"`},
		{name: "a missing configuration file is an error", args: []string{"--config", "/nonexistent/syncd.yaml", "runs"}, wantCode: exitError, wantStderr: "/nonexistent/syncd.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestPlanJSONAgreesWithTheExitCode(t *testing.T) {
	held := reconcile.Plan{Actions: []reconcile.Action{{Kind: reconcile.KindDeactivate, IdPID: "E1", Held: true, HeldBy: "cap"}}}
	tests := []struct {
		name string
		plan reconcile.Plan
		want bool
	}{
		{name: "nothing to do", plan: reconcile.Plan{}, want: false},
		{name: "only held actions are still pending", plan: held, want: true},
		{name: "an action to apply", plan: reconcile.Plan{Actions: []reconcile.Action{{Kind: reconcile.KindCreate, IdPID: "E2"}}}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := planJSON(tt.plan, reconcile.Summary{})
			if doc.HasChanges != tt.want || pending(tt.plan) != tt.want {
				t.Errorf("has_changes = %v, pending = %v, want %v", doc.HasChanges, pending(tt.plan), tt.want)
			}
		})
	}
}

// TestMigrateSaysWhatItApplied runs `syncd migrate` twice on a new SQLite store: the
// first applies every migration and names them, the second has nothing to do.
func TestMigrateSaysWhatItApplied(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "syncd.yaml")
	body := "salesforce:\n  login_url: http://127.0.0.1:1\n  auth: { method: client_credentials, client_id: x, client_secret_file: secret }\n" +
		"source: { type: file, path: people.csv, format: csv }\nmapping: { profile: { default: Standard User } }\n" +
		"store: { dsn: \"file:" + filepath.Join(dir, "syncd.db") + "\" }\n"
	if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	versions, err := migrations.Versions(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "--config", config, "migrate")
	if code != exitOK || !strings.Contains(stdout, fmt.Sprintf("Applied migrations %v", versions)) {
		t.Fatalf("first migrate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "--config", config, "migrate")
	if code != exitOK || !strings.Contains(stdout, "nothing to apply") {
		t.Fatalf("second migrate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestPlanShowsStaleApprovals(t *testing.T) {
	plan := reconcile.Plan{Stale: []reconcile.Approved{{RunID: 4, Seq: 2, Kind: reconcile.KindDeactivate, IdPID: "E7", SalesforceID: "005000000000007AAA"}}}
	doc := planJSON(plan, reconcile.Summary{})
	want := []staleDoc{{RunID: 4, Seq: 2, Kind: "deactivate", IdPID: "E7", SalesforceID: "005000000000007AAA"}}
	if diff := cmp.Diff(want, doc.Stale); diff != "" {
		t.Errorf("stale in JSON (-want +got):\n%s", diff)
	}
	var table strings.Builder
	if err := writePlanTable(&table, plan, reconcile.Summary{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "run 4 #2: deactivate E7 (005000000000007AAA)") {
		t.Errorf("the table does not show the stale approval:\n%s", table.String())
	}
}

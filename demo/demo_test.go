// Package demo holds `make demo`, a tour of syncd against a simulated org; its test
// runs the tour the way a newcomer would and checks that it shows what the README's
// quick start promises.
package demo

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMakeDemoShowsThePlanTheResultTheHeldDeletionAndAnExplanation runs `make demo`
// and checks its output step by step, then that the simulator it started is gone.
func TestMakeDemoShowsThePlanTheResultTheHeldDeletionAndAnExplanation(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make demo needs make: %v", err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-s", "-C", "..", "demo")
	cmd.Env = append(os.Environ(), "DEMO_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make demo: %v\n%s", err, out)
	}
	output := string(out)

	for _, tc := range []struct{ name, want string }{
		{"the configuration is checked against the org", "ok    every profile and role named exists in the org"},
		{"the plan creates and adopts", "Plan: 293 create, 6 adopt."},
		{"the plan names the user adopted by email", `FederationIdentifier: "" → "E0006"`},
		{"the plan lists the invalid rows", "record 121 (id E0902): malformed_email"},
		{"the plan leaves the unmanaged admin alone", "(2 unmanaged, left alone)"},
		{"the first cycle applies the plan", "Run 1 succeeded: 299 applied, 0 failed"},
		{"the second cycle has nothing to do", "Run 2 succeeded: 0 applied, 0 failed, 0 held for approval"},
		{"the truncated export's deactivations are held", "102 held for approval"},
		{"the operator is told how to release them", "syncd approve 3 --by NAME"},
		{"the explanation gives the guardrail's reason", "the source has 200 records, 34.2% fewer than the last complete pull's 304"},
		{"the explanation shows the person's history", "IdP id E0250 is linked to Salesforce user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(output, tc.want) {
				t.Errorf("the demo's output lacks %q:\n%s", tc.want, output)
			}
		})
	}

	t.Run("the simulator it started is stopped", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(dir, "sfsim.url"))
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(strings.TrimSpace(string(raw)))
		if err != nil || u.Host == "" {
			t.Fatalf("sfsim printed %q, not a URL (%v)", raw, err)
		}
		conn, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", u.Host)
		if err == nil {
			_ = conn.Close()
			t.Errorf("sfsim still accepts connections on %s after make demo ended", u.Host)
		}
	})
}

package deploytest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// rulesFile writes the PrometheusRule's groups as a Prometheus rules file in dir, the
// form promtool reads, and returns its path.
func rulesFile(t *testing.T, rule *monitoringv1.PrometheusRule, dir string) string {
	t.Helper()
	data, err := yaml.Marshal(map[string]any{"groups": rule.Spec.Groups})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rules.yaml")
	writeFile(t, path, string(data))
	return path
}

// promtool runs promtool with args in dir and fails the test with its output on error.
func promtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is needed (Debian's prometheus package; make test-deps installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// alerts returns every alerting rule of the PrometheusRule, by name.
func alerts(t *testing.T, rule *monitoringv1.PrometheusRule) map[string]monitoringv1.Rule {
	t.Helper()
	out := map[string]monitoringv1.Rule{}
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if _, dup := out[r.Alert]; dup {
				t.Errorf("alert %s is defined twice", r.Alert)
			}
			out[r.Alert] = r
		}
	}
	return out
}

func TestAlertRulesPassPromtoolCheck(t *testing.T) {
	dir := t.TempDir()
	rules := rulesFile(t, render(t, "deploy/base").PrometheusRule, dir)
	out := promtool(t, dir, "check", "rules", rules)
	if !strings.Contains(out, "SUCCESS: 6 rules found") {
		t.Errorf("promtool check rules found other than 6 rules:\n%s", out)
	}
}

// unitTests is the part of a promtool unit test file this test reads and completes.
type unitTests struct {
	RuleFiles          []string   `json:"rule_files"`
	EvaluationInterval string     `json:"evaluation_interval"`
	Tests              []unitTest `json:"tests"`
}

type unitTest struct {
	Interval      string           `json:"interval"`
	Name          string           `json:"name"`
	InputSeries   []map[string]any `json:"input_series"`
	AlertRuleTest []struct {
		EvalTime  string `json:"eval_time"`
		Alertname string `json:"alertname"`
		ExpAlerts []struct {
			ExpLabels      map[string]string `json:"exp_labels"`
			ExpAnnotations map[string]string `json:"exp_annotations"`
		} `json:"exp_alerts"`
	} `json:"alert_rule_test"`
}

// TestAlertsFireAndStayQuiet runs testdata/alerts_test.yaml with promtool test rules,
// after filling in each expected alert's fixed annotations from its rule, and checks
// that every alert has a case where it fires and one where it does not.
func TestAlertsFireAndStayQuiet(t *testing.T) {
	dir := t.TempDir()
	rule := render(t, "deploy/base").PrometheusRule
	rulesFile(t, rule, dir)
	byName := alerts(t, rule)

	raw, err := os.ReadFile("testdata/alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tests unitTests
	if err := yaml.UnmarshalStrict(raw, &tests); err != nil {
		t.Fatalf("testdata/alerts_test.yaml: %v", err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, ut := range tests.Tests {
		for i := range ut.AlertRuleTest {
			art := &ut.AlertRuleTest[i]
			r, ok := byName[art.Alertname]
			if !ok {
				t.Fatalf("test %q: no alert %s in the PrometheusRule", ut.Name, art.Alertname)
			}
			if len(art.ExpAlerts) == 0 {
				quiet[art.Alertname] = true
			} else {
				fires[art.Alertname] = true
			}
			for j := range art.ExpAlerts {
				ann := art.ExpAlerts[j].ExpAnnotations
				for _, key := range []string{"description", "runbook_url"} {
					if strings.Contains(r.Annotations[key], "{{") {
						t.Fatalf("%s's %s is a template; write it in the test file", r.Alert, key)
					}
					ann[key] = r.Annotations[key]
				}
			}
		}
	}
	for name := range byName {
		if !fires[name] || !quiet[name] {
			t.Errorf("alert %s has a case that fires: %t, one that does not: %t; want both", name, fires[name], quiet[name])
		}
	}
	completed, err := yaml.Marshal(tests)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "alerts_test.yaml"), string(completed))
	promtool(t, dir, "test", "rules", "alerts_test.yaml")
}

// TestEveryAlertIsDocumented checks each alert's summary and description, and that
// its runbook_url points at a section of docs/operations.md that exists.
func TestEveryAlertIsDocumented(t *testing.T) {
	ops, err := os.ReadFile(filepath.Join(repoRoot, "docs/operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#{2,4} (.+)$`).FindAllStringSubmatch(string(ops), -1) {
		headings[githubAnchor(m[1])] = true
	}
	as := alerts(t, render(t, "deploy/base").PrometheusRule)
	if len(as) != 6 {
		t.Errorf("%d alerts, want the 6 of issue 11", len(as))
	}
	for _, name := range sortedKeys(as) {
		r := as[name]
		t.Run(name, func(t *testing.T) {
			for _, key := range []string{"summary", "description"} {
				if len(strings.Fields(r.Annotations[key])) < 5 {
					t.Errorf("%s's %s says too little: %q", name, key, r.Annotations[key])
				}
			}
			anchor := strings.ToLower(name)
			want := "https://github.com/syncd-io/syncd/blob/main/docs/operations.md#" + anchor
			if got := r.Annotations["runbook_url"]; got != want {
				t.Errorf("runbook_url = %q, want %q", got, want)
			}
			if !headings[anchor] {
				t.Errorf("docs/operations.md has no section %q", name)
			}
			if r.Labels["severity"] == "" {
				t.Errorf("%s has no severity label", name)
			}
		})
	}
}

// githubAnchor is the fragment GitHub gives a Markdown heading: lower case, spaces as
// dashes, punctuation other than dashes and underscores dropped.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestGithubAnchor(t *testing.T) {
	for in, want := range map[string]string{
		"SyncdNoLeader":            "syncdnoleader",
		"Held actions: what to do": "held-actions-what-to-do",
	} {
		if got := githubAnchor(in); got != want {
			t.Errorf("githubAnchor(%q) = %q, want %q", in, got, want)
		}
	}
}

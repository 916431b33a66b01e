package deploytest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// registeredMetrics reads the metric names syncd registers from docs/metrics.md,
// whose table a test of the daemon (TestMetricsDocumentationMatchesTheRegistry) keeps
// equal to the registry. A histogram adds its _bucket, _sum and _count series.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs/metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(syncd_[a-z_]+)` \\| (counter|gauge|histogram) \\|").FindAllStringSubmatch(string(doc), -1) {
		names[m[1]] = true
		if m[2] == "histogram" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[m[1]+suffix] = true
			}
		}
	}
	if len(names) < 15 {
		t.Fatalf("docs/metrics.md lists %d metrics; its table's format changed?", len(names))
	}
	return names
}

// grafanaVariables are the variables Grafana substitutes in a query before Prometheus
// sees it, with a stand-in value of the same type.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// metricNames parses a PromQL expression and returns the metric names it selects.
func metricNames(expr string) ([]string, error) {
	node, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVariables.Replace(expr))
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
			names = append(names, name)
		}
		return nil
	})
	return names, nil
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr    string
		want    []string
		wantErr bool
	}{
		{expr: `sum by (kind) (increase(syncd_actions_total{outcome="failed"}[$__rate_interval]))`, want: []string{"syncd_actions_total"}},
		{expr: `time() - max(syncd_last_success_timestamp_seconds)`, want: []string{"syncd_last_success_timestamp_seconds"}},
		{expr: `{__name__="syncd_leader"} and on (instance) up`, want: []string{"syncd_leader", "up"}},
		{expr: `sum(syncd_leader`, wantErr: true},
	} {
		got, err := metricNames(tc.expr)
		if (err != nil) != tc.wantErr || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("metricNames(%q) = %q, %v; want %q, error %t", tc.expr, got, err, tc.want, tc.wantErr)
		}
	}
}

// dashboardQueries returns every "expr" in a Grafana dashboard, by panel title.
func dashboardQueries(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy/grafana/syncd-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard: %v", err)
	}
	out := map[string][]string{}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			out[p.Title] = append(out[p.Title], tg.Expr)
		}
	}
	return out
}

// TestQueriesNameOnlyRegisteredMetrics parses every query of the dashboard and every
// alert expression, and checks that each names only metrics syncd registers: a
// renamed metric would otherwise leave an empty panel or an alert that never fires.
func TestQueriesNameOnlyRegisteredMetrics(t *testing.T) {
	registered := registeredMetrics(t)
	queries := dashboardQueries(t)
	for name, r := range alerts(t, render(t, "deploy/base").PrometheusRule) {
		queries["alert "+name] = []string{r.Expr.String()}
	}
	used := map[string]bool{}
	for _, where := range sortedKeys(queries) {
		for _, expr := range queries[where] {
			names, err := metricNames(expr)
			if err != nil {
				t.Errorf("%s: %q does not parse: %v", where, expr, err)
				continue
			}
			if len(names) == 0 {
				t.Errorf("%s: %q selects no metric", where, expr)
			}
			for _, n := range names {
				used[n] = true
				if !registered[n] {
					t.Errorf("%s: %q names %s, which syncd does not register (docs/metrics.md)", where, expr, n)
				}
			}
		}
	}
	// What issue 11 asks the dashboard to show.
	for _, n := range []string{
		"syncd_cycles_total", "syncd_actions_total", "syncd_held_actions", "syncd_org_api_requests_used",
		"syncd_org_api_requests_max", "syncd_api_budget_remaining", "syncd_source_records",
		"syncd_source_complete", "syncd_salesforce_api_calls_total", "syncd_leader",
	} {
		if !used[n] {
			t.Errorf("neither the dashboard nor an alert shows %s", n)
		}
	}
}

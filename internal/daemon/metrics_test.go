package daemon

import (
	"bufio"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/store"
)

// metricDoc is one documented metric: its type and its labels.
type metricDoc struct {
	Type   string
	Labels []string
}

// documented reads the table of docs/metrics.md.
func documented(t *testing.T) map[string]metricDoc {
	t.Helper()
	f, err := os.Open("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]metricDoc{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`syncd_") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		d := metricDoc{Type: strings.TrimSpace(cells[2]), Labels: []string{}}
		for _, l := range strings.Split(cells[3], ",") {
			if l = strings.Trim(strings.TrimSpace(l), "`"); l != "" {
				d.Labels = append(d.Labels, l)
			}
		}
		slices.Sort(d.Labels)
		out[name] = d
	}
	return out
}

func newTestMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, "v1.2.3", Gauges{
		Usage:           func() (salesforce.Usage, bool) { return salesforce.Usage{Used: 120, Max: 15000}, true },
		BudgetRemaining: func() float64 { return 42 },
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// TestMetricsDocumentationMatchesTheRegistry compares docs/metrics.md with what the
// registry exposes: every syncd_ metric documented, with its type and labels, and
// nothing documented that does not exist.
func TestMetricsDocumentationMatchesTheRegistry(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.ObserveCall(salesforce.Call{Endpoint: "query", StatusCode: 200}) // a vector shows once it has a child
	m.observeCycle(reconcile.Summary{SeatsFreed: map[string]int{"Salesforce": 1}}, time.Second, time.Now(), nil)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]metricDoc{}
	for _, mf := range families {
		if !strings.HasPrefix(mf.GetName(), "syncd_") {
			if !strings.HasPrefix(mf.GetName(), "go_") && !strings.HasPrefix(mf.GetName(), "process_") {
				t.Errorf("metric %s is neither syncd's nor the Go or process collectors'", mf.GetName())
			}
			continue
		}
		d := metricDoc{Type: strings.ToLower(mf.GetType().String()), Labels: []string{}}
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			d.Labels = append(d.Labels, lp.GetName())
		}
		slices.Sort(d.Labels)
		got[mf.GetName()] = d
	}
	if diff := cmp.Diff(documented(t), got); diff != "" {
		t.Errorf("docs/metrics.md (-) and the registry (+) disagree:\n%s", diff)
	}
}

func TestObserveCycle(t *testing.T) {
	m, _ := newTestMetrics(t)
	end := time.Unix(1_700_000_000, 0)
	s := reconcile.Summary{Status: reconcile.RunSucceeded, SourceComplete: true,
		Stats:   reconcile.Stats{SourceRecords: 450, RejectedRecords: 2, Disputed: 1, UnmanagedUsers: 7},
		Blocked: 2, SeatsFreed: map[string]int{"Salesforce": 3, "Salesforce Platform": 1}}
	actions := []store.Action{
		{Kind: store.KindCreate, Status: store.ActionApplied}, {Kind: store.KindCreate, Status: store.ActionApplied},
		{Kind: store.KindCreate, Status: store.ActionFailed}, {Kind: store.KindDeactivate, Status: store.ActionHeld},
	}
	m.observeCycle(reconcile.Summary{Status: reconcile.RunFailed}, time.Second, end.Add(-time.Hour), nil)
	m.observeCycle(s, 3*time.Second, end, actions)
	m.ObserveCall(salesforce.Call{Endpoint: "collections.create", StatusCode: 200})
	m.ObserveCall(salesforce.Call{Endpoint: "collections.create", StatusCode: 503})
	m.ObserveCall(salesforce.Call{Endpoint: "collections.create"})
	for _, tc := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"succeeded cycles", m.cycles.WithLabelValues("succeeded"), 1},
		{"failed cycles", m.cycles.WithLabelValues("failed"), 1},
		{"consecutive failures after a success", m.consecutiveFailures, 0},
		{"last success", m.lastSuccess, 1_700_000_000},
		{"applied creates", m.actions.WithLabelValues("create", "applied"), 2},
		{"failed creates", m.actions.WithLabelValues("create", "failed"), 1},
		{"held deactivations", m.actions.WithLabelValues("deactivate", "held"), 1},
		{"source records", m.sourceRecords, 450},
		{"source complete", m.sourceComplete, 1},
		{"rejected", m.rejected, 2},
		{"disputed", m.disputed, 1},
		{"unmanaged", m.unmanaged, 7},
		{"blocked deactivations", m.blocked, 2},
		{"seats freed on Salesforce", m.seatsFreed.WithLabelValues("Salesforce"), 3},
		{"seats freed on Salesforce Platform", m.seatsFreed.WithLabelValues("Salesforce Platform"), 1},
		{"2xx calls", m.apiCalls.WithLabelValues("collections.create", "2xx"), 1},
		{"5xx calls", m.apiCalls.WithLabelValues("collections.create", "5xx"), 1},
		{"unanswered calls", m.apiCalls.WithLabelValues("collections.create", "none"), 1},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestGaugesReadThePartsInForce(t *testing.T) {
	_, reg := newTestMetrics(t)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"syncd_org_api_requests_used": 120, "syncd_org_api_requests_max": 15000, "syncd_api_budget_remaining": 42}
	for _, mf := range families {
		if w, ok := want[mf.GetName()]; ok {
			if got := gaugeValue(mf); got != w {
				t.Errorf("%s = %v, want %v", mf.GetName(), got, w)
			}
			delete(want, mf.GetName())
		}
	}
	if len(want) > 0 {
		t.Errorf("not exposed: %v", want)
	}
	reg2 := prometheus.NewRegistry()
	if _, err := NewMetrics(reg2, "dev", Gauges{Usage: func() (salesforce.Usage, bool) { return salesforce.Usage{}, false },
		BudgetRemaining: func() float64 { return math.Inf(1) }}); err != nil {
		t.Fatal(err)
	}
	families, _ = reg2.Gather()
	for _, mf := range families {
		if mf.GetName() == "syncd_org_api_requests_max" && !math.IsNaN(gaugeValue(mf)) {
			t.Errorf("an unknown allowance reads %v, want NaN", gaugeValue(mf))
		}
	}
}

func gaugeValue(mf *dto.MetricFamily) float64 { return mf.GetMetric()[0].GetGauge().GetValue() }

// TestObserveCycleReads counts cycles by how they read Salesforce and the rows each
// read; a cycle that failed before reading counts in neither.
func TestObserveCycleReads(t *testing.T) {
	m, _ := newTestMetrics(t)
	end := time.Unix(1_700_000_000, 0)
	for _, s := range []reconcile.Summary{
		{Status: reconcile.RunSucceeded, Read: reconcile.ReadFull, RowsRead: 10000},
		{Status: reconcile.RunSucceeded, Read: reconcile.ReadDelta, RowsRead: 3},
		{Status: reconcile.RunSucceeded, Read: reconcile.ReadDelta, RowsRead: 0},
		{Status: reconcile.RunFailed},
	} {
		m.observeCycle(s, time.Second, end, nil)
	}
	for _, tc := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"delta cycles", m.cycleReads.WithLabelValues("delta"), 2},
		{"full cycles", m.cycleReads.WithLabelValues("full"), 1},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
	for mode, want := range map[string]struct {
		count uint64
		sum   float64
	}{"delta": {2, 3}, "full": {1, 10000}} {
		var out dto.Metric
		if err := m.rowsRead.WithLabelValues(mode).(prometheus.Histogram).Write(&out); err != nil {
			t.Fatal(err)
		}
		if h := out.GetHistogram(); h.GetSampleCount() != want.count || h.GetSampleSum() != want.sum {
			t.Errorf("rows read by %s cycles: %d samples summing %v, want %d summing %v", mode, h.GetSampleCount(), h.GetSampleSum(), want.count, want.sum)
		}
	}
}

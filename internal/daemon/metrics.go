package daemon

import (
	"math"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/store"
)

// Outcomes of a cycle, the outcome label of syncd_cycles_total: the run's status.
var cycleOutcomes = []reconcile.RunStatus{reconcile.RunSucceeded, reconcile.RunFailed, reconcile.RunAborted, reconcile.RunPaused}

// How cycles read Salesforce, the mode label of syncd_cycle_reads_total and
// syncd_salesforce_rows_read.
var readModes = []reconcile.ReadMode{reconcile.ReadDelta, reconcile.ReadFull}

// Kinds and outcomes of actions, the labels of syncd_actions_total: the action's
// kind and its status in the journal when the cycle ended (planned: never sent).
var (
	actionKinds = []store.ActionKind{store.KindCreate, store.KindUpdate, store.KindDeactivate, store.KindReactivate, store.KindAdopt, store.KindFreeze,
		store.KindAssign, store.KindUnassign,
		store.ActionKind(reconcile.KindEndSessions), store.ActionKind(reconcile.KindRevokeTokens), store.ActionKind(reconcile.KindTransfer),
		store.ActionKind(reconcile.KindUnfreeze), store.ActionKind(reconcile.KindReturnRecords)}
	actionOutcomes = []store.ActionStatus{store.ActionApplied, store.ActionFailed, store.ActionSkipped, store.ActionHeld, store.ActionPlanned}
)

// Gauges are what Metrics reads at scrape time from the parts in force: they change
// on reload, so they are read through functions rather than pushed.
type Gauges struct {
	// Usage is the org's API usage from the last Sforce-Limit-Info, if known.
	Usage func() (salesforce.Usage, bool)
	// BudgetRemaining is how many calls syncd's own budget allows right now.
	BudgetRemaining func() float64
}

// Metrics are the daemon's Prometheus metrics, registered on the registry the process
// gives (never the global one). docs/metrics.md documents each, and a test keeps the
// two in step.
type Metrics struct {
	cycles              *prometheus.CounterVec
	cycleDuration       *prometheus.HistogramVec
	consecutiveFailures prometheus.Gauge
	lastSuccess         prometheus.Gauge
	actions             *prometheus.CounterVec
	held                prometheus.Gauge
	disputed            prometheus.Gauge
	rejected            prometheus.Gauge
	unmanaged           prometheus.Gauge
	sourceRecords       prometheus.Gauge
	sourceComplete      prometheus.Gauge
	apiCalls            *prometheus.CounterVec
	leader              prometheus.Gauge
	reloadOK            prometheus.Gauge
	reloadTime          prometheus.Gauge
	configHash          prometheus.Gauge
	cycleReads          *prometheus.CounterVec
	rowsRead            *prometheus.HistogramVec
	eventsReceived      *prometheus.CounterVec
	eventsCoalesced     prometheus.Counter
	eventLatency        prometheus.Histogram
	blocked             prometheus.Counter
	seatsFreed          *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them, the Go and process collectors
// and syncd_build_info on reg.
func NewMetrics(reg prometheus.Registerer, version string, g Gauges) (*Metrics, error) {
	m := &Metrics{
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_cycles_total",
			Help: "Reconcile cycles run, by outcome (the run's status)."}, []string{"outcome"}),
		cycleDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "syncd_cycle_duration_seconds",
			Help:    "How long reconcile cycles took, by outcome.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600}}, []string{"outcome"}),
		consecutiveFailures: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_cycle_consecutive_failures",
			Help: "Cycles that failed or paused in a row; 0 after a success."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_last_success_timestamp_seconds",
			Help: "When the last successful cycle ended, in Unix seconds; 0 before the first."}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_actions_total",
			Help: "Actions of cycles and targeted runs, by kind and outcome (the action's status when its cycle or run ended)."}, []string{"kind", "outcome"}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_held_actions",
			Help: "Actions held by a guardrail and waiting for an approval."}),
		disputed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_disputed_keys",
			Help: "Match keys with more than one candidate in the last cycle; nothing is done about them."}),
		rejected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_rejected_records",
			Help: "Source records the mapping rejected in the last cycle."}),
		unmanaged: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_unmanaged_users",
			Help: "Salesforce users no source record claims and syncd never linked, in the last cycle."}),
		sourceRecords: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_source_records",
			Help: "Records the last source pull returned."}),
		sourceComplete: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_source_complete",
			Help: "1 when the last source pull was complete, 0 when it was not (no deactivation follows from it)."}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_salesforce_api_calls_total",
			Help: "Salesforce HTTP requests, by endpoint and status class (2xx, 4xx, 5xx, none: no answer)."}, []string{"endpoint", "status_class"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_leader",
			Help: "1 while this instance holds the leader lock and reconciles, 0 on standby."}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_config_last_reload_successful",
			Help: "1 when the last configuration load succeeded, 0 when it was refused."}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration in force was loaded, in Unix seconds."}),
		configHash: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_config_hash",
			Help: "The first 48 bits of the SHA-256 of the configuration file in force, as a number."}),
		cycleReads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_cycle_reads_total",
			Help: "Cycles that read Salesforce, by mode: delta (the users changed since the last read) or full."}, []string{"mode"}),
		rowsRead: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "syncd_salesforce_rows_read",
			Help:    "Salesforce user records a cycle read, by mode (delta or full).",
			Buckets: []float64{0, 10, 100, 1000, 2000, 10000, 100000, 1000000}}, []string{"mode"}),
		eventsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_events_received_total",
			Help: "Change notifications accepted on POST /v1/events, by format (ids, scim, okta, graph)."}, []string{"format"}),
		eventsCoalesced: prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_events_coalesced_total",
			Help: "Change notifications that joined a targeted run already pending instead of starting one."}),
		eventLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "syncd_event_to_applied_seconds",
			Help:    "Time from a person's first change notification to the end of the targeted run that applied it.",
			Buckets: []float64{0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300}}),
		blocked: prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_blocked_deactivations_total",
			Help: "Deactivations Salesforce refused for a named blocker (default case owner, hierarchy field, ...); each blocked user is tried again once a day."}),
		seatsFreed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_license_seats_freed_total",
			Help: "License seats freed by deactivations, by user license name."}, []string{"license"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "syncd_build_info",
		Help: "Always 1; its labels say which syncd runs."}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	usage := func(pick func(salesforce.Usage) int64) func() float64 {
		return func() float64 {
			if u, ok := g.Usage(); ok {
				return float64(pick(u))
			}
			return math.NaN()
		}
	}
	collectors := []prometheus.Collector{
		m.cycles, m.cycleDuration, m.consecutiveFailures, m.lastSuccess, m.actions, m.held, m.disputed,
		m.rejected, m.unmanaged, m.sourceRecords, m.sourceComplete, m.apiCalls, m.leader, m.reloadOK,
		m.reloadTime, m.configHash, m.cycleReads, m.rowsRead, m.eventsReceived, m.eventsCoalesced, m.eventLatency, m.blocked, m.seatsFreed, buildInfo,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "syncd_org_api_requests_used",
			Help: "The org's API requests used in the rolling 24 hours, from the last Sforce-Limit-Info; NaN until known."},
			usage(func(u salesforce.Usage) int64 { return u.Used })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "syncd_org_api_requests_max",
			Help: "The org's daily API allowance (DailyApiRequests.Max); NaN until known."},
			usage(func(u salesforce.Usage) int64 { return u.Max })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "syncd_api_budget_remaining",
			Help: "Calls syncd's own share of the allowance lets it make right now (its token bucket); +Inf until the org's maximum is known."},
			g.BudgetRemaining),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, o := range cycleOutcomes {
		m.cycles.WithLabelValues(string(o))
		m.cycleDuration.WithLabelValues(string(o))
	}
	for _, mode := range readModes {
		m.cycleReads.WithLabelValues(string(mode))
		m.rowsRead.WithLabelValues(string(mode))
	}
	for _, f := range eventFormats {
		m.eventsReceived.WithLabelValues(f)
	}
	for _, k := range actionKinds {
		for _, o := range actionOutcomes {
			m.actions.WithLabelValues(string(k), string(o))
		}
	}
	return m, nil
}

// ObserveCall counts one Salesforce request; it makes Metrics a salesforce.Observer.
func (m *Metrics) ObserveCall(c salesforce.Call) {
	class := "none"
	if c.StatusCode > 0 {
		class = strconv.Itoa(c.StatusCode/100) + "xx"
	}
	m.apiCalls.WithLabelValues(c.Endpoint, class).Inc()
}

// observeCycle records a finished cycle: its outcome, duration and statistics, and
// its actions counted by kind and status.
func (m *Metrics) observeCycle(s reconcile.Summary, took time.Duration, end time.Time, actions []store.Action) {
	outcome := string(s.Status)
	m.cycles.WithLabelValues(outcome).Inc()
	m.cycleDuration.WithLabelValues(outcome).Observe(took.Seconds())
	switch s.Status {
	case reconcile.RunSucceeded:
		m.consecutiveFailures.Set(0)
		m.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
	case reconcile.RunFailed, reconcile.RunPaused:
		m.consecutiveFailures.Inc()
	}
	m.countActions(actions)
	if s.Read != "" {
		m.cycleReads.WithLabelValues(string(s.Read)).Inc()
		m.rowsRead.WithLabelValues(string(s.Read)).Observe(float64(s.RowsRead))
	}
	m.blocked.Add(float64(s.Blocked))
	for license, n := range s.SeatsFreed {
		m.seatsFreed.WithLabelValues(license).Add(float64(n))
	}
	if s.Status == reconcile.RunSucceeded || s.Stats.SourceRecords > 0 {
		m.sourceRecords.Set(float64(s.Stats.SourceRecords))
		m.sourceComplete.Set(boolGauge(s.SourceComplete))
		m.rejected.Set(float64(s.Stats.RejectedRecords))
		m.disputed.Set(float64(s.Stats.Disputed))
		m.unmanaged.Set(float64(s.Stats.UnmanagedUsers))
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// countActions counts a cycle's or targeted run's actions by kind and status.
func (m *Metrics) countActions(actions []store.Action) {
	for _, a := range actions {
		m.actions.WithLabelValues(string(a.Kind), string(a.Status)).Inc()
	}
}

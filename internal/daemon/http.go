package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/report"
	"github.com/syncd-io/syncd/internal/secret"
	"github.com/syncd-io/syncd/internal/store"
)

// Limits of the admin server: a request body is small JSON, a slow client cannot
// hold a connection, and a page of runs or actions stays bounded.
const (
	MaxBodyBytes      = 16 << 10
	MaxHeaderBytes    = 16 << 10
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 15 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 2 * time.Minute
	MaxListLimit      = 500
	readyTimeout      = 5 * time.Second
)

// API is what the admin server serves from.
type API struct {
	// Store is read for /v1/runs and /v1/explain and written by approvals.
	Store store.Store
	// Trigger asks for a cycle now (Daemon.Trigger with TriggerAPI).
	Trigger func(ctx context.Context) error
	// TriggerFull asks for a cycle now that reads every Salesforce user
	// (Daemon.TriggerFull), for POST /v1/reconcile?full=true; nil refuses it.
	TriggerFull func(ctx context.Context) error
	// Ready says whether the instance is ready: configuration loaded, store reachable.
	Ready func(ctx context.Context) error
	// Token returns the bearer token the /v1 routes require, from the configuration
	// in force; a zero token refuses every /v1 call.
	Token func() secret.Secret
	// Notify queues a pushed change notification (Daemon.Notify); nil leaves
	// /v1/events unserved.
	Notify func(ctx context.Context, n Notification) error
	// EventsToken returns the token /v1/events requires (server.events_token_file); a
	// zero token means the admin token serves there too.
	EventsToken func() secret.Secret
	// Gatherer serves /metrics: the daemon's own registry.
	Gatherer prometheus.Gatherer
	Logger   *zap.Logger
}

// NewServer returns the admin HTTP server on addr with its timeouts and limits.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr: addr, Handler: h, MaxHeaderBytes: MaxHeaderBytes, ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout: ReadTimeout, WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout,
	}
}

// Handler routes the admin surface: /metrics, /healthz and /readyz in the open (they
// name no person), and the /v1 API behind the bearer token.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	v1 := http.NewServeMux()
	v1.HandleFunc("POST /v1/reconcile", a.reconcile)
	v1.HandleFunc("GET /v1/runs", a.runs)
	v1.HandleFunc("GET /v1/runs/{id}", a.run)
	v1.HandleFunc("POST /v1/runs/{id}/approve", a.approve)
	v1.HandleFunc("GET /v1/explain/{key}", a.explain)
	mux.Handle("/v1/", a.authorize(v1))
	if a.Notify != nil {
		mux.HandleFunc("POST /v1/events", a.events)
		mux.HandleFunc("GET /v1/events", a.verifyOkta)
	}
	return mux
}

// authorize lets a request through only with the bearer token, compared in constant
// time, and caps its body.
func (a *API) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := a.Token()
		if want.IsZero() {
			writeError(w, http.StatusForbidden, "the /v1 API is disabled: server.token_file is not configured")
			return
		}
		if _, ok := bearer(r, want); !ok {
			unauthorized(w)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := a.Ready(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (a *API) reconcile(w http.ResponseWriter, r *http.Request) {
	full := false
	if v := r.URL.Query().Get("full"); v != "" {
		var err error
		if full, err = strconv.ParseBool(v); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("full=%q is not true or false", v))
			return
		}
	}
	trigger := a.Trigger
	if full {
		if a.TriggerFull == nil {
			writeError(w, http.StatusBadRequest, "full reads are not available here")
			return
		}
		trigger = a.TriggerFull
	}
	switch err := trigger(r.Context()); {
	case errors.Is(err, ErrFullOnStandby):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case err != nil:
		a.fail(w, "reconcile now", err)
	default:
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "scheduled"})
	}
}

func (a *API) runs(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit", 20, 1, MaxListLimit)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	before, err := intParam(r, "before", 0, 0, 1<<62)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	runs, err := a.Store.Runs(r.Context(), store.RunFilter{Limit: int(limit), BeforeID: before})
	if err != nil {
		a.fail(w, "listing runs", err)
		return
	}
	writeJSON(w, http.StatusOK, report.Runs(runs))
}

func (a *API) run(w http.ResponseWriter, r *http.Request) {
	id, ok := runID(w, r)
	if !ok {
		return
	}
	run, err := a.Store.Run(r.Context(), id)
	if err != nil {
		a.fail(w, fmt.Sprintf("run %d", id), err)
		return
	}
	actions, err := a.Store.Actions(r.Context(), store.ActionFilter{RunID: id})
	if err != nil {
		a.fail(w, fmt.Sprintf("actions of run %d", id), err)
		return
	}
	writeJSON(w, http.StatusOK, report.RunDetailDoc{RunDoc: report.Run(run), Actions: report.Entries(actions)})
}

// approveRequest is the body of POST /v1/runs/{id}/approve.
type approveRequest struct {
	By      string `json:"by"`
	Comment string `json:"comment"`
	Seqs    []int  `json:"seqs"`
}

func (a *API) approve(w http.ResponseWriter, r *http.Request) {
	id, ok := runID(w, r)
	if !ok {
		return
	}
	var req approveRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "body: want JSON {\"by\": NAME, \"comment\": TEXT, \"seqs\": [N, ...]}: "+err.Error())
		return
	}
	if strings.TrimSpace(req.By) == "" {
		writeError(w, http.StatusBadRequest, `body: "by" (who approves) is required`)
		return
	}
	ap, err := a.Store.Approve(r.Context(), id, store.ApprovalRequest{By: req.By, Comment: req.Comment, Seqs: req.Seqs})
	if err != nil {
		a.fail(w, fmt.Sprintf("approve run %d", id), err)
		return
	}
	a.Logger.Info("held actions approved through the API", zap.Int64("run", id), zap.Int64("approval", ap.ID),
		zap.String("by", ap.By), zap.Int("actions", ap.Actions))
	writeJSON(w, http.StatusOK, report.Approval(ap))
}

func (a *API) explain(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit", 50, 1, MaxListLimit)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	x, err := report.Explain(r.Context(), a.Store, r.PathValue("key"), int(limit))
	if err != nil {
		a.fail(w, "explain", err)
		return
	}
	writeJSON(w, http.StatusOK, x.Doc())
}

// fail answers a store or trigger error with the status its class calls for.
func (a *API) fail(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, what+": not found")
	case errors.Is(err, store.ErrAlreadyApproved), errors.Is(err, store.ErrNothingToApprove), errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, err.Error()) // the store names the run
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, what+": "+err.Error())
	default:
		a.Logger.Error("admin API", zap.String("what", what), zap.Error(err))
		writeError(w, http.StatusInternalServerError, what+": internal error (logged)")
	}
}

func runID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("run id %q is not a positive number", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("query parameter %s=%q: want a whole number from %d to %d", name, s, lo, hi)
	}
	return v, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

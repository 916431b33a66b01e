package sfsim

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Defaults of Options.
const (
	DefaultClientID     = "sfsim-client-id"
	DefaultClientSecret = "sfsim-client-secret" //nolint:gosec // the simulator's published default, for trying syncd without an org
	DefaultUsername     = "integration@sfsim.example.com"
	DefaultAPIMax       = 100000
	DefaultSessionTTL   = 2 * time.Hour
	DefaultMaxBodyBytes = 4 << 20
)

// The API versions the simulator accepts in paths: v20.0 (Winter '11) to v67.0
// (Summer '26). Others get 404 NOT_FOUND, as Salesforce answers for unknown versions.
const (
	OldestAPIVersion = 20
	LatestAPIVersion = 67
)

// Query page sizes: Sforce-Query-Options batchSize is bounded to this range, and the
// default is the maximum.
const (
	MinQueryBatchSize     = 200
	DefaultQueryBatchSize = 2000
)

const (
	collectionsRecordLimit = 200
	maxOpenCursors         = 256
	cursorIdleTimeout      = 15 * time.Minute
)

// Options configure a simulated org. The zero value is usable: it gives a fresh org
// with the default client, integration user and allowance.
type Options struct {
	// ClientID and ClientSecret are the connected app's consumer key and secret.
	ClientID, ClientSecret string
	// Username is the integration user's username: the user every token acts as,
	// created as a System Administrator.
	Username string
	// JWTCertificate verifies JWT bearer assertions; without it the JWT flow fails
	// with invalid_grant.
	JWTCertificate *x509.Certificate
	// APIMax is the daily API allowance over a rolling 24 hours.
	APIMax int64
	// SessionTTL is how long an access token lives after it is issued.
	SessionTTL time.Duration
	// Clock is the simulator's time; time.Now when nil.
	Clock func() time.Time
	// Latency delays every request before it is handled.
	Latency time.Duration
	// FaultRate is the probability that a REST request under /services/data/vNN.0 gets
	// one of RandomFaults instead of its answer. The draws come from a generator
	// seeded with RandSeed, so a run is reproducible.
	FaultRate float64
	// RandomFaults are the faults FaultRate picks from; by default UNABLE_TO_LOCK_ROW,
	// 503 SERVER_UNAVAILABLE and a dropped connection.
	RandomFaults []Fault
	// RandSeed seeds the generator of random faults.
	RandSeed uint64
	// Seed adds records to the fresh org.
	Seed *Seed
	// MaxBodyBytes limits request bodies; larger ones get a 413.
	MaxBodyBytes int64
	// Logger receives one debug line per request; nothing is logged when nil.
	Logger *zap.Logger
	// BulkQueryJobsMax is DailyBulkV2QueryJobs: Bulk API 2.0 query jobs per rolling
	// 24 hours; default DefaultBulkQueryJobsMax.
	BulkQueryJobsMax int64
	// CustomFields adds custom fields to the standard objects (User.Cost_Center__c).
	CustomFields []CustomField
	// BulkProcessingTime is how long, on Clock, a Bulk API 2.0 query job runs: the
	// first status read starts it, and the first read this long after finishes it.
	// Zero finishes it on the second read.
	BulkProcessingTime time.Duration
	// WithoutSite leaves out the Site object, as in an org with neither Sites nor
	// Experience Cloud: querying it fails with INVALID_TYPE.
	WithoutSite bool
}

// ParseCertificatePEM reads the first CERTIFICATE block of PEM data, the form in which
// a connected app's certificate is uploaded.
func ParseCertificatePEM(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no CERTIFICATE block in the PEM data")
		}
		if block.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			return cert, nil
		}
	}
}

// Server is a simulated Salesforce org behind an http.Handler. It is safe for
// concurrent use.
type Server struct {
	opts   Options
	schema *schema
	clock  func() time.Time
	// ahead is how far AdvanceClock moved the org's clock past Options.Clock, in
	// nanoseconds.
	ahead atomic.Int64
	log   *zap.Logger

	mu         sync.Mutex // guards everything below up to ctl
	org        *org
	sessions   map[string]session
	usage      usage
	cursors    map[string]*cursor
	nextCursor uint64
	cursorUses uint64
	// queries holds the text of every SOQL statement received, in order, for
	// GET /__sim/queries: tests parse them to prove no value became SOQL of its own.
	queries []string
	bulk    bulkState

	ctl      sync.Mutex // guards the fault queue, the generator and the counters
	faults   []*FaultRule
	rng      *rand.Rand
	counters map[string]int
}

type session struct {
	userID  string
	expires time.Time
}

// New builds a simulated org: the standard profiles and roles, the integration user,
// and then opts.Seed.
func New(opts Options) (*Server, error) {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.Username == "" {
		opts.Username = DefaultUsername
	}
	if opts.APIMax <= 0 {
		opts.APIMax = DefaultAPIMax
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.BulkQueryJobsMax <= 0 {
		opts.BulkQueryJobsMax = DefaultBulkQueryJobsMax
	}
	if opts.FaultRate < 0 || opts.FaultRate > 1 {
		return nil, fmt.Errorf("fault rate %v is not between 0 and 1", opts.FaultRate)
	}
	if opts.RandomFaults == nil {
		opts.RandomFaults = []Fault{LockRowFault(), UnavailableFault(), DropFault()}
	}
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{
		opts:     opts,
		schema:   newSchema(),
		clock:    clock,
		log:      log,
		sessions: map[string]session{},
		cursors:  map[string]*cursor{},
		rng:      rand.New(rand.NewPCG(opts.RandSeed, opts.RandSeed^0x5f5f)), //nolint:gosec // seeded on purpose: faults must be reproducible
		counters: map[string]int{},
	}
	if !opts.WithoutSite {
		s.schema.add(siteObject())
	}
	for _, cf := range opts.CustomFields {
		if err := s.schema.addCustom(cf); err != nil {
			return nil, err
		}
	}
	o, err := newFreshOrg(s.schema, opts.Username, clock().UTC())
	if err != nil {
		return nil, err
	}
	s.org = o
	if opts.Seed != nil {
		if err := o.applySeed(opts.Seed, clock().UTC()); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	return s, nil
}

func (s *Server) now() time.Time { return s.clock().Add(time.Duration(s.ahead.Load())).UTC() }

var versionSegment = regexp.MustCompile(`^v(\d{2,3})\.0$`)

// call is one REST request under /services/data/vNN.0.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	version int
	base    string   // "/services/data/v67.0"
	segs    []string // the path after base
	user    string   // the acting user's Id, once authenticated
	limit   string   // the Sforce-Limit-Info value for the answer
}

// ServeHTTP routes a request: OAuth, the versions list, REST under a version, and the
// simulator's own controls under /__sim/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() {
		s.log.Debug("request", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Duration("took", time.Since(start)))
	}()
	// Every answer's Date is the org's clock, as Salesforce's is, so that a reader
	// may resume from it; net/http would write the host's.
	w.Header().Set("Date", s.now().Format(http.TimeFormat))
	if strings.HasPrefix(r.URL.Path, "/__sim/") {
		s.serveControl(w, r)
		return
	}
	endpoint, rest, handle := s.dispatch(r)
	w, answered := s.intercept(w, r, endpoint, rest)
	if answered {
		return
	}
	handle(w)
	if _, lost := w.(*lostAnswer); lost {
		// net/http closes the connection without an answer on this panic.
		panic(http.ErrAbortHandler)
	}
}

// dispatch names the endpoint of a request for the counters and fault rules, says
// whether it is a REST call under /services/data/vNN.0, and returns its handler.
func (s *Server) dispatch(r *http.Request) (endpoint string, rest bool, handle func(http.ResponseWriter)) {
	path := collapseSlashes(r.URL.Path)
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	notFound := func(w http.ResponseWriter) {
		s.writeErrors(w, "", apiError{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: msgNotFound})
	}
	switch {
	case path == "/services/oauth2/revoke":
		return "revoke", false, func(w http.ResponseWriter) { s.serveRevoke(w, r) }
	case path == "/services/oauth2/token":
		return "token", false, func(w http.ResponseWriter) { s.serveToken(w, r) }
	case path == "/services/oauth2/userinfo":
		return "userinfo", false, func(w http.ResponseWriter) { s.serveUserinfo(w, r) }
	case strings.HasPrefix(path, "/id/"):
		return "identity", false, func(w http.ResponseWriter) {
			s.serveIdentity(w, r, strings.Split(strings.TrimPrefix(path, "/id/"), "/"))
		}
	case path == "/services/data":
		return "versions", false, func(w http.ResponseWriter) { s.serveVersions(w, r) }
	case !strings.HasPrefix(path, "/services/data/"):
		return "unknown", false, notFound
	}
	segs := strings.Split(strings.TrimPrefix(path, "/services/data/"), "/")
	m := versionSegment.FindStringSubmatch(segs[0])
	version := 0
	if m != nil {
		version, _ = strconv.Atoi(m[1])
	}
	if version < OldestAPIVersion || version > LatestAPIVersion {
		return "unknown", false, notFound
	}
	c := &call{r: r, version: version, base: "/services/data/" + segs[0], segs: segs[1:]}
	endpoint, handler := s.route(c)
	return endpoint, true, func(w http.ResponseWriter) {
		c.w = w
		if s.authenticate(c) {
			handler(c)
		}
	}
}

// collapseSlashes turns every run of slashes in a path into one. Clients join the
// instance URL and a path carelessly (the Salesforce CLI after an access-token login,
// Go's simpleforce), and real orgs answer //services/data/... as /services/data/....
func collapseSlashes(path string) string {
	for strings.Contains(path, "//") {
		path = strings.ReplaceAll(path, "//", "/")
	}
	return path
}

// route picks the handler of a REST request and names its endpoint for the counters
// and fault rules.
func (s *Server) route(c *call) (string, func(*call)) {
	segs, method := c.segs, c.r.Method
	methods := func(allowed string, m map[string]func(*call)) func(*call) {
		if h, ok := m[method]; ok {
			return h
		}
		return func(c *call) {
			s.writeErrors(c.w, c.limit, apiError{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED",
				Message: fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", method, allowed)})
		}
	}
	n := len(segs)
	switch {
	case n == 0:
		return "resources", methods("GET,HEAD", map[string]func(*call){"GET": s.serveResources, "HEAD": s.serveResources})
	case n == 1 && segs[0] == "limits":
		return "limits", methods("GET,HEAD", map[string]func(*call){"GET": s.serveLimits, "HEAD": s.serveLimits})
	case n == 1 && (segs[0] == "query" || segs[0] == "queryAll"):
		return "query", methods("GET,HEAD", map[string]func(*call){"GET": s.serveQuery, "HEAD": s.serveQuery})
	case n == 2 && (segs[0] == "query" || segs[0] == "queryAll"):
		return "queryMore", methods("GET,HEAD", map[string]func(*call){"GET": s.serveQueryMore, "HEAD": s.serveQueryMore})
	case n == 1 && segs[0] == "sobjects":
		return "describeGlobal", methods("GET,HEAD", map[string]func(*call){"GET": s.serveDescribeGlobal, "HEAD": s.serveDescribeGlobal})
	case n == 3 && segs[0] == "sobjects" && segs[2] == "updated":
		return "updated", methods("GET,HEAD", map[string]func(*call){"GET": s.serveUpdated, "HEAD": s.serveUpdated})
	case n == 3 && segs[0] == "sobjects" && segs[2] == "describe":
		return "describe", methods("GET,HEAD", map[string]func(*call){"GET": s.serveDescribe, "HEAD": s.serveDescribe})
	case n == 2 && segs[0] == "sobjects":
		return "sobject.create", methods("POST", map[string]func(*call){"POST": s.serveCreate})
	case n == 3 && segs[0] == "sobjects":
		switch method {
		case http.MethodPatch:
			return "sobject.update", s.serveUpdate
		case http.MethodDelete:
			return "sobject.delete", s.serveDelete
		}
		return "sobject.get", methods("GET,HEAD,PATCH,DELETE", map[string]func(*call){"GET": s.serveGet, "HEAD": s.serveGet})
	case n == 4 && segs[0] == "sobjects":
		if method == http.MethodGet || method == http.MethodHead {
			return "sobject.getByExternalId", s.serveGetByExternalID
		}
		return "sobject.upsert", methods("GET,HEAD,PATCH", map[string]func(*call){"PATCH": s.serveUpsert})
	case n == 2 && segs[0] == "composite" && segs[1] == "sobjects":
		switch method {
		case http.MethodPatch:
			return "collections.update", s.serveCollectionsUpdate
		case http.MethodDelete:
			return "collections.delete", s.serveCollectionsDelete
		}
		return "collections.create", methods("POST,PATCH,DELETE", map[string]func(*call){"POST": s.serveCollectionsCreate})
	case n == 3 && segs[0] == "composite" && segs[1] == "sobjects":
		return "collections.retrieve", methods("GET,POST", map[string]func(*call){"GET": s.serveCollectionsRetrieve, "POST": s.serveCollectionsRetrieve})
	case n == 4 && segs[0] == "composite" && segs[1] == "sobjects":
		return "collections.upsert", methods("PATCH", map[string]func(*call){"PATCH": s.serveCollectionsUpsert})
	case n >= 2 && segs[0] == "jobs" && segs[1] == "query":
		return s.routeBulkQuery(segs[2:], method, methods)
	}
	return "unknown", func(c *call) {
		s.writeErrors(c.w, c.limit, apiError{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: msgNotFound})
	}
}

// authenticate checks the bearer token and spends one call of the allowance. On
// failure it answers and returns false.
func (s *Server) authenticate(c *call) bool {
	token, ok := bearerToken(c.r)
	now := s.now()
	s.mu.Lock()
	sess, found := s.sessions[token]
	if found && !now.Before(sess.expires) {
		delete(s.sessions, token)
		found = false
	}
	used := s.usage.used(now)
	if !ok || !found {
		c.limit = s.limitInfo(used)
		s.mu.Unlock()
		s.writeErrors(c.w, c.limit, apiError{Status: http.StatusUnauthorized, Code: "INVALID_SESSION_ID", Message: "Session expired or invalid"})
		return false
	}
	if used >= s.opts.APIMax {
		c.limit = s.limitInfo(used)
		s.mu.Unlock()
		s.writeErrors(c.w, c.limit, apiError{Status: http.StatusForbidden, Code: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded."})
		return false
	}
	s.usage.add(now)
	c.limit = s.limitInfo(used + 1)
	c.user = sess.userID
	s.mu.Unlock()
	return true
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "OAuth "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):]), true
		}
	}
	return "", false
}

func (s *Server) limitInfo(used int64) string {
	return fmt.Sprintf("api-usage=%d/%d", used, s.opts.APIMax)
}

// currentLimitInfo is the Sforce-Limit-Info of an answer that spent no call.
func (s *Server) currentLimitInfo() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limitInfo(s.usage.used(s.now()))
}

const contentTypeJSON = "application/json;charset=UTF-8"

// writeJSON answers with a JSON body. limit is the Sforce-Limit-Info value; "" leaves
// the header out (the versions list and OAuth answers).
func (s *Server) writeJSON(w http.ResponseWriter, limit string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sfsim: marshal answer: %v", err)) // our own types always marshal
	}
	s.writeRaw(w, limit, status, body)
}

func (s *Server) writeRaw(w http.ResponseWriter, limit string, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentTypeJSON)
	if limit != "" {
		h.Set("Sforce-Limit-Info", limit)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// wireError is one entry of a REST error array.
type wireError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

// writeErrors answers with Salesforce's error array; the status is the first error's.
func (s *Server) writeErrors(w http.ResponseWriter, limit string, errs ...apiError) {
	if limit == "" {
		limit = s.currentLimitInfo()
	}
	out := make([]wireError, len(errs))
	for i, e := range errs {
		out[i] = wireError{Message: e.Message, ErrorCode: e.Code, Fields: e.Fields}
	}
	s.writeJSON(w, limit, errs[0].Status, out)
}

// serveVersions lists every API version, oldest first, as /services/data/ does. It
// needs no token and carries no Sforce-Limit-Info.
func (s *Server) serveVersions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeJSON(w, "", http.StatusMethodNotAllowed, []wireError{{ErrorCode: "METHOD_NOT_ALLOWED",
			Message: fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are GET,HEAD", r.Method)}})
		return
	}
	type version struct {
		Label   string `json:"label"`
		URL     string `json:"url"`
		Version string `json:"version"`
	}
	var out []version
	for v := OldestAPIVersion; v <= LatestAPIVersion; v++ {
		out = append(out, version{Label: releaseName(v), URL: fmt.Sprintf("/services/data/v%d.0", v), Version: fmt.Sprintf("%d.0", v)})
	}
	s.writeJSON(w, "", http.StatusOK, out)
}

// releaseName names the release of an API version: three releases a year, v20.0
// being Winter '11.
func releaseName(v int) string {
	season := [...]string{"Winter", "Spring", "Summer"}[(v-20)%3]
	return fmt.Sprintf("%s '%02d", season, 11+(v-20)/3)
}

// serveResources lists the resources of a version: relative paths, and the absolute
// identity URL of the token's user (jsforce's identity() reads it from here).
func (s *Server) serveResources(c *call) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"identity":%q`, baseURL(c.r)+"/id/"+s.org.id+"/"+c.user)
	for _, name := range []string{"limits", "query", "queryAll", "sobjects", "composite"} {
		fmt.Fprintf(&b, ",%q:%q", name, c.base+"/"+name)
	}
	b.WriteByte('}')
	s.writeRaw(c.w, c.limit, http.StatusOK, b.Bytes())
}

// limitEntry is one entry of /limits.
type limitEntry struct {
	Max       int64 `json:"Max"`
	Remaining int64 `json:"Remaining"`
}

func (s *Server) serveLimits(c *call) {
	s.mu.Lock()
	used := s.usage.used(s.now())
	s.mu.Unlock()
	full := func(n int64) limitEntry { return limitEntry{Max: n, Remaining: n} }
	out := struct {
		ConcurrentAsyncGetReportInstances limitEntry
		ConcurrentSyncReportRuns          limitEntry
		DailyApiRequests                  limitEntry
		DailyAsyncApexExecutions          limitEntry
		DailyBulkApiBatches               limitEntry
		DailyBulkV2QueryFileStorageMB     limitEntry
		DailyBulkV2QueryJobs              limitEntry
		DataStorageMB                     limitEntry
		FileStorageMB                     limitEntry
	}{
		ConcurrentAsyncGetReportInstances: full(200),
		ConcurrentSyncReportRuns:          full(20),
		DailyApiRequests:                  limitEntry{Max: s.opts.APIMax, Remaining: max(s.opts.APIMax-used, 0)},
		DailyAsyncApexExecutions:          full(250000),
		DailyBulkApiBatches:               full(15000),
		DailyBulkV2QueryFileStorageMB:     full(976562),
		DailyBulkV2QueryJobs:              limitEntry{Max: s.opts.BulkQueryJobsMax, Remaining: s.bulkRemaining(s.now())},
		DataStorageMB:                     limitEntry{Max: 1024, Remaining: 1019},
		FileStorageMB:                     limitEntry{Max: 2048, Remaining: 2048},
	}
	s.writeJSON(c.w, c.limit, http.StatusOK, out)
}

// usage counts API calls per minute over a rolling 24 hours, plus the calls that
// other integrations are said to have made.
type usage struct {
	minutes []minuteCount // oldest first
	total   int64         // sum of minutes
	other   int64
}

type minuteCount struct {
	minute int64
	n      int64
}

func (u *usage) prune(now time.Time) {
	oldest := now.Add(-24*time.Hour).Unix() / 60
	drop := 0
	for drop < len(u.minutes) && u.minutes[drop].minute <= oldest {
		u.total -= u.minutes[drop].n
		drop++
	}
	u.minutes = u.minutes[drop:]
}

func (u *usage) used(now time.Time) int64 {
	u.prune(now)
	return u.total + u.other
}

func (u *usage) add(now time.Time) {
	m := now.Unix() / 60
	if k := len(u.minutes); k > 0 && u.minutes[k-1].minute == m {
		u.minutes[k-1].n++
	} else {
		u.minutes = append(u.minutes, minuteCount{minute: m, n: 1})
	}
	u.total++
}

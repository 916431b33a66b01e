package salesforce

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/syncd-io/syncd/internal/secret"
)

// DefaultAPIVersion is the REST API version used when Config.APIVersion is empty: the
// current GA release (Summer '26).
const DefaultAPIVersion = "v67.0"

// Limiter paces requests. Every request waits on it before it is sent, so the caller
// can hold syncd to its share of the org's daily allowance (a *rate.Limiter from
// golang.org/x/time/rate satisfies it).
type Limiter interface {
	Wait(ctx context.Context) error
}

// Observer is told about every HTTP request the client makes or refuses to make, for
// metrics. It must be safe for concurrent use and fast; it is called inline.
type Observer interface {
	ObserveCall(Call)
}

// Call describes one HTTP request for an Observer.
type Call struct {
	// Endpoint is a low-cardinality name for the operation: "query", "sobject.create",
	// "collections.update", "limits", "oauth2.token" and so on.
	Endpoint string
	Method   string
	// StatusCode is the HTTP status, or 0 when no answer came (or nothing was sent).
	StatusCode int
	// Class is ClassNone for a success, otherwise the error's class.
	Class    Class
	Duration time.Duration
}

// RetryPolicy bounds the retries of retryable failures (row locks, 503, connection
// resets). Zero fields take the defaults noted on each.
type RetryPolicy struct {
	MaxAttempts     int           // attempts per call including the first; default 5
	MaxElapsed      time.Duration // total time per call including waits; default 2 minutes
	InitialInterval time.Duration // first wait, randomised ±50 %; default 500 ms
	MaxInterval     time.Duration // longest wait; default 30 s
}

// Config configures a Client. TokenSource is required; everything else has a default.
type Config struct {
	// TokenSource yields access tokens whose extra data carries instance_url, as the
	// sources of this package (NewJWTSource, NewClientCredentialsSource) do. The
	// instance URL must be https (plain http only on loopback): a token naming another
	// is refused with a *ConfigError rather than sent in the clear. Tokens are
	// cached by the Client and renewed once when Salesforce reports INVALID_SESSION_ID.
	TokenSource oauth2.TokenSource
	// APIVersion such as "v67.0"; default DefaultAPIVersion.
	APIVersion string
	// HTTPClient sends every REST request; default a new http.Client. Its own Timeout
	// should be zero or longer than Timeout.
	HTTPClient *http.Client
	// Timeout bounds one HTTP attempt, answer body included; default 2 minutes.
	Timeout time.Duration
	// Limiter, when set, is waited on before every request. When it refuses (Wait
	// fails while the context is still live, as rate.Limiter does when the next token
	// lies beyond the deadline) the request is not sent and the error is a
	// *LimiterError.
	Limiter Limiter
	// Reserve is the fraction (0..1) of the org's daily allowance left for other
	// integrations: a request is refused with *ReserveError while the remaining
	// allowance last reported by Sforce-Limit-Info is below it. 0 disables the check.
	// Limits is exempt, so that a caller can always learn that usage has fallen.
	Reserve float64
	// ReserveRecheck is how long a reading that refuses requests is trusted: after
	// it, the client re-reads /limits before refusing, so that writes do not stop
	// for good when nothing else brings news that usage fell. Default 5 minutes,
	// Salesforce's own refresh period for /limits.
	ReserveRecheck time.Duration
	// Observer, when set, sees every request.
	Observer Observer
	// Retry bounds retries of retryable failures.
	Retry RetryPolicy
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Client is a Salesforce REST API client. It is safe for concurrent use.
type Client struct {
	version  string
	hc       *http.Client
	timeout  time.Duration
	tokens   *tokenCache
	limiter  Limiter
	reserve  float64
	observer Observer
	retry    RetryPolicy
	now      func() time.Time

	reserveRecheck time.Duration
	recheck        singleflight.Group // one /limits re-read for concurrent refusals

	// sent numbers requests in the order they are sent, to order usage readings.
	sent        atomic.Uint64
	usageMu     sync.Mutex
	usage       Usage
	usageSeq    uint64    // the sent number of the request whose answer set usage
	recheckedAt time.Time // when /limits was last re-read for the reserve
	// inflight counts the requests admitted past the reserve whose answers have not
	// come back: usage does not show them yet, and the reserve must hold after them.
	inflight int64
}

var apiVersionPattern = regexp.MustCompile(`^v[0-9]{2,3}\.0$`)

// New checks cfg and returns a Client. It does not contact Salesforce.
func New(cfg Config) (*Client, error) {
	if cfg.TokenSource == nil {
		return nil, &ConfigError{Field: "token_source", Reason: "is required"}
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	if !strings.HasPrefix(cfg.APIVersion, "v") {
		cfg.APIVersion = "v" + cfg.APIVersion
	}
	if !apiVersionPattern.MatchString(cfg.APIVersion) {
		return nil, &ConfigError{Field: "api_version", Reason: fmt.Sprintf("%q is not of the form v67.0", cfg.APIVersion)}
	}
	if cfg.Reserve < 0 || cfg.Reserve >= 1 {
		return nil, &ConfigError{Field: "reserve", Reason: fmt.Sprintf("%v is not a fraction in [0, 1)", cfg.Reserve)}
	}
	switch {
	case cfg.ReserveRecheck < 0:
		return nil, &ConfigError{Field: "reserve_recheck", Reason: fmt.Sprintf("%v is negative", cfg.ReserveRecheck)}
	case cfg.ReserveRecheck == 0:
		cfg.ReserveRecheck = 5 * time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &cfg.Retry
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 5
	}
	if r.MaxElapsed <= 0 {
		r.MaxElapsed = 2 * time.Minute
	}
	if r.InitialInterval <= 0 {
		r.InitialInterval = 500 * time.Millisecond
	}
	if r.MaxInterval <= 0 {
		r.MaxInterval = 30 * time.Second
	}
	c := &Client{
		version:  cfg.APIVersion,
		hc:       cfg.HTTPClient,
		timeout:  cfg.Timeout,
		limiter:  cfg.Limiter,
		reserve:  cfg.Reserve,
		observer: cfg.Observer,

		reserveRecheck: cfg.ReserveRecheck,
		retry:          cfg.Retry,
		now:            cfg.Now,
	}
	c.tokens = &tokenCache{src: cfg.TokenSource, timeout: cfg.Timeout, observe: c.observe, now: cfg.Now}
	return c, nil
}

// APIVersion returns the REST API version the client speaks, e.g. "v67.0".
func (c *Client) APIVersion() string { return c.version }

// dataPath returns the path of a REST resource under /services/data/vNN.0.
func (c *Client) dataPath(resource string) string {
	return "/services/data/" + c.version + resource
}

// request is one REST call as the client's methods describe it.
type request struct {
	endpoint string // for the Observer
	method   string
	path     string // on the instance, starting with "/", query string included
	// shownPath, when set, names the request in errors instead of path: it hides
	// personal data that path carries outside its query string (an upsert's value).
	shownPath string
	body      []byte // JSON, or nil
	// form says body is an HTML form (application/x-www-form-urlencoded), not JSON.
	form   bool
	header http.Header
	// exemptReserve lets a request through while the reserve is reached.
	exemptReserve bool
	// buf, when set, receives the answer body, which then aliases it: the caller that
	// reuses one buffer over many requests (query paging) decodes each answer before
	// sending the next request.
	buf *bytes.Buffer
	// stream leaves a 2xx answer's body unread in response.stream, for answers too
	// large to hold (Bulk API results); the caller must close it. The attempt's
	// Timeout still bounds reading it.
	stream bool
}

// errorPath is how errors name the request: shownPath, or path without its query
// string, which carries the SOQL and its values.
func (r *request) errorPath() string {
	if r.shownPath != "" {
		return r.shownPath
	}
	path, _, _ := strings.Cut(r.path, "?")
	return path
}

// response is a 2xx answer, read in full unless the request asked for a stream.
type response struct {
	status int
	header http.Header
	body   []byte
	stream io.ReadCloser // set instead of body for a request with stream
}

// cancelOnClose is a streamed body that ends its request's context when closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// do sends r with authentication, limiter, reserve check and bounded retries of
// retryable failures, and returns its 2xx answer or a classified error. The error is
// the last attempt's own (an *APIError, a *TransportError, ...); when the context ends
// while waiting to retry, it is the context's error joined with the last attempt's.
//
// backoff's ExponentialBackOff computes the waits; the loop is ours so that the
// clock is the Client's and no retry library's error type reaches the caller.
func (c *Client) do(ctx context.Context, r *request) (*response, error) {
	var renewed bool
	expo := &backoff.ExponentialBackOff{
		InitialInterval:     c.retry.InitialInterval,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
		Multiplier:          backoff.DefaultMultiplier,
		MaxInterval:         c.retry.MaxInterval,
	}
	expo.Reset()
	start := c.now()
	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(ctx, r, &renewed)
		if err == nil || ClassOf(err) != ClassRetryable || attempt >= c.retry.MaxAttempts {
			return resp, err
		}
		wait := expo.NextBackOff()
		if c.now().Sub(start)+wait > c.retry.MaxElapsed {
			return nil, err
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			// Keep what the last attempt saw.
			return nil, fmt.Errorf("%w (last attempt: %w)", context.Cause(ctx), err)
		}
	}
}

// attempt makes one try: a token, the request, and on INVALID_SESSION_ID one renewal
// and one resend per call (renewed records that it happened, across retries).
func (c *Client) attempt(ctx context.Context, r *request, renewed *bool) (*response, error) {
	sess, err := c.tokens.get(ctx, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, r, sess)
	var apiErr *APIError
	if *renewed || !errors.As(err, &apiErr) || !apiErr.HasCode(CodeInvalidSessionID) {
		return resp, err
	}
	*renewed = true
	if sess, err = c.tokens.get(ctx, sess); err != nil {
		return nil, err
	}
	return c.send(ctx, r, sess)
}

// send waits for the limiter, checks the reserve and makes one HTTP request.
func (c *Client) send(ctx context.Context, r *request, sess *session) (*response, error) {
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			if ctxErr := context.Cause(ctx); ctxErr != nil {
				// The caller gave up; that is not the limiter's refusal.
				return nil, fmt.Errorf("salesforce: waiting for the API budget: %w", ctxErr)
			}
			err = &LimiterError{Err: err}
			c.observe(Call{Endpoint: r.endpoint, Method: r.method, Class: ClassOf(err)})
			return nil, err
		}
	}
	if !r.exemptReserve {
		release, err := c.checkReserve(ctx)
		if err != nil {
			c.observe(Call{Endpoint: r.endpoint, Method: r.method, Class: ClassOf(err)})
			return nil, err
		}
		// Released after roundTrip recorded the answer's usage, which then counts it.
		defer release()
	}
	start := c.now()
	resp, status, err := c.roundTrip(ctx, r, sess)
	c.observe(Call{Endpoint: r.endpoint, Method: r.method, StatusCode: status, Class: ClassOf(err), Duration: c.now().Sub(start)})
	return resp, err
}

// roundTrip makes one HTTP request and turns the answer into a response or an error.
func (c *Client) roundTrip(ctx context.Context, r *request, sess *session) (*response, int, error) {
	path := r.errorPath()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	streamed := false // the answer's body was handed over, with cancel
	defer func() {
		if !streamed {
			cancel()
		}
	}()
	var written atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) { written.Store(info.Err == nil) },
	})
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, sess.instanceURL+r.path, body)
	if err != nil {
		return nil, 0, fmt.Errorf("salesforce: building %s %s: %w", r.method, path, safeCause(err))
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+sess.accessToken.Reveal())
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	switch {
	case r.form:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case r.body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	transportErr := func(err error) error {
		return &TransportError{Method: r.method, Path: path, Written: written.Load(), Idempotent: idempotent(r.method), Err: safeCause(err)}
	}
	seq := c.sent.Add(1)
	hr, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, transportErr(err)
	}
	c.recordLimitInfo(hr.Header.Get("Sforce-Limit-Info"), seq)
	success := hr.StatusCode >= 200 && hr.StatusCode < 300
	if success && r.stream {
		streamed = true
		return &response{status: hr.StatusCode, header: hr.Header, stream: &cancelOnClose{ReadCloser: hr.Body, cancel: cancel}}, hr.StatusCode, nil
	}
	defer hr.Body.Close()
	data, err := readBody(hr, r.buf, success)
	if err != nil {
		// The request was answered, so it reached Salesforce.
		written.Store(true)
		return nil, hr.StatusCode, transportErr(fmt.Errorf("reading the %d answer: %w", hr.StatusCode, err))
	}
	if success {
		return &response{status: hr.StatusCode, header: hr.Header, body: data}, hr.StatusCode, nil
	}
	// A proxy's error page may echo the request's headers; the token stays out of
	// the error, fields included.
	data = bytes.ReplaceAll(data, []byte(sess.accessToken.Reveal()), []byte(secret.Redacted))
	if hr.StatusCode == http.StatusMultipleChoices {
		return nil, hr.StatusCode, newMultipleChoicesError(r.method, path, data)
	}
	return nil, hr.StatusCode, newAPIError(r.method, path, hr.StatusCode, data)
}

// maxAnswerBytes bounds a successful answer's body. A query page of 2000 wide records
// is a few megabytes; anything near this bound is not a Salesforce answer.
const maxAnswerBytes = 64 << 20

// maxErrorBytes bounds how much of a failed answer's body is read: Salesforce's error
// arrays are small, and of anything else (a proxy's page) only the start is kept.
const maxErrorBytes = 64 << 10

// readBody reads an answer's body into buf when given, else into a new slice. A
// success larger than maxAnswerBytes is an error; a failure's body is cut at
// maxErrorBytes.
func readBody(hr *http.Response, buf *bytes.Buffer, success bool) ([]byte, error) {
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	limit := int64(maxAnswerBytes)
	if !success {
		limit = maxErrorBytes
	}
	if hr.ContentLength > 0 && hr.ContentLength <= limit {
		buf.Grow(int(hr.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(hr.Body, limit+1))
	switch {
	case err != nil:
		return nil, err
	case n <= limit:
		return buf.Bytes(), nil
	case success:
		return nil, fmt.Errorf("answer larger than %d bytes", limit)
	}
	return buf.Bytes()[:limit], nil
}

func (c *Client) observe(call Call) {
	if c.observer != nil {
		c.observer.ObserveCall(call)
	}
}

// session is an access token and the instance it is good for, as the client holds
// them: the token as a secret.Secret, the instance URL checked and without a trailing
// slash.
type session struct {
	accessToken secret.Secret
	instanceURL string
	// orgID and userID are from the identity URL, "" when the token answer had none.
	orgID, userID string
}

// tokenCache holds the current session, shared by concurrent calls, and makes sure
// that concurrent renewals of the same stale session cost one token request.
type tokenCache struct {
	src     oauth2.TokenSource
	timeout time.Duration
	observe func(Call)
	now     func() time.Time
	flight  singleflight.Group

	mu  sync.Mutex
	cur *session
}

// current returns the cached session, or nil.
func (tc *tokenCache) current() *session {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.cur
}

// get returns the cached session, fetching one when there is none. With stale set it
// returns a session other than stale: the cached one if someone already renewed it,
// otherwise a fresh one. Callers that need a token at the same time share one token
// request.
func (tc *tokenCache) get(ctx context.Context, stale *session) (*session, error) {
	if s := tc.current(); s != nil && s != stale {
		return s, nil
	}
	// The fetch outlives the caller who started it: others may be waiting on it.
	fetchCtx := context.WithoutCancel(ctx)
	ch := tc.flight.DoChan("token", func() (any, error) {
		if s := tc.current(); s != nil && s != stale {
			return s, nil // renewed between our look and this flight
		}
		return tc.fetch(fetchCtx)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*session), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch runs one token request, checks the instance URL it names and caches the
// session.
func (tc *tokenCache) fetch(ctx context.Context) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, tc.timeout)
	defer cancel()
	start := tc.now()
	var tok *oauth2.Token
	var err error
	if cs, ok := tc.src.(ContextTokenSource); ok {
		tok, err = cs.TokenContext(ctx)
	} else {
		tok, err = tc.src.Token()
	}
	var s *session
	if err == nil {
		s, err = newSession(tok)
	}
	status := http.StatusOK
	var oauthErr *OAuthError
	if errors.As(err, &oauthErr) {
		status = oauthErr.StatusCode
	} else if err != nil {
		status = 0
	}
	tc.observe(Call{Endpoint: "oauth2.token", Method: http.MethodPost, StatusCode: status, Class: ClassOf(err), Duration: tc.now().Sub(start)})
	if err != nil {
		return nil, err
	}
	tc.mu.Lock()
	tc.cur = s
	tc.mu.Unlock()
	return s, nil
}

// newSession checks a token's instance URL: REST calls carry the token there, so it
// must be https (or http on loopback) and a bare base URL.
func newSession(tok *oauth2.Token) (*session, error) {
	instance := InstanceURL(tok)
	if instance == "" {
		return nil, &ConfigError{Field: "token_source", Reason: "token has no instance_url"}
	}
	base, err := checkEndpoint("instance_url", instance)
	if err != nil {
		return nil, err
	}
	org, user := identityOf(tok)
	return &session{accessToken: secret.New(tok.AccessToken), instanceURL: base, orgID: org, userID: user}, nil
}

// identityOf returns the org and user Ids in a token's identity URL
// (…/id/{orgId}/{userId}), or "" and "".
func identityOf(tok *oauth2.Token) (org, user string) {
	id, _ := tok.Extra(extraID).(string)
	u, err := url.Parse(id)
	if err != nil {
		return "", ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 3 || parts[0] != "id" || parts[1] == "" || parts[2] == "" {
		return "", ""
	}
	return parts[1], parts[2]
}

// OrgID returns the Id of the org the client's session belongs to, from the
// identity URL of the token answer: no API call, a token request at most. It lets
// syncd tell that its store was filled from another org (a sandbox refresh, a
// changed login URL) before it trusts what it remembers of that org. The error is
// an *OAuthError or a *TransportError when no token can be had, and a *ConfigError
// when the token answer named no org.
func (c *Client) OrgID(ctx context.Context) (string, error) {
	return c.identity(ctx, "org", func(s *session) string { return s.orgID })
}

// UserID returns the Id of the user the client's session runs as (the integration
// user), from the identity URL of the token answer: no API call, a token request at
// most. syncd protects that user by Id, whatever its username and profile: with the
// client-credentials flow no username is configured, and an integration user need
// not be a System Administrator. The errors are OrgID's.
func (c *Client) UserID(ctx context.Context) (string, error) {
	return c.identity(ctx, "user", func(s *session) string { return s.userID })
}

// identity returns the part of the session's identity URL that part reads, naming
// what it is in the error when the token answer had none.
func (c *Client) identity(ctx context.Context, what string, part func(*session) string) (string, error) {
	sess, err := c.tokens.get(ctx, nil)
	if err != nil {
		return "", err
	}
	if id := part(sess); id != "" {
		return id, nil
	}
	return "", &ConfigError{Field: "token_source", Reason: "token answer has no identity URL naming the " + what}
}

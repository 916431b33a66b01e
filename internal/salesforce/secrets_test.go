package salesforce

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/time/rate"

	"github.com/syncd-io/syncd/internal/secret"
	"github.com/syncd-io/syncd/internal/sfsim"
)

// secretSet is the credentials a test has handed out; any error string that holds
// one fails the test.
type secretSet struct {
	mu     sync.Mutex
	values []string
}

func (s *secretSet) add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values = append(s.values, values...)
}

// scan fails t when any rendering of err, or of an error in its chain, holds a
// secret.
func (s *secretSet) scan(t *testing.T, name string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error; the failure path was not driven", name)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range errorChain(err) {
		for _, text := range []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)} {
			for _, v := range s.values {
				if strings.Contains(text, v) {
					t.Errorf("%s: %T shows a credential: %.300s", name, e, text)
				}
			}
		}
	}
}

// errorChain lists err and every error it wraps, through Unwrap() error and
// Unwrap() []error.
func errorChain(err error) []error {
	var out []error
	queue := []error{err}
	for len(queue) > 0 {
		e := queue[0]
		queue = queue[1:]
		if e == nil {
			continue
		}
		out = append(out, e)
		switch u := e.(type) { //nolint:errorlint // walks the chain itself, one link at a time
		case interface{ Unwrap() error }:
			queue = append(queue, u.Unwrap())
		case interface{ Unwrap() []error }:
			queue = append(queue, u.Unwrap()...)
		}
	}
	return out
}

// recordingSource adds every access token its source hands out to a secretSet.
type recordingSource struct {
	src     ContextTokenSource
	secrets *secretSet
}

func (r recordingSource) Token() (*oauth2.Token, error) { return r.TokenContext(context.Background()) }

func (r recordingSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	tok, err := r.src.TokenContext(ctx)
	if tok != nil {
		r.secrets.add(tok.AccessToken)
	}
	return tok, err
}

// echoingProxy stands before sfsim. While its prefix is set, it answers requests
// whose path starts with it itself, with a proxy's error page that repeats the
// request line, every header and the body: what a misconfigured gateway does. The
// credentials it sees (the form's secret and assertion) join the secrets.
type echoingProxy struct {
	next    http.Handler
	prefix  atomic.Pointer[string]
	secrets *secretSet
}

func (p *echoingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := p.prefix.Load()
	if prefix == nil || !strings.HasPrefix(r.URL.Path, *prefix) {
		p.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if form, err := url.ParseQuery(string(body)); err == nil {
		for _, k := range []string{"client_secret", "assertion"} {
			if v := form.Get(k); v != "" {
				p.secrets.add(v)
			}
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<html><body><h1>502 Bad Gateway</h1><pre>%s %s\n", r.Method, r.URL.RequestURI())
	_ = r.Header.Write(&b)
	b.Write(body)
	b.WriteString("</pre></body></html>")
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = w.Write(b.Bytes())
}

// TestSimNoSecretInAnyError sets distinctive secrets everywhere (the client secret,
// the private key, every access token sfsim issues, a token in a URL query), drives
// every failure path of the client against sfsim and scans every error for them.
func TestSimNoSecretInAnyError(t *testing.T) {
	kp := keyPair(t)
	const (
		clientSecret = "CS-distinctive-7d1e0c5b-client-secret"
		wrongSecret  = "CS-distinctive-wrong-4a77-client-secret"
		urlToken     = "00DURL!distinctive-query-token-91c2"
	)
	secrets := &secretSet{}
	secrets.add(clientSecret, wrongSecret, urlToken, kp.key.D.String())
	for _, line := range strings.Split(string(kp.pkcs8PEM), "\n") {
		if len(line) == 64 {
			secrets.add(line)
		}
	}
	sim, err := sfsim.New(sfsim.Options{JWTCertificate: kp.cert, ClientSecret: clientSecret, APIMax: 1000})
	if err != nil {
		t.Fatal(err)
	}
	proxy := &echoingProxy{next: sim, secrets: secrets}
	hs := httptest.NewServer(proxy)
	t.Cleanup(hs.Close)
	ctx := context.Background()

	jwtSource := func(key *rsa.PrivateKey) ContextTokenSource {
		src, err := NewJWTSource(JWTConfig{LoginURL: hs.URL, ClientID: sfsim.DefaultClientID, Username: sfsim.DefaultUsername,
			PrivateKey: key, HTTPClient: hs.Client()})
		if err != nil {
			t.Fatal(err)
		}
		return recordingSource{src: src, secrets: secrets}
	}
	ccSource := func(s string) ContextTokenSource {
		src, err := NewClientCredentialsSource(ClientCredentialsConfig{LoginURL: hs.URL, ClientID: sfsim.DefaultClientID,
			ClientSecret: secret.New(s), HTTPClient: hs.Client()})
		if err != nil {
			t.Fatal(err)
		}
		return recordingSource{src: src, secrets: secrets}
	}
	newClient := func(src oauth2.TokenSource, mod func(*Config)) *Client {
		cfg := Config{TokenSource: src, HTTPClient: hs.Client(), Retry: fastRetry}
		if mod != nil {
			mod(&cfg)
		}
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := newClient(jwtSource(kp.key), nil)
	ccClient := newClient(ccSource(clientSecret), nil)
	profile, _ := sim.ProfileID("Standard User")
	query := func(c *Client) error {
		_, err := QueryAll[User](ctx, c, "SELECT Id FROM User")
		return err
	}
	get := func(c *Client) error {
		return c.Get(ctx, "User", sim.IntegrationUserID(), nil, &User{})
	}
	create := func() error {
		_, err := c.CreateRecords(ctx, "User", []Fields{newUserFields("scan@acme.example.com", profile)})
		return err
	}
	update := func() error {
		_, err := c.UpdateRecords(ctx, "User", []RecordUpdate{{ID: sim.IntegrationUserID(), Fields: Fields{"Title": "x"}}})
		return err
	}
	for _, c := range []*Client{c, ccClient} {
		if err := query(c); err != nil {
			t.Fatalf("a working client first: %v", err)
		}
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cursorWithToken := `{"totalSize":3000,"done":false,"nextRecordsUrl":"/services/data/v67.0/query/01gX-2000?sid=` + urlToken + `","records":[]}`

	once := func(cfg *Config) { cfg.Retry = RetryPolicy{MaxAttempts: 1} }
	type scenario struct {
		name  string
		fault *sfsim.FaultRule
		echo  string // the path prefix the echoing proxy answers
		call  func() error
	}
	scenarios := []scenario{
		{name: "JWT refused: key not matching the certificate", call: func() error { return query(newClient(jwtSource(otherKey), nil)) }},
		{name: "client credentials refused: wrong secret", call: func() error { return query(newClient(ccSource(wrongSecret), nil)) }},
		{name: "token endpoint behind an echoing proxy (client credentials)", echo: tokenPath, call: func() error {
			return query(newClient(ccSource(clientSecret), once))
		}},
		{name: "token endpoint behind an echoing proxy (JWT)", echo: tokenPath, call: func() error {
			return query(newClient(jwtSource(kp.key), once))
		}},
		{name: "token endpoint drops the connection", fault: &sfsim.FaultRule{Endpoint: "token", Count: 100, Fault: sfsim.DropFault()},
			call: func() error { return query(newClient(ccSource(clientSecret), nil)) }},
		{name: "login URL with nothing listening", call: func() error {
			src, err := NewClientCredentialsSource(ClientCredentialsConfig{LoginURL: closed.URL, ClientID: "c", ClientSecret: secret.New(clientSecret)})
			if err != nil {
				return err
			}
			return query(newClient(src, nil))
		}},
		{name: "login URL carrying a token", call: func() error {
			_, err := NewJWTSource(JWTConfig{LoginURL: hs.URL + "/?sid=" + urlToken, ClientID: "c", Username: "u", PrivateKey: kp.key})
			return err
		}},
		{name: "instance URL carrying a token", call: func() error {
			return query(newClient(&fakeTokens{instance: hs.URL + "/?sid=" + urlToken}, nil))
		}},
		{name: "401 twice: session invalid after renewal", fault: &sfsim.FaultRule{Endpoint: "sobject.get", Count: 2, Fault: sfsim.SessionFault()},
			call: func() error { return get(c) }},
		{name: "401 twice on the client credentials client", fault: &sfsim.FaultRule{Endpoint: "query", Count: 2, Fault: sfsim.SessionFault()},
			call: func() error { return query(ccClient) }},
		{name: "403 daily limit", fault: &sfsim.FaultRule{Endpoint: "query", Fault: sfsim.ErrorFault(403, CodeRequestLimitExceeded, "TotalRequests Limit exceeded.")},
			call: func() error { return query(c) }},
		{name: "4xx: unknown field", call: func() error { return c.Update(ctx, "User", sim.IntegrationUserID(), Fields{"Nope": "x"}) }},
		{name: "4xx: malformed query", call: func() error { _, err := QueryAll[User](ctx, c, "SELECT FROM User"); return err }},
		{name: "5xx on an update, retries run out", fault: &sfsim.FaultRule{Endpoint: "collections.update", Count: 100, Fault: sfsim.UnavailableFault()},
			call: update},
		{name: "5xx on a create", fault: &sfsim.FaultRule{Endpoint: "collections.create", Fault: sfsim.LockRowFault()}, call: create},
		{name: "HTML error page", fault: &sfsim.FaultRule{Endpoint: "sobject.get", Count: 100, Fault: sfsim.RawFault(502, "text/html", "<html><h1>Bad Gateway</h1></html>")},
			call: func() error { return get(c) }},
		{name: "REST call behind an echoing proxy", echo: "/services/data/", call: func() error {
			return newClient(c.tokens.src, once).Update(ctx, "User", sim.IntegrationUserID(), Fields{"Title": "x"})
		}},
		{name: "connection dropped before the answer (read)", fault: &sfsim.FaultRule{Endpoint: "query", Count: 100, Fault: sfsim.DropFault()},
			call: func() error { return query(c) }},
		{name: "connection dropped after the write (create)", fault: &sfsim.FaultRule{Endpoint: "collections.create", Fault: sfsim.LostAnswerFault()}, call: create},
		{name: "nothing listening on the instance", call: func() error { return query(newClient(&fakeTokens{instance: closed.URL}, nil)) }},
		{name: "cursor carrying a token, then dropped", fault: &sfsim.FaultRule{Endpoint: "query", Fault: sfsim.RawFault(200, "application/json", cursorWithToken)},
			call: func() error {
				sim.InjectFault(sfsim.FaultRule{Endpoint: "queryMore", Count: 100, Fault: sfsim.DropFault()})
				defer sim.ClearFaults()
				return query(c)
			}},
		{name: "cursor carrying a token, then refused", fault: &sfsim.FaultRule{Endpoint: "query", Fault: sfsim.RawFault(200, "application/json", cursorWithToken)},
			call: func() error { return query(c) }},
		{name: "timeout", fault: &sfsim.FaultRule{Endpoint: "query", Count: 100, Fault: sfsim.LatencyFault(time.Hour)}, call: func() error {
			return query(newClient(c.tokens.src, func(cfg *Config) {
				cfg.Timeout = 50 * time.Millisecond
				cfg.Retry = RetryPolicy{MaxAttempts: 2, InitialInterval: time.Millisecond}
			}))
		}},
		{name: "reserve refusal", call: func() error {
			rc := newClient(c.tokens.src, func(cfg *Config) { cfg.Reserve = 0.5 })
			sim.SetOtherUsage(900)
			defer sim.SetOtherUsage(0)
			if err := query(rc); err != nil {
				return fmt.Errorf("the call that learns the usage failed: %w", err)
			}
			return query(rc)
		}},
		{name: "limiter refusal", call: func() error {
			lc := newClient(c.tokens.src, func(cfg *Config) { cfg.Limiter = rate.NewLimiter(rate.Every(time.Hour), 1) })
			deadline, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if _, err := QueryAll[User](deadline, lc, "SELECT Id FROM User"); err != nil {
				return fmt.Errorf("the call within the burst failed: %w", err)
			}
			_, err := QueryAll[User](deadline, lc, "SELECT Id FROM User")
			return err
		}},
	}
	for _, s := range scenarios {
		sim.ClearFaults()
		if s.fault != nil {
			sim.InjectFault(*s.fault)
		}
		proxy.prefix.Store(nil)
		if s.echo != "" {
			proxy.prefix.Store(&s.echo)
		}
		err := s.call()
		secrets.scan(t, s.name, err)
		t.Logf("%s: %v (class %v)", s.name, err, ClassOf(err))
	}
	// The scan looked for what it should: sfsim's access tokens and the credentials
	// the echoing proxy saw.
	var tokens, echoed int
	for _, v := range secrets.values {
		switch {
		case strings.HasPrefix(v, sim.OrgID()[:15]):
			tokens++
		case strings.Count(v, ".") == 2 && len(v) > 100: // a signed assertion
			echoed++
		}
	}
	if tokens < 3 || echoed < 1 {
		t.Errorf("scanned for %d access tokens and %d assertions; want at least 3 and 1", tokens, echoed)
	}
}

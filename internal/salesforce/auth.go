package salesforce

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/syncd-io/syncd/internal/secret"
)

// tokenPath is where every OAuth grant is posted, on the login URL.
const tokenPath = "/services/oauth2/token" //nolint:gosec // a path, not a credential

// maxJWTLifetime is how far ahead a JWT assertion's exp may lie: Salesforce wants it
// within three minutes of now.
const maxJWTLifetime = 3 * time.Minute

// Token answer fields kept in oauth2.Token's extra data.
const (
	extraInstanceURL = "instance_url"
	extraID          = "id"
)

// ContextTokenSource is a token source that honours a context. The sources of this
// package implement it, and the Client uses it when available so that a token request
// is cancelled with the call that needed it; plain oauth2.TokenSources work too.
type ContextTokenSource interface {
	oauth2.TokenSource
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// InstanceURL returns the instance URL that Salesforce gave with tok; every REST call
// goes there, never to the login URL.
func InstanceURL(tok *oauth2.Token) string {
	s, _ := tok.Extra(extraInstanceURL).(string)
	return s
}

// JWTConfig configures the OAuth 2.0 JWT bearer flow, the right one for a daemon: no
// secret is stored in Salesforce's answer and no user interaction is needed once the
// connected app is pre-authorized for the integration user.
type JWTConfig struct {
	// LoginURL is https://login.salesforce.com, https://test.salesforce.com or the org's
	// My Domain URL. The token request is posted here. Plain http is refused except on
	// loopback (a simulator).
	LoginURL string
	// Audience overrides the JWT aud claim. When empty it is derived from LoginURL:
	// test.salesforce.com and sandbox My Domains give https://test.salesforce.com,
	// login.salesforce.com and production My Domains give https://login.salesforce.com,
	// any other host (an Experience Cloud site, a simulator) gives the login URL itself.
	Audience string
	// ClientID is the connected app's consumer key (the iss claim).
	ClientID string
	// Username is the integration user's username (the sub claim).
	Username string
	// PrivateKey signs the assertion; its certificate is uploaded to the connected app.
	// JSON encoders show it as "<secret>" (see MarshalJSON); fmt shows only its address.
	PrivateKey *rsa.PrivateKey
	// HTTPClient sends the token request; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for the exp claim; nil means time.Now.
	Now func() time.Time
}

// MarshalJSON renders the configuration with the private key shown as "<secret>", so
// that a logger or a configuration dump that encodes it as JSON does not write the key.
func (c JWTConfig) MarshalJSON() ([]byte, error) {
	var key any
	if c.PrivateKey != nil {
		key = secret.Redacted
	}
	return json.Marshal(struct {
		LoginURL, Audience, ClientID, Username string
		PrivateKey                             any
	}{c.LoginURL, c.Audience, c.ClientID, c.Username, key})
}

// JWTSource is an oauth2.TokenSource that obtains a fresh access token with a signed
// JWT assertion on every call. Caching is the Client's job, which knows when a token
// stopped working.
//
// golang.org/x/oauth2/jwt would build the same assertion (iss, sub, aud, RS256) and
// keeps instance_url in the token's Extra, but it does not fit: it flattens transport
// failures into strings with %v (so a dropped connection could not be classified
// retryable), takes the key only as PEM bytes (which a config struct would then hold
// and print) and reads time.Now itself (no clock for tests). The assertion is signed
// here with golang-jwt and exchanged through x/oauth2's token request.
type JWTSource struct {
	cfg      JWTConfig
	tokenURL string
}

// Format prints the source without its key, whatever the verb: fmt would print the
// unexported configuration field by field.
func (s JWTSource) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "salesforce.JWTSource{%s, client_id %s, username %s}", s.tokenURL, s.cfg.ClientID, s.cfg.Username)
}

// NewJWTSource checks cfg and returns its token source.
func NewJWTSource(cfg JWTConfig) (*JWTSource, error) {
	tokenURL, hc, err := checkGrant(cfg.LoginURL, cfg.ClientID, cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Username == "":
		return nil, &ConfigError{Field: "username", Reason: "is empty; set the integration user's username"}
	case cfg.PrivateKey == nil:
		return nil, &ConfigError{Field: "private_key", Reason: "is missing"}
	}
	cfg.HTTPClient = hc
	if cfg.Audience == "" {
		cfg.Audience = jwtAudience(cfg.LoginURL)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &JWTSource{cfg: cfg, tokenURL: tokenURL}, nil
}

// Token obtains a new access token without a deadline of its own; prefer TokenContext.
func (s *JWTSource) Token() (*oauth2.Token, error) {
	return s.TokenContext(context.Background())
}

// TokenContext signs a new assertion and exchanges it for an access token.
func (s *JWTSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	assertion, err := s.assertion()
	if err != nil {
		return nil, err
	}
	// The grant is posted as x/oauth2's clientcredentials posts one: its EndpointParams
	// may replace grant_type, and with no client id or secret nothing else is added,
	// so the form is exactly grant_type and assertion.
	return exchange(ctx, s.cfg.HTTPClient, &clientcredentials.Config{
		TokenURL:  s.tokenURL,
		AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
			"assertion":  {assertion},
		},
	})
}

// assertion signs the JWT the bearer flow exchanges.
func (s *JWTSource) assertion() (string, error) {
	claims := jwt.RegisteredClaims{
		Issuer:    s.cfg.ClientID,
		Subject:   s.cfg.Username,
		Audience:  jwt.ClaimStrings{s.cfg.Audience},
		ExpiresAt: jwt.NewNumericDate(s.cfg.Now().Add(maxJWTLifetime)),
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(s.cfg.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("salesforce: signing the JWT assertion: %w", err)
	}
	return signed, nil
}

// jwtAudience derives the aud claim from the login URL; see JWTConfig.Audience.
func jwtAudience(loginURL string) string {
	u, err := url.Parse(loginURL)
	if err != nil {
		return loginURL
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "test.salesforce.com", strings.HasSuffix(host, ".sandbox.my.salesforce.com"):
		return "https://test.salesforce.com"
	case host == "login.salesforce.com", strings.HasSuffix(host, ".my.salesforce.com"):
		return "https://login.salesforce.com"
	}
	return u.Scheme + "://" + u.Host
}

// ClientCredentialsConfig configures the OAuth 2.0 client credentials flow, where the
// connected app runs as a configured "run as" user.
type ClientCredentialsConfig struct {
	// LoginURL must be the org's My Domain URL: login.salesforce.com refuses this grant.
	// Plain http is refused except on loopback (a simulator).
	LoginURL string
	ClientID string
	// ClientSecret is the connected app's consumer secret.
	ClientSecret secret.Secret
	// HTTPClient sends the token request; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
}

// ClientCredentialsSource is an oauth2.TokenSource for the client credentials flow,
// posted through golang.org/x/oauth2/clientcredentials.
type ClientCredentialsSource struct {
	cfg      ClientCredentialsConfig
	tokenURL string
}

// Format prints the source without its secret, whatever the verb: fmt would print
// the unexported configuration field by field, the secret's value included.
func (s ClientCredentialsSource) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "salesforce.ClientCredentialsSource{%s, client_id %s}", s.tokenURL, s.cfg.ClientID)
}

// NewClientCredentialsSource checks cfg and returns its token source.
func NewClientCredentialsSource(cfg ClientCredentialsConfig) (*ClientCredentialsSource, error) {
	tokenURL, hc, err := checkGrant(cfg.LoginURL, cfg.ClientID, cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	if cfg.ClientSecret.IsZero() {
		return nil, &ConfigError{Field: "client_secret", Reason: "is empty; set the connected app's consumer secret"}
	}
	cfg.HTTPClient = hc
	return &ClientCredentialsSource{cfg: cfg, tokenURL: tokenURL}, nil
}

// Token obtains a new access token without a deadline of its own; prefer TokenContext.
func (s *ClientCredentialsSource) Token() (*oauth2.Token, error) {
	return s.TokenContext(context.Background())
}

// TokenContext exchanges the client id and secret for an access token. The id and
// secret travel in the form body (Salesforce also takes HTTP Basic); the x/oauth2
// configuration that carries the revealed secret lives only for this call.
func (s *ClientCredentialsSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	return exchange(ctx, s.cfg.HTTPClient, &clientcredentials.Config{
		ClientID:     s.cfg.ClientID,
		ClientSecret: s.cfg.ClientSecret.Reveal(),
		TokenURL:     s.tokenURL,
		AuthStyle:    oauth2.AuthStyleInParams,
	})
}

// checkGrant checks what every grant needs and returns the token endpoint and the
// HTTP client to reach it (a new one with a 30 s timeout when hc is nil).
func checkGrant(loginURL, clientID string, hc *http.Client) (string, *http.Client, error) {
	if loginURL == "" {
		return "", nil, &ConfigError{Field: "login_url", Reason: "is empty; use https://login.salesforce.com, https://test.salesforce.com or the org's My Domain URL"}
	}
	base, err := checkEndpoint("login_url", loginURL)
	if err != nil {
		return "", nil, err
	}
	if clientID == "" {
		return "", nil, &ConfigError{Field: "client_id", Reason: "is empty; set the connected app's consumer key"}
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return base + tokenPath, hc, nil
}

// checkEndpoint checks a base URL that credentials or tokens are sent to and returns
// it without a trailing slash. It must be absolute https, or http on a loopback host
// (127.0.0.0/8, ::1, localhost: a simulator), with no user info, query or fragment,
// which could carry credentials and would be mangled when paths are appended. The
// error describes the URL without any of those parts.
func checkEndpoint(field, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", &ConfigError{Field: field, Reason: describeURL(raw) + " is not an absolute https URL"}
	}
	switch {
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", &ConfigError{Field: field, Reason: describeURL(raw) + " carries user info, a query or a fragment; give the bare base URL"}
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "", &ConfigError{Field: field, Reason: describeURL(raw) + " is plain http: tokens and secrets would travel unencrypted; use https (http is accepted on loopback only)"}
	}
	return strings.TrimSuffix(raw, "/"), nil
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// describeURL shows a URL in an error: scheme, host and path only, since user info
// and the query may hold credentials.
func describeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the URL (unparseable)"
	}
	return fmt.Sprintf("%q", (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String())
}

// exchange posts one grant through x/oauth2 with hc and turns the outcome into a
// token carrying instance_url and id in its Extra, an *OAuthError (Salesforce's
// refusal, with our hint) or a *TransportError (no answer; asking for a token twice
// is harmless, so it is retryable).
func exchange(ctx context.Context, hc *http.Client, grant *clientcredentials.Config) (*oauth2.Token, error) {
	tok, err := grant.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
	// What the answer may echo of the request (a proxy's page) stays out of errors.
	// Values shorter than 8 bytes are no real secret and would match ordinary words.
	scrub := func(s string) string {
		for _, v := range []string{grant.ClientSecret, grant.EndpointParams.Get("assertion")} {
			if len(v) >= 8 {
				s = strings.ReplaceAll(s, v, secret.Redacted)
			}
		}
		return s
	}
	var retrieveErr *oauth2.RetrieveError
	var urlErr *url.Error
	switch {
	case errors.As(err, &retrieveErr):
		e := &OAuthError{StatusCode: retrieveErr.Response.StatusCode, Code: retrieveErr.ErrorCode, Description: retrieveErr.ErrorDescription}
		if e.Code == "" {
			// x/oauth2 reads a text/plain answer as a form; Salesforce's is JSON.
			var ans struct {
				Error            string `json:"error"`
				ErrorDescription string `json:"error_description"`
			}
			if json.Unmarshal(retrieveErr.Body, &ans) == nil {
				e.Code, e.Description = ans.Error, ans.ErrorDescription
			}
		}
		if e.Code == "" {
			e.RawBody = trimBody([]byte(scrub(string(retrieveErr.Body))))
		}
		e.Description = scrub(e.Description)
		e.Hint = oauthHint(e.Code, e.Description)
		return nil, e
	case errors.As(err, &urlErr):
		return nil, &TransportError{Method: http.MethodPost, Path: tokenPath, Idempotent: true, Err: safeCause(urlErr.Err)}
	case err != nil:
		// A 2xx answer without access_token or that is not JSON, or an unreadable one.
		return nil, &OAuthError{Code: "invalid_response", Description: scrub(redact(err.Error()))}
	}
	instance, _ := tok.Extra(extraInstanceURL).(string)
	if instance == "" {
		return nil, &OAuthError{StatusCode: http.StatusOK, Code: "invalid_response", Description: "token answer without instance_url"}
	}
	id, _ := tok.Extra(extraID).(string)
	// Keep only what the client uses: the raw answer also repeats the access token.
	out := &oauth2.Token{AccessToken: tok.AccessToken, TokenType: "Bearer"}
	return out.WithExtra(map[string]any{extraInstanceURL: instance, extraID: id}), nil
}

// OAuthError is a refusal from the token endpoint, with Salesforce's error and
// error_description and a hint saying what an operator should change.
type OAuthError struct {
	StatusCode  int
	Code        string // the "error" field, e.g. invalid_grant
	Description string // the "error_description" field
	Hint        string // what to do about it; empty when the failure is not recognised
	RawBody     string // the trimmed body when it was not JSON
}

// Error gives Salesforce's words and the hint.
func (e *OAuthError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "salesforce: token request failed (%d)", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", redact(e.Description))
	}
	if e.RawBody != "" {
		fmt.Fprintf(&b, ": %q", redactRaw(e.RawBody))
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, " (hint: %s)", e.Hint)
	}
	return b.String()
}

// oauthHint returns advice for a token endpoint refusal, or "".
func oauthHint(code, description string) string {
	// Known error_description texts, lower-case, and the advice for each.
	hints := []struct{ match, hint string }{
		{"user hasn't approved this consumer", "set the connected app's Permitted Users to \"Admin approved users are pre-authorized\" and add the integration user's profile or permission set to the app; also check that username names an existing user"},
		{"audience is invalid", "the JWT aud does not fit the login URL: use https://login.salesforce.com for production and https://test.salesforce.com for sandboxes"},
		{"invalid assertion", "the JWT signature does not verify: upload the certificate that matches private_key_file to the connected app"},
		{"expired authorization code", "the JWT exp is in the past for Salesforce: check this host's clock (NTP)"},
		{"inactive user", "the integration user is deactivated or frozen: reactivate it in Setup"},
		{"client identifier invalid", "the consumer key is unknown: copy client_id from the connected app (it can take minutes to propagate after creation)"},
		{"invalid client credentials", "the consumer key or secret is wrong: copy both from the connected app"},
		{"no client credentials user enabled", "enable the client credentials flow on the connected app and set its Run As user"},
		{"request not supported on this domain", "client credentials must be sent to the org's My Domain URL, not login.salesforce.com"},
		{"expired access/refresh token", "the refresh token was revoked or expired: authorize the app again"},
	}
	d := strings.ToLower(description)
	for _, h := range hints {
		if strings.Contains(d, h.match) {
			return h.hint
		}
	}
	switch code {
	case "invalid_client_id":
		return "the consumer key is unknown: copy client_id from the connected app"
	case "invalid_client":
		return "the consumer key or secret is wrong: copy both from the connected app"
	}
	return ""
}

// ParseRSAPrivateKeyPEM reads the RSA private key that signs JWT assertions, in PKCS#1
// ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY") PEM form, as openssl writes them.
func ParseRSAPrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("salesforce: private key: no PEM block found")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("salesforce: private key: PKCS#1: %w", err)
		}
		return key, nil
	case "PRIVATE KEY":
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("salesforce: private key: PKCS#8: %w", err)
		}
		rsaKey, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("salesforce: private key: PKCS#8 holds a %T, JWT bearer needs RSA", key)
		}
		return rsaKey, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("salesforce: private key: encrypted keys are not supported; decrypt it with openssl pkcs8")
	}
	return nil, fmt.Errorf("salesforce: private key: PEM block %q is not a private key", block.Type)
}

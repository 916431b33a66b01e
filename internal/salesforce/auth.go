package salesforce

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
)

// tokenPath is where every OAuth grant is posted, on the login URL.
const tokenPath = "/services/oauth2/token"

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
	// My Domain URL. The token request is posted here.
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
	PrivateKey *rsa.PrivateKey
	// HTTPClient sends the token request; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for the exp claim; nil means time.Now.
	Now func() time.Time
}

// JWTSource is an oauth2.TokenSource that obtains a fresh access token with a signed
// JWT assertion on every call. Caching is the Client's job, which knows when a token
// stopped working.
type JWTSource struct {
	cfg      JWTConfig
	tokenURL string
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
	form := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {assertion},
	}
	return requestToken(ctx, s.cfg.HTTPClient, s.tokenURL, form)
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
	LoginURL     string
	ClientID     string
	ClientSecret string
	// HTTPClient sends the token request; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
}

// ClientCredentialsSource is an oauth2.TokenSource for the client credentials flow.
type ClientCredentialsSource struct {
	cfg      ClientCredentialsConfig
	tokenURL string
}

// NewClientCredentialsSource checks cfg and returns its token source.
func NewClientCredentialsSource(cfg ClientCredentialsConfig) (*ClientCredentialsSource, error) {
	tokenURL, hc, err := checkGrant(cfg.LoginURL, cfg.ClientID, cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	if cfg.ClientSecret == "" {
		return nil, &ConfigError{Field: "client_secret", Reason: "is empty; set the connected app's consumer secret"}
	}
	cfg.HTTPClient = hc
	return &ClientCredentialsSource{cfg: cfg, tokenURL: tokenURL}, nil
}

// Token obtains a new access token without a deadline of its own; prefer TokenContext.
func (s *ClientCredentialsSource) Token() (*oauth2.Token, error) {
	return s.TokenContext(context.Background())
}

// TokenContext exchanges the client id and secret for an access token.
func (s *ClientCredentialsSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {s.cfg.ClientID},
		"client_secret": {s.cfg.ClientSecret},
	}
	return requestToken(ctx, s.cfg.HTTPClient, s.tokenURL, form)
}

// checkGrant checks what every grant needs and returns the token endpoint and the
// HTTP client to reach it (a new one with a 30 s timeout when hc is nil).
func checkGrant(loginURL, clientID string, hc *http.Client) (string, *http.Client, error) {
	if loginURL == "" {
		return "", nil, &ConfigError{Field: "login_url", Reason: "is empty; use https://login.salesforce.com, https://test.salesforce.com or the org's My Domain URL"}
	}
	u, err := url.Parse(loginURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", nil, &ConfigError{Field: "login_url", Reason: fmt.Sprintf("%q is not an absolute http(s) URL", loginURL)}
	}
	if clientID == "" {
		return "", nil, &ConfigError{Field: "client_id", Reason: "is empty; set the connected app's consumer key"}
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return strings.TrimSuffix(loginURL, "/") + tokenPath, hc, nil
}

// tokenAnswer is the token endpoint's JSON answer, success or failure.
type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	InstanceURL      string `json:"instance_url"`
	ID               string `json:"id"`
	TokenType        string `json:"token_type"`
	Scope            string `json:"scope"`
	IssuedAt         string `json:"issued_at"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// requestToken posts one grant and turns the answer into a token or an *OAuthError.
func requestToken(ctx context.Context, hc *http.Client, tokenURL string, form url.Values) (*oauth2.Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("salesforce: building the token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		// Asking for a token twice is harmless, so any transport failure is retryable.
		return nil, &TransportError{Method: http.MethodPost, Path: tokenPath, Idempotent: true, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &TransportError{Method: http.MethodPost, Path: tokenPath, Written: true, Idempotent: true, Err: err}
	}
	var ans tokenAnswer
	decodeErr := json.Unmarshal(body, &ans)
	if resp.StatusCode != http.StatusOK || ans.Error != "" || decodeErr != nil || ans.AccessToken == "" {
		e := &OAuthError{StatusCode: resp.StatusCode, Code: ans.Error, Description: ans.ErrorDescription}
		switch {
		case decodeErr != nil:
			e.RawBody = trimBody(body)
		case e.Code == "" && resp.StatusCode == http.StatusOK:
			e.Code, e.Description = "invalid_response", "token answer without access_token"
		}
		e.Hint = oauthHint(e.Code, e.Description)
		return nil, e
	}
	if ans.InstanceURL == "" {
		return nil, &OAuthError{StatusCode: resp.StatusCode, Code: "invalid_response", Description: "token answer without instance_url"}
	}
	tok := &oauth2.Token{AccessToken: ans.AccessToken, TokenType: "Bearer"}
	return tok.WithExtra(map[string]any{extraInstanceURL: ans.InstanceURL, extraID: ans.ID}), nil
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
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	if e.RawBody != "" {
		fmt.Fprintf(&b, ": %q", e.RawBody)
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

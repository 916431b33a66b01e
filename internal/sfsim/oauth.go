package sfsim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	grantClientCredentials = "client_credentials"
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer" //nolint:gosec // a grant type name, not a credential
	maxTokenBodyBytes      = 64 << 10
	maxAssertionLead       = 5 * time.Minute
)

// oauthError is the body of a failed token request.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// tokenAnswer is the body of a successful token request.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	Signature   string `json:"signature"`
	Scope       string `json:"scope"`
	InstanceURL string `json:"instance_url"`
	ID          string `json:"id"`
	TokenType   string `json:"token_type"`
	IssuedAt    string `json:"issued_at"`
}

// serveToken is POST /services/oauth2/token for the client-credentials and JWT bearer
// flows.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	fail := func(code, description string) {
		w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
		s.writeJSON(w, "", http.StatusBadRequest, oauthError{Error: code, Description: description})
	}
	if r.Method != http.MethodPost {
		fail("invalid_request", "must use HTTP POST")
		return
	}
	body, apiErr := readBody(w, r, maxTokenBodyBytes)
	if apiErr != nil {
		fail("invalid_request", "request body too large")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		fail("invalid_request", "malformed request body")
		return
	}
	var userID string
	switch grant := form.Get("grant_type"); grant {
	case grantClientCredentials:
		id, secret := form.Get("client_id"), form.Get("client_secret")
		if u, p, ok := r.BasicAuth(); ok && id == "" {
			id, secret = u, p
		}
		if id != s.opts.ClientID {
			fail("invalid_client_id", "client identifier invalid")
			return
		}
		if subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
			fail("invalid_client", "invalid client credentials")
			return
		}
		userID = s.org.integrationUser
	case grantJWTBearer:
		var code, description string
		userID, code, description = s.checkAssertion(r, form.Get("assertion"))
		if code != "" {
			fail(code, description)
			return
		}
	default:
		fail("unsupported_grant_type", "grant type not supported")
		return
	}
	if description := s.loginBlocked(userID); description != "" {
		fail("invalid_grant", description)
		return
	}
	now := s.now()
	token := s.org.id[:15] + "!AQ" + strings.ReplaceAll(rand.Text()+rand.Text()+rand.Text(), "=", "")
	s.mu.Lock()
	for t, sess := range s.sessions {
		if !now.Before(sess.expires) {
			delete(s.sessions, t)
		}
	}
	s.sessions[token] = session{userID: userID, expires: now.Add(s.opts.SessionTTL)}
	s.mu.Unlock()
	base := baseURL(r)
	id := base + "/id/" + s.org.id + "/" + userID
	issued := strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(s.opts.ClientSecret))
	mac.Write([]byte(id + issued))
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	s.writeJSON(w, "", http.StatusOK, tokenAnswer{
		AccessToken: token,
		Signature:   base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		Scope:       "api",
		InstanceURL: base,
		ID:          id,
		TokenType:   "Bearer",
		IssuedAt:    issued,
	})
}

// loginBlocked says why a user may not log in, or "" when they may.
func (s *Server) loginBlocked(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.tables[s.schema.user].byID[userID]
	if !ok || !u.flag(s.org.uf.isActive) {
		return "inactive user"
	}
	if l := s.org.loginByUser[userID]; l != nil && l.flag(s.schema.login.mustIndex("IsFrozen")) {
		return "user is frozen"
	}
	return ""
}

// checkAssertion verifies a JWT bearer assertion and returns the user it names, or
// the OAuth error code and description to answer.
func (s *Server) checkAssertion(r *http.Request, assertion string) (userID, code, description string) {
	cert := s.opts.JWTCertificate
	if cert == nil || assertion == "" {
		return "", "invalid_grant", "invalid assertion"
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(assertion, claims, func(*jwt.Token) (any, error) { return cert.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		return "", "invalid_grant", "invalid assertion"
	}
	if iss, _ := claims.GetIssuer(); iss != s.opts.ClientID {
		return "", "invalid_client_id", "client identifier invalid"
	}
	aud, _ := claims.GetAudience()
	audienceOK := false
	for _, a := range aud {
		a = strings.TrimSuffix(a, "/")
		if a == "https://login.salesforce.com" || a == "https://test.salesforce.com" || a == baseURL(r) {
			audienceOK = true
		}
	}
	if !audienceOK {
		return "", "invalid_grant", "audience is invalid"
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return "", "invalid_grant", "invalid assertion"
	}
	now := s.now()
	if !exp.After(now) {
		return "", "invalid_grant", "expired authorization code"
	}
	if exp.After(now.Add(maxAssertionLead)) {
		return "", "invalid_grant", "invalid assertion"
	}
	sub, _ := claims.GetSubject()
	s.mu.Lock()
	u, ok := s.org.usernames[strings.ToLower(sub)]
	if ok {
		userID = u.id()
	}
	s.mu.Unlock()
	if userID != s.org.integrationUser {
		return "", "invalid_grant", "user hasn't approved this consumer"
	}
	return userID, "", ""
}

// baseURL is the scheme and host the request came to: the simulator's instance URL.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// serveIdentity is GET /id/{orgId}/{userId}, the identity URL of a token answer: who
// the token acts as. It needs the token but is not a REST call, so it spends nothing.
func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request, parts []string) {
	token, _ := bearerToken(r)
	now := s.now()
	s.mu.Lock()
	sess, ok := s.sessions[token]
	if !ok || !now.Before(sess.expires) {
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("Bad_OAuth_Token"))
		return
	}
	var user *row
	if len(parts) == 2 && parts[0] == s.org.id {
		if id, err := normalizeID(parts[1]); err == nil {
			user = s.org.tables[s.schema.user].byID[id]
		}
	}
	if user == nil {
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("Bad_Id"))
		return
	}
	f := s.org.uf
	base := baseURL(r)
	v := "/services/data/v{version}/"
	answer := map[string]any{
		"id": base + "/id/" + s.org.id + "/" + user.id(), "user_id": user.id(), "organization_id": s.org.id,
		"username": user.str(f.username), "display_name": user.str(f.name), "email": user.str(f.email),
		"first_name": user.vals[f.firstName], "last_name": user.str(f.lastName), "nick_name": user.str(f.nickname),
		"active": user.flag(f.isActive), "user_type": user.str(f.userType), "language": "en_US", "locale": "en_US",
		"utcOffset": 0, "is_app_installed": true,
		"urls": map[string]string{
			"rest": base + v, "query": base + v + "query/", "sobjects": base + v + "sobjects/",
			"limits": base + v + "limits/", "profile": base + "/" + user.id(),
		},
	}
	s.mu.Unlock()
	s.writeJSON(w, "", http.StatusOK, answer)
}

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
		id, secret, ok := clientCredentials(r, form)
		if !ok {
			fail("invalid_client", "invalid client credentials")
			return
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

// clientCredentials returns the client id and secret of a token request: from the
// form, or else from HTTP Basic authorization, where RFC 6749 §2.3.1 has both
// form-urlencoded before they are joined (simple-salesforce sends them so). ok is false
// when the Basic credentials are not validly encoded.
func clientCredentials(r *http.Request, form url.Values) (id, secret string, ok bool) {
	id, secret = form.Get("client_id"), form.Get("client_secret")
	user, password, basic := r.BasicAuth()
	if id != "" || !basic {
		return id, secret, true
	}
	id, errID := url.QueryUnescape(user)
	secret, errSecret := url.QueryUnescape(password)
	return id, secret, errID == nil && errSecret == nil
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
	future, ok := expiresAfter(claims["exp"], s.now())
	if !ok {
		return "", "invalid_grant", "invalid assertion"
	}
	if !future {
		return "", "invalid_grant", "expired authorization code"
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

// expiresAfter reads a JWT exp claim and says whether it lies after now. Salesforce's
// own documented example sends exp as a string of digits and RFC 7519 as a number, so
// both are accepted. The documentation asks for an expiry within three minutes, but
// real orgs accept later ones: the Salesforce CLI sends Date.now() + 300, i.e.
// milliseconds, which read as seconds lie tens of millennia ahead. So only a past
// expiry is refused; ok is false when exp is missing or of another shape.
func expiresAfter(exp any, now time.Time) (future, ok bool) {
	switch v := exp.(type) {
	case float64:
		return v > float64(now.Unix()), true
	case string:
		if v == "" || strings.Trim(v, "0123456789") != "" {
			return false, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			// Only ErrRange is possible for digits: beyond int64, far in the future.
			return true, true
		}
		return n > now.Unix(), true
	}
	return false, false
}

// baseURL is the scheme and host the request came to: the simulator's instance URL.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// sessionUser returns the Id of the user the request's bearer token acts as, for the
// identity and userinfo resources. These are OAuth resources, not REST calls: they
// spend nothing, and a bad token gets Salesforce's plain-text 403 instead of a REST
// error array (written here, and ok is false).
func (s *Server) sessionUser(w http.ResponseWriter, r *http.Request) (userID string, ok bool) {
	token, _ := bearerToken(r)
	now := s.now()
	s.mu.Lock()
	sess, found := s.sessions[token]
	s.mu.Unlock()
	if !found || !now.Before(sess.expires) {
		writePlain(w, http.StatusForbidden, "Bad_OAuth_Token")
		return "", false
	}
	return sess.userID, true
}

func writePlain(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}

// identityURLs are the urls of an identity or userinfo answer: where the user's API
// resources are, with the version left for the client to fill in.
func identityURLs(base string, user *row) map[string]string {
	v := "/services/data/v{version}/"
	return map[string]string{
		"rest": base + v, "query": base + v + "query/", "sobjects": base + v + "sobjects/",
		"limits": base + v + "limits/", "profile": base + "/" + user.id(),
	}
}

// serveIdentity is GET /id/{orgId}/{userId}, the identity URL of a token answer: who
// the token acts as, in Salesforce's older shape.
func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request, parts []string) {
	if _, ok := s.sessionUser(w, r); !ok {
		return
	}
	s.mu.Lock()
	var user *row
	if len(parts) == 2 && parts[0] == s.org.id {
		if id, err := normalizeID(parts[1]); err == nil {
			user = s.org.tables[s.schema.user].byID[id]
		}
	}
	if user == nil {
		s.mu.Unlock()
		writePlain(w, http.StatusNotFound, "Bad_Id")
		return
	}
	f := s.org.uf
	base := baseURL(r)
	answer := map[string]any{
		"id": base + "/id/" + s.org.id + "/" + user.id(), "user_id": user.id(), "organization_id": s.org.id,
		"username": user.str(f.username), "display_name": user.str(f.name), "email": user.str(f.email),
		"first_name": user.vals[f.firstName], "last_name": user.str(f.lastName), "nick_name": user.str(f.nickname),
		"active": user.flag(f.isActive), "user_type": user.str(f.userType), "language": "en_US", "locale": "en_US",
		"utcOffset": 0, "is_app_installed": true, "urls": identityURLs(base, user),
	}
	s.mu.Unlock()
	s.writeJSON(w, "", http.StatusOK, answer)
}

// serveUserinfo is GET (or POST) /services/oauth2/userinfo: the OpenID Connect
// userinfo of the token's user. The Salesforce CLI's access-token login reads user_id
// and organization_id from it; the claims are those Salesforce documents, with sub
// being the identity URL.
func (s *Server) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writePlain(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	userID, ok := s.sessionUser(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	user := s.org.tables[s.schema.user].byID[userID]
	f := s.org.uf
	d := s.schema.user
	base := baseURL(r)
	photo := base + "/profilephoto/005/"
	modified, _ := user.vals[f.modified].(time.Time)
	answer := map[string]any{
		"sub": base + "/id/" + s.org.id + "/" + user.id(), "user_id": user.id(), "organization_id": s.org.id,
		"preferred_username": user.str(f.username), "nickname": user.str(f.nickname), "name": user.str(f.name),
		"email": user.str(f.email), "email_verified": true,
		"given_name": user.vals[f.firstName], "family_name": user.str(f.lastName),
		"zoneinfo": user.str(d.mustIndex("TimeZoneSidKey")),
		"photos":   map[string]string{"picture": photo + "F", "thumbnail": photo + "T"},
		"profile":  base + "/" + user.id(), "picture": photo + "F",
		"address": map[string]string{}, "is_salesforce_integration_user": false,
		"urls":   identityURLs(base, user),
		"active": user.flag(f.isActive), "user_type": strings.ToUpper(user.str(f.userType)),
		"language": user.str(d.mustIndex("LanguageLocaleKey")), "locale": user.str(d.mustIndex("LocaleSidKey")),
		"utcOffset": 0, "updated_at": modified.UTC().Format(time.RFC3339),
		"is_app_installed": true,
	}
	s.mu.Unlock()
	s.writeJSON(w, "", http.StatusOK, answer)
}

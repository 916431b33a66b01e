package sfsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// newKeyAndCert makes an RSA key and a self-signed certificate for it.
func newKeyAndCert(t *testing.T) (*rsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "syncd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := ParseCertificatePEM(append([]byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"), pemData...))
	if err != nil {
		t.Fatalf("ParseCertificatePEM: %v", err)
	}
	return key, cert, pemData
}

func TestParseCertificatePEMRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "not pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		if _, err := ParseCertificatePEM([]byte(in)); err == nil {
			t.Errorf("ParseCertificatePEM(%q) succeeded", in)
		}
	}
}

func tokenAnswerOf(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("token answer %s: %v", body, err)
	}
	return m
}

// checkTokenAnswer checks a token request's answer: a token when want is nil, else
// want as a 400.
func checkTokenAnswer(t *testing.T, status int, body []byte, want *oauthError) {
	t.Helper()
	if want == nil {
		if status != 200 || tokenAnswerOf(t, body)["access_token"] == "" {
			t.Fatalf("status %d body %s", status, body)
		}
		return
	}
	var got oauthError
	if err := json.Unmarshal(body, &got); err != nil || status != 400 {
		t.Fatalf("status %d body %s", status, body)
	}
	if diff := cmp.Diff(*want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestClientCredentials(t *testing.T) {
	h := newHarness(t, Options{ClientID: "cid", ClientSecret: "secret"})
	status, header, body := h.form("/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"secret"}})
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if got := header.Get("Content-Type"); got != contentTypeJSON {
		t.Errorf("Content-Type = %q", got)
	}
	if header.Get("Sforce-Limit-Info") != "" {
		t.Errorf("token answers carry no Sforce-Limit-Info")
	}
	tok := tokenAnswerOf(t, body)
	if diff := cmp.Diff([]string{"access_token", "id", "instance_url", "issued_at", "scope", "signature", "token_type"},
		slices.Sorted(maps.Keys(tok))); diff != "" {
		t.Errorf("answer keys (-want +got):\n%s", diff)
	}
	if tok["instance_url"] != h.http.URL || tok["token_type"] != "Bearer" ||
		tok["id"] != h.http.URL+"/id/"+h.sim.OrgID()+"/"+h.sim.IntegrationUserID() ||
		!strings.HasPrefix(tok["access_token"], h.sim.OrgID()[:15]+"!") {
		t.Errorf("answer %v", tok)
	}
	if tok["issued_at"] != "1795771800000" {
		t.Errorf("issued_at = %q, want the clock in epoch millis", tok["issued_at"])
	}

}

// TestClientCredentialsInBasicAuth sends the client id and secret in HTTP Basic
// authorization, each form-urlencoded first as RFC 6749 §2.3.1 asks.
func TestClientCredentialsInBasicAuth(t *testing.T) {
	const secret = "s3:cr%t+/ü"
	h := newHarness(t, Options{ClientID: "c id", ClientSecret: secret})
	tests := []struct {
		name       string
		user, pass string
		want       *oauthError // nil: success
	}{
		{"encoded", url.QueryEscape("c id"), url.QueryEscape(secret), nil},
		{"wrong secret", url.QueryEscape("c id"), "nope", &oauthError{"invalid_client", "invalid client credentials"}},
		{"unknown client", "other", url.QueryEscape(secret), &oauthError{"invalid_client_id", "client identifier invalid"}},
		// Undecoded, the + of the secret would read as a space.
		{"secret not encoded", url.QueryEscape("c id"), "s3:cr%25t+/ü", &oauthError{"invalid_client", "invalid client credentials"}},
		{"bad escape", url.QueryEscape("c id"), "s3%zz", &oauthError{"invalid_client", "invalid client credentials"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", h.http.URL+"/services/oauth2/token", strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(tt.user, tt.pass)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			status, _, body := readResponse(t, resp)
			checkTokenAnswer(t, status, body, tt.want)
		})
	}
}

func TestTokenErrors(t *testing.T) {
	h := newHarness(t, Options{ClientID: "cid", ClientSecret: "secret"})
	tests := []struct {
		name string
		form url.Values
		want oauthError
	}{
		{"unknown client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"nope"}, "client_secret": {"secret"}},
			oauthError{"invalid_client_id", "client identifier invalid"}},
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"nope"}},
			oauthError{"invalid_client", "invalid client credentials"}},
		{"password grant", url.Values{"grant_type": {"password"}}, oauthError{"unsupported_grant_type", "grant type not supported"}},
		{"no grant", url.Values{}, oauthError{"unsupported_grant_type", "grant type not supported"}},
		{"jwt without certificate", url.Values{"grant_type": {grantJWTBearer}, "assertion": {"a.b.c"}},
			oauthError{"invalid_grant", "invalid assertion"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := h.form("/services/oauth2/token", tt.form)
			var got oauthError
			if err := json.Unmarshal(body, &got); err != nil || status != 400 {
				t.Fatalf("status %d body %s", status, body)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	resp, err := http.Get(h.http.URL + "/services/oauth2/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("GET token: status %d, want 400", resp.StatusCode)
	}
}

func TestJWTBearer(t *testing.T) {
	key, cert, _ := newKeyAndCert(t)
	otherKey, _, _ := newKeyAndCert(t)
	h := newHarness(t, Options{ClientID: "cid", Username: "robot@acme.example.com", JWTCertificate: cert})
	if _, err := h.sim.AddUsers(SeedUser{Username: "someone@acme.example.com", LastName: "Else"},
		SeedUser{Username: "admin2@acme.example.com", LastName: "Admin", Profile: "System Administrator"}); err != nil {
		t.Fatal(err)
	}
	now := h.clock.Now()
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "cid", "sub": "Robot@acme.example.com", "aud": "https://login.salesforce.com",
			"exp": now.Add(3 * time.Minute).Unix()}
	}
	sign := func(claims jwt.MapClaims, k *rsa.PrivateKey) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	with := func(k string, v any) string {
		c := valid()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return sign(c, key)
	}
	hs256, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, valid()).SignedString([]byte("secret"))
	tests := []struct {
		name      string
		assertion string
		want      *oauthError // nil: success
	}{
		{"valid", sign(valid(), key), nil},
		{"sandbox audience", with("aud", "https://test.salesforce.com"), nil},
		{"own URL as audience", with("aud", h.http.URL), nil},
		{"audience list", with("aud", []string{"https://example.com", "https://login.salesforce.com"}), nil},
		{"wrong issuer", with("iss", "other"), &oauthError{"invalid_client_id", "client identifier invalid"}},
		{"wrong audience", with("aud", "https://example.com"), &oauthError{"invalid_grant", "audience is invalid"}},
		{"expired", with("exp", now.Add(-time.Second).Unix()), &oauthError{"invalid_grant", "expired authorization code"}},
		// Real orgs accept an exp later than the documented three minutes, and in the
		// shapes widely used clients send: Salesforce's documented string of digits,
		// and the Salesforce CLI's milliseconds.
		{"far ahead", with("exp", now.Add(6*time.Hour).Unix()), nil},
		{"exp as a string", with("exp", strconv.FormatInt(now.Add(3*time.Minute).Unix(), 10)), nil},
		{"exp in milliseconds", with("exp", now.UnixMilli()+300), nil},
		{"exp in milliseconds as a string", with("exp", strconv.FormatInt(now.UnixMilli()+300, 10)), nil},
		{"exp beyond int64", with("exp", "99999999999999999999999"), nil},
		{"expired string", with("exp", strconv.FormatInt(now.Add(-time.Second).Unix(), 10)), &oauthError{"invalid_grant", "expired authorization code"}},
		{"negative exp", with("exp", -1), &oauthError{"invalid_grant", "expired authorization code"}},
		{"exp a date string", with("exp", now.Add(time.Minute).Format(time.RFC3339)), &oauthError{"invalid_grant", "invalid assertion"}},
		{"exp a signed string", with("exp", "+1795772000"), &oauthError{"invalid_grant", "invalid assertion"}},
		{"exp empty string", with("exp", ""), &oauthError{"invalid_grant", "invalid assertion"}},
		{"exp a boolean", with("exp", true), &oauthError{"invalid_grant", "invalid assertion"}},
		{"no exp", with("exp", nil), &oauthError{"invalid_grant", "invalid assertion"}},
		{"other user", with("sub", "someone@acme.example.com"), &oauthError{"invalid_grant", "user hasn't approved this consumer"}},
		{"unknown user", with("sub", "nobody@acme.example.com"), &oauthError{"invalid_grant", "user hasn't approved this consumer"}},
		{"signed by another key", sign(valid(), otherKey), &oauthError{"invalid_grant", "invalid assertion"}},
		{"HS256", hs256, &oauthError{"invalid_grant", "invalid assertion"}},
		{"garbage", "not-a-jwt", &oauthError{"invalid_grant", "invalid assertion"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := h.form("/services/oauth2/token", url.Values{"grant_type": {grantJWTBearer}, "assertion": {tt.assertion}})
			checkTokenAnswer(t, status, body, tt.want)
		})
	}

	// A frozen, then an inactive integration user cannot log in.
	login := h.sim.loginOf(t, "robot@acme.example.com")
	if status, _, body := h.do("PATCH", testVersion+"/sobjects/UserLogin/"+login, `{"IsFrozen":true}`); status != 204 {
		t.Fatalf("freeze: %d %s", status, body)
	}
	status, _, body := h.form("/services/oauth2/token", url.Values{"grant_type": {grantJWTBearer}, "assertion": {sign(valid(), key)}})
	if status != 400 || tokenAnswerOf(t, body)["error_description"] != "user is frozen" {
		t.Errorf("frozen: %d %s", status, body)
	}
	h.do("PATCH", testVersion+"/sobjects/UserLogin/"+login, `{"IsFrozen":false}`)
	if status, _, body := h.do("PATCH", testVersion+"/sobjects/User/"+h.sim.IntegrationUserID(), `{"IsActive":false}`); status != 204 {
		t.Fatalf("deactivate: %d %s", status, body)
	}
	status, _, body = h.form("/services/oauth2/token", url.Values{"grant_type": {grantJWTBearer}, "assertion": {sign(valid(), key)}})
	if status != 400 || tokenAnswerOf(t, body)["error_description"] != "inactive user" {
		t.Errorf("inactive: %d %s", status, body)
	}
}

// loginOf returns the Id of a user's UserLogin row.
func (s *Server) loginOf(t *testing.T, username string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.findUser(username)
	if !ok {
		t.Fatalf("no user %s", username)
	}
	return s.org.loginByUser[u.id()].id()
}

func TestIdentity(t *testing.T) {
	h := newHarness(t, Options{})
	idURL := h.http.URL + "/id/" + h.sim.OrgID() + "/" + h.sim.IntegrationUserID()
	get := func(url, token string) (int, []byte) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		status, _, body := readResponse(t, resp)
		return status, body
	}
	status, body := get(idURL, h.token)
	var id map[string]any
	if err := json.Unmarshal(body, &id); err != nil || status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if id["user_id"] != h.sim.IntegrationUserID() || id["organization_id"] != h.sim.OrgID() || id["username"] != DefaultUsername || id["active"] != true {
		t.Errorf("identity %v", id)
	}
	if status, _ := get(idURL, "nope"); status != 403 {
		t.Errorf("bad token: %d", status)
	}
	if status, _ := get(h.http.URL+"/id/"+h.sim.OrgID()+"/005Sm0000000001", h.token); status != 404 {
		t.Errorf("unknown user: %d", status)
	}
	if used, _ := h.sim.APIUsage(); used != 0 {
		t.Errorf("identity calls spent %d API calls", used)
	}
}

// TestUserinfo reads the OpenID Connect userinfo of the token's user, the resource
// the Salesforce CLI's access-token login asks who it is.
func TestUserinfo(t *testing.T) {
	h := newHarness(t, Options{})
	get := func(method, token string) (int, http.Header, []byte) {
		req, _ := http.NewRequest(method, h.http.URL+"/services/oauth2/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return readResponse(t, resp)
	}
	base, org, user := h.http.URL, h.sim.OrgID(), h.sim.IntegrationUserID()
	v := base + "/services/data/v{version}/"
	want := map[string]any{
		"sub": base + "/id/" + org + "/" + user, "user_id": user, "organization_id": org,
		"preferred_username": DefaultUsername, "nickname": "integration", "name": "Integration User",
		"email": DefaultUsername, "email_verified": true, "given_name": "Integration", "family_name": "User",
		"zoneinfo": "America/Los_Angeles",
		"photos":   map[string]any{"picture": base + "/profilephoto/005/F", "thumbnail": base + "/profilephoto/005/T"},
		"profile":  base + "/" + user, "picture": base + "/profilephoto/005/F",
		"address": map[string]any{}, "is_salesforce_integration_user": false,
		"urls": map[string]any{"rest": v, "query": v + "query/", "sobjects": v + "sobjects/", "limits": v + "limits/",
			"profile": base + "/" + user},
		"active": true, "user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": float64(0),
		"updated_at": "2026-11-27T09:30:00Z", "is_app_installed": true,
	}
	for _, method := range []string{"GET", "POST"} {
		status, header, body := get(method, h.token)
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil || status != 200 {
			t.Fatalf("%s: %d %s", method, status, body)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s userinfo (-want +got):\n%s", method, diff)
		}
		if header.Get("Sforce-Limit-Info") != "" {
			t.Errorf("userinfo carries Sforce-Limit-Info %q", header.Get("Sforce-Limit-Info"))
		}
	}
	if status, _, body := get("GET", "nope"); status != 403 || string(body) != "Bad_OAuth_Token" {
		t.Errorf("bad token: %d %s", status, body)
	}
	if status, _, _ := get("DELETE", h.token); status != 405 {
		t.Errorf("DELETE: %d, want 405", status)
	}
	if used, _ := h.sim.APIUsage(); used != 0 {
		t.Errorf("userinfo calls spent %d API calls", used)
	}
}

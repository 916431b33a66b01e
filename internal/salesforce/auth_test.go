package salesforce

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/secret"
)

func TestParseRSAPrivateKeyPEM(t *testing.T) {
	kp := keyPair(t)
	for name, data := range map[string][]byte{"PKCS#1": kp.pkcs1PEM, "PKCS#8": kp.pkcs8PEM} {
		key, err := ParseRSAPrivateKeyPEM(data)
		if err != nil || !key.Equal(kp.key) {
			t.Errorf("%s: key %v, err %v", name, key != nil, err)
		}
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"not PEM":        []byte("hello"),
		"a certificate":  kp.certPEM,
		"EC key":         pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}),
		"garbage PKCS#1": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("junk")}),
		"encrypted":      pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("junk")}),
	}
	for name, data := range bad {
		if _, err := ParseRSAPrivateKeyPEM(data); err == nil || !strings.Contains(err.Error(), "private key") {
			t.Errorf("%s: err = %v, want a private key error", name, err)
		}
	}
}

func TestJWTAudience(t *testing.T) {
	tests := map[string]string{
		"https://login.salesforce.com":                     "https://login.salesforce.com",
		"https://test.salesforce.com/":                     "https://test.salesforce.com",
		"https://acme.my.salesforce.com":                   "https://login.salesforce.com",
		"https://acme--uat.sandbox.my.salesforce.com":      "https://test.salesforce.com",
		"https://acme.my.site.com/customers":               "https://acme.my.site.com",
		"http://127.0.0.1:8080":                            "http://127.0.0.1:8080",
		"https://LOGIN.SALESFORCE.COM":                     "https://login.salesforce.com",
		"https://acme--dev.sandbox.my.salesforce.com:443/": "https://test.salesforce.com",
	}
	for login, want := range tests {
		if got := jwtAudience(login); got != want {
			t.Errorf("jwtAudience(%q) = %q, want %q", login, got, want)
		}
	}
}

// TestJWTAssertion checks the assertion a token endpoint receives: RS256 over the
// claims Salesforce wants, exp at most three minutes ahead.
func TestJWTAssertion(t *testing.T) {
	kp := keyPair(t)
	now := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	var claims jwt.RegisteredClaims
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/services/oauth2/token" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("token request %s %s", r.URL.Path, r.Header.Get("Content-Type"))
		}
		r.ParseForm()
		form = r.PostForm
		_, err := jwt.ParseWithClaims(form.Get("assertion"), &claims, func(*jwt.Token) (any, error) { return &kp.key.PublicKey, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
		if err != nil {
			t.Errorf("assertion: %v", err)
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		io.WriteString(w, `{"access_token":"00D!tok","instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/00D/005","token_type":"Bearer","issued_at":"1","signature":"x"}`)
	}))
	defer srv.Close()
	src, err := NewJWTSource(JWTConfig{LoginURL: srv.URL + "/", ClientID: "3MVG9", Username: "int@acme.com", PrivateKey: kp.key,
		Audience: "https://login.salesforce.com", HTTPClient: srv.Client(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.TokenContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "00D!tok" || InstanceURL(tok) != "https://acme.my.salesforce.com" || tok.Extra("id") != "https://login.salesforce.com/id/00D/005" {
		t.Errorf("token = %+v, instance %q", tok, InstanceURL(tok))
	}
	want := jwt.RegisteredClaims{Issuer: "3MVG9", Subject: "int@acme.com", Audience: jwt.ClaimStrings{"https://login.salesforce.com"},
		ExpiresAt: jwt.NewNumericDate(now.Add(3 * time.Minute))}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		t.Errorf("grant_type = %q", form.Get("grant_type"))
	}
}

func TestTokenEndpointAnswers(t *testing.T) {
	const jsonType = "application/json;charset=UTF-8"
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        *OAuthError
		wantClass   Class
	}{
		{"approval missing", 400, jsonType, `{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}`,
			&OAuthError{StatusCode: 400, Code: "invalid_grant", Description: "user hasn't approved this consumer", Hint: oauthHint("", "user hasn't approved this consumer")}, ClassAuth},
		{"inactive user", 400, jsonType, `{"error":"invalid_grant","error_description":"inactive user"}`,
			&OAuthError{StatusCode: 400, Code: "invalid_grant", Description: "inactive user", Hint: oauthHint("", "inactive user")}, ClassAuth},
		{"unknown wording keeps Salesforce's words", 400, jsonType, `{"error":"invalid_request","error_description":"something new"}`,
			&OAuthError{StatusCode: 400, Code: "invalid_request", Description: "something new"}, ClassAuth},
		{"JSON refusal labelled text/plain by a proxy", 400, "text/plain", `{"error":"invalid_grant","error_description":"inactive user"}`,
			&OAuthError{StatusCode: 400, Code: "invalid_grant", Description: "inactive user", Hint: oauthHint("", "inactive user")}, ClassAuth},
		{"HTML from a proxy", 503, "text/html", "<html>down</html>",
			&OAuthError{StatusCode: 503, RawBody: "<html>down</html>"}, ClassRetryable},
		{"200 without a token", 200, jsonType, `{"instance_url":"https://x"}`,
			&OAuthError{Code: "invalid_response", Description: "oauth2: server response missing access_token"}, ClassAuth},
		{"200 without instance_url", 200, jsonType, `{"access_token":"t"}`,
			&OAuthError{StatusCode: 200, Code: "invalid_response", Description: "token answer without instance_url"}, ClassAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			src, err := NewClientCredentialsSource(ClientCredentialsConfig{LoginURL: srv.URL, ClientID: "id", ClientSecret: secret.New("s"), HTTPClient: srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token()
			var oe *OAuthError
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want *OAuthError", err)
			}
			if diff := cmp.Diff(tt.want, oe); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if ClassOf(err) != tt.wantClass {
				t.Errorf("class = %v, want %v", ClassOf(err), tt.wantClass)
			}
		})
	}
}

func TestOAuthHintsCoverTheSpec(t *testing.T) {
	// Every refusal salesforce-api.md §1 lists gets advice.
	for _, c := range []struct{ code, description string }{
		{"invalid_grant", "user hasn't approved this consumer"},
		{"invalid_grant", "audience is invalid"},
		{"invalid_grant", "invalid assertion"},
		{"invalid_grant", "expired authorization code"},
		{"invalid_grant", "inactive user"},
		{"invalid_client_id", "client identifier invalid"},
		{"invalid_client_id", "some other wording"},
		{"invalid_client", "invalid client credentials"},
		{"invalid_grant", "no client credentials user enabled"},
		{"invalid_grant", "request not supported on this domain"},
		{"invalid_grant", "expired access/refresh token"},
	} {
		if oauthHint(c.code, c.description) == "" {
			t.Errorf("no hint for %s / %s", c.code, c.description)
		}
	}
}

func TestTokenSourceConfigErrors(t *testing.T) {
	kp := keyPair(t)
	for name, cfg := range map[string]JWTConfig{
		"no login url":  {ClientID: "c", Username: "u", PrivateKey: kp.key},
		"relative url":  {LoginURL: "login.salesforce.com", ClientID: "c", Username: "u", PrivateKey: kp.key},
		"no client id":  {LoginURL: "https://login.salesforce.com", Username: "u", PrivateKey: kp.key},
		"no username":   {LoginURL: "https://login.salesforce.com", ClientID: "c", PrivateKey: kp.key},
		"no key":        {LoginURL: "https://login.salesforce.com", ClientID: "c", Username: "u"},
		"ftp login url": {LoginURL: "ftp://login.salesforce.com", ClientID: "c", Username: "u", PrivateKey: kp.key},
	} {
		var ce *ConfigError
		if _, err := NewJWTSource(cfg); !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want a ConfigError", name, err)
		}
	}
	if _, err := NewClientCredentialsSource(ClientCredentialsConfig{LoginURL: "https://acme.my.salesforce.com", ClientID: "c"}); err == nil {
		t.Error("client credentials without a secret accepted")
	}
}

package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/syncd-io/syncd/internal/secret"
	"github.com/syncd-io/syncd/internal/sfsim"
)

func TestEndpointsMustBeHTTPS(t *testing.T) {
	tests := []struct {
		url     string
		ok      bool
		private string // must not appear in the error
	}{
		{url: "https://login.salesforce.com", ok: true},
		{url: "https://acme.my.salesforce.com/", ok: true},
		{url: "http://127.0.0.1:8080", ok: true},
		{url: "http://127.9.8.7", ok: true},
		{url: "http://[::1]:8080", ok: true},
		{url: "http://localhost:8080", ok: true},
		{url: "http://login.salesforce.com"},
		{url: "http://10.0.0.1:8080"},
		{url: "http://127.0.0.1.nip.io"},
		{url: "ftp://login.salesforce.com"},
		{url: "login.salesforce.com"},
		{url: "https://admin:hunter2@login.salesforce.com", private: "hunter2"},
		{url: "https://login.salesforce.com/?sid=00Dtokenvalue", private: "00Dtokenvalue"},
		{url: "https://login.salesforce.com/#00Dtokenvalue", private: "00Dtokenvalue"},
	}
	for _, tt := range tests {
		_, err := NewClientCredentialsSource(ClientCredentialsConfig{LoginURL: tt.url, ClientID: "c", ClientSecret: secret.New("s")})
		var ce *ConfigError
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v, want it accepted", tt.url, err)
		case !tt.ok && (!errors.As(err, &ce) || ce.Field != "login_url"):
			t.Errorf("%s: err = %v, want a ConfigError on login_url", tt.url, err)
		case tt.private != "" && strings.Contains(err.Error(), tt.private):
			t.Errorf("%s: error %q repeats what the URL carries", tt.url, err)
		}
	}
}

// hostRewriter sends every request to its real address but with another Host header,
// so that sfsim, which names its instance after the Host it was asked for, hands out
// an instance URL elsewhere.
type hostRewriter struct {
	host string
	next http.RoundTripper
}

func (h hostRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Host = h.host
	return h.next.RoundTrip(r)
}

// TestSimPlainHTTPInstanceRefused: sfsim's token answer names http://acme.example.com
// as the instance; the client refuses to send the token there in the clear.
func TestSimPlainHTTPInstanceRefused(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	hc := &http.Client{Transport: hostRewriter{host: "acme.example.com", next: http.DefaultTransport}}
	src, err := NewClientCredentialsSource(ClientCredentialsConfig{LoginURL: env.url, ClientID: sfsim.DefaultClientID,
		ClientSecret: secret.New(sfsim.DefaultClientSecret), HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{TokenSource: src, HTTPClient: hc, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	_, err = QueryAll[User](context.Background(), c, "SELECT Id FROM User")
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "instance_url" || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("err = %v, want a ConfigError on instance_url", err)
	}
	if got := env.sim.Calls(); got["token"] != 1 || got["query"] != 0 {
		t.Errorf("sfsim calls = %v, want one token request and no query", got)
	}
}

// TestConfigsDoNotPrintCredentials renders every configuration and token source the
// way loggers do and finds neither the client secret nor the private key.
func TestConfigsDoNotPrintCredentials(t *testing.T) {
	kp := keyPair(t)
	const clientSecret = "CLIENT-SECRET-9f3k"
	jwtCfg := JWTConfig{LoginURL: "https://login.salesforce.com", ClientID: "c", Username: "u", PrivateKey: kp.key}
	ccCfg := ClientCredentialsConfig{LoginURL: "https://acme.my.salesforce.com", ClientID: "c", ClientSecret: secret.New(clientSecret)}
	jwtSrc, err := NewJWTSource(jwtCfg)
	if err != nil {
		t.Fatal(err)
	}
	ccSrc, err := NewClientCredentialsSource(ccCfg)
	if err != nil {
		t.Fatal(err)
	}
	client, err := New(Config{TokenSource: ccSrc})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{clientSecret, kp.key.D.String(), kp.key.Primes[0].String(), fmt.Sprintf("%x", kp.key.D.Bytes())}
	for name, v := range map[string]any{"JWTConfig": jwtCfg, "*JWTSource": jwtSrc, "ClientCredentialsConfig": ccCfg,
		"*ClientCredentialsSource": ccSrc, "*Client": client, "Config": Config{TokenSource: ccSrc}, "ClientCredentialsSource": *ccSrc} {
		var renders []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			renders = append(renders, fmt.Sprintf(verb, v))
		}
		if data, err := json.Marshal(v); err == nil {
			renders = append(renders, string(data))
		} else if name != "Config" && strings.HasSuffix(name, "Config") {
			t.Errorf("%s: json: %v", name, err)
		}
		for _, r := range renders {
			for _, s := range secrets {
				if strings.Contains(r, s) {
					t.Errorf("%s renders a credential: %.200s", name, r)
				}
			}
		}
	}
}

// TestSimErrorStringsCarryNoPersonalData: Salesforce's messages echo the values they
// refuse and upsert paths carry the external id; Error() shows neither, while the
// fields keep Salesforce's full text.
func TestSimErrorStringsCarryNoPersonalData(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{Seed: &sfsim.Seed{Users: []sfsim.SeedUser{
		{Username: "a@acme.example.com", LastName: "A", FederationIdentifier: "DUP-PII-7"},
		{Username: "b@acme.example.com", LastName: "B", FederationIdentifier: "DUP-PII-7"},
	}}}, nil)
	ctx := context.Background()
	profile, _ := env.sim.ProfileID("Standard User")
	with := func(k, v string) Fields {
		f := newUserFields("new.hire@acme.example.com", profile)
		f[k] = v
		return f
	}
	env.sim.InjectFault(sfsim.FaultRule{Endpoint: "sobject.update", Count: 1, Fault: sfsim.ErrorFault(400, "DUPLICATE_USERNAME",
		"Duplicate Username.<br>Another user has already selected this username: jo.pii@acme.example.com")})
	tests := []struct {
		name     string
		call     func() error
		private  string // in the message field, never in Error()
		wantCode string
	}{
		{"bad email, single create", func() error { _, err := env.client.Create(ctx, "User", with("Email", "pii-not-an-email")); return err },
			"pii-not-an-email", "INVALID_EMAIL_ADDRESS"},
		{"alias too long, single create", func() error { _, err := env.client.Create(ctx, "User", with("Alias", "piialias9")); return err },
			"piialias9", "STRING_TOO_LONG"},
		{"bad email, Collections create", func() error {
			results, err := env.client.CreateRecords(ctx, "User", []Fields{with("Email", "pii-bulk-email")})
			if err != nil {
				return err
			}
			return results[0].Err()
		}, "pii-bulk-email", "INVALID_EMAIL_ADDRESS"},
		{"an address in Salesforce's words", func() error {
			return env.client.Update(ctx, "User", env.sim.IntegrationUserID(), Fields{"Title": "x"})
		}, "jo.pii@acme.example.com", "DUPLICATE_USERNAME"},
		{"upsert value in the path", func() error {
			_, err := env.client.Upsert(ctx, "User", "FederationIdentifier", "E-PII-4711", Fields{"Alias": "waytoolongalias"})
			return err
		}, "E-PII-4711", "REQUIRED_FIELD_MISSING"},
		{"upsert matching several", func() error {
			_, err := env.client.Upsert(ctx, "User", "FederationIdentifier", "DUP-PII-7", Fields{"Title": "x"})
			return err
		}, "DUP-PII-7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), tt.private) || strings.Contains(fmt.Sprintf("%+v", err), tt.private) {
				t.Errorf("error %q shows %q", err, tt.private)
			}
			if tt.wantCode == "" {
				return
			}
			if !strings.Contains(err.Error(), tt.wantCode) {
				t.Errorf("error %q does not name %s", err, tt.wantCode)
			}
			var apiErr *APIError
			var recErr *RecordError
			switch {
			case errors.As(err, &apiErr):
				if !strings.Contains(apiErr.Details[0].Message, tt.private) && !strings.Contains(apiErr.Path, "{value}") {
					t.Errorf("Details[0].Message %q lost Salesforce's text", apiErr.Details[0].Message)
				}
			case errors.As(err, &recErr):
				if !strings.Contains(recErr.Message, tt.private) {
					t.Errorf("Message %q lost Salesforce's text", recErr.Message)
				}
			default:
				t.Errorf("err = %T, want an *APIError or a *RecordError", err)
			}
		})
	}
}

// TestRedact pins what redaction removes and what it keeps.
func TestRedact(t *testing.T) {
	tests := map[string]string{
		"Email: invalid email address: not-an-email":                      "Email: invalid email address: <redacted>",
		"Alias: data value too large: jonathans (max length=8)":           "Alias: data value too large: <redacted> (max length=8)",
		"Duplicate Username.<br>Another user has this: jo@acme.com":       "Duplicate Username.<br>Another user has this: <redacted>",
		"unexpected token: 'O''Brien'":                                    "unexpected token: '<redacted>''<redacted>'",
		"Required fields are missing: [LastName, Alias]":                  "Required fields are missing: [LastName, Alias]",
		"Session expired or invalid":                                      "Session expired or invalid",
		`echo: Authorization: Bearer 00D!abc and GET /x?sid=00D!abc HTTP`: "echo: Authorization: Bearer <redacted> and GET /x?<redacted> HTTP",
	}
	for in, want := range tests {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

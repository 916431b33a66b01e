package source

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Distinctive secrets, so that any leak is found by a plain substring search.
const (
	leakToken    = "tok-LEAK-7f3a9c1e5b2d"
	leakPassword = "pw-LEAK-9e8d7c6b5a41"
	leakQuery    = "qtok-LEAK-4b5c6d7e8f90"
	leakUser     = "syncd-reader"
)

// leakForms are every spelling of the secrets a message could carry.
func leakForms() []string {
	return []string{leakToken, leakPassword, leakQuery,
		base64.StdEncoding.EncodeToString([]byte(leakUser + ":" + leakPassword))}
}

// echoServer misbehaves in every way a source must survive, and echoes what it was
// sent (URL with query, Authorization header) into every body it can, as debugging
// proxies and careless error pages do.
func echoServer(t *testing.T, fault string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echo := r.URL.String() + " " + r.Header.Get("Authorization")
		switch fault {
		case "401":
			http.Error(w, `{"status":"401","detail":"denied `+echo+`"}`, http.StatusUnauthorized)
		case "404":
			http.Error(w, "no such page: "+echo, http.StatusNotFound)
		case "503":
			http.Error(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"503","detail":"down `+echo+`"}`, http.StatusServiceUnavailable)
		case "drop":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		case "drop mid-body":
			w.Header().Set("Content-Length", "100000")
			fmt.Fprint(w, "id,email,surname\n1,a@acme.example,A\n")
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		case "slow":
			select {
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
		case "bad body":
			fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":"`+echo+`"}`+"\n\"a\",\"b\n"+echo)
		case "redirect loop":
			http.Redirect(w, r, r.URL.String(), http.StatusFound)
		case "redirect to plain http":
			http.Redirect(w, r, "http://idp.invalid/export?token="+leakQuery+"&auth="+leakToken, http.StatusFound)
		case "malformed response":
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_, _ = buf.WriteString("HTTP/1.1 abc " + echo + "\r\n\r\n")
				_ = buf.Flush()
				_ = conn.Close()
			}
		default:
			t.Errorf("unknown fault %q", fault)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestNoSecretInAnyFailure drives every failure path of the http and scim sources with
// distinctive credentials (a bearer token from a file, a basic password from the
// environment, a token in the URL query) and scans everything a caller could log: the
// error, each error in its chain, each reason, the snapshot, the source itself.
func TestNoSecretInAnyFailure(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(leakToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) { return leakPassword, k == "IDP_PASSWORD" }
	faults := []string{"401", "404", "503", "drop", "drop mid-body", "slow", "bad body",
		"redirect loop", "redirect to plain http", "malformed response"}
	sources := []struct {
		name string
		cfg  func(base string) Config
	}{
		{"http csv with bearer", func(base string) Config {
			return Config{Type: TypeHTTP, URL: base + "/export.csv?token=" + leakQuery, Format: FormatCSV,
				Auth: AuthConfig{Method: "bearer", TokenFile: tokenFile}}
		}},
		{"http scim document with basic", func(base string) Config {
			return Config{Type: TypeHTTP, URL: base + "/export.json?token=" + leakQuery, Format: FormatSCIM,
				Auth: AuthConfig{Method: "basic", Username: leakUser, PasswordEnv: "IDP_PASSWORD"}}
		}},
		{"scim with bearer", func(base string) Config {
			return Config{Type: TypeSCIM, URL: base + "/scim/v2", Auth: AuthConfig{Method: "bearer", TokenFile: tokenFile}}
		}},
		{"scim with basic", func(base string) Config {
			return Config{Type: TypeSCIM, URL: base + "/scim/v2", Auth: AuthConfig{Method: "basic", Username: leakUser, PasswordEnv: "IDP_PASSWORD"}}
		}},
	}
	for _, src := range sources {
		for _, fault := range faults {
			t.Run(src.name+"/"+fault, func(t *testing.T) {
				srv := echoServer(t, fault)
				cfg := src.cfg(srv.URL)
				cfg.Timeout = 200 * time.Millisecond // only the "slow" fault waits for it
				s, err := New(cfg, Options{HTTPClient: srv.Client(), Clock: fixedClock, LookupEnv: env})
				if err != nil {
					t.Fatal(err)
				}
				snap, err := s.Pull(context.Background())
				if err == nil || snap.Complete {
					t.Fatalf("fault %q gave a complete pull", fault)
				}
				texts := append([]string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", snap),
					fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s)}, snap.Reasons...)
				texts = append(texts, chainTexts(err)...)
				for _, text := range texts {
					for _, leak := range leakForms() {
						if strings.Contains(text, leak) {
							t.Errorf("%q leaks a secret", text)
						}
					}
				}
			})
		}
	}
}

// chainTexts returns the text of every error err wraps, depth first.
func chainTexts(err error) []string {
	if err == nil {
		return nil
	}
	out := []string{err.Error(), fmt.Sprintf("%#v", err)}
	switch u := err.(type) { //nolint:errorlint // walks the chain itself, one link at a time
	case interface{ Unwrap() error }:
		out = append(out, chainTexts(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, chainTexts(e)...)
		}
	}
	return out
}

// TestRedirectToPlainHTTPRefused follows a redirect from the source's URL to plain
// http off loopback: the token would travel in clear text, so it is not sent.
func TestRedirectToPlainHTTPRefused(t *testing.T) {
	srv := echoServer(t, "redirect to plain http")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(leakToken), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Type: TypeHTTP, URL: srv.URL + "/export.csv", Format: FormatCSV,
		Auth: AuthConfig{Method: "bearer", TokenFile: tokenFile}}, Options{HTTPClient: srv.Client(), Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Pull(context.Background())
	assertIncomplete(t, snap, err, "refused a redirect to plain http on idp.invalid: it would send the credentials in clear text")
	if errors.Is(err, context.DeadlineExceeded) {
		t.Error("the refusal is not a timeout")
	}
}

package source

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/syncd-io/syncd/internal/secret"
)

// authenticator adds credentials to requests, reading the secret at each use so that a
// rotated secret is picked up without a restart.
type authenticator struct {
	cfg       AuthConfig
	lookupEnv func(string) (string, bool)
}

// hasCredentials reports whether requests carry a token or password.
func (a authenticator) hasCredentials() bool {
	return a.cfg.Method == "bearer" || a.cfg.Method == "basic"
}

// apply sets the Authorization header. It returns the secrets it sent (the token, or
// the password and its base64 encoding in the header), so that the caller can keep
// them out of anything the server echoes back into a reason.
func (a authenticator) apply(req *http.Request) ([]secret.Secret, error) {
	switch a.cfg.Method {
	case "bearer":
		token, err := a.secret(a.cfg.TokenFile, a.cfg.TokenEnv)
		if err != nil {
			return nil, fmt.Errorf("bearer token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+token.Reveal())
		return []secret.Secret{token}, nil
	case "basic":
		password, err := a.secret(a.cfg.PasswordFile, a.cfg.PasswordEnv)
		if err != nil {
			return nil, fmt.Errorf("basic auth password: %w", err)
		}
		req.SetBasicAuth(a.cfg.Username, password.Reveal())
		encoded := strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
		return []secret.Secret{password, secret.New(encoded)}, nil
	}
	return nil, nil
}

// secret reads the credential from its file or environment variable, without the
// surrounding white space a file or variable tends to carry. Its errors name the file
// or variable, never the content.
func (a authenticator) secret(file, env string) (secret.Secret, error) {
	if file != "" {
		s, err := secret.FromFile(file)
		if err != nil {
			return secret.Secret{}, err
		}
		if v := strings.TrimSpace(s.Reveal()); v != s.Reveal() {
			s = secret.New(v)
		}
		if s.IsZero() {
			return secret.Secret{}, fmt.Errorf("secret file %s: %w", file, secret.ErrEmpty)
		}
		return s, nil
	}
	v, ok := a.lookupEnv(env)
	if v = strings.TrimSpace(v); !ok || v == "" {
		return secret.Secret{}, fmt.Errorf("environment variable %s is unset or empty", env)
	}
	return secret.New(v), nil
}

// isLoopback reports whether host (without port) is this machine: localhost,
// 127.0.0.0/8 or ::1, the only places plain http may carry credentials.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// maxRedirects is how many redirects one request may follow (net/http's default).
const maxRedirects = 10

// checkRedirect refuses, when requests carry credentials, a redirect to plain http
// off this machine: net/http copies the Authorization header to a redirect on the
// same host, so an https URL redirecting to http would send the token in clear text.
func checkRedirect(authenticated bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if authenticated && req.URL.Scheme == "http" && !isLoopback(req.URL.Hostname()) {
			return fmt.Errorf("refused a redirect to plain http on %s: it would send the credentials in clear text", req.URL.Host)
		}
		return nil
	}
}

// redactor keeps secrets out of text that came back from a server or the transport:
// the credential sent with the request and the values of the configured URL's query
// (a token in the query is common for export URLs).
type redactor struct {
	secrets []secret.Secret
}

// minQuerySecret is the shortest query value treated as a secret; shorter ones
// (format=csv, page=2) are not worth guessing and would make messages unreadable.
const minQuerySecret = 8

// newRedactor collects the query values of rawURL that are long enough to be secrets.
func newRedactor(rawURL string) redactor {
	var r redactor
	u, err := url.Parse(rawURL)
	if err != nil {
		return r
	}
	for _, values := range u.Query() {
		for _, v := range values {
			if len(v) >= minQuerySecret {
				r.secrets = append(r.secrets, secret.New(v))
			}
		}
	}
	return r
}

// with returns a redactor that also hides secrets; r itself is not changed.
func (r redactor) with(secrets []secret.Secret) redactor {
	return redactor{secrets: append(slices.Clip(r.secrets), secrets...)}
}

// text replaces every secret in s by secret.Redacted, also in its URL-encoded forms.
func (r redactor) text(s string) string {
	for _, sec := range r.secrets {
		v := sec.Reveal()
		if v == "" {
			continue
		}
		for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			s = strings.ReplaceAll(s, form, secret.Redacted)
		}
	}
	return s
}

// transportError makes an http.Client error safe to keep as a cause: a *url.Error's
// text repeats the full URL, query (and so any token in it) included, so its URL is
// cut to scheme, host and path. The wrapper is kept, so errors.Is still finds a
// context error and Timeout still answers. It also returns the inner error alone, for
// a reason that names the request itself.
func (r redactor) transportError(err error) (cause, inner error) {
	var ue *url.Error
	if !errors.As(err, &ue) {
		err = r.inner(err)
		return err, err
	}
	inner = r.inner(ue.Err)
	return &url.Error{Op: ue.Op, URL: withoutQuery(ue.URL), Err: inner}, inner
}

// inner returns err, or when its text holds a secret, an error with the redacted text
// (unwrapping to nothing, so that no chain leads back to the secret).
func (r redactor) inner(err error) error {
	if msg := err.Error(); r.text(msg) != msg {
		return errors.New(r.text(msg))
	}
	return err
}

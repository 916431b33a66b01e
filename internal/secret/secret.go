// Package secret holds credentials in memory so that they cannot leak by accident:
// a Secret prints, formats and marshals as "<secret>", whatever verb or encoder is
// used, and only Reveal gives its value, at the one place that must send it.
//
// Every client secret, private key, bearer token and password that syncd's
// configuration and clients hold is a Secret. Secrets are loaded from files (a
// mounted Kubernetes Secret, FromFile) or from the environment through the lookup
// function the caller injects (internal/config), never written inline in
// configuration.
package secret

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Redacted is what a Secret shows instead of its value.
const Redacted = "<secret>"

// Secret is a credential. The zero value is the empty secret.
//
// The value sits behind a pointer: fmt cannot call String or Format on a Secret held
// in another struct's unexported field, and would print a string field's content
// there; behind a pointer it prints only an address. Compare secrets with Equal.
type Secret struct {
	value *string
}

// New wraps a value.
func New(value string) Secret {
	if value == "" {
		return Secret{}
	}
	return Secret{value: &value}
}

// Reveal returns the value. Call it only where the value is sent to the party that
// checks it (an Authorization header, a token request), never to build a message.
func (s Secret) Reveal() string {
	if s.value == nil {
		return ""
	}
	return *s.value
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == nil }

// Equal reports whether two secrets hold the same value, in constant time, so
// that comparing a presented token with the expected one leaks nothing through
// timing.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(o.Reveal())) == 1
}

// String returns Redacted, so that %s, %v, %q and loggers that use Stringer show
// no value.
func (s Secret) String() string { return Redacted }

// GoString returns Redacted too, for %#v.
func (s Secret) GoString() string { return Redacted }

// Format writes Redacted for every verb, so that %x or %d cannot reveal the bytes.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// MarshalText returns Redacted, which covers JSON, YAML and other text encoders:
// rendering a configuration never reveals what it holds.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// MarshalJSON returns Redacted as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalYAML returns Redacted.
func (s Secret) MarshalYAML() (any, error) { return Redacted, nil }

// ErrEmpty is returned by FromFile when the file holds no value.
var ErrEmpty = errors.New("secret is empty")

// FromFile reads a secret from a file, trimming one trailing newline (as editors and
// `kubectl create secret --from-file` leave). The error names the file, never the
// content.
func FromFile(path string) (Secret, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the path is the operator's configuration
	if err != nil {
		return Secret{}, fmt.Errorf("read secret file %s: %w", path, err)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return Secret{}, fmt.Errorf("secret file %s: %w", path, ErrEmpty)
	}
	return New(v), nil
}

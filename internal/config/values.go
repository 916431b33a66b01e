package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/syncd-io/syncd/internal/secret"
)

// Percent is a percentage in percentage points: 10 is ten percent. It is written
// either "10%" or 10, so that keys named *_percent and values such as a jitter read
// the same way.
type Percent float64

// UnmarshalYAML accepts "10%", "10" and 10.
func (p *Percent) UnmarshalYAML(n *yaml.Node) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(n.Value), "%")), 64)
	if n.Kind != yaml.ScalarNode || err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return typeError(n, "want a percentage such as 10% or 10")
	}
	*p = Percent(v)
	return nil
}

// MarshalYAML writes the percentage as "10%", the way it is usually written.
func (p Percent) MarshalYAML() (any, error) { return p.String(), nil }

// String returns the percentage as "10%".
func (p Percent) String() string { return strconv.FormatFloat(float64(p), 'g', -1, 64) + "%" }

// Fraction returns the percentage as a fraction of one: 10% is 0.1.
func (p Percent) Fraction() float64 { return float64(p) / 100 }

// SecretValue is a secret written in the configuration file itself, for values such
// as a DSN that mix settings with a password: the file holds ${ENV} where the
// password goes, and the expanded value is held as a secret.Secret so that printing
// or marshalling the configuration never shows it.
type SecretValue struct{ secret.Secret }

// NewSecretValue wraps a value.
func NewSecretValue(v string) SecretValue { return SecretValue{secret.New(v)} }

// UnmarshalYAML takes a scalar. Its error never quotes the value.
func (s *SecretValue) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return typeError(n, "want a string")
	}
	s.Secret = secret.New(n.Value)
	return nil
}

// typeError reports a bad value the way the YAML decoder reports its own type
// errors, so that decoding carries on and every bad value is reported together.
func typeError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
}

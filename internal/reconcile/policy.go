package reconcile

import (
	"errors"
	"fmt"
	"slices"
)

// Allows reports whether a cycle under mode m may take an action of kind k. The empty
// mode is sync, as an empty Match is the default order. An unknown mode allows
// nothing: a misspelt mode must never widen what syncd does (Policy.Validate reports
// it before a cycle runs).
func (m Mode) Allows(k Kind) bool {
	switch m {
	case ModeSync, "":
		return true
	case ModeUpsertOnly:
		return k != KindDeactivate && k != KindFreeze
	case ModeCreateOnly:
		return k == KindCreate || k == KindAdopt
	}
	return false
}

// refusal says why mode m does not allow an action of kind k, for the Skip.
func (m Mode) refusal() string {
	switch m {
	case ModeUpsertOnly:
		return "policy upsert-only never deactivates"
	case ModeCreateOnly:
		return "policy create-only only creates and adopts"
	}
	return "policy mode " + string(m) + " is unknown: nothing is done"
}

// ParseMode returns the mode named s, as written in configuration (policy.mode).
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeSync, ModeUpsertOnly, ModeCreateOnly:
		return m, nil
	}
	return "", fmt.Errorf("policy.mode: %q is not one of sync, upsert-only, create-only", s)
}

// matchOrder returns the keys other than the link to match by, in the configured order.
// The link is always tried first, wherever Match lists it: it is the record of what
// syncd owns, and a later key must never hand a linked user to another person.
func (p Policy) matchOrder() []MatchKey {
	keys := p.Match
	if len(keys) == 0 {
		keys = []MatchKey{MatchLink, MatchFederationID, MatchEmail, MatchUsername}
	}
	out := make([]MatchKey, 0, len(keys))
	for _, k := range keys {
		if k != MatchLink && matchField(k) != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// matchField is the User field a match key compares, "" for the link and unknown keys.
func matchField(k MatchKey) string {
	switch k {
	case MatchFederationID:
		return "FederationIdentifier"
	case MatchEmail:
		return "Email"
	case MatchUsername:
		return "Username"
	}
	return ""
}

// Validate reports every problem with the policy, each with its configuration path:
// an unknown mode or match key, a key listed twice, a percentage above 100.
func (p Policy) Validate() error {
	var errs []error
	if p.Mode != "" {
		if _, err := ParseMode(string(p.Mode)); err != nil {
			errs = append(errs, err)
		}
	}
	for i, k := range p.Match {
		switch {
		case k != MatchLink && matchField(k) == "":
			errs = append(errs, fmt.Errorf("mapping.match[%d]: %q is not one of link, federation_id, email, username", i, k))
		case slices.Contains(p.Match[:i], k):
			errs = append(errs, fmt.Errorf("mapping.match[%d]: %q listed twice", i, k))
		}
	}
	g := p.Guardrails
	for _, pct := range []struct {
		key string
		v   float64
	}{
		{"policy.guardrails.max_deactivation_percent", g.MaxDeactivationPercent},
		{"policy.guardrails.max_source_shrink_percent", g.MaxSourceShrinkPercent},
	} {
		if pct.v > 100 {
			errs = append(errs, fmt.Errorf("%s: %g is above 100", pct.key, pct.v))
		}
	}
	return errors.Join(errs...)
}

package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Validate reports every problem in the configuration as an *Error, or nil. Load
// calls it after applying the defaults; a Config built in code gets the same checks.
func (c *Config) Validate() error { return c.validate().err(c.where) }

func (c *Config) validate() problems {
	var ps problems
	c.Salesforce.validate(&ps, "salesforce")
	ps.addErrors(c.Source.Validate())
	ps.addErrors(c.Mapping.Validate())
	c.Policy.validate(&ps, "policy")
	c.Store.validate(&ps, "store")
	c.Schedule.validate(&ps, "schedule")
	c.Server.validate(&ps, "server")
	ps.oneOf(keyPath("log", "level"), c.Log.Level, "debug", "info", "warn", "error")
	ps.oneOf(keyPath("log", "format"), c.Log.Format, "json", "console")
	return ps
}

// addErrors adds the problems another package's Validate found. They are written
// "path: message" (e.g. "source.url: required"); the path is kept apart so that the
// problem gets its line.
func (ps *problems) addErrors(err error) {
	if err == nil {
		return
	}
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		msg := e.Error()
		path, rest, ok := strings.Cut(msg, ": ")
		if !ok || strings.ContainsAny(path, " \t") {
			path, rest = "", msg
		}
		*ps = append(*ps, Problem{Path: path, Message: rest})
	}
}

// oneOf checks that value is one of allowed.
func (ps *problems) oneOf(path, value string, allowed ...string) {
	switch {
	case slices.Contains(allowed, value):
	case value == "":
		ps.add(path, "required: one of %s", strings.Join(allowed, ", "))
	default:
		ps.add(path, "%q is not one of %s", value, strings.Join(allowed, ", "))
	}
}

// validate checks one org's settings; path is where they sit in the file.
func (s *Salesforce) validate(ps *problems, path string) {
	validateLoginURL(ps, keyPath(path, "login_url"), s.LoginURL)
	if !validAPIVersion(s.APIVersion) {
		ps.add(keyPath(path, "api_version"), "%q is not an API version such as %s", s.APIVersion, DefaultAPIVersion)
	}
	s.Auth.validate(ps, keyPath(path, "auth"))
	b, bp := s.Budget, keyPath(path, "budget")
	if b.Share <= 0 || b.Share > 1 {
		ps.add(keyPath(bp, "share"), "%g is not a fraction in (0, 1]", b.Share)
	}
	if b.Reserve != nil && (*b.Reserve < 0 || *b.Reserve >= 1) {
		ps.add(keyPath(bp, "reserve"), "%g is not a fraction in [0, 1)", *b.Reserve)
	}
	if b.Concurrency < 1 || b.Concurrency > 25 {
		ps.add(keyPath(bp, "concurrency"), "%d is not between 1 and 25 (Salesforce allows 25 long-running requests per org)", b.Concurrency)
	}
	if m := s.Bulk.MinUsers; m != nil && *m < 0 {
		ps.add(keyPath(keyPath(path, "bulk"), "min_users"), "%d is negative (0 never reads through Bulk API 2.0)", *m)
	}
	if s.Timeout <= 0 {
		ps.add(keyPath(path, "timeout"), "must be positive")
	}
	if s.DeltaOverlap < 0 {
		ps.add(keyPath(path, "delta_overlap"), "must be positive")
	}
}

// validateLoginURL accepts an https origin, or http on a loopback host (sfsim): the
// token request carries the client's credentials.
func validateLoginURL(ps *problems, path, raw string) {
	if raw == "" {
		ps.add(path, "required, e.g. https://login.salesforce.com")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		ps.add(path, "is not an absolute https URL") // not quoted: it may carry credentials
		return
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		ps.add(path, "must use https (http only on a loopback host)")
	}
	if u.User != nil {
		ps.add(path, "must not carry credentials")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		ps.add(path, "must be an origin such as https://login.salesforce.com, without a path or query")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validAPIVersion accepts vNN.0, the form of every Salesforce REST API version.
func validAPIVersion(v string) bool {
	major, ok := strings.CutPrefix(v, "v")
	major, ok2 := strings.CutSuffix(major, ".0")
	n, err := strconv.Atoi(major)
	return ok && ok2 && err == nil && n > 0 && !strings.HasPrefix(major, "+")
}

func (a *Auth) validate(ps *problems, path string) {
	ps.oneOf(keyPath(path, "method"), a.Method, AuthJWT, AuthClientCredentials)
	if a.ClientID == "" {
		ps.add(keyPath(path, "client_id"), "required: the connected app's consumer key")
	}
	notUsed := func(key, value string) {
		if value != "" {
			ps.add(keyPath(path, key), "not used by method %s", a.Method)
		}
	}
	switch a.Method {
	case AuthJWT:
		if a.Username == "" {
			ps.add(keyPath(path, "username"), "required for jwt: the integration user the token is issued for")
		}
		if a.PrivateKeyFile == "" {
			ps.add(keyPath(path, "private_key_file"), "required for jwt")
		}
		notUsed("client_secret_file", a.ClientSecretFile)
		notUsed("client_secret_env", a.ClientSecretEnv)
	case AuthClientCredentials:
		if (a.ClientSecretFile == "") == (a.ClientSecretEnv == "") {
			ps.add(path, "client_credentials needs exactly one of client_secret_file, client_secret_env")
		}
		if a.ClientSecretEnv != "" && !isEnvName(a.ClientSecretEnv) {
			ps.add(keyPath(path, "client_secret_env"), "%q is not an environment variable name", a.ClientSecretEnv)
		}
		notUsed("private_key_file", a.PrivateKeyFile)
	}
}

func (p *Policy) validate(ps *problems, path string) {
	ps.oneOf(keyPath(path, "mode"), p.Mode, ModeSync, ModeUpsertOnly, ModeCreateOnly)
	nonEmpty(ps, keyPath(path, "protect.usernames"), p.Protect.Usernames)
	nonEmpty(ps, keyPath(path, "protect.profiles"), p.Protect.Profiles)
	g, gp := p.Guardrails, keyPath(path, "guardrails")
	if g.MaxDeactivations != nil && *g.MaxDeactivations < 0 {
		ps.add(keyPath(gp, "max_deactivations"), "must not be negative (0 holds every deactivation for approval)")
	}
	if g.MaxEntitlementRemovals != nil && *g.MaxEntitlementRemovals < 0 {
		ps.add(keyPath(gp, "max_entitlement_removals"), "must not be negative (0 makes no removal)")
	}
	validatePercent(ps, keyPath(gp, "max_deactivation_percent"), g.MaxDeactivationPercent, 100)
	validatePercent(ps, keyPath(gp, "max_source_shrink_percent"), g.MaxSourceShrinkPercent, 100)
	ps.oneOf(keyPath(path, "on_blocked_deactivation"), p.OnBlockedDeactivation, BlockedFreeze, BlockedReport)
	r, rp := p.Retry, keyPath(path, "retry")
	if r.InitialBackoff <= 0 {
		ps.add(keyPath(rp, "initial_backoff"), "must be positive")
	}
	if r.MaxBackoff < r.InitialBackoff {
		ps.add(keyPath(rp, "max_backoff"), "%s is shorter than initial_backoff %s", r.MaxBackoff, r.InitialBackoff)
	}
	p.Offboarding.validate(ps, keyPath(path, "offboarding"))
}

// nonEmpty checks that no item of a list is blank.
func nonEmpty(ps *problems, path string, items []string) {
	for i, item := range items {
		if strings.TrimSpace(item) == "" {
			ps.add(indexPath(path, i), "must not be empty")
		}
	}
}

// validatePercent checks 0 <= p <= limit.
func validatePercent(ps *problems, path string, p *Percent, limit Percent) {
	if p != nil && (*p < 0 || *p > limit) {
		ps.add(path, "%s is not between 0%% and %s", *p, limit)
	}
}

func (s *Store) validate(ps *problems, path string) {
	ps.oneOf(keyPath(path, "driver"), s.Driver, DriverSQLite, DriverPostgres)
	if s.Driver == DriverPostgres && s.DSN.IsZero() {
		ps.add(keyPath(path, "dsn"), "required for postgres, e.g. postgres://syncd:${PGPASSWORD}@db:5432/syncd")
	}
}

func (s *Schedule) validate(ps *problems, path string) {
	if s.Interval <= 0 {
		ps.add(keyPath(path, "interval"), "must be positive")
	}
	validatePercent(ps, keyPath(path, "jitter"), s.Jitter, 50)
	if s.FullEvery < 0 {
		ps.add(keyPath(path, "full_every"), "must be positive")
	}
}

func (s *Server) validate(ps *problems, path string) {
	if err := validListen(s.Listen); err != nil {
		ps.add(keyPath(path, "listen"), "%q: %v", s.Listen, err)
	}
}

func validListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port, e.g. %s", DefaultListen)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("the port is not a number from 0 to 65535")
	}
	return nil
}

// validate checks the offboarding keys: known objects, a grace period that a freeze
// starts.
func (o *Offboarding) validate(ps *problems, path string) {
	for i, obj := range o.Transfer.Objects {
		if !slices.Contains(DefaultTransferObjects(), obj) {
			ps.add(indexPath(keyPath(path, "transfer.objects"), i), "%q is not one of %s", obj, strings.Join(DefaultTransferObjects(), ", "))
		}
	}
	switch {
	case o.GracePeriod < 0:
		ps.add(keyPath(path, "grace_period"), "must not be negative")
	case o.GracePeriod > 0 && o.Freeze != nil && !*o.Freeze:
		ps.add(keyPath(path, "grace_period"), "needs freeze: true (the freeze starts the grace period, and cuts access during it)")
	}
}

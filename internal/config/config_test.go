package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/secret"
	"github.com/syncd-io/syncd/internal/source"
)

// env is a fake environment for the injected LookupEnv.
type env map[string]string

func (e env) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

var (
	// compareConfigs compares configurations by value, secrets included.
	compareConfigs = cmp.Options{
		cmpopts.IgnoreUnexported(Config{}),
		cmp.Comparer(func(a, b secret.Secret) bool { return a.Reveal() == b.Reveal() }),
	}
	testEnv = env{"SF_CLIENT_ID": "3MVG9-client-id"}
)

func ptr[T any](v T) *T { return &v }

func loadFile(t *testing.T, path string, e env) *Config {
	t.Helper()
	cfg, err := Load(path, e.lookup)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return cfg
}

func TestLoadAppliesEveryDefault(t *testing.T) {
	got := loadFile(t, "testdata/minimal.yaml", testEnv)
	want := &Config{
		Salesforce: Salesforce{
			LoginURL:   "https://login.salesforce.com",
			APIVersion: "v67.0",
			Auth: Auth{Method: "jwt", ClientID: "3MVG9-client-id", Username: "integration@acme.com",
				PrivateKeyFile: "/etc/syncd/jwt-key.pem"},
			Budget:       Budget{Share: 0.10, Reserve: ptr(0.20), Concurrency: 4},
			Timeout:      2 * time.Minute,
			DeltaOverlap: 10 * time.Minute,
			Bulk:         Bulk{MinUsers: ptr(50000)},
		},
		Source:  source.Config{Type: "file", Path: "/data/people.csv", Format: "csv"},
		Mapping: mapping.Config{Profile: mapping.AssignmentConfig{Default: "Standard User"}},
		Policy: Policy{
			Mode:    "sync",
			Protect: Protect{Profiles: []string{"System Administrator"}},
			Guardrails: Guardrails{MaxDeactivations: ptr(50), MaxDeactivationPercent: ptr(Percent(5)),
				MaxSourceShrinkPercent: ptr(Percent(10)), MaxEntitlementRemovals: ptr(100)},
			OnBlockedDeactivation: "freeze",
			Retry:                 Retry{InitialBackoff: time.Hour, MaxBackoff: 24 * time.Hour},
			Offboarding: Offboarding{Freeze: ptr(true), EndSessions: ptr(true), RevokeTokens: ptr(true),
				Transfer: Transfer{Objects: []string{"Opportunity", "Case", "Lead", "Account", "Contact"}}},
		},
		Store:    Store{Driver: "sqlite", DSN: NewSecretValue("file:syncd.db")},
		Schedule: Schedule{Interval: 5 * time.Minute, Jitter: ptr(Percent(10)), FullEvery: 24 * time.Hour},
		Server:   Server{Listen: "127.0.0.1:9090"},
		Log:      Log{Level: "info", Format: "json"},
	}
	if diff := cmp.Diff(want, got, compareConfigs); diff != "" {
		t.Errorf("loaded configuration (-want +got):\n%s", diff)
	}
}

func TestLoadKeepsExplicitZeros(t *testing.T) {
	got := loadFile(t, "testdata/zeros.yaml", nil)
	type zeros struct {
		Reserve                          float64
		Profiles                         []string
		MaxDeactivations                 int
		MaxDeactivationPct, MaxShrinkPct Percent
		Jitter                           Percent
	}
	g := got.Policy.Guardrails
	have := zeros{*got.Salesforce.Budget.Reserve, got.Policy.Protect.Profiles, *g.MaxDeactivations,
		*g.MaxDeactivationPercent, *g.MaxSourceShrinkPercent, *got.Schedule.Jitter}
	if diff := cmp.Diff(zeros{Profiles: []string{}}, have); diff != "" {
		t.Errorf("explicit zeros (-want +got):\n%s", diff)
	}
}

// base holds a valid section for each required part of the file; withBase completes a
// test snippet with the sections it does not write, after it, so that the snippet's
// line numbers are those of the document.
var base = map[string]string{
	"salesforce": `salesforce:
  login_url: https://login.salesforce.com
  auth: {method: jwt, client_id: id, username: integration@acme.com, private_key_file: /k.pem}
`,
	"source":  "source: {type: file, path: /p.csv, format: csv}\n",
	"mapping": "mapping: {profile: {default: Standard User}}\n",
}

func withBase(snippet string) string {
	doc := snippet
	for _, section := range []string{"salesforce", "source", "mapping"} {
		if !strings.HasPrefix(snippet, section+":") && !strings.Contains(snippet, "\n"+section+":") {
			doc += base[section]
		}
	}
	return doc
}

func TestParseReportsEveryProblemWithItsLine(t *testing.T) {
	tests := []struct {
		name   string
		yaml   string
		noBase bool // the document is the yaml alone
		env    env
		want   []string
	}{
		{
			name: "an unknown top-level key is reported with the valid ones",
			yaml: "salesfroce: {}\n",
			want: []string{"t.yaml:1: salesfroce: unknown key; valid keys here: salesforce, source, mapping, policy, store, schedule, server, log"},
		},
		{
			name: "unknown keys at every depth are all reported at once",
			yaml: `salesforce:
  login_url: https://login.salesforce.com
  auth: {method: jwt, client_id: id, username: u@acme.com, private_key_file: /k.pem, colour: red}
  budget:
    shares: 0.5
source:
  type: file
  path: /p.csv
  format: csv
  csv: {delimiter: ";", quote: "'"}
mapping:
  profile: {default: Standard User}
  fields:
    Email: {from: "{{ .Email }}", mdoe: always}
policy:
  guardrails:
    max_deletions: 3
log: {levle: debug}
`,
			want: []string{
				"t.yaml:3: salesforce.auth.colour: unknown key; valid keys here: method, client_id, username, private_key_file, client_secret_file, client_secret_env",
				"t.yaml:5: salesforce.budget.shares: unknown key; valid keys here: share, reserve, concurrency",
				"t.yaml:10: source.csv.quote: unknown key; valid keys here: delimiter, group_separator",
				"t.yaml:14: mapping.fields.Email.mdoe: unknown key; valid keys here: from, value, mode, max_length",
				"t.yaml:17: policy.guardrails.max_deletions: unknown key; valid keys here: max_deactivations, max_deactivation_percent, max_source_shrink_percent, max_entitlement_removals",
				"t.yaml:18: log.levle: unknown key; valid keys here: level, format, pii",
			},
		},
		{
			name: "an inline secret is refused with a hint to its file key",
			yaml: `salesforce:
  login_url: https://login.salesforce.com
  auth:
    method: client_credentials
    client_id: id
    client_secret: hunter2
    client_secret_file: /s
server:
  token: abc
`,
			want: []string{
				"t.yaml:6: salesforce.auth.client_secret: unknown key; secrets are read from files: use client_secret_file (or client_secret_env)",
				"t.yaml:9: server.token: unknown key; secrets are read from files: use token_file",
			},
		},
		{
			name: "keys merged from an anchor are checked too",
			yaml: `x-common: &common {level: info, colour: red}
log:
  <<: *common
`,
			want: []string{
				"t.yaml:1: x-common: unknown key; valid keys here: salesforce, source, mapping, policy, store, schedule, server, log",
				"t.yaml:1: log.colour: unknown key; valid keys here: level, format, pii",
			},
		},
		{
			name: "values of the wrong type are all reported, with the key on their line",
			yaml: `salesforce:
  login_url: https://login.salesforce.com
  auth: {method: jwt, client_id: id, username: u@acme.com, private_key_file: /k.pem}
  budget:
    concurrency: many
  timeout: 5 minutes
policy:
  dry_run: perhaps
  guardrails:
    max_source_shrink_percent: lots
schedule:
  interval: [5m]
`,
			want: []string{
				"t.yaml:5: salesforce.budget.concurrency: cannot unmarshal !!str `many` into int",
				"t.yaml:6: salesforce.timeout: cannot unmarshal !!str `5 minutes` into time.Duration; want a duration such as 90s, 5m or 1h30m",
				"t.yaml:8: policy.dry_run: cannot unmarshal !!str `perhaps` into bool",
				"t.yaml:10: policy.guardrails.max_source_shrink_percent: want a percentage such as 10% or 10",
				"t.yaml:12: schedule.interval: cannot unmarshal !!seq into time.Duration; want a duration such as 90s, 5m or 1h30m",
			},
		},
		{
			name: "every invalid salesforce setting is reported",
			yaml: `salesforce:
  login_url: http://login.salesforce.com/services?x=1
  api_version: "67"
  timeout: -1s
  auth:
    method: saml
  budget:
    share: 1.5
    reserve: 1
    concurrency: 26
  bulk:
    min_users: -1
`,
			want: []string{
				"t.yaml:2: salesforce.login_url: must use https (http only on a loopback host)",
				"t.yaml:2: salesforce.login_url: must be an origin such as https://login.salesforce.com, without a path or query",
				`t.yaml:3: salesforce.api_version: "67" is not an API version such as v67.0`,
				"t.yaml:4: salesforce.timeout: must be positive",
				"t.yaml:5: salesforce.auth.client_id: required: the connected app's consumer key",
				`t.yaml:6: salesforce.auth.method: "saml" is not one of jwt, client_credentials`,
				"t.yaml:8: salesforce.budget.share: 1.5 is not a fraction in (0, 1]",
				"t.yaml:9: salesforce.budget.reserve: 1 is not a fraction in [0, 1)",
				"t.yaml:10: salesforce.budget.concurrency: 26 is not between 1 and 25 (Salesforce allows 25 long-running requests per org)",
				"t.yaml:12: salesforce.bulk.min_users: -1 is negative (0 never reads through Bulk API 2.0)",
			},
		},
		{
			name: "jwt needs a username and a key, and takes no client secret",
			yaml: `salesforce:
  login_url: https://acme.my.salesforce.com
  auth:
    method: jwt
    client_id: id
    client_secret_env: SECRET
`,
			want: []string{
				"t.yaml:3: salesforce.auth.username: required for jwt: the integration user the token is issued for",
				"t.yaml:3: salesforce.auth.private_key_file: required for jwt",
				"t.yaml:6: salesforce.auth.client_secret_env: not used by method jwt",
			},
		},
		{
			name: "client_credentials needs exactly one secret source and takes no key",
			yaml: `salesforce:
  login_url: https://localhost:8443
  auth:
    method: client_credentials
    client_id: id
    client_secret_file: /s
    client_secret_env: S
    private_key_file: /k.pem
`,
			want: []string{
				"t.yaml:3: salesforce.auth: client_credentials needs exactly one of client_secret_file, client_secret_env",
				"t.yaml:8: salesforce.auth.private_key_file: not used by method client_credentials",
			},
		},
		{
			name: "an empty section reports what it requires at its own line",
			yaml: "salesforce:\n",
			want: []string{
				"t.yaml:1: salesforce.login_url: required, e.g. https://login.salesforce.com",
				"t.yaml:1: salesforce.auth.method: required: one of jwt, client_credentials",
				"t.yaml:1: salesforce.auth.client_id: required: the connected app's consumer key",
			},
		},
		{
			name:   "an empty document reports every required key, without a line",
			yaml:   "# nothing yet\n",
			noBase: true,
			want: []string{
				"t.yaml: salesforce.login_url: required, e.g. https://login.salesforce.com",
				"t.yaml: salesforce.auth.method: required: one of jwt, client_credentials",
				"t.yaml: salesforce.auth.client_id: required: the connected app's consumer key",
				"t.yaml: source.type: required: one of file, http, scim",
				"t.yaml: mapping.profile: needs a default or rules: Salesforce requires a profile on every user",
			},
		},
		{
			name: "the source and mapping packages' own problems get their lines",
			yaml: `source:
  type: http
  url: ftp://idp.example.com/export
  format: xml
mapping:
  match: [email, email]
  profile: {default: Standard User}
`,
			want: []string{
				`t.yaml:3: source.url: "ftp://idp.example.com/export" is not an absolute http or https URL`,
				`t.yaml:4: source.format: "xml" is not one of csv, json, ndjson, scim`,
				`t.yaml:6: mapping.match[1]: "email" listed twice`,
			},
		},
		{
			name: "every invalid policy setting is reported",
			yaml: `policy:
  mode: mirror
  protect:
    usernames: ["", ok@acme.com]
  guardrails:
    max_deactivations: -1
    max_deactivation_percent: 101%
    max_source_shrink_percent: -5
    max_entitlement_removals: -1
  on_blocked_deactivation: ignore
  retry:
    initial_backoff: 2h
    max_backoff: 1h
`,
			want: []string{
				`t.yaml:2: policy.mode: "mirror" is not one of sync, upsert-only, create-only`,
				"t.yaml:4: policy.protect.usernames[0]: must not be empty",
				"t.yaml:6: policy.guardrails.max_deactivations: must not be negative (0 holds every deactivation for approval)",
				"t.yaml:7: policy.guardrails.max_deactivation_percent: 101% is not between 0% and 100%",
				"t.yaml:8: policy.guardrails.max_source_shrink_percent: -5% is not between 0% and 100%",
				"t.yaml:9: policy.guardrails.max_entitlement_removals: must not be negative (0 makes no removal)",
				`t.yaml:10: policy.on_blocked_deactivation: "ignore" is not one of freeze, report`,
				"t.yaml:13: policy.retry.max_backoff: 1h0m0s is shorter than initial_backoff 2h0m0s",
			},
		},
		{
			name: "offboarding: unknown objects and a grace period without a freeze are reported",
			yaml: `policy:
  offboarding:
    freeze: false
    transfer:
      objects: [Opportunity, Quote]
    grace_period: 72h
`,
			want: []string{
				`t.yaml:5: policy.offboarding.transfer.objects[1]: "Quote" is not one of Opportunity, Case, Lead, Account, Contact`,
				"t.yaml:6: policy.offboarding.grace_period: needs freeze: true (the freeze starts the grace period, and cuts access during it)",
			},
		},
		{
			name: "store, schedule, server and log settings are checked",
			yaml: `store: {driver: postgres}
schedule: {interval: 0s, jitter: 60%}
server: {listen: "localhost"}
log: {level: trace, format: xml}
`,
			want: []string{
				"t.yaml:1: store.dsn: required for postgres, e.g. postgres://syncd:${PGPASSWORD}@db:5432/syncd",
				"t.yaml:2: schedule.jitter: 60% is not between 0% and 50%",
				`t.yaml:3: server.listen: "localhost": want host:port, e.g. 127.0.0.1:9090`,
				`t.yaml:4: log.level: "trace" is not one of debug, info, warn, error`,
				`t.yaml:4: log.format: "xml" is not one of json, console`,
			},
		},
		{
			name: "the remaining checks: URL form, variable names, driver, negative durations, port",
			yaml: `salesforce:
  login_url: ftp://user:hunter2@login.salesforce.com
  auth:
    method: client_credentials
    client_id: id
    client_secret_env: 1SECRET
  delta_overlap: -5m
store: {driver: mysql}
schedule: {interval: -1m, full_every: -24h}
server: {listen: ":http"}
policy:
  retry: {initial_backoff: -1h}
`,
			want: []string{
				"t.yaml:2: salesforce.login_url: is not an absolute https URL",
				`t.yaml:6: salesforce.auth.client_secret_env: "1SECRET" is not an environment variable name`,
				"t.yaml:7: salesforce.delta_overlap: must be positive",
				`t.yaml:8: store.driver: "mysql" is not one of sqlite, postgres`,
				"t.yaml:9: schedule.interval: must be positive",
				"t.yaml:9: schedule.full_every: must be positive",
				`t.yaml:10: server.listen: ":http": the port is not a number from 0 to 65535`,
				"t.yaml:12: policy.retry.initial_backoff: must be positive",
			},
		},
		{
			name: "an unset variable is reported where it is used, and only there",
			yaml: `salesforce:
  login_url: https://login.salesforce.com
  auth:
    method: jwt
    client_id: ${SF_CLIENT_ID}
    username: ${SF_USER}@acme.com
    private_key_file: /k.pem
store:
  driver: postgres
  dsn: postgres://syncd:${PGPASSWORD@db/syncd
server:
  listen: ${1HOST}:9090
`,
			env: env{"SF_USER": "integration"},
			want: []string{
				"t.yaml:5: salesforce.auth.client_id: environment variable SF_CLIENT_ID is not set",
				"t.yaml:10: store.dsn: ${ without a closing }; write $$ for a literal $",
				"t.yaml:12: server.listen: ${1HOST}: not a variable name (letters, digits and _, not starting with a digit); write $$ for a literal $",
			},
		},
		{
			name: "a key is never expanded",
			yaml: "${SECTION}: {level: debug}\n",
			env:  env{"SECTION": "log"},
			want: []string{"t.yaml:1: ${SECTION}: unknown key; valid keys here: salesforce, source, mapping, policy, store, schedule, server, log"},
		},
		{
			name: "a syntax error stops with its line",
			yaml: "salesforce:\n\tlogin_url: https://login.salesforce.com\n",
			want: []string{"t.yaml:2: found character that cannot start any token"},
		},
		{
			name: "a repeated key is an error",
			yaml: "log: {level: info}\nlog: {level: debug}\nserver: {listen: a, listen: b}\n",
			want: []string{
				"t.yaml:2: log: repeated key (first at line 1)",
				"t.yaml:3: server.listen: repeated key (first at line 3)",
			},
		},
		{
			name: "a second document is refused",
			yaml: "log: {level: info}\n---\nlog: {level: debug}\n",
			want: []string{"t.yaml:2: a second YAML document; the configuration is one document"},
		},
		{
			name:   "a document that is not a mapping is refused",
			yaml:   "- salesforce\n",
			noBase: true,
			want:   []string{"t.yaml:1: the configuration must be a mapping of sections (salesforce:, source:, mapping: ...)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.yaml
			if !tt.noBase {
				doc = withBase(doc)
			}
			cfg, err := Parse("t.yaml", []byte(doc), tt.env.lookup)
			if cfg != nil {
				t.Errorf("Parse returned a configuration with its error")
			}
			if diff := cmp.Diff(tt.want, problemLines(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\ndocument:\n%s", diff, doc)
			}
		})
	}
}

// problemLines returns the formatted problems of an *Error.
func problemLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("error %T is not a *config.Error: %v", err, err)
	}
	return strings.Split(cerr.Error(), "\n")
}

// withClientID is a salesforce section whose client_id is written as given.
func withClientID(v string) string {
	return withBase(`salesforce:
  login_url: https://login.salesforce.com
  auth:
    method: jwt
    username: u@acme.com
    private_key_file: /k.pem
    client_id: ` + v + "\n")
}

func TestParseExpandsEnvironmentVariablesInValues(t *testing.T) {
	e := env{"ID": "3MVG9", "EMPTY": "", "N": "8", "INJECT": "x\nlevel: debug"}
	clientID := func(c *Config) any { return c.Salesforce.Auth.ClientID }
	tests := []struct {
		name  string
		doc   string
		value func(*Config) any
		want  any
	}{
		{"a whole value", withClientID("${ID}"), clientID, "3MVG9"},
		{"inside a quoted value, several times", withClientID(`"${ID}-${ID}"`), clientID, "3MVG9-3MVG9"},
		{"$$ is a literal $ and a lone $ is kept", withClientID("a$$b$c$"), clientID, "a$b$c$"},
		{"$${X} is not expanded", withClientID("$${ID}"), clientID, "${ID}"},
		{"a value cannot inject YAML", withClientID("${INJECT}"),
			func(c *Config) any { return []string{c.Salesforce.Auth.ClientID, c.Log.Level} },
			[]string{"x\nlevel: debug", "info"}},
		{"a quoted value stays a string", withBase("mapping:\n  profile: {default: P}\n  fields:\n    Title: {value: \"${N}\"}\n"),
			func(c *Config) any { return c.Mapping.Fields["Title"].Value }, "8"},
		{"a number from the environment", withBase("policy:\n  guardrails:\n    max_deactivations: ${N}\n"),
			func(c *Config) any { return *c.Policy.Guardrails.MaxDeactivations }, 8},
		{"a set but empty variable is empty, so the default applies", withBase("log:\n  level: ${EMPTY}\n"),
			func(c *Config) any { return c.Log.Level }, "info"},
		{"template variables need no escaping", withBase("mapping:\n  profile: {default: P}\n  fields:\n    Title: {from: '{{ $t := .Title }}{{ $t }}'}\n"),
			func(c *Config) any { return c.Mapping.Fields["Title"].From }, "{{ $t := .Title }}{{ $t }}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("t.yaml", []byte(tt.doc), e.lookup)
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, tt.doc)
			}
			if diff := cmp.Diff(tt.want, tt.value(cfg)); diff != "" {
				t.Errorf("expanded value (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStoreDSNTakesItsPasswordFromTheEnvironment(t *testing.T) {
	doc := withBase("store:\n  driver: postgres\n  dsn: postgres://syncd:${PGPASSWORD}@db:5432/syncd\n")
	cfg, err := Parse("t.yaml", []byte(doc), env{"PGPASSWORD": "s3cr$t"}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Store.DSN.Reveal(), "postgres://syncd:s3cr$t@db:5432/syncd"; got != want {
		t.Errorf("DSN = %q, want %q", got, want)
	}
}

func TestProtectedUsernamesIncludeTheIntegrationUser(t *testing.T) {
	doc := withBase("policy:\n  protect: {usernames: [breakglass@acme.com]}\n")
	cfg, err := Parse("t.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"breakglass@acme.com", "integration@acme.com"}
	if diff := cmp.Diff(want, cfg.ProtectedUsernames()); diff != "" {
		t.Errorf("protected usernames (-want +got):\n%s", diff)
	}
}

func TestPercentAcceptsBothSpellings(t *testing.T) {
	for _, jitter := range []string{"25%", "25", `"25"`, "25.0 %"} {
		cfg, err := Parse("t.yaml", []byte(withBase("schedule: {jitter: "+jitter+"}\n")), nil)
		if err != nil {
			t.Fatalf("jitter %s: %v", jitter, err)
		}
		if got := *cfg.Schedule.Jitter; got != 25 || got.Fraction() != 0.25 || got.String() != "25%" {
			t.Errorf("jitter %s = %v (fraction %v), want 25%%", jitter, got, got.Fraction())
		}
	}
}

func TestLoadReportsAnUnreadableFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want a wrapped fs.ErrNotExist", err)
	}
}

func TestValidateAfterAChangeStillPointsAtTheFile(t *testing.T) {
	cfg := loadFile(t, "testdata/minimal.yaml", testEnv)
	cfg.Salesforce.Budget.Share = 2
	cfg.Source.Path = ""
	want := []string{
		"testdata/minimal.yaml:2: salesforce.budget.share: 2 is not a fraction in (0, 1]",
		"testdata/minimal.yaml:11: source.path: required for type file",
	}
	if diff := cmp.Diff(want, problemLines(t, cfg.Validate())); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if err := (&Config{}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "config: salesforce.login_url: required") {
		t.Errorf("Validate of an empty Config built in code = %v", err)
	}
}

package source

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// Source types and formats accepted in configuration.
const (
	TypeFile = "file"
	TypeHTTP = "http"
	TypeSCIM = "scim"

	FormatCSV    = "csv"
	FormatJSON   = "json"
	FormatNDJSON = "ndjson"
	FormatSCIM   = "scim"
)

// Defaults applied by New to zero configuration values.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultSCIMPageSize = 100
)

// Config is the `source:` section of syncd's configuration. internal/config embeds it
// and loads YAML strictly; Validate reports every problem with its key path.
type Config struct {
	// Type is file, http or scim.
	Type string `yaml:"type"`
	// Path is the export file read by type file.
	Path string `yaml:"path"`
	// URL is the export's address (type http) or the SCIM base URL, the one /Users is
	// appended to (type scim).
	URL string `yaml:"url"`
	// Format of a file or http export: csv, json (an array of objects), ndjson (one
	// object a line) or scim (a SCIM 2.0 ListResponse document).
	Format string `yaml:"format"`
	// Columns names the CSV headers or JSON keys (dotted for nested objects) that hold
	// each attribute; unset ones fall back to the names common IdP exports use.
	Columns Columns    `yaml:"columns"`
	CSV     CSVConfig  `yaml:"csv"`
	Auth    AuthConfig `yaml:"auth"`
	// Timeout bounds each HTTP request (default 30s); the caller's context bounds the pull.
	Timeout time.Duration `yaml:"timeout"`
	SCIM    SCIMConfig    `yaml:"scim"`
	// MaxBytes caps what one pull reads, in bytes (default 1 GiB): the whole file or
	// download for types file and http, the sum of all pages for type scim. A larger
	// export is not read further and the pull is incomplete (no deactivation), with an
	// error that names the cap; raise it if the export really is that large.
	MaxBytes int64 `yaml:"max_bytes"`
	// CountTrailer (csv and ndjson only) requires the export to end with a line
	// `#count=N`, N being the number of records (the CSV header and blank lines not
	// counted). CSV and NDJSON have no end marker of their own, so a truncated export
	// would otherwise look complete; with the trailer, a missing line, a wrong count or
	// a record after it makes the pull incomplete. Have the exporter write it last.
	CountTrailer bool `yaml:"count_trailer"`
}

// Columns maps record attributes to the header (CSV) or key (JSON) that holds them.
type Columns struct {
	ID             string `yaml:"id"`
	UserName       string `yaml:"user_name"`
	Email          string `yaml:"email"`
	GivenName      string `yaml:"given_name"`
	FamilyName     string `yaml:"family_name"`
	DisplayName    string `yaml:"display_name"`
	Active         string `yaml:"active"`
	Title          string `yaml:"title"`
	Department     string `yaml:"department"`
	ManagerID      string `yaml:"manager_id"`
	EmployeeNumber string `yaml:"employee_number"`
	Groups         string `yaml:"groups"`
}

// CSVConfig tunes the CSV reader for exports that are not plain comma-separated.
type CSVConfig struct {
	// Delimiter is the field separator, one character (default ",").
	Delimiter string `yaml:"delimiter"`
	// GroupSeparator splits the groups cell into group names (default ";").
	GroupSeparator string `yaml:"group_separator"`
}

// AuthConfig says how to authenticate HTTP and SCIM requests. Secrets are never inline:
// they are read from a file (mounted Kubernetes secret) or an environment variable at
// every pull, so a rotated secret is picked up without a restart. With bearer or basic,
// source.url must be https unless it points at loopback (127.0.0.0/8, ::1, localhost):
// plain http would send the credential in clear text.
type AuthConfig struct {
	// Method is none (default), bearer or basic.
	Method       string `yaml:"method"`
	TokenFile    string `yaml:"token_file"`
	TokenEnv     string `yaml:"token_env"`
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`
}

// SCIMConfig tunes the SCIM client.
type SCIMConfig struct {
	// Filter is an optional SCIM filter expression, e.g. `userType eq "Employee"`.
	Filter string `yaml:"filter"`
	// PageSize is the count asked for per page (default 100; servers may send fewer).
	PageSize int `yaml:"page_size"`
	// Paging is index (startIndex/count, default) or cursor (RFC 9865).
	Paging string `yaml:"paging"`
	// FullEvery is the longest time between two pulls that list every user (default
	// 1h). Between them, where the server supports `meta.lastModified gt` filters
	// (probed once), a pull reads only the users changed since the last one. A change
	// filter never shows a deleted user, so a person deleted in the IdP (rather than
	// deactivated) is deactivated in Salesforce at the next full list.
	FullEvery time.Duration `yaml:"full_every"`
}

// Validate reports every problem in the configuration, each with its key path.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("source.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.Type {
	case TypeFile:
		if c.Path == "" {
			bad("path", "required for type file")
		}
		if c.URL != "" {
			bad("url", "not used by type file (use path)")
		}
	case TypeHTTP, TypeSCIM:
		if c.URL == "" {
			bad("url", "required for type %s", c.Type)
		} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("url", "%q is not an absolute http or https URL", c.URL)
		} else if u.User != nil {
			bad("url", "must not carry credentials; use source.auth with a file or environment variable")
		} else if a := (authenticator{cfg: c.Auth}); a.hasCredentials() && u.Scheme == "http" && !isLoopback(u.Hostname()) {
			bad("url", "plain http would send the %s credentials in clear text; use https (plain http is allowed only on loopback: 127.0.0.0/8, ::1, localhost)", c.Auth.Method)
		}
		if c.Path != "" {
			bad("path", "not used by type %s (use url)", c.Type)
		}
	case "":
		bad("type", "required: one of file, http, scim")
	default:
		bad("type", "%q is not one of file, http, scim", c.Type)
	}
	switch c.Type {
	case TypeFile, TypeHTTP:
		switch c.Format {
		case FormatCSV, FormatJSON, FormatNDJSON, FormatSCIM:
		case "":
			bad("format", "required for type %s: one of csv, json, ndjson, scim", c.Type)
		default:
			bad("format", "%q is not one of csv, json, ndjson, scim", c.Format)
		}
	case TypeSCIM:
		if c.Format != "" && c.Format != FormatSCIM {
			bad("format", "type scim always reads SCIM; leave format unset")
		}
		switch c.SCIM.Paging {
		case "", "index", "cursor":
		default:
			bad("scim.paging", "%q is not one of index, cursor", c.SCIM.Paging)
		}
		if c.SCIM.PageSize < 0 {
			bad("scim.page_size", "must not be negative")
		}
		if c.SCIM.FullEvery < 0 {
			bad("scim.full_every", "must not be negative")
		}
	}
	if c.Type != TypeSCIM && (c.SCIM != SCIMConfig{}) {
		bad("scim", "only used by type scim")
	}
	if c.Type == TypeSCIM && (c.Columns != Columns{} || c.CSV != CSVConfig{}) {
		bad("columns", "not used by type scim (SCIM attribute names are fixed)")
	}
	if d := c.CSV.Delimiter; d != "" {
		if r, size := utf8.DecodeRuneInString(d); size != len(d) || r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError {
			bad("csv.delimiter", "%q must be a single character other than a quote or line break", d)
		}
	}
	if c.Timeout < 0 {
		bad("timeout", "must not be negative")
	}
	if c.MaxBytes < 0 {
		bad("max_bytes", "must not be negative")
	}
	if c.CountTrailer && c.Format != FormatCSV && c.Format != FormatNDJSON {
		bad("count_trailer", "only csv and ndjson exports have a count trailer (json and scim documents have an end of their own)")
	}
	switch c.Auth.Method {
	case "", "none":
		if c.Auth != (AuthConfig{Method: c.Auth.Method}) {
			bad("auth.method", "credentials are given but method is none; set bearer or basic")
		}
	case "bearer":
		if (c.Auth.TokenFile == "") == (c.Auth.TokenEnv == "") {
			bad("auth", "bearer needs exactly one of token_file, token_env")
		}
	case "basic":
		if c.Auth.Username == "" {
			bad("auth.username", "required for basic")
		}
		if (c.Auth.PasswordFile == "") == (c.Auth.PasswordEnv == "") {
			bad("auth", "basic needs exactly one of password_file, password_env")
		}
	default:
		bad("auth.method", "%q is not one of none, bearer, basic", c.Auth.Method)
	}
	if c.Type == TypeFile && c.Auth.Method != "" && c.Auth.Method != "none" {
		bad("auth", "not used by type file")
	}
	return errors.Join(errs...)
}

// Options carries what a source needs from its surroundings.
type Options struct {
	// HTTPClient is used for http and scim sources (default: a new client without a
	// global timeout; per-request timeouts come from Config.Timeout).
	HTTPClient *http.Client
	// Clock stamps FetchedAt (default time.Now).
	Clock func() time.Time
	// LookupEnv reads token_env and password_env (default os.LookupEnv).
	LookupEnv func(string) (string, bool)
}

// New validates cfg and returns the Source it describes.
func New(cfg Config, opts Options) (Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.SCIM.PageSize == 0 {
		cfg.SCIM.PageSize = DefaultSCIMPageSize
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.SCIM.FullEvery == 0 {
		cfg.SCIM.FullEvery = DefaultSCIMFullEvery
	}
	dec := decoderOptions{columns: cfg.Columns, delimiter: ',', groupSeparator: ";",
		maxBytes: cfg.MaxBytes, countTrailer: cfg.CountTrailer}
	if cfg.CSV.Delimiter != "" {
		dec.delimiter, _ = utf8.DecodeRuneInString(cfg.CSV.Delimiter)
	}
	if cfg.CSV.GroupSeparator != "" {
		dec.groupSeparator = cfg.CSV.GroupSeparator
	}
	auth := authenticator{cfg: cfg.Auth, lookupEnv: opts.LookupEnv}
	client := *opts.HTTPClient // a copy: the redirect rule is this source's, not the caller's
	if client.CheckRedirect == nil {
		client.CheckRedirect = checkRedirect(auth.hasCredentials())
	}
	switch cfg.Type {
	case TypeFile:
		return &FileSource{path: cfg.Path, format: cfg.Format, dec: dec, clock: opts.Clock}, nil
	case TypeHTTP:
		return &HTTPSource{url: cfg.URL, format: cfg.Format, dec: dec, client: &client,
			auth: auth, redact: newRedactor(cfg.URL), timeout: cfg.Timeout, clock: opts.Clock}, nil
	default:
		return &SCIMSource{base: strings.TrimRight(cfg.URL, "/"), filter: cfg.SCIM.Filter,
			pageSize: cfg.SCIM.PageSize, cursor: cfg.SCIM.Paging == "cursor", maxBytes: cfg.MaxBytes, client: &client,
			auth: auth, redact: newRedactor(cfg.URL), timeout: cfg.Timeout, clock: opts.Clock, fullEvery: cfg.SCIM.FullEvery}, nil
	}
}

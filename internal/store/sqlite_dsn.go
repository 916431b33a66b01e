package store

import (
	"fmt"
	"net/url"
	"strings"
)

// sqliteDSN is a parsed SQLite data source: a database file and the few parameters an
// operator may tune. syncd sets the rest itself (WAL, immediate write transactions,
// foreign keys), because the store's correctness depends on them.
type sqliteDSN struct {
	path   string
	params url.Values // only keys in sqliteTunable
}

// sqliteTunable returns the DSN parameters an operator may set, with syncd's
// defaults.
func sqliteTunable() map[string]string {
	return map[string]string{
		"_busy_timeout": "10000", // ms a writer waits for another before SQLITE_BUSY
		"_synchronous":  "NORMAL",
	}
}

// sqliteManagedPragma reports whether a _pragma sets something the store relies on
// and so may not be changed.
func sqliteManagedPragma(pragma string) bool {
	name := strings.ToLower(strings.TrimSpace(pragma))
	for _, managed := range []string{"journal_mode", "query_only", "locking_mode", "foreign_keys"} {
		if strings.HasPrefix(name, managed) {
			return true
		}
	}
	return false
}

// parseSQLiteDSN accepts a file path ("syncd.db", "/var/lib/syncd/syncd.db") or a
// file: URI ("file:syncd.db?_busy_timeout=5000"). In-memory databases are refused:
// the store opens several connections and a lock file beside the database.
func parseSQLiteDSN(dsn string) (sqliteDSN, error) {
	d := sqliteDSN{params: url.Values{}}
	if dsn == "" {
		return d, invalidf("sqlite DSN is empty; give a file path such as syncd.db")
	}
	if strings.ContainsRune(dsn, 0) {
		return d, invalidf("sqlite DSN %q contains a NUL byte", dsn)
	}
	rest, isURI := strings.CutPrefix(dsn, "file:")
	if !isURI {
		d.path = dsn
	} else {
		rawPath, rawQuery, _ := strings.Cut(rest, "?")
		rawPath, _, _ = strings.Cut(rawPath, "#")
		if after, ok := strings.CutPrefix(rawPath, "//"); ok {
			authority, p, found := strings.Cut(after, "/")
			if authority != "" && authority != "localhost" {
				return d, invalidf("sqlite DSN %q: host %q is not allowed; SQLite URIs name local files", dsn, authority)
			}
			if !found {
				return d, invalidf("sqlite DSN %q names no file", dsn)
			}
			rawPath = "/" + p
		}
		p, err := url.PathUnescape(rawPath)
		if err != nil {
			return d, invalidf("sqlite DSN %q: bad escape in path: %v", dsn, err)
		}
		d.path = p
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return d, invalidf("sqlite DSN %q: bad query: %v", dsn, err)
		}
		for key, values := range q {
			if err := d.setParam(dsn, key, values); err != nil {
				return d, err
			}
		}
	}
	if d.path == "" {
		return d, invalidf("sqlite DSN %q names no file", dsn)
	}
	if strings.ContainsRune(d.path, 0) {
		return d, invalidf("sqlite DSN %q: file name contains a NUL byte", dsn)
	}
	if d.path == ":memory:" || strings.HasPrefix(d.path, ":memory:") {
		return d, invalidf("sqlite DSN %q is in memory; syncd needs a database file", dsn)
	}
	return d, nil
}

func (d *sqliteDSN) setParam(dsn, key string, values []string) error {
	if key == "_pragma" {
		for _, v := range values {
			if sqliteManagedPragma(v) {
				return invalidf("sqlite DSN %q: _pragma %q is set by syncd and cannot be changed", dsn, v)
			}
			if strings.ContainsRune(v, ';') {
				return invalidf("sqlite DSN %q: _pragma %q holds more than one statement", dsn, v)
			}
			d.params.Add(key, v)
		}
		return nil
	}
	if _, ok := sqliteTunable()[key]; !ok {
		return invalidf("sqlite DSN %q: parameter %q is not supported (supported: _busy_timeout, _synchronous, _pragma)", dsn, key)
	}
	if len(values) != 1 {
		return invalidf("sqlite DSN %q: parameter %q is given %d times", dsn, key, len(values))
	}
	d.params.Set(key, values[0])
	return nil
}

// uri renders the DSN for modernc.org/sqlite with the store's own settings.
func (d sqliteDSN) uri(extra map[string]string) string {
	q := url.Values{}
	for k, v := range sqliteTunable() {
		q.Set(k, v)
	}
	for k, v := range d.params {
		q[k] = v
	}
	for k, v := range extra {
		q.Set(k, v)
	}
	p := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(d.path)
	if strings.HasPrefix(p, "/") {
		p = "//" + p // empty authority: file:///abs/path
	}
	return fmt.Sprintf("file:%s?%s", p, q.Encode())
}

// writer is the DSN of the single writing connection: write transactions take the
// database's write lock when they begin (BEGIN IMMEDIATE), so two writers queue on
// the busy timeout instead of failing on lock upgrade.
func (d sqliteDSN) writer() string {
	return d.uri(map[string]string{"_journal_mode": "WAL", "_foreign_keys": "1", "_txlock": "immediate"})
}

// reader is the DSN of the read pool.
func (d sqliteDSN) reader() string {
	return d.uri(map[string]string{"_foreign_keys": "1", "_query_only": "1"})
}

// lockPath is the file the leader lock is taken on, beside the database.
func (d sqliteDSN) lockPath() string {
	return d.path + ".lock"
}

package store

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSQLiteDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn        string
		wantPath   string
		wantParams url.Values
		wantErr    string
	}{
		{dsn: "syncd.db", wantPath: "syncd.db"},
		{dsn: "/var/lib/syncd/syncd.db", wantPath: "/var/lib/syncd/syncd.db"},
		{dsn: "dir with space/a?b#c.db", wantPath: "dir with space/a?b#c.db"},
		{dsn: "file:syncd.db", wantPath: "syncd.db"},
		{dsn: "file:///var/lib/syncd.db", wantPath: "/var/lib/syncd.db"},
		{dsn: "file://localhost/var/lib/syncd.db", wantPath: "/var/lib/syncd.db"},
		{dsn: "file:a%3Fb.db", wantPath: "a?b.db"},
		{dsn: "file:syncd.db?_busy_timeout=5000&_pragma=cache_size(-20000)", wantPath: "syncd.db",
			wantParams: url.Values{"_busy_timeout": {"5000"}, "_pragma": {"cache_size(-20000)"}}},
		{dsn: "", wantErr: "empty"},
		{dsn: ":memory:", wantErr: "in memory"},
		{dsn: "file::memory:?cache=shared", wantErr: "not supported"},
		{dsn: "file::memory:", wantErr: "in memory"},
		{dsn: "file:", wantErr: "names no file"},
		{dsn: "file://host/x.db", wantErr: `host "host"`},
		{dsn: "file:x.db?_txlock=deferred", wantErr: `parameter "_txlock" is not supported`},
		{dsn: "file:x.db?_pragma=journal_mode(DELETE)", wantErr: "set by syncd"},
		{dsn: "file:x.db?_pragma=cache_size(1)%3Bdrop", wantErr: "more than one statement"},
		{dsn: "file:x.db?_busy_timeout=1&_busy_timeout=2", wantErr: "given 2 times"},
		{dsn: "file:x%zz.db", wantErr: "bad escape"},
		{dsn: "file:x.db?a=%zz", wantErr: "bad query"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			got, err := parseSQLiteDSN(tc.dsn)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want ErrInvalid mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.path != tc.wantPath {
				t.Errorf("path = %q, want %q", got.path, tc.wantPath)
			}
			if d := cmp.Diff(tc.wantParams, got.params, cmp.Comparer(func(a, b url.Values) bool {
				return len(a) == 0 && len(b) == 0 || cmp.Equal(map[string][]string(a), map[string][]string(b))
			})); d != "" {
				t.Errorf("params (-want +got):\n%s", d)
			}
			// What the store hands the driver parses back to the same file.
			again, err := parseSQLiteDSN(strings.SplitN(got.writer(), "?", 2)[0])
			if err != nil || again.path != got.path {
				t.Errorf("writer DSN %q parses back to %q, %v", got.writer(), again.path, err)
			}
			if !strings.Contains(got.writer(), "_txlock=immediate") || !strings.Contains(got.writer(), "_journal_mode=WAL") {
				t.Errorf("writer DSN %q lacks WAL or immediate transactions", got.writer())
			}
			if got.lockPath() != tc.wantPath+".lock" {
				t.Errorf("lock path = %q", got.lockPath())
			}
		})
	}
}

// FuzzParseSQLiteDSN checks that any accepted DSN renders to driver DSNs that name
// the same file, keep the store's settings, and never smuggle in extra parameters.
func FuzzParseSQLiteDSN(f *testing.F) {
	for _, seed := range []string{"syncd.db", "file:syncd.db?_busy_timeout=5000", "file:///a/b.db",
		"file:a%23b?_pragma=cache_size(1)", ":memory:", "file::memory:", "a?b#c", "file://localhost/x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		d, err := parseSQLiteDSN(dsn)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		for _, rendered := range []string{d.writer(), d.reader()} {
			name, query, _ := strings.Cut(rendered, "?")
			again, err := parseSQLiteDSN(name)
			if err != nil || again.path != d.path {
				t.Fatalf("%q -> %q parses back to %q, %v", dsn, rendered, again.path, err)
			}
			q, err := url.ParseQuery(query)
			if err != nil {
				t.Fatalf("%q -> %q: query does not parse: %v", dsn, rendered, err)
			}
			for key := range q {
				switch key {
				case "_busy_timeout", "_synchronous", "_pragma", "_journal_mode", "_foreign_keys", "_txlock", "_query_only":
				default:
					t.Fatalf("%q -> %q: unexpected parameter %q", dsn, rendered, key)
				}
			}
		}
		if !strings.Contains(d.writer(), "_txlock=immediate") {
			t.Fatalf("%q: writer %q lacks immediate transactions", dsn, d.writer())
		}
	})
}

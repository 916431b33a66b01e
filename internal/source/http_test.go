package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeExport serves an export file with an ETag, honouring If-None-Match.
type fakeExport struct {
	mu   sync.Mutex
	body string
	etag string
	// lastModified, when set, is sent as Last-Modified; without an ETag a matching
	// If-Modified-Since is answered 304.
	lastModified string
	status       int  // when set, answer this status instead
	shortBy      int  // declare a Content-Length this many bytes longer than the body sent
	chunked      bool // send the body in pieces, without a Content-Length
	slow         time.Duration
	user         string
	password     string
	gets         int
	got304       int
	accept       string
}

func (f *fakeExport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	f.accept = r.Header.Get("Accept")
	if f.slow > 0 {
		f.mu.Unlock()
		select {
		case <-time.After(f.slow):
		case <-r.Context().Done():
		}
		f.mu.Lock()
		return
	}
	if u, p, ok := r.BasicAuth(); f.user != "" && (!ok || u != f.user || p != f.password) {
		http.Error(w, "who are you", http.StatusUnauthorized)
		return
	}
	if f.status != 0 {
		http.Error(w, "export failed", f.status)
		return
	}
	if f.lastModified != "" {
		w.Header().Set("Last-Modified", f.lastModified)
		if f.etag == "" && r.Header.Get("If-Modified-Since") == f.lastModified {
			f.got304++
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if f.etag != "" {
		w.Header().Set("ETag", f.etag)
		if r.Header.Get("If-None-Match") == f.etag {
			f.got304++
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if f.shortBy > 0 {
		w.Header().Set("Content-Length", fmt.Sprint(len(f.body)+f.shortBy))
	}
	if f.chunked {
		half := len(f.body) / 2
		fmt.Fprint(w, f.body[:half])
		w.(http.Flusher).Flush()
		fmt.Fprint(w, f.body[half:])
		return
	}
	fmt.Fprint(w, f.body)
}

func (f *fakeExport) set(change func(*fakeExport)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

const exportCSV = "id,email,surname\n1,a@acme.example,A\n2,b@acme.example,B\n"

func newHTTPSource(t *testing.T, fake *fakeExport, mutate func(*Config)) Source {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg := Config{Type: TypeHTTP, URL: srv.URL + "/export.csv", Format: FormatCSV}
	if mutate != nil {
		mutate(&cfg)
	}
	src, err := New(cfg, Options{HTTPClient: srv.Client(), Clock: fixedClock,
		LookupEnv: func(k string) (string, bool) {
			return map[string]string{"EXPORT_PASSWORD": "pw"}[k], k == "EXPORT_PASSWORD"
		}})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestHTTPETag(t *testing.T) {
	fake := &fakeExport{body: exportCSV, etag: `"v1"`}
	src := newHTTPSource(t, fake, nil)
	ctx := context.Background()

	first, err := src.Pull(ctx)
	if err != nil || !first.Complete || first.NotModified || first.Count != 2 {
		t.Fatalf("first pull: %+v, %v", first, err)
	}
	if fake.accept != "text/csv" {
		t.Errorf("Accept %q", fake.accept)
	}
	second, err := src.Pull(ctx)
	if err != nil || !second.Complete || !second.NotModified || fake.got304 != 1 {
		t.Fatalf("second pull: NotModified %v, err %v, 304s %d", second.NotModified, err, fake.got304)
	}
	if second.Digest != first.Digest || second.Count != first.Count || second.Records != nil {
		t.Errorf("a 304 gave digest %s, count %d and %d records; want the previous snapshot's digest and count, without records", second.Digest, second.Count, len(second.Records))
	}

	fake.set(func(f *fakeExport) { f.body = exportCSV + "3,c@acme.example,C\n"; f.etag = `"v2"` })
	third, err := src.Pull(ctx)
	if err != nil || third.NotModified || third.Count != 3 || third.Digest == first.Digest {
		t.Fatalf("third pull after a change: %+v, %v", third, err)
	}
}

func TestHTTPFailuresAreIncomplete(t *testing.T) {
	t.Run("server error", func(t *testing.T) {
		src := newHTTPSource(t, &fakeExport{status: http.StatusBadGateway}, nil)
		snap, err := src.Pull(context.Background())
		assertIncomplete(t, snap, err, "HTTP 502: export failed")
	})
	t.Run("a token in the query stays out of the reasons", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close() // connection refused
		src, err := New(Config{Type: TypeHTTP, URL: srv.URL + "/x.csv?token=s3cret", Format: FormatCSV}, Options{Clock: fixedClock})
		if err != nil {
			t.Fatal(err)
		}
		snap, err := src.Pull(context.Background())
		assertIncomplete(t, snap, err, "GET "+srv.URL+"/x.csv: ")
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("reason leaks the token: %v", err)
		}
	})
	t.Run("304 without a previous pull", func(t *testing.T) {
		src := newHTTPSource(t, &fakeExport{status: http.StatusNotModified}, nil)
		snap, err := src.Pull(context.Background())
		assertIncomplete(t, snap, err, "HTTP 304")
	})
	t.Run("short read", func(t *testing.T) {
		src := newHTTPSource(t, &fakeExport{body: exportCSV, shortBy: 100}, nil)
		snap, err := src.Pull(context.Background())
		assertIncomplete(t, snap, err, "unexpected EOF")
	})
	t.Run("Content-Length above max_bytes", func(t *testing.T) {
		fake := &fakeExport{body: exportCSV}
		src := newHTTPSource(t, fake, func(c *Config) { c.MaxBytes = 20 })
		snap, err := src.Pull(context.Background())
		assertIncomplete(t, snap, err, fmt.Sprintf("Content-Length %d: input larger than source.max_bytes (20 bytes)", len(exportCSV)))
	})
	t.Run("chunked body above max_bytes", func(t *testing.T) {
		fake := &fakeExport{body: exportCSV, chunked: true}
		src := newHTTPSource(t, fake, func(c *Config) { c.MaxBytes = int64(len(exportCSV) - 1) })
		snap, err := src.Pull(context.Background())
		assertIncomplete(t, snap, err, "raise source.max_bytes if the export really is that large")
		if snap.Count != 1 {
			t.Errorf("Count %d, want the 1 record before the cap", snap.Count)
		}
	})
	t.Run("slow server", func(t *testing.T) {
		src := newHTTPSource(t, &fakeExport{body: exportCSV, slow: 5 * time.Second}, func(c *Config) { c.Timeout = 50 * time.Millisecond })
		snap, err := src.Pull(context.Background())
		assertIncomplete(t, snap, err, "GET ")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
		}
	})
	t.Run("an incomplete pull is not cached for 304", func(t *testing.T) {
		fake := &fakeExport{body: "id,email,surname\n", etag: `"empty"`}
		src := newHTTPSource(t, fake, nil)
		if _, err := src.Pull(context.Background()); err == nil {
			t.Fatal("header-only export pulled as complete")
		}
		snap, err := src.Pull(context.Background())
		assertIncomplete(t, snap, err, "header row but no records")
		if fake.got304 != 0 {
			t.Errorf("If-None-Match sent after an incomplete pull")
		}
	})
}

// TestHTTPUnknownLength reads an export sent chunked (no Content-Length) that is
// longer than the rows the record slice is sized after.
func TestHTTPUnknownLength(t *testing.T) {
	body := "id,email,surname\n" + strings.Repeat("1,a@acme.example,A\n", 3*ctxCheckEvery)
	src := newHTTPSource(t, &fakeExport{body: body, chunked: true}, nil)
	snap, err := src.Pull(context.Background())
	if err != nil || snap.Count != 3*ctxCheckEvery {
		t.Fatalf("Pull: %d records, %v", snap.Count, err)
	}
}

func TestHTTPBasicAuth(t *testing.T) {
	fake := &fakeExport{body: exportCSV, user: "syncd", password: "pw"}
	src := newHTTPSource(t, fake, func(c *Config) {
		c.Auth = AuthConfig{Method: "basic", Username: "syncd", PasswordEnv: "EXPORT_PASSWORD"}
	})
	if snap, err := src.Pull(context.Background()); err != nil || snap.Count != 2 {
		t.Fatalf("Pull: %v", err)
	}
	wrong := newHTTPSource(t, fake, func(c *Config) {
		c.Auth = AuthConfig{Method: "basic", Username: "syncd", PasswordEnv: "UNSET"}
	})
	snap, err := wrong.Pull(context.Background())
	assertIncomplete(t, snap, err, "environment variable UNSET is unset or empty")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"valid file", Config{Type: "file", Path: "/x.csv", Format: "csv"}, ""},
		{"valid scim", Config{Type: "scim", URL: "https://idp.example/scim/v2", Auth: AuthConfig{Method: "bearer", TokenEnv: "T"}}, ""},
		{"nothing", Config{}, "source.type: required: one of file, http, scim"},
		{"credentials in the URL", Config{Type: "http", URL: "https://me:pw@idp.example/x.csv", Format: "csv"},
			"source.url: must not carry credentials; use source.auth with a file or environment variable"},
		{"every problem at once", Config{Type: "http", URL: "ftp://x", Path: "/x", Format: "xml", Timeout: -1,
			CSV: CSVConfig{Delimiter: "ab"}, Auth: AuthConfig{Method: "bearer"}, SCIM: SCIMConfig{Filter: "x"}},
			`source.url: "ftp://x" is not an absolute http or https URL
source.path: not used by type http (use url)
source.format: "xml" is not one of csv, json, ndjson, scim
source.scim: only used by type scim
source.csv.delimiter: "ab" must be a single character other than a quote or line break
source.timeout: must not be negative
source.auth: bearer needs exactly one of token_file, token_env`},
		{"count trailer on JSON, negative max_bytes", Config{Type: "file", Path: "/x.json", Format: "json", CountTrailer: true, MaxBytes: -1},
			"source.max_bytes: must not be negative\nsource.count_trailer: only csv and ndjson exports have a count trailer (json and scim documents have an end of their own)"},
		{"bearer over plain http off loopback", Config{Type: "scim", URL: "http://idp.example/scim/v2", Auth: AuthConfig{Method: "bearer", TokenEnv: "T"}},
			"source.url: plain http would send the bearer credentials in clear text; use https (plain http is allowed only on loopback: 127.0.0.0/8, ::1, localhost)"},
		{"basic over plain http off loopback", Config{Type: "http", URL: "http://10.0.0.1/x.csv", Format: "csv", Auth: AuthConfig{Method: "basic", Username: "u", PasswordEnv: "P"}},
			"source.url: plain http would send the basic credentials in clear text; use https (plain http is allowed only on loopback: 127.0.0.0/8, ::1, localhost)"},
		{"bearer over plain http on loopback", Config{Type: "scim", URL: "http://127.0.0.2:8080/scim/v2", Auth: AuthConfig{Method: "bearer", TokenEnv: "T"}}, ""},
		{"bearer over plain http to localhost", Config{Type: "scim", URL: "http://localhost/scim/v2", Auth: AuthConfig{Method: "bearer", TokenEnv: "T"}}, ""},
		{"bearer over plain http to ::1", Config{Type: "scim", URL: "http://[::1]:9/scim/v2", Auth: AuthConfig{Method: "bearer", TokenEnv: "T"}}, ""},
		{"plain http without credentials", Config{Type: "http", URL: "http://idp.example/x.csv", Format: "csv"}, ""},
		{"inline credentials without method", Config{Type: "file", Path: "/x", Format: "csv", Auth: AuthConfig{TokenFile: "/t"}},
			"source.auth.method: credentials are given but method is none; set bearer or basic"},
		{"basic without username", Config{Type: "scim", URL: "http://127.0.0.1/scim", Auth: AuthConfig{Method: "basic", PasswordFile: "/p"}, SCIM: SCIMConfig{Paging: "page"}},
			"source.scim.paging: \"page\" is not one of index, cursor\nsource.auth.username: required for basic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	empty := dir + "/empty"
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := authenticator{cfg: AuthConfig{Method: "bearer", TokenFile: empty}}
	if _, err := a.secret(empty, ""); err == nil {
		t.Error("an empty token file was accepted")
	}
}

package salesforce

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/secret"
	"github.com/syncd-io/syncd/internal/sfsim"
)

// testKey is the RSA key of the simulated connected app, made once per test binary:
// generating one per test would dominate the run time.
var testKey = sync.OnceValues(func() (*testKeyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "syncd test connected app"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &testKeyPair{
		key:       key,
		cert:      cert,
		pkcs1PEM:  pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		pkcs8PEM:  mustPKCS8(key),
		certPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		certOwner: key,
	}, nil
})

type testKeyPair struct {
	key       *rsa.PrivateKey
	cert      *x509.Certificate
	pkcs1PEM  []byte
	pkcs8PEM  []byte
	certPEM   []byte
	certOwner *rsa.PrivateKey
}

func mustPKCS8(key *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func keyPair(t testing.TB) *testKeyPair {
	t.Helper()
	kp, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// simEnv is a simulated org served over loopback HTTP and a client connected to it
// with the JWT bearer flow.
type simEnv struct {
	sim      *sfsim.Server
	url      string
	client   *Client
	observer *recordingObserver
}

// newSimEnv starts sfsim with opts (its JWT certificate set to the test key) and a
// client configured by mod.
func newSimEnv(t testing.TB, opts sfsim.Options, mod func(*Config)) *simEnv {
	t.Helper()
	return newWrappedSimEnv(t, opts, nil, mod)
}

// newWrappedSimEnv is newSimEnv with sfsim served through wrap, when not nil, so that
// a test can reorder or hold answers on their way back.
func newWrappedSimEnv(t testing.TB, opts sfsim.Options, wrap func(http.Handler) http.Handler, mod func(*Config)) *simEnv {
	t.Helper()
	kp := keyPair(t)
	opts.JWTCertificate = kp.cert
	sim, err := sfsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	src, err := NewJWTSource(JWTConfig{
		LoginURL:   hs.URL,
		ClientID:   sfsim.DefaultClientID,
		Username:   sfsim.DefaultUsername,
		PrivateKey: kp.key,
		HTTPClient: hs.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	obs := &recordingObserver{}
	cfg := Config{TokenSource: src, HTTPClient: hs.Client(), Observer: obs, Retry: fastRetry}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &simEnv{sim: sim, url: hs.URL, client: c, observer: obs}
}

func TestSimConnectWithJWT(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	users, err := QueryAll[User](context.Background(), env.client, "SELECT Id, Username, IsActive FROM User")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Username != sfsim.DefaultUsername || !users[0].IsActive {
		t.Errorf("users = %+v, want only the integration user", users)
	}
}

// newUserFields returns the fields of a valid new user on the given profile.
func newUserFields(username, profileID string) Fields {
	return Fields{
		"Username": username, "LastName": "Doe", "FirstName": "Jo", "Email": username,
		"Alias": "jdoe", "TimeZoneSidKey": "America/New_York", "LocaleSidKey": "en_US",
		"EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US", "ProfileId": profileID,
	}
}

func TestSimOAuthErrors(t *testing.T) {
	kp := keyPair(t)
	sim, err := sfsim.New(sfsim.Options{JWTCertificate: kp.cert})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	otherKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	good := JWTConfig{LoginURL: hs.URL, ClientID: sfsim.DefaultClientID, Username: sfsim.DefaultUsername, PrivateKey: kp.key, HTTPClient: hs.Client()}
	tests := []struct {
		name     string
		mod      func(*JWTConfig)
		wantCode string
	}{
		{"unknown consumer key", func(c *JWTConfig) { c.ClientID = "nope" }, "invalid_client_id"},
		{"key not matching the certificate", func(c *JWTConfig) { c.PrivateKey = otherKey }, "invalid_grant"},
		{"wrong audience", func(c *JWTConfig) { c.Audience = "https://wrong.example.com" }, "invalid_grant"},
		{"clock far behind", func(c *JWTConfig) { c.Now = func() time.Time { return time.Now().Add(-time.Hour) } }, "invalid_grant"},
		{"unknown user", func(c *JWTConfig) { c.Username = "nobody@example.com" }, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			src, err := NewJWTSource(cfg)
			if err != nil {
				t.Fatal(err)
			}
			obs := &recordingObserver{}
			c, err := New(Config{TokenSource: src, HTTPClient: hs.Client(), Observer: obs, Retry: fastRetry})
			if err != nil {
				t.Fatal(err)
			}
			_, err = QueryAll[User](context.Background(), c, "SELECT Id FROM User")
			var oe *OAuthError
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want an *OAuthError", err)
			}
			if oe.Code != tt.wantCode || oe.Description == "" || oe.StatusCode != 400 {
				t.Errorf("OAuthError = %+v, want code %s with a description", oe, tt.wantCode)
			}
			if oe.Hint == "" {
				t.Errorf("no hint for %q / %q", oe.Code, oe.Description)
			}
			if ClassOf(err) != ClassAuth {
				t.Errorf("class = %v, want auth", ClassOf(err))
			}
			// One token request, no REST call, no retry of an auth failure.
			want := []Call{{Endpoint: "oauth2.token", Method: "POST", StatusCode: 400, Class: ClassAuth}}
			if diff := cmp.Diff(want, obs.get()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSimClientCredentials(t *testing.T) {
	sim, err := sfsim.New(sfsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	for _, tt := range []struct {
		secret   string
		wantCode string
	}{
		{sfsim.DefaultClientSecret, ""},
		{"wrong", "invalid_client"},
	} {
		src, err := NewClientCredentialsSource(ClientCredentialsConfig{LoginURL: hs.URL, ClientID: sfsim.DefaultClientID, ClientSecret: secret.New(tt.secret), HTTPClient: hs.Client()})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := src.Token()
		var oe *OAuthError
		switch {
		case tt.wantCode == "" && (err != nil || InstanceURL(tok) == "" || tok.AccessToken == ""):
			t.Errorf("client credentials: token %+v, err %v", tok, err)
		case tt.wantCode != "" && (!errors.As(err, &oe) || oe.Code != tt.wantCode || oe.Hint == ""):
			t.Errorf("secret %q: err = %v, want %s with a hint", tt.secret, err, tt.wantCode)
		}
	}
}

// TestSimTokenExpiresWhilePaging reads 5000 users in pages of 2000 while the session
// expires after the first page: the token is renewed once and paging continues.
func TestSimTokenExpiresWhilePaging(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	if err := env.sim.SetSeats("Salesforce", 6000); err != nil {
		t.Fatal(err)
	}
	addUsers(t, env.sim, 5000)
	q, err := UsersQuery()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	pages := 0
	for page, err := range Query[User](context.Background(), env.client, q) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if page.TotalSize != 5001 {
			t.Errorf("totalSize = %d, want 5001", page.TotalSize)
		}
		for _, u := range page.Records {
			if seen[u.ID] {
				t.Errorf("user %s read twice", u.ID)
			}
			seen[u.ID] = true
		}
		if pages == 1 {
			env.sim.ExpireSessions()
		}
	}
	if len(seen) != 5001 || pages != 3 {
		t.Errorf("read %d users in %d pages, want 5001 in 3", len(seen), pages)
	}
	if n := countCalls(env.observer.get(), "oauth2.token", ClassNone); n != 2 {
		t.Errorf("token requests = %d, want 2", n)
	}
	if n := countCalls(env.observer.get(), "query", ClassAuth); n != 1 {
		t.Errorf("rejected page requests = %d, want 1", n)
	}
}

// addUsers adds n Standard users named user<i>@acme.example.com.
func addUsers(t testing.TB, sim *sfsim.Server, n int) []string {
	t.Helper()
	users := make([]sfsim.SeedUser, n)
	for i := range users {
		users[i] = sfsim.SeedUser{
			Username: fmt.Sprintf("user%06d@acme.example.com", i), LastName: fmt.Sprintf("User %d", i),
			FederationIdentifier: fmt.Sprintf("E%06d", i), Department: "Sales", Title: "Account Executive",
		}
	}
	ids, err := sim.AddUsers(users...)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func countCalls(calls []Call, endpoint string, class Class) int {
	n := 0
	for _, c := range calls {
		if c.Endpoint == endpoint && c.Class == class {
			n++
		}
	}
	return n
}

func TestSimSessionRejectedOnNthCall(t *testing.T) {
	for _, tt := range []struct {
		name      string
		count     int
		wantClass Class
		wantGets  int
	}{
		{"one rejection: renewed and retried", 1, ClassNone, 4},
		{"rejected again after renewal: auth error, no loop", 2, ClassAuth, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newSimEnv(t, sfsim.Options{}, nil)
			id := env.sim.IntegrationUserID()
			env.sim.InjectFault(sfsim.FaultRule{Endpoint: "sobject.get", Skip: 2, Count: tt.count, Fault: sfsim.SessionFault()})
			var err error
			for range 3 {
				var u User
				if err = env.client.Get(context.Background(), "User", id, []string{"Id", "Username"}, &u); err != nil {
					break
				}
				if u.Username != sfsim.DefaultUsername {
					t.Errorf("user = %+v", u)
				}
			}
			if ClassOf(err) != tt.wantClass {
				t.Fatalf("err = %v (class %v), want class %v", err, ClassOf(err), tt.wantClass)
			}
			if got := env.sim.Calls()["sobject.get"]; got != tt.wantGets {
				t.Errorf("GETs = %d, want %d", got, tt.wantGets)
			}
			if got := env.sim.Calls()["token"]; got != 2 {
				t.Errorf("token requests = %d, want 2", got)
			}
		})
	}
}

func TestSimErrorStorms(t *testing.T) {
	tests := []struct {
		name      string
		fault     sfsim.Fault
		count     int
		wantClass Class
		wantSent  int
	}{
		{"503 storm then success", sfsim.UnavailableFault(), 3, ClassNone, 4},
		{"lock storm then success", sfsim.LockRowFault(), 2, ClassNone, 3},
		{"persistent 503 is bounded", sfsim.UnavailableFault(), 100, ClassRetryable, fastRetry.MaxAttempts},
		{"persistent lock is bounded", sfsim.LockRowFault(), 100, ClassRetryable, fastRetry.MaxAttempts},
		{"HTML error page", sfsim.RawFault(502, "text/html", "<html><h1>Bad Gateway</h1></html>"), 1, ClassNone, 2},
		{"empty error array", sfsim.RawFault(400, "application/json", "[]"), 1, ClassPermanent, 1},
		{"dropped connection", sfsim.DropFault(), 1, ClassNone, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newSimEnv(t, sfsim.Options{}, nil)
			ids := addUsers(t, env.sim, 3)
			env.sim.InjectFault(sfsim.FaultRule{Endpoint: "collections.update", Count: tt.count, Fault: tt.fault})
			updates := make([]RecordUpdate, len(ids))
			for i, id := range ids {
				updates[i] = RecordUpdate{ID: id, Fields: Fields{"Title": "Engineer"}}
			}
			results, err := env.client.UpdateRecords(context.Background(), "User", updates)
			if ClassOf(err) != tt.wantClass {
				t.Fatalf("err = %v (class %v), want class %v", err, ClassOf(err), tt.wantClass)
			}
			if got := env.sim.Calls()["collections.update"]; got != tt.wantSent {
				t.Errorf("calls = %d, want %d", got, tt.wantSent)
			}
			if err != nil {
				var be *BatchError
				if !errors.As(err, &be) || be.Offset != 0 || len(results) != 0 {
					t.Errorf("err = %#v, results %v; want a BatchError at 0 and no results", err, results)
				}
				return
			}
			for i, r := range results {
				if !r.Success || r.Index != i || r.ID != ids[i] {
					t.Errorf("result %d = %+v", i, r)
				}
				if u, _ := env.sim.User(ids[i]); u.Fields["Title"] != "Engineer" {
					t.Errorf("user %s Title = %v", ids[i], u.Fields["Title"])
				}
			}
		})
	}
}

func TestSimDroppedCreateIsOutcomeUnknown(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	profile, _ := env.sim.ProfileID("Standard User")
	env.sim.InjectFault(sfsim.FaultRule{Endpoint: "sobject.create", Count: 1, Fault: sfsim.DropFault()})
	_, err := env.client.Create(context.Background(), "User", newUserFields("new@acme.example.com", profile))
	if ClassOf(err) != ClassOutcomeUnknown {
		t.Fatalf("err = %v (class %v), want outcome_unknown", err, ClassOf(err))
	}
	if got := env.sim.Calls()["sobject.create"]; got != 1 {
		t.Errorf("creates sent = %d, want 1: a create is never retried blindly", got)
	}

	env.sim.InjectFault(sfsim.FaultRule{Endpoint: "collections.create", Count: 1, Fault: sfsim.DropFault()})
	results, err := env.client.CreateRecords(context.Background(), "User", []Fields{newUserFields("new2@acme.example.com", profile)})
	if ClassOf(err) != ClassOutcomeUnknown || len(results) != 0 {
		t.Fatalf("collections: results %v, err = %v (class %v), want outcome_unknown", results, err, ClassOf(err))
	}
	if got := env.sim.Calls()["collections.create"]; got != 1 {
		t.Errorf("collections creates sent = %d, want 1", got)
	}
}

func TestSimAllowance(t *testing.T) {
	t.Run("exhausted: REQUEST_LIMIT_EXCEEDED is rate-limited, not retried", func(t *testing.T) {
		env := newSimEnv(t, sfsim.Options{APIMax: 1000}, nil)
		env.sim.SetOtherUsage(1000)
		_, err := QueryAll[User](context.Background(), env.client, "SELECT Id FROM User")
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || !apiErr.HasCode(CodeRequestLimitExceeded) {
			t.Fatalf("err = %v, want 403 REQUEST_LIMIT_EXCEEDED", err)
		}
		if ClassOf(err) != ClassRateLimited {
			t.Errorf("class = %v, want rate_limited", ClassOf(err))
		}
		if got := env.sim.Calls()["query"]; got != 1 {
			t.Errorf("queries = %d, want 1", got)
		}
	})
	t.Run("reserve: refused before sending", func(t *testing.T) {
		env := newSimEnv(t, sfsim.Options{APIMax: 1000}, func(c *Config) { c.Reserve = 0.2 })
		env.sim.SetOtherUsage(790)
		ctx := context.Background()
		if _, err := QueryAll[User](ctx, env.client, "SELECT Id FROM User"); err != nil {
			t.Fatalf("first call: %v", err)
		}
		used, limit := env.sim.APIUsage()
		if u, ok := env.client.Usage(); !ok || u.Used != used || u.Max != limit {
			t.Errorf("Usage() = %+v, sfsim says %d/%d", u, used, limit)
		}
		env.sim.SetOtherUsage(800)
		if _, err := QueryAll[User](ctx, env.client, "SELECT Id FROM User"); err != nil {
			t.Fatalf("second call, usage last seen under the reserve: %v", err)
		}
		_, err := QueryAll[User](ctx, env.client, "SELECT Id FROM User")
		var re *ReserveError
		if !errors.As(err, &re) || ClassOf(err) != ClassRateLimited {
			t.Fatalf("third call: err = %v, want a rate-limited *ReserveError", err)
		}
		if got := env.sim.Calls()["query"]; got != 2 {
			t.Errorf("queries sent = %d, want 2", got)
		}
		// Other integrations' usage falls out of the window; Limits, exempt from the
		// reserve, brings the news.
		env.sim.SetOtherUsage(0)
		limits, err := env.client.Limits(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := limits["DailyApiRequests"]; d.Max != 1000 || d.Remaining <= 800 {
			t.Errorf("DailyApiRequests = %+v", d)
		}
		if _, err := QueryAll[User](ctx, env.client, "SELECT Id FROM User"); err != nil {
			t.Errorf("after usage fell: %v", err)
		}
	})
}

func TestSimUpsert(t *testing.T) {
	dup := "DUP-1"
	env := newSimEnv(t, sfsim.Options{Seed: &sfsim.Seed{Users: []sfsim.SeedUser{
		{Username: "a@acme.example.com", LastName: "A", FederationIdentifier: dup},
		{Username: "b@acme.example.com", LastName: "B", FederationIdentifier: dup},
	}}}, nil)
	ctx := context.Background()
	profile, _ := env.sim.ProfileID("Standard User")

	created, err := env.client.Upsert(ctx, "User", "FederationIdentifier", "E 100 ü?#%", newUserFields("c@acme.example.com", profile))
	if err != nil || !created.Created || created.ID == "" {
		t.Fatalf("insert: %+v, %v", created, err)
	}
	if u, _ := env.sim.User(created.ID); u.Fields["FederationIdentifier"] != "E 100 ü?#%" {
		t.Errorf("FederationIdentifier = %v, want the value from the path, unescaped", u.Fields["FederationIdentifier"])
	}
	updated, err := env.client.Upsert(ctx, "User", "FederationIdentifier", "E 100 ü?#%", Fields{"Title": "CFO"})
	if err != nil || updated.Created || (updated.ID != "" && updated.ID != created.ID) {
		t.Fatalf("update: %+v, %v; want the same record, not created", updated, err)
	}
	if u, _ := env.sim.User(created.ID); u.Fields["Title"] != "CFO" {
		t.Errorf("Title = %v", u.Fields["Title"])
	}

	if _, err := env.client.Upsert(ctx, "User", "FederationIdentifier", "a/b", Fields{"Title": "X"}); ClassOf(err) != ClassPermanent || err == nil {
		t.Errorf("a value with a slash: err = %v, want a ConfigError before sending", err)
	}

	_, err = env.client.Upsert(ctx, "User", "FederationIdentifier", dup, Fields{"Title": "X"})
	var multi *MultipleChoicesError
	if !errors.As(err, &multi) || len(multi.URLs) != 2 || ClassOf(err) != ClassPermanent {
		t.Fatalf("err = %v, want a 300 listing both records", err)
	}
	for _, u := range []string{"a@acme.example.com", "b@acme.example.com"} {
		info, _ := env.sim.User(u)
		if info.Fields["Title"] == "X" {
			t.Errorf("%s was written despite the 300", u)
		}
	}
	if got := env.sim.Calls()["sobject.upsert"]; got != 3 {
		t.Errorf("upserts sent = %d, want 3 (a 300 is not retried)", got)
	}
}

func TestSimCollections(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	ctx := context.Background()
	profile, _ := env.sim.ProfileID("Standard User")
	env.sim.AddTakenUsernames("taken@elsewhere.example.com")

	const n = 450
	records := make([]Fields, n)
	for i := range records {
		records[i] = newUserFields(fmt.Sprintf("c%03d@acme.example.com", i), profile)
		records[i]["FederationIdentifier"] = fmt.Sprintf("F%03d", i)
	}
	records[7]["Username"] = "taken@elsewhere.example.com"
	records[250]["Email"] = "not-an-email"
	delete(records[449], "LastName")

	results, err := env.client.CreateRecords(ctx, "User", records)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != n || env.sim.Calls()["collections.create"] != 3 {
		t.Fatalf("%d results in %d calls, want %d in 3", len(results), env.sim.Calls()["collections.create"], n)
	}
	wantFailure := map[int]string{7: "DUPLICATE_USERNAME", 250: "INVALID_EMAIL_ADDRESS", 449: "REQUIRED_FIELD_MISSING"}
	for i, r := range results {
		if r.Index != i {
			t.Fatalf("result %d has index %d", i, r.Index)
		}
		code, fails := wantFailure[i]
		switch {
		case fails && (r.Success || len(r.Errors) == 0 || r.Errors[0].StatusCode != code):
			t.Errorf("record %d: %+v, want %s", i, r, code)
		case fails && ClassOf(r.Err()) != ClassPermanent:
			t.Errorf("record %d: class %v", i, ClassOf(r.Err()))
		case !fails && (!r.Success || r.ID == "" || r.Err() != nil):
			t.Errorf("record %d: %+v, want success", i, r)
		case !fails:
			if u, ok := env.sim.User(r.ID); !ok || u.Username != records[i]["Username"] {
				t.Errorf("record %d: Id %s is %+v in the org", i, r.ID, u)
			}
		}
	}
	if got := results[449].Errors[0].Fields; !slices.Contains(got, "LastName") {
		t.Errorf("REQUIRED_FIELD_MISSING fields = %v, want LastName among them", got)
	}

	// Upsert: two updates, one insert, one failure.
	upserts := []Fields{
		{"FederationIdentifier": "F000", "Title": "VP"},
		newUserFields("new@acme.example.com", profile),
		{"FederationIdentifier": "F001", "Alias": "waytoolongalias"},
		{"FederationIdentifier": "F002", "Department": "Ops"},
	}
	upserts[1]["FederationIdentifier"] = "F999"
	results, err = env.client.UpsertRecords(ctx, "User", "FederationIdentifier", upserts)
	if err != nil {
		t.Fatal(err)
	}
	want := []outcome{{0, true, false, ""}, {1, true, true, ""}, {2, false, false, "STRING_TOO_LONG"}, {3, true, false, ""}}
	if diff := cmp.Diff(want, outcomes(results)); diff != "" {
		t.Errorf("upsert outcomes (-want +got):\n%s", diff)
	}
	if u, _ := env.sim.User("c000@acme.example.com"); u.Fields["Title"] != "VP" {
		t.Errorf("upsert did not update: Title = %v", u.Fields["Title"])
	}

	if _, err := env.client.UpsertRecords(ctx, "User", "FederationIdentifier", []Fields{{"Title": "no key"}}); ClassOf(err) != ClassPermanent || err == nil {
		t.Errorf("upsert without the external id: err = %v, want a ConfigError before sending", err)
	}
	if _, err := env.client.CreateRecords(ctx, "User", []Fields{{"attributes": "x"}}); err == nil {
		t.Error("a record carrying attributes was accepted")
	}
}

func TestSimSingleRecordErrors(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{Seed: &sfsim.Seed{
		Licenses: []sfsim.SeedLicense{{Name: "Salesforce Platform", Seats: 0}},
		Users: []sfsim.SeedUser{
			{Username: "blocked@acme.example.com", LastName: "Blocked", Blockers: []string{sfsim.BlockerDefaultCaseOwner}},
			{Username: "fed@acme.example.com", LastName: "Fed", FederationIdentifier: "FED-1"},
		},
	}}, nil)
	ctx := context.Background()
	profile, _ := env.sim.ProfileID("Standard User")
	platform, _ := env.sim.ProfileID("Standard Platform User")
	blocked, _ := env.sim.User("blocked@acme.example.com")
	admin := env.sim.IntegrationUserID()
	with := func(f Fields, kv ...any) Fields {
		for i := 0; i < len(kv); i += 2 {
			f[kv[i].(string)] = kv[i+1]
		}
		return f
	}
	tests := []struct {
		name       string
		call       func() error
		wantStatus int
		wantCode   string
		wantFields []string
	}{
		{"required fields", func() error { _, err := env.client.Create(ctx, "User", Fields{"LastName": "X"}); return err },
			400, "REQUIRED_FIELD_MISSING", nil},
		{"duplicate username", func() error {
			_, err := env.client.Create(ctx, "User", newUserFields("fed@acme.example.com", profile))
			return err
		}, 400, "DUPLICATE_USERNAME", []string{"Username"}},
		{"duplicate federation id", func() error {
			_, err := env.client.Create(ctx, "User", with(newUserFields("x1@acme.example.com", profile), "FederationIdentifier", "FED-1"))
			return err
		}, 400, "DUPLICATE_VALUE", nil},
		{"duplicate nickname", func() error {
			f := with(newUserFields("x6@acme.example.com", profile), "CommunityNickname", "nick")
			if _, err := env.client.Create(ctx, "User", f); err != nil {
				return fmt.Errorf("first create: %w", err)
			}
			_, err := env.client.Create(ctx, "User", with(newUserFields("x7@acme.example.com", profile), "CommunityNickname", "nick"))
			return err
		}, 400, "DUPLICATE_COMM_NICKNAME", nil},
		{"bad profile", func() error {
			_, err := env.client.Create(ctx, "User", newUserFields("x2@acme.example.com", "00e000000000000AAA"))
			return err
		}, 400, "INVALID_CROSS_REFERENCE_KEY", nil},
		{"bad email", func() error {
			_, err := env.client.Create(ctx, "User", with(newUserFields("x3@acme.example.com", profile), "Email", "not-an-email"))
			return err
		}, 400, "INVALID_EMAIL_ADDRESS", []string{"Email"}},
		{"alias too long", func() error {
			_, err := env.client.Create(ctx, "User", with(newUserFields("x4@acme.example.com", profile), "Alias", "jonathans"))
			return err
		}, 400, "STRING_TOO_LONG", []string{"Alias"}},
		{"no seat", func() error {
			_, err := env.client.Create(ctx, "User", newUserFields("x5@acme.example.com", platform))
			return err
		}, 400, "LICENSE_LIMIT_EXCEEDED", nil},
		{"unknown field", func() error { return env.client.Update(ctx, "User", blocked.ID, Fields{"Foo": "x"}) },
			400, "INVALID_FIELD", nil},
		{"unknown record", func() error { return env.client.Update(ctx, "User", "005000000000000AAA", Fields{"Title": "x"}) },
			404, "NOT_FOUND", nil},
		{"malformed id", func() error { return env.client.Get(ctx, "User", "001000000000001AAA", nil, &User{}) },
			400, "MALFORMED_ID", nil},
		{"deactivation blocked", func() error { return env.client.Update(ctx, "User", blocked.ID, Fields{"IsActive": false}) },
			400, "FIELD_INTEGRITY_EXCEPTION", nil},
		{"last admin", func() error { return env.client.Update(ctx, "User", admin, Fields{"IsActive": false}) },
			400, "CANNOT_DISABLE_LAST_ADMIN", nil},
		{"malformed query", func() error { _, err := QueryAll[User](ctx, env.client, "SELECT FROM User"); return err },
			400, "MALFORMED_QUERY", nil},
		{"unknown column", func() error { _, err := QueryAll[User](ctx, env.client, "SELECT Foo FROM User"); return err },
			400, "INVALID_FIELD", nil},
		{"offset over 2000", func() error {
			_, err := QueryAll[User](ctx, env.client, "SELECT Id FROM User ORDER BY Id LIMIT 10 OFFSET 2001")
			return err
		}, 400, "NUMBER_OUTSIDE_VALID_RANGE", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want an *APIError", err)
			}
			if apiErr.StatusCode != tt.wantStatus || !apiErr.HasCode(tt.wantCode) {
				t.Errorf("err = %v, want %d %s", err, tt.wantStatus, tt.wantCode)
			}
			if ClassOf(err) != ClassPermanent {
				t.Errorf("class = %v, want permanent", ClassOf(err))
			}
			for _, f := range tt.wantFields {
				if !slices.Contains(apiErr.Details[0].Fields, f) {
					t.Errorf("fields = %v, want %s among them", apiErr.Details[0].Fields, f)
				}
			}
		})
	}
	if info, _ := env.sim.User(blocked.ID); !info.IsActive {
		t.Error("the blocked user was deactivated")
	}
}

func TestSimFreeze(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{Seed: &sfsim.Seed{Users: []sfsim.SeedUser{
		{Username: "a@acme.example.com", LastName: "A"},
		{Username: "b@acme.example.com", LastName: "B", Frozen: true},
		{Username: "c@acme.example.com", LastName: "C"},
	}}}, nil)
	ctx := context.Background()
	var ids []string
	for _, u := range []string{"a@acme.example.com", "b@acme.example.com", "c@acme.example.com"} {
		info, _ := env.sim.User(u)
		ids = append(ids, info.ID)
	}
	// The 15-character form of an Id is accepted too; the unknown one has no UserLogin.
	input := []string{ids[0], ids[1], ids[2][:15], "005000000000000AAA"}
	results, err := env.client.SetFrozen(ctx, input, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []outcome{{0, true, false, ""}, {1, true, false, ""}, {2, true, false, ""}, {3, false, false, "NOT_FOUND"}}
	if diff := cmp.Diff(want, outcomes(results)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	for _, id := range ids {
		if info, _ := env.sim.User(id); !info.IsFrozen {
			t.Errorf("user %s is not frozen", info.Username)
		}
	}
	// b was frozen already: one Collections call for a and c.
	if got := env.sim.Calls()["collections.update"]; got != 1 {
		t.Errorf("collections updates = %d, want 1", got)
	}
	if _, err := env.client.SetFrozen(ctx, ids[:1], false); err != nil {
		t.Fatal(err)
	}
	if info, _ := env.sim.User(ids[0]); info.IsFrozen {
		t.Error("unfreezing did not take")
	}
}

// TestSimEveryRequestObservedAndLimited runs a mixed workload and checks that the
// observer saw, and the limiter gated, exactly the requests sfsim received.
func TestSimEveryRequestObservedAndLimited(t *testing.T) {
	lim := &countingLimiter{}
	env := newSimEnv(t, sfsim.Options{}, func(c *Config) { c.Limiter = lim })
	ctx := context.Background()
	ids := addUsers(t, env.sim, 3)
	env.sim.InjectFault(sfsim.FaultRule{Endpoint: "query", Count: 1, Fault: sfsim.UnavailableFault()})
	env.sim.InjectFault(sfsim.FaultRule{Endpoint: "sobject.update", Count: 1, Fault: sfsim.SessionFault()})

	profiles, err := QueryAll[struct{ ID, Name string }](ctx, env.client, ProfilesQuery())
	if err != nil || len(profiles) == 0 {
		t.Fatalf("profiles: %v, %v", profiles, err)
	}
	roles, err := QueryAll[struct {
		ID   string `json:"Id"`
		Name string
	}](ctx, env.client, RolesQuery())
	if err != nil || len(roles) == 0 || roles[0].ID == "" {
		t.Fatalf("roles: %v, %v", roles, err)
	}
	if err := env.client.Update(ctx, "User", ids[0], Fields{"Title": "A"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.client.Limits(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.client.Update(ctx, "User", "005000000000000AAA", Fields{"Title": "A"}); err == nil {
		t.Fatal("update of an unknown user succeeded")
	}

	simREST := 0
	for endpoint, n := range env.sim.Calls() {
		if endpoint != "token" {
			simREST += n
		}
	}
	calls := env.observer.get()
	observedREST, observedTokens := 0, 0
	for _, c := range calls {
		if c.Endpoint == "oauth2.token" {
			observedTokens++
		} else {
			observedREST++
		}
	}
	if observedREST != simREST || observedTokens != env.sim.Calls()["token"] {
		t.Errorf("observed %d REST and %d token calls; sfsim received %v", observedREST, observedTokens, env.sim.Calls())
	}
	if int(lim.waits.Load()) != simREST {
		t.Errorf("limiter waits = %d, REST requests = %d", lim.waits.Load(), simREST)
	}
	wantOutcomes := map[string]int{"query/retryable": 1, "query/ok": 2, "sobject.update/auth": 1, "sobject.update/ok": 1,
		"limits/ok": 1, "sobject.update/permanent": 1, "oauth2.token/ok": 2}
	gotOutcomes := map[string]int{}
	for _, c := range calls {
		gotOutcomes[c.Endpoint+"/"+c.Class.String()]++
	}
	if diff := cmp.Diff(wantOutcomes, gotOutcomes); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

// TestSimQueryShapes reads fields of every kind sfsim renders (datetimes, nulls,
// booleans), with a batch size, and with chunked IN lists.
func TestSimQueryShapes(t *testing.T) {
	login := time.Date(2026, 11, 20, 8, 15, 0, 0, time.UTC)
	env := newSimEnv(t, sfsim.Options{Seed: &sfsim.Seed{Users: []sfsim.SeedUser{
		{Username: "seen@acme.example.com", LastName: "Seen", LastLoginDate: &login, Title: "CTO", Department: "Eng", Role: "CEO"},
	}}}, nil)
	ctx := context.Background()
	ids := addUsers(t, env.sim, 450)

	q, err := UsersQuery()
	if err != nil {
		t.Fatal(err)
	}
	pages, total := 0, 0
	var seen User
	for page, err := range Query[User](ctx, env.client, q, WithBatchSize(200)) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		total += len(page.Records)
		if len(page.Records) > 200 {
			t.Errorf("page of %d records with batchSize=200", len(page.Records))
		}
		for _, u := range page.Records {
			if u.Username == "seen@acme.example.com" {
				seen = u
			}
		}
	}
	if total != 452 || pages < 3 {
		t.Errorf("read %d users in %d pages, want 452 in at least 3", total, pages)
	}
	ceo, _ := env.sim.RoleID("CEO")
	profile, _ := env.sim.ProfileID("Standard User")
	if !seen.LastLoginDate.Equal(login) || seen.SystemModstamp.IsZero() || seen.Title != "CTO" || seen.UserRoleID != ceo ||
		seen.ProfileID != profile || !seen.IsActive || seen.UserType != "Standard" || seen.ManagerID != "" || len(seen.ID) != 18 {
		t.Errorf("user decoded as %+v", seen)
	}

	// Re-read by Username in chunks: every statement parses in sfsim and together they
	// return each user once.
	usernames := make([]string, len(ids))
	for i := range ids {
		usernames[i] = fmt.Sprintf("user%06d@acme.example.com", i)
	}
	usernames = append(usernames, "o'brien@acme.example.com") // matches nobody, must not break the query
	queries, err := UsersWhereInQueries("Username", slices.Repeat(usernames, 2), "Id", "Username")
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) < 2 {
		t.Fatalf("%d statements; want the IN list split", len(queries))
	}
	found := map[string]bool{}
	for _, q := range queries {
		users, err := QueryAll[User](ctx, env.client, q)
		if err != nil {
			t.Fatalf("%.80s...: %v", q, err)
		}
		for _, u := range users {
			found[u.ID] = true
		}
	}
	if len(found) != len(ids) {
		t.Errorf("found %d users, want %d", len(found), len(ids))
	}
}

func TestSimDeactivateAndReactivate(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	ctx := context.Background()
	ids := addUsers(t, env.sim, 1)
	for _, active := range []bool{false, true} {
		if err := env.client.Update(ctx, "User", ids[0], Fields{"IsActive": active}); err != nil {
			t.Fatal(err)
		}
		var u User
		if err := env.client.Get(ctx, "User", ids[0], []string{"Id", "IsActive"}, &u); err != nil {
			t.Fatal(err)
		}
		if info, _ := env.sim.User(ids[0]); info.IsActive != active || u.IsActive != active {
			t.Errorf("IsActive = %v in the org, %v read back; want %v", info.IsActive, u.IsActive, active)
		}
	}
}

// outcome is the gist of a RecordResult for comparisons.
type outcome struct {
	Index            int
	Success, Created bool
	Code             string // the first error's
}

func outcomes(results []RecordResult) []outcome {
	var out []outcome
	for _, r := range results {
		o := outcome{Index: r.Index, Success: r.Success, Created: r.Created}
		if len(r.Errors) > 0 {
			o.Code = r.Errors[0].StatusCode
		}
		out = append(out, o)
	}
	return out
}

func TestSimFreezePartialFailure(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	if err := env.sim.SetSeats("Salesforce", 300); err != nil {
		t.Fatal(err)
	}
	ids := addUsers(t, env.sim, 250)
	// The first user has no UserLogin row, so update k carries ids[k+1].
	input := append([]string{"005000000000000AAA"}, ids...)
	env.sim.InjectFault(sfsim.FaultRule{Endpoint: "collections.update", Skip: 1, Count: 1, Fault: sfsim.RawFault(400, "application/json", "[]")})
	results, err := env.client.SetFrozen(context.Background(), input, true)
	var be *BatchError
	if !errors.As(err, &be) || be.Offset != 201 || ClassOf(err) != ClassPermanent {
		t.Fatalf("err = %v, want a permanent BatchError at input 201", err)
	}
	if len(results) != 201 || results[0].Success || !results[200].Success || results[200].Index != 200 {
		t.Errorf("%d results; want 201 with the unknown user failed and the first 200 frozen", len(results))
	}
	if info, _ := env.sim.User(ids[199]); !info.IsFrozen {
		t.Error("user of the first call not frozen")
	}
	if info, _ := env.sim.User(ids[200]); info.IsFrozen {
		t.Error("user of the failed call frozen")
	}
}

// TestSimLostAnswer: the write takes effect but its answer is lost. A create is
// outcome-unknown and not resent (a resend would fail DUPLICATE_USERNAME); re-reading
// by Username finds the user. An update is resent and converges.
func TestSimLostAnswer(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	ctx := context.Background()
	profile, _ := env.sim.ProfileID("Standard User")

	env.sim.InjectFault(sfsim.FaultRule{Endpoint: "collections.create", Count: 1, Fault: sfsim.LostAnswerFault()})
	_, err := env.client.CreateRecords(ctx, "User", []Fields{newUserFields("lost@acme.example.com", profile)})
	if ClassOf(err) != ClassOutcomeUnknown {
		t.Fatalf("err = %v (class %v), want outcome_unknown", err, ClassOf(err))
	}
	if got := env.sim.Calls()["collections.create"]; got != 1 {
		t.Errorf("creates sent = %d, want 1", got)
	}
	queries, err := UsersWhereInQueries("Username", []string{"lost@acme.example.com"}, "Id", "Username")
	if err != nil {
		t.Fatal(err)
	}
	users, err := QueryAll[User](ctx, env.client, queries[0])
	if err != nil || len(users) != 1 {
		t.Fatalf("re-read: %v, %v; want the created user", users, err)
	}

	env.sim.InjectFault(sfsim.FaultRule{Endpoint: "sobject.update", Count: 1, Fault: sfsim.LostAnswerFault()})
	if err := env.client.Update(ctx, "User", users[0].ID, Fields{"Title": "Found"}); err != nil {
		t.Fatalf("update with a lost answer: %v, want it resent and done", err)
	}
	if got := env.sim.Calls()["sobject.update"]; got != 2 {
		t.Errorf("updates sent = %d, want 2", got)
	}
	if info, _ := env.sim.User(users[0].ID); info.Fields["Title"] != "Found" {
		t.Errorf("Title = %v", info.Fields["Title"])
	}
}

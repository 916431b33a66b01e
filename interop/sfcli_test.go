//go:build unix && sfcli

package interop

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The Salesforce CLI test is built only with the sfcli tag: its npm install takes
// minutes, so `make interop` installs it and runs this file, and `make test` does
// neither (see README.md).

// sfBin is the CLI that scripts/test-deps.sh --sfcli installs from sfcli/package-lock.json.
var sfBin = filepath.Join("sfcli", "node_modules", ".bin", "sf")

// sfCommandTimeout bounds one CLI command. A command takes 2 to 15 s on a loaded
// two-core machine, nearly all of it node loading the CLI's plugins.
const sfCommandTimeout = 3 * time.Minute

// sfOrg is the sfsim process a CLI test drives, and what the CLI should report of it.
type sfOrg struct {
	url, orgID, integrationUserID, keyPath string
}

// TestSalesforceCLI drives sfsim with the Salesforce CLI (`sf`), what Salesforce admins
// and CI pipelines use, as a user would: each step is one command line, run unchanged
// against a sfsim process, with its --json answer (or its table) checked exactly. The
// steps run in order: both logins are of the integration user, so the JWT login
// replaces the access-token one, and the commands after each use it; the update acts
// on the created record.
func TestSalesforceCLI(t *testing.T) {
	org := startCLIOrg(t)
	sf := newSFCLI(t)
	var created, seedID string
	profileID := func(t *testing.T) string {
		t.Helper()
		var res struct {
			Records []struct {
				ID string `json:"Id"`
			} `json:"records"`
		}
		sf.json(t, &res, "data", "query", "--target-org", "jwt", "--query", "SELECT Id FROM Profile WHERE Name = 'Standard User'")
		if len(res.Records) != 1 {
			t.Fatalf("Standard User profile: %+v", res)
		}
		return res.Records[0].ID
	}
	display := func(t *testing.T, alias string) {
		var got map[string]any
		sf.json(t, &got, "org", "display", "--target-org", alias)
		want := map[string]any{"id": org.orgID, "username": integrationID, "connectedStatus": "Connected",
			"alias": alias, "apiVersion": "67.0"}
		if diff := cmp.Diff(want, pick(got, want)); diff != "" {
			t.Errorf("org display --target-org %s (-want +got):\n%s", alias, diff)
		}
	}
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"org login access-token", func(t *testing.T) {
			// The token comes from elsewhere (here the client credentials grant); the CLI
			// asks userinfo who it is and then reaches the instance with doubled slashes.
			sf.env = append(sf.env, "SF_ACCESS_TOKEN="+clientCredentialsToken(t, org.url))
			var got map[string]any
			sf.json(t, &got, "org", "login", "access-token", "--instance-url", org.url, "--no-prompt", "--alias", "token")
			wantLogin(t, org, got, org.url+"/")
		}},
		{"org display", func(t *testing.T) { display(t, "token") }},
		{"data query --json, more than 2000 rows", func(t *testing.T) {
			var got struct {
				TotalSize int              `json:"totalSize"`
				Done      bool             `json:"done"`
				Records   []map[string]any `json:"records"`
			}
			sf.json(t, &got, "data", "query", "--target-org", "token", "--query",
				"SELECT Id, Username, FederationIdentifier, Profile.Name FROM User WHERE Username LIKE 'seed.%' ORDER BY Username")
			if got.TotalSize != seededUsers || !got.Done || len(got.Records) != seededUsers {
				t.Fatalf("totalSize %d, done %t, %d records; want %d, all of them", got.TotalSize, got.Done, len(got.Records), seededUsers)
			}
			for i, rec := range got.Records {
				n := i + 1
				want := map[string]any{"Username": fmt.Sprintf("seed.%04d@interop.example", n),
					"FederationIdentifier": fmt.Sprintf("seed-%04d", n), "Profile.Name": "Standard User"}
				profile, _ := rec["Profile"].(map[string]any)
				rec["Profile.Name"] = profile["Name"]
				if diff := cmp.Diff(want, pick(rec, want)); diff != "" {
					t.Fatalf("record %d (-want +got):\n%s", n, diff)
				}
			}
			seedID, _ = got.Records[0]["Id"].(string)
		}},
		{"data query, CSV of more than 2000 rows", func(t *testing.T) {
			// CSV rather than the table, which takes node a minute to draw for 2500 rows;
			// both lay out their columns from the columns=true answer.
			out := sf.run(t, "data", "query", "--target-org", "token", "--result-format", "csv", "--query",
				"SELECT Id, Username, Profile.Name FROM User WHERE Username LIKE 'seed.%' ORDER BY Username")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != seededUsers+1 || lines[0] != "Id,Username,Profile.Name" {
				t.Fatalf("%d CSV lines, the first %q; want the header Id,Username,Profile.Name and %d rows",
					len(lines), lines[0], seededUsers)
			}
			want := fmt.Sprintf("%s,seed.%04d@interop.example,Standard User", seedID, 1)
			if lines[1] != want {
				t.Errorf("first row %q, want %q", lines[1], want)
			}
		}},
		{"data get record", func(t *testing.T) {
			var byID, byWhere map[string]any
			sf.json(t, &byID, "data", "get", "record", "--target-org", "token", "--sobject", "User", "--record-id", seedID)
			sf.json(t, &byWhere, "data", "get", "record", "--target-org", "token", "--sobject", "User",
				"--where", "Username='seed.0001@interop.example' FederationIdentifier=seed-0001")
			want := map[string]any{"Id": seedID, "Username": "seed.0001@interop.example", "LastName": "Seed 0001",
				"FirstName": "Ada", "IsActive": true, "FederationIdentifier": "seed-0001"}
			for name, got := range map[string]map[string]any{"by Id": byID, "by --where": byWhere} {
				if diff := cmp.Diff(want, pick(got, want)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", name, diff)
				}
			}
		}},
		{"org login jwt", func(t *testing.T) {
			var got map[string]any
			sf.json(t, &got, "org", "login", "jwt", "--username", integrationID, "--jwt-key-file", org.keyPath,
				"--client-id", clientID, "--instance-url", org.url, "--alias", "jwt")
			wantLogin(t, org, got, org.url)
		}},
		{"org display after the JWT login", func(t *testing.T) { display(t, "jwt") }},
		{"data query, table", func(t *testing.T) {
			// The table's columns come from the query resource's columns=true answer,
			// relationship fields from its joinColumns.
			out := sf.run(t, "data", "query", "--target-org", "jwt", "--query",
				"SELECT Username, Profile.Name, UserRole.Name FROM User WHERE Username LIKE 'seed.000%' ORDER BY Username")
			want := []string{"USERNAME PROFILE.NAME USERROLE.NAME"}
			for i := 1; i <= 9; i++ {
				role := ""
				if i%5 == 0 {
					role = " Interop Engineering"
				}
				want = append(want, fmt.Sprintf("seed.%04d@interop.example Standard User%s", i, role))
			}
			want = append(want, "Total number of records retrieved: 9.")
			if diff := cmp.Diff(want, tableRows(out)); diff != "" {
				t.Errorf("table (-want +got):\n%s\nthe CLI printed:\n%s", diff, out)
			}
		}},
		{"data create record", func(t *testing.T) {
			var got struct {
				ID      string `json:"id"`
				Success bool   `json:"success"`
			}
			sf.json(t, &got, "data", "create", "record", "--target-org", "jwt", "--sobject", "User", "--values",
				"Username=cli.user@interop.example LastName='Cli User' FirstName=Grace Email=cli.user@interop.example "+
					"Alias=cliuser TimeZoneSidKey=Europe/Berlin LocaleSidKey=de_DE EmailEncodingKey=UTF-8 "+
					"LanguageLocaleKey=en_US FederationIdentifier=cli-0001 ProfileId="+profileID(t))
			user := simUser(t, org.url, "cli.user@interop.example")
			if !got.Success || got.ID != user.ID {
				t.Fatalf("create answered %+v; sfsim holds %s", got, user.ID)
			}
			want := map[string]any{"LastName": "Cli User", "FirstName": "Grace", "TimeZoneSidKey": "Europe/Berlin",
				"FederationIdentifier": "cli-0001", "IsActive": true}
			if diff := cmp.Diff(want, pick(user.Fields, want)); diff != "" {
				t.Errorf("created user (-want +got):\n%s", diff)
			}
			created = got.ID
		}},
		{"data update record", func(t *testing.T) {
			var got map[string]any
			sf.json(t, &got, "data", "update", "record", "--target-org", "jwt", "--sobject", "User",
				"--record-id", created, "--values", "Title='Interop Lead' Department=CLI")
			if got["id"] != created || got["success"] != true {
				t.Errorf("update answered %v", got)
			}
			want := map[string]any{"Title": "Interop Lead", "Department": "CLI", "LastName": "Cli User"}
			if diff := cmp.Diff(want, pick(simUser(t, org.url, created).Fields, want)); diff != "" {
				t.Errorf("updated user (-want +got):\n%s", diff)
			}
		}},
		{"data export bulk", func(t *testing.T) {
			// Bulk API 2.0: a query job, polled to JobComplete, its CSV results read by
			// locator into the file.
			file := filepath.Join(t.TempDir(), "users.csv")
			var got struct {
				TotalSize int    `json:"totalSize"`
				FilePath  string `json:"filePath"`
			}
			sf.json(t, &got, "data", "export", "bulk", "--target-org", "jwt", "--query",
				"SELECT Id, Username FROM User WHERE Username LIKE 'seed.%'", "--output-file", file, "--wait", "5")
			if got.TotalSize != seededUsers {
				t.Errorf("totalSize %d, want %d", got.TotalSize, seededUsers)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
			if err != nil || len(rows) != seededUsers+1 || !slices.Equal(rows[0], []string{"Id", "Username"}) {
				t.Fatalf("%d CSV rows (%v), the first %v; want the header Id,Username and %d rows", len(rows), err, rows[:min(1, len(rows))], seededUsers)
			}
			usernames := make([]string, 0, seededUsers)
			for _, row := range rows[1:] {
				usernames = append(usernames, row[1])
			}
			slices.Sort(usernames)
			if usernames[0] != "seed.0001@interop.example" || usernames[seededUsers-1] != fmt.Sprintf("seed.%04d@interop.example", seededUsers) {
				t.Errorf("usernames from %s to %s", usernames[0], usernames[seededUsers-1])
			}
			if !slices.ContainsFunc(rows[1:], func(r []string) bool { return slices.Equal(r, []string{seedID, "seed.0001@interop.example"}) }) {
				t.Errorf("no row for %s", seedID)
			}
		}},
		{"org list limits", func(t *testing.T) {
			var got []sfLimit
			sf.json(t, &got, "org", "list", "limits", "--target-org", "jwt")
			used := simState(t, org.url).APIUsage
			i := slices.IndexFunc(got, func(l sfLimit) bool { return l.Name == "DailyApiRequests" })
			// The /limits call itself counts, and nothing runs after it.
			if i < 0 || got[i].Max != apiMax || got[i].Remaining != apiMax-used {
				t.Errorf("limits %+v; want DailyApiRequests %d of %d remaining", got, apiMax-used, apiMax)
			}
		}},
		{"the org is looked up once per login", func(t *testing.T) {
			// The CLI keeps what it learnt of the org with the login; a failed lookup
			// would be repeated by every command above.
			var lookups int
			for _, q := range simQueries(t, org.url) {
				if strings.Contains(strings.ToLower(q), "from organization") {
					lookups++
				}
			}
			if lookups != 2 {
				t.Errorf("%d Organization queries for 2 logins and the commands after them, want 2", lookups)
			}
		}},
	}
	for _, step := range steps {
		if !t.Run(step.name, step.run) {
			t.Fatalf("step %q failed; the later steps build on it", step.name)
		}
	}
}

// TestSalesforceCLINoticesABrokenAnswer proves the harness fails when sfsim's answer
// is not what the CLI needs: with a userinfo answer that lacks user_id and
// organization_id, the access-token login must fail, and the harness must see it.
func TestSalesforceCLINoticesABrokenAnswer(t *testing.T) {
	org := startCLIOrg(t)
	sf := newSFCLI(t)
	body := `{"sub":"` + org.url + `/id/` + org.orgID + `/` + org.integrationUserID + `","preferred_username":"` + integrationID + `"}`
	postJSON(t, org.url+"/__sim/faults", map[string]any{"endpoint": "userinfo", "count": 10,
		"fault": map[string]any{"status": 200, "contentType": "application/json", "body": body}})
	sf.env = append(sf.env, "SF_ACCESS_TOKEN="+clientCredentialsToken(t, org.url))
	out, err := sf.exec(t, "org", "login", "access-token", "--instance-url", org.url, "--no-prompt", "--json")
	if err == nil {
		t.Fatalf("the login succeeded against a userinfo answer without user_id and organization_id:\n%s", out)
	}
	// The failure must be the login's, not the CLI failing to start.
	var failure struct {
		Name string `json:"name"`
	}
	if jsonErr := json.Unmarshal([]byte(out), &failure); jsonErr != nil || failure.Name != "AuthCodeUsernameRetrievalError" {
		t.Errorf("the login failed otherwise than by not learning who it is (%v):\n%s", err, out)
	}
}

// sfLimit is one entry of `sf org list limits --json`.
type sfLimit struct {
	Name      string `json:"name"`
	Max       int64  `json:"max"`
	Remaining int64  `json:"remaining"`
}

// startCLIOrg builds and starts the seeded sfsim of the CLI tests (jsforce_test.go's
// seed and connected app) and returns what the CLI should see of it.
func startCLIOrg(t *testing.T) sfOrg {
	t.Helper()
	dir := t.TempDir()
	bin := buildSfsim(t, dir)
	keyPath, certPath := writeJWTKeyPair(t, dir)
	base := startSfsim(t, bin, []string{"--addr", "127.0.0.1:0", "--client-id", clientID, "--client-secret", clientSecret,
		"--username", integrationID, "--jwt-cert", certPath, "--seed", writeSeed(t, dir), "--api-max", strconv.Itoa(apiMax)})
	state := simState(t, base)
	return sfOrg{url: base, orgID: state.OrgID, integrationUserID: state.IntegrationUserID, keyPath: keyPath}
}

// sfCLI runs the Salesforce CLI with a home directory of its own (where it keeps its
// logins and config), telemetry, update checks and release notes off, nothing of the
// caller's SF_, SFDX_, proxy or CI settings, and a proxy that lets it reach loopback
// only.
type sfCLI struct {
	bin string
	env []string
}

func newSFCLI(t *testing.T) *sfCLI {
	t.Helper()
	bin, err := filepath.Abs(sfBin)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		t.Fatalf("the Salesforce CLI is not installed (%v): run `make interop`, or scripts/test-deps.sh --sfcli", err)
	}
	home := t.TempDir()
	proxy := startLoopbackProxy(t)
	env := []string{}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "HOME", "PATH", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
			// A CI marker changes how the CLI draws tables (a rule under the header),
			// so the same test would see other output on CI than on a laptop.
			"CI", "CONTINUOUS_INTEGRATION", "BUILD_NUMBER", "RUN_ID", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "TF_BUILD":
			continue
		}
		if strings.HasPrefix(name, "SF_") || strings.HasPrefix(name, "SFDX_") || strings.HasPrefix(name, "XDG_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"HOME="+home,
		// Every request goes through a proxy that reaches loopback only, and the test
		// fails if the CLI tried anything else.
		"HTTPS_PROXY="+proxy.url, "https_proxy="+proxy.url, "HTTP_PROXY="+proxy.url, "http_proxy="+proxy.url,
		// Some plugins spawn `sf` by name.
		"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"SF_DISABLE_TELEMETRY=true",
		"SF_SKIP_NEW_VERSION_CHECK=true",
		"SF_AUTOUPDATE_DISABLE=true",
		"SF_DISABLE_AUTOUPDATE=true",
		"SF_HIDE_RELEASE_NOTES=true",
		"SF_HIDE_RELEASE_NOTES_FOOTER=true",
		// Logins are kept in a file under HOME, not in the desktop's keychain.
		"SF_USE_GENERIC_UNIX_KEYCHAIN=true",
		"NO_COLOR=1",
		"FORCE_COLOR=0",
	)
	return &sfCLI{bin: bin, env: env}
}

// exec runs one command line and returns its standard output; err is set when the
// command exits non-zero (its output says why).
func (c *sfCLI) exec(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), sfCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("sf %s (%.1fs)", strings.Join(args, " "), time.Since(start).Seconds())
	if err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("sf %s: %w", strings.Join(args, " "), err)
	}
	return stdout.String(), nil
}

// run runs a command that must succeed and returns its standard output.
func (c *sfCLI) run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.exec(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// json runs a command with --json, checks the envelope's status 0, and decodes its
// result into v.
func (c *sfCLI) json(t *testing.T, v any, args ...string) {
	t.Helper()
	out := c.run(t, append(args, "--json")...)
	var envelope struct {
		Status int             `json:"status"`
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &envelope); err != nil || envelope.Status != 0 {
		t.Fatalf("sf %s: status %d (%v):\n%s", strings.Join(args, " "), envelope.Status, err, out)
	}
	if err := json.Unmarshal(envelope.Result, v); err != nil {
		t.Fatalf("sf %s: result %s: %v", strings.Join(args, " "), envelope.Result, err)
	}
}

// wantLogin checks the result of a login command: who and where the CLI says it is,
// and what it learnt of the org from the Organization record.
func wantLogin(t *testing.T, org sfOrg, got map[string]any, instanceURL string) {
	t.Helper()
	want := map[string]any{"username": integrationID, "orgId": org.orgID, "instanceUrl": instanceURL,
		"name": "sfsim", "instanceName": "SIM1", "orgEdition": "Enterprise Edition", "isSandbox": false,
		"isScratch": false, "namespacePrefix": nil, "instanceApiVersion": "67.0"}
	if diff := cmp.Diff(want, pick(got, want)); diff != "" {
		t.Errorf("login (-want +got):\n%s", diff)
	}
}

// pick returns the entries of got whose keys want has (missing ones as "<missing>"),
// so that a comparison ignores what the test does not pin.
func pick(got, want map[string]any) map[string]any {
	out := map[string]any{}
	for k := range want {
		v, ok := got[k]
		if !ok {
			v = "<missing>"
		}
		out[k] = v
	}
	return out
}

// tableRows returns the lines of a CLI table and its summary, cells joined by single
// spaces, without the box drawing, the blank lines and the spinner's line.
func tableRows(out string) []string {
	var rows []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.Map(func(r rune) rune {
			if r >= 0x2500 && r <= 0x257F { // box drawing
				return ' '
			}
			return r
		}, line)
		line = strings.Join(strings.Fields(line), " ")
		if line == "" || strings.HasPrefix(line, "Querying Data") {
			continue
		}
		rows = append(rows, line)
	}
	return rows
}

// clientCredentialsToken gets an access token from sfsim with the client credentials
// grant, to hand to `sf org login access-token`.
func clientCredentialsToken(t *testing.T, base string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	simCall(t, http.MethodPost, base+"/services/oauth2/token", "application/x-www-form-urlencoded",
		[]byte(form.Encode()), &tok)
	if tok.AccessToken == "" {
		t.Fatal("the token answer has no access_token")
	}
	return tok.AccessToken
}

// simState is sfsim's GET /__sim/state.
type simStateAnswer struct {
	OrgID             string `json:"orgId"`
	IntegrationUserID string `json:"integrationUserId"`
	APIUsage          int64  `json:"apiUsage"`
}

func simState(t *testing.T, base string) simStateAnswer {
	t.Helper()
	var s simStateAnswer
	getJSON(t, base+"/__sim/state", &s)
	return s
}

// simUserAnswer is sfsim's GET /__sim/users/{id or username}.
type simUserAnswer struct {
	ID     string         `json:"id"`
	Fields map[string]any `json:"fields"`
}

func simUser(t *testing.T, base, idOrUsername string) simUserAnswer {
	t.Helper()
	var u simUserAnswer
	getJSON(t, base+"/__sim/users/"+url.PathEscape(idOrUsername), &u)
	return u
}

// simQueries is every SOQL statement sfsim received, in order.
func simQueries(t *testing.T, base string) []string {
	t.Helper()
	var q struct {
		Queries []string `json:"queries"`
	}
	getJSON(t, base+"/__sim/queries", &q)
	return q.Queries
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	simCall(t, http.MethodGet, u, "", nil, v)
}

func postJSON(t *testing.T, u string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	simCall(t, http.MethodPost, u, "application/json", data, &map[string]any{})
}

// simCall sends one request to sfsim, expects 200, and decodes the JSON answer into v.
func simCall(t *testing.T, method, u, contentType string, body []byte, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %v", method, u, resp.StatusCode, err)
	}
}

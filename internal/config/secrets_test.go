package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/syncd-io/syncd/internal/secret"
)

// writeFile writes content under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadWithSecrets parses a snippet completed by withBase and loads its secrets.
func loadWithSecrets(t *testing.T, snippet string, e env) (*Config, Secrets) {
	t.Helper()
	cfg, err := Parse("t.yaml", []byte(withBase(snippet)), e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := cfg.LoadSecrets(e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, secrets
}

const (
	testKey       = "-----BEGIN PRIVATE KEY-----\nTUlJRXZRSUJBREFOQmdrcWhraUc5dzBC\n-----END PRIVATE KEY-----\n"
	testToken     = "admin-token-7f3a9c"
	testPGPass    = "pg-password-51e0"
	testClientSec = "client-secret-c0ffee"
	testEvents    = "events-token-9b2d"
)

// TestNoSecretIsEverRendered loads a configuration whose every secret is set and
// renders the configuration and its secrets every way a log line, an API answer or
// a debug dump would; none may show a secret.
func TestNoSecretIsEverRendered(t *testing.T) {
	dir := t.TempDir()
	keyFile := writeFile(t, dir, "jwt-key.pem", testKey)
	tokenFile := writeFile(t, dir, "admin-token", testToken+"\n")
	eventsFile := writeFile(t, dir, "events-token", testEvents+"\n")
	doc := fmt.Sprintf(`salesforce:
  login_url: https://login.salesforce.com
  auth: {method: jwt, client_id: id, username: integration@acme.com, private_key_file: %s}
store:
  driver: postgres
  dsn: postgres://syncd:${PGPASSWORD}@db:5432/syncd
server:
  token_file: %s
  events_token_file: %s
`, keyFile, tokenFile, eventsFile)
	cfg, secrets := loadWithSecrets(t, doc, env{"PGPASSWORD": testPGPass})
	loaded := []string{secrets.Salesforce.PrivateKey.Reveal(), secrets.AdminToken.Reveal(), secrets.EventsToken.Reveal(), cfg.Store.DSN.Reveal()}
	want := []string{strings.TrimSuffix(testKey, "\n"), testToken, testEvents, "postgres://syncd:" + testPGPass + "@db:5432/syncd"}
	if diff := cmp.Diff(want, loaded); diff != "" {
		t.Fatalf("loaded secrets (-want +got):\n%s", diff)
	}

	for _, v := range []any{cfg, *cfg, secrets} {
		renderings := map[string]string{
			"%v":  fmt.Sprintf("%v", v),
			"%+v": fmt.Sprintf("%+v", v),
			"%#v": fmt.Sprintf("%#v", v),
			"%s":  fmt.Sprintf("%s", v),
			"%x":  fmt.Sprintf("%x", v),
		}
		if b, err := json.Marshal(v); err != nil {
			t.Errorf("JSON: %v", err)
		} else {
			renderings["json"] = string(b)
		}
		if b, err := yaml.Marshal(v); err != nil {
			t.Errorf("YAML: %v", err)
		} else {
			renderings["yaml"] = string(b)
		}
		for how, text := range renderings {
			for _, s := range []string{"TUlJRXZRSUJBREFOQmdrcWhraUc5dzBC", testToken, testEvents, testPGPass} {
				if strings.Contains(text, s) {
					t.Errorf("%T rendered as %s shows a secret:\n%s", v, how, text)
				}
			}
			if how == "json" || how == "yaml" {
				if !strings.Contains(text, "<secret>") && !strings.Contains(text, `\u003csecret\u003e`) {
					t.Errorf("%T rendered as %s has no <secret> placeholder, so the test proves nothing:\n%s", v, how, text)
				}
			}
		}
	}
}

func TestLoadSecretsFromTheEnvironment(t *testing.T) {
	doc := `salesforce:
  login_url: https://login.salesforce.com
  auth: {method: client_credentials, client_id: id, client_secret_env: SF_CLIENT_SECRET}
`
	_, secrets := loadWithSecrets(t, doc, env{"SF_CLIENT_SECRET": testClientSec})
	if got := secrets.Salesforce.ClientSecret.Reveal(); got != testClientSec {
		t.Errorf("client secret = %q, want %q", got, testClientSec)
	}
}

// clientSecretEnvDoc reads the client secret from SF_CLIENT_SECRET.
const clientSecretEnvDoc = `salesforce:
  login_url: https://login.salesforce.com
  auth:
    method: client_credentials
    client_id: id
    client_secret_env: SF_CLIENT_SECRET
`

func TestLoadSecretsReportsEveryProblemAtItsKey(t *testing.T) {
	dir := t.TempDir()
	notPEM := writeFile(t, dir, "key.txt", "not a key\n")
	empty := writeFile(t, dir, "empty", "\n")
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name string
		yaml string
		env  env
		want []string
		is   error // an error the *Error unwraps to
	}{
		{
			name: "a private key file that is not PEM, an empty token file",
			yaml: fmt.Sprintf(`salesforce:
  login_url: https://login.salesforce.com
  auth:
    method: jwt
    client_id: id
    username: integration@acme.com
    private_key_file: %s
server:
  token_file: %s
`, notPEM, empty),
			want: []string{
				fmt.Sprintf("t.yaml:7: salesforce.auth.private_key_file: %s holds no PEM block; want the private key that signs the connected app's JWTs", notPEM),
				fmt.Sprintf("t.yaml:9: server.token_file: secret file %s: secret is empty", empty),
			},
			is: secret.ErrEmpty,
		},
		{
			name: "a missing client secret file",
			yaml: fmt.Sprintf(`salesforce:
  login_url: https://login.salesforce.com
  auth: {method: client_credentials, client_id: id, client_secret_file: %s}
`, missing),
			want: []string{
				fmt.Sprintf("t.yaml:3: salesforce.auth.client_secret_file: read secret file %[1]s: open %[1]s: no such file or directory", missing),
			},
			is: fs.ErrNotExist,
		},
		{
			name: "an unset client secret variable",
			yaml: clientSecretEnvDoc,
			want: []string{"t.yaml:6: salesforce.auth.client_secret_env: environment variable SF_CLIENT_SECRET is not set"},
		},
		{
			name: "an empty client secret variable",
			yaml: clientSecretEnvDoc,
			env:  env{"SF_CLIENT_SECRET": ""},
			want: []string{"t.yaml:6: salesforce.auth.client_secret_env: environment variable SF_CLIENT_SECRET is empty"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("t.yaml", []byte(withBase(tt.yaml)), tt.env.lookup)
			if err != nil {
				t.Fatal(err)
			}
			secrets, err := cfg.LoadSecrets(tt.env.lookup)
			if diff := cmp.Diff(tt.want, problemLines(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error does not unwrap to %v", tt.is)
			}
			if secrets != (Secrets{}) {
				t.Errorf("LoadSecrets returned secrets with its error")
			}
		})
	}
}

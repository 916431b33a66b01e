package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/syncd-io/syncd/internal/config"
	"github.com/syncd-io/syncd/internal/secret"
)

// loadConfig writes a minimal configuration with the given budget share and loads it.
func loadConfig(t *testing.T, share string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	yaml := `salesforce:
  login_url: http://127.0.0.1:1
  auth: { method: client_credentials, client_id: id, client_secret_env: SECRET }
  budget: { share: ` + share + ` }
source: { type: file, path: people.csv, format: csv }
mapping: { profile: { default: Standard User } }
`
	path := filepath.Join(dir, "syncd.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestNewClientKeepsTheBudgetInForce rebuilds the client as a configuration reload
// does: the budget carries over (its spent tokens stay spent) while the share is the
// same, and a new share gets a new budget.
func TestNewClientKeepsTheBudgetInForce(t *testing.T) {
	secrets := config.Secrets{Salesforce: config.AuthSecrets{ClientSecret: secret.New("s")}}
	_, first, err := NewClient(loadConfig(t, "0.1"), secrets, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, same, err := NewClient(loadConfig(t, "0.1"), secrets, Options{Budget: first})
	if err != nil {
		t.Fatal(err)
	}
	if same != first {
		t.Error("a reload with the same share got a new, full budget")
	}
	_, changed, err := NewClient(loadConfig(t, "0.2"), secrets, Options{Budget: first})
	if err != nil {
		t.Fatal(err)
	}
	if changed == first || changed.share != 0.2 {
		t.Errorf("a new share kept the old budget (share %v)", changed.share)
	}
}

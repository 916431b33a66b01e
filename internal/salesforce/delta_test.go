package salesforce

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/syncd-io/syncd/internal/sfsim"
)

// TestSimIdentity reads the org's Id and the integration user's from the token
// answer, spending no API call.
func TestSimIdentity(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	for _, tt := range []struct {
		name string
		read func(context.Context) (string, error)
		want string
	}{
		{"OrgID", env.client.OrgID, env.sim.OrgID()},
		{"UserID", env.client.UserID, env.sim.IntegrationUserID()},
	} {
		got, err := tt.read(context.Background())
		if err != nil || got != tt.want {
			t.Errorf("%s = %q, %v; want the simulator's %q", tt.name, got, err, tt.want)
		}
	}
	if used, _ := env.sim.APIUsage(); used != 0 {
		t.Errorf("reading the identity spent %d API calls, want none", used)
	}
}

// TestIdentityOf reads the org and the user from identity URLs, and nothing from
// anything else.
func TestIdentityOf(t *testing.T) {
	tests := []struct{ name, id, org, user string }{
		{"identity URL", "https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P", "00Dx0000000BV7z", "005x00000012Q9P"},
		{"no identity URL", "", "", ""},
		{"other path", "https://login.salesforce.com/services/oauth2/userinfo", "", ""},
		{"too deep", "https://login.salesforce.com/id/00D/005/extra", "", ""},
		{"no user", "https://login.salesforce.com/id/00D//", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := (&oauth2.Token{AccessToken: "x"}).WithExtra(map[string]any{extraID: tt.id})
			if org, user := identityOf(tok); org != tt.org || user != tt.user {
				t.Errorf("identityOf(%q) = %q, %q; want %q, %q", tt.id, org, user, tt.org, tt.user)
			}
		})
	}
}

// TestOrgIDWithoutIdentity is a configuration error, not an empty org.
func TestOrgIDWithoutIdentity(t *testing.T) {
	c, err := New(Config{TokenSource: oauth2.StaticTokenSource((&oauth2.Token{AccessToken: "x"}).WithExtra(
		map[string]any{extraInstanceURL: "https://acme.my.salesforce.com"}))})
	if err != nil {
		t.Fatal(err)
	}
	var ce *ConfigError
	if _, err := c.OrgID(context.Background()); !errors.As(err, &ce) {
		t.Errorf("OrgID: err = %v, want a *ConfigError", err)
	}
	if _, err := c.UserID(context.Background()); !errors.As(err, &ce) {
		t.Errorf("UserID: err = %v, want a *ConfigError", err)
	}
}

// TestSimPageServerTime reads Salesforce's clock from each page's Date header.
func TestSimPageServerTime(t *testing.T) {
	// Near the host's clock: the JWT assertion is checked against the org's.
	at := time.Now().UTC().Truncate(time.Second).Add(700 * time.Millisecond)
	env := newSimEnv(t, sfsim.Options{Clock: func() time.Time { return at }}, nil)
	for page, err := range Query[User](context.Background(), env.client, "SELECT Id FROM User") {
		if err != nil {
			t.Fatal(err)
		}
		if want := at.Truncate(time.Second); !page.ServerTime.Equal(want) {
			t.Errorf("ServerTime = %v, want %v", page.ServerTime, want)
		}
	}
}

// TestParseDatetime reads both forms Salesforce writes: JSON's and Bulk CSV's.
func TestParseDatetime(t *testing.T) {
	want := time.Date(2013, 5, 20, 20, 49, 32, 0, time.UTC)
	for _, s := range []string{"2013-05-20T20:49:32.000+0000", "2013-05-20T20:49:32.000Z", "2013-05-20T22:49:32+02:00"} {
		if got, err := ParseDatetime(s); err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseDatetime(%q) = %v, %v; want %v in UTC", s, got, err, want)
		}
	}
	if _, err := ParseDatetime("20 May 2013"); err == nil {
		t.Error("ParseDatetime took a date in words")
	}
}

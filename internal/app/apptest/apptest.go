// Package apptest serves tests of the engine and its adapters: a simulated org
// (internal/sfsim) over loopback HTTP with a real Salesforce client connected to it,
// and a count of the API calls the org was charged. It does not import package app,
// so that app's own tests can use it.
package apptest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/clocktest"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/secret"
	"github.com/syncd-io/syncd/internal/sfsim"
)

// Org is a simulated org with a client connected to it.
type Org struct {
	Sim    *sfsim.Server
	Client *salesforce.Client
}

// NewOrg starts sfsim with opts behind httptest and connects a client with the
// client credentials flow; mod, when not nil, adjusts the client's Config (a
// Reserve, a Limiter). Retries wait a millisecond, not seconds.
func NewOrg(t testing.TB, opts sfsim.Options, mod func(*salesforce.Config)) *Org {
	t.Helper()
	sim, err := sfsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	src, err := salesforce.NewClientCredentialsSource(salesforce.ClientCredentialsConfig{
		LoginURL: hs.URL, ClientID: sfsim.DefaultClientID, ClientSecret: secret.New(sfsim.DefaultClientSecret), HTTPClient: hs.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := salesforce.Config{
		TokenSource: src,
		HTTPClient:  hs.Client(),
		Retry:       salesforce.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := salesforce.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Org{Sim: sim, Client: c}
}

// Used returns the API calls the org has been charged over the rolling 24 hours, as
// the org itself counts them (the figure Sforce-Limit-Info reports).
func (o *Org) Used() int64 {
	used, _ := o.Sim.APIUsage()
	return used
}

// Clock is the tests' clock (clocktest.Clock), named here for the tests that build
// an App.
type Clock = clocktest.Clock

// NewClock returns a clock stopped at at.
func NewClock(at time.Time) *Clock { return clocktest.New(at) }

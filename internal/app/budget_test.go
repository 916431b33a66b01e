package app

import (
	"context"
	"math"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/syncd-io/syncd/internal/app/apptest"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/sfsim"
)

// TestBudgetPace derives the refill rate and the burst from the share and the org's
// daily maximum.
func TestBudgetPace(t *testing.T) {
	tests := []struct {
		name      string
		share     float64
		max       int64
		wantRate  rate.Limit
		wantBurst int
	}{
		{"unknown maximum is not paced", 0.1, 0, rate.Inf, 0},
		{"a tenth of 240000 a day", 0.1, 240000, 24000.0 / 86400, 1000},
		{"a small org keeps the minimum burst", 0.1, 1200, 120.0 / 86400, minBurst},
		{"the whole allowance", 1, 86400, 1, 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBudget(tt.share)
			if err != nil {
				t.Fatal(err)
			}
			b.SetDailyMax(tt.max)
			r, burst := b.Pace()
			if diff := float64(r - tt.wantRate); burst != tt.wantBurst || diff > 1e-12 || diff < -1e-12 {
				t.Errorf("pace = %v/s burst %d, want %v/s burst %d", r, burst, tt.wantRate, tt.wantBurst)
			}
		})
	}
}

// TestNewBudgetRefusesABadShare names the setting.
func TestNewBudgetRefusesABadShare(t *testing.T) {
	for _, share := range []float64{0, -0.1, 1.5} {
		if _, err := NewBudget(share); err == nil {
			t.Errorf("NewBudget(%v) accepted", share)
		}
	}
}

// TestBudgetHoldsTheClientToItsShare paces a real client against the simulator: the
// first answer's Sforce-Limit-Info tells the budget the org's maximum (2400 a day, a
// tenth of it is 240, so a burst of minBurst), after which the client gets minBurst
// calls at once and the next would wait minutes, which a context with a one-minute
// deadline refuses at once.
func TestBudgetHoldsTheClientToItsShare(t *testing.T) {
	b, err := NewBudget(0.1)
	if err != nil {
		t.Fatal(err)
	}
	org := apptest.NewOrg(t, sfsim.Options{APIMax: 2400}, func(c *salesforce.Config) { c.Limiter = b })
	b.Follow(org.Client.Usage)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	calls := 0
	for ; calls < 100; calls++ {
		if _, err := salesforce.QueryAll[named](ctx, org.Client, salesforce.RolesQuery()); err != nil {
			break
		}
	}
	if want := 1 + minBurst; calls != want {
		t.Errorf("%d calls went through, want %d (one to learn the maximum, then the burst)", calls, want)
	}
	if r, _ := b.Pace(); r != rate.Limit(240.0/86400) {
		t.Errorf("rate = %v, want 240 a day", r)
	}
}

// TestBudgetFromLimits reads the maximum from /limits.
func TestBudgetFromLimits(t *testing.T) {
	b, err := NewBudget(0.5)
	if err != nil {
		t.Fatal(err)
	}
	org := apptest.NewOrg(t, sfsim.Options{APIMax: 48000}, nil)
	if err := b.FromLimits(context.Background(), org.Client); err != nil {
		t.Fatal(err)
	}
	if r, burst := b.Pace(); r != rate.Limit(24000.0/86400) || burst != 1000 {
		t.Errorf("pace = %v/s burst %d, want 24000 a day, burst 1000", r, burst)
	}
}

// TestBudgetRemaining reads the tokens left: unbounded until the maximum is known,
// then a full bucket (an hour of the share), less each call waited for.
func TestBudgetRemaining(t *testing.T) {
	b, err := NewBudget(0.1)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Remaining(); !math.IsInf(got, 1) {
		t.Errorf("before the maximum is known, Remaining = %v, want +Inf", got)
	}
	b.SetDailyMax(24000) // 2400 a day for syncd: a burst of 100
	if got := b.Remaining(); got < 99.9 || got > 100 {
		t.Errorf("with a full bucket, Remaining = %v, want 100", got)
	}
	for range 10 {
		if err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.Remaining(); got < 89.9 || got > 90.1 {
		t.Errorf("after 10 calls, Remaining = %v, want about 90", got)
	}
}

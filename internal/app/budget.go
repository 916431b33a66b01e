package app

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/syncd-io/syncd/internal/salesforce"
)

// minBurst is the smallest burst a Budget allows, so that even a small org's share
// lets one cycle read its profiles, roles and a page of users without waiting.
const minBurst = 10

// Budget holds syncd to its share of the org's daily API allowance: a token bucket
// (golang.org/x/time/rate) refilled at share × DailyApiRequests.Max per 24 hours,
// which the client waits on before every request (salesforce.Config.Limiter).
//
// The burst is an hour's worth of the share (at least minBurst calls): a cycle after a
// quiet spell runs at full speed, a runaway loop is held to the average within the
// hour, and the share over any 24 hours never exceeds share × Max plus one burst.
//
// The org's maximum is learnt from /limits (FromLimits) or from every answer's
// Sforce-Limit-Info (Follow). Until it is known, calls are not paced: the first call
// is what tells it.
type Budget struct {
	share float64

	mu    sync.Mutex
	usage func() (salesforce.Usage, bool)
	max   int64
	lim   *rate.Limiter
}

// NewBudget returns a Budget for a share in (0, 1] of the org's daily allowance.
func NewBudget(share float64) (*Budget, error) {
	if !(share > 0 && share <= 1) {
		return nil, fmt.Errorf("salesforce.budget.share: %v is not a fraction in (0, 1]", share)
	}
	return &Budget{share: share, lim: rate.NewLimiter(rate.Inf, 0)}, nil
}

// Follow makes the Budget read the org's maximum from usage (the client's Usage,
// fed by every answer's Sforce-Limit-Info) before each call.
func (b *Budget) Follow(usage func() (salesforce.Usage, bool)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.usage = usage
}

// FromLimits sets the org's maximum from GET /limits (one API call, exempt from the
// reserve).
func (b *Budget) FromLimits(ctx context.Context, c *salesforce.Client) error {
	limits, err := c.Limits(ctx)
	if err != nil {
		return fmt.Errorf("reading the org's API limits: %w", err)
	}
	daily, ok := limits["DailyApiRequests"]
	if !ok || daily.Max <= 0 {
		return fmt.Errorf("reading the org's API limits: no DailyApiRequests maximum in /limits")
	}
	b.SetDailyMax(daily.Max)
	return nil
}

// SetDailyMax sets the org's daily maximum, and so the refill rate and burst. The
// first maximum starts a full bucket; later changes keep the tokens in it.
func (b *Budget) SetDailyMax(daily int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.setMax(daily)
}

// setMax is SetDailyMax with b.mu held.
func (b *Budget) setMax(daily int64) {
	if daily <= 0 || daily == b.max {
		return
	}
	perDay := b.share * float64(daily)
	limit := rate.Limit(perDay / (24 * time.Hour).Seconds())
	burst := max(int(perDay/24), minBurst)
	if b.max == 0 {
		b.lim = rate.NewLimiter(limit, burst)
	} else {
		b.lim.SetLimit(limit)
		b.lim.SetBurst(burst)
	}
	b.max = daily
}

// Wait blocks until the next call fits the budget or ctx ends. It satisfies
// salesforce.Limiter.
func (b *Budget) Wait(ctx context.Context) error {
	b.mu.Lock()
	if b.usage != nil {
		if u, ok := b.usage(); ok {
			b.setMax(u.Max)
		}
	}
	lim := b.lim
	b.mu.Unlock()
	return lim.Wait(ctx)
}

// Pace returns the refill rate in calls per second and the burst; the rate is
// rate.Inf until the org's maximum is known.
func (b *Budget) Pace() (rate.Limit, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lim.Limit(), b.lim.Burst()
}

// Remaining returns how many calls the budget allows right now (the tokens in its
// bucket); +Inf until the org's maximum is known, when calls are not paced.
func (b *Budget) Remaining() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lim.Limit() == rate.Inf {
		return math.Inf(1)
	}
	return b.lim.Tokens()
}

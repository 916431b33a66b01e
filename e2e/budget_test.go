package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// budgetMax is the daily API allowance of the budget tests' org, and budgetReserve
// the fraction of it syncd must leave to the org's other integrations.
const (
	budgetMax     = 1000
	budgetReserve = 0.2
)

// setOtherUsage sets the calls sfsim counts as spent by other integrations of the
// org; lowering it is how a test lets the rolling 24-hour window free allowance.
func (s *sfsimProcess) setOtherUsage(t testing.TB, calls int64) {
	t.Helper()
	s.do(t, http.MethodPost, s.url+"/__sim/usage", "", map[string]int64{"other": calls}, nil)
}

// remaining is the org's allowance left, as Sforce-Limit-Info would report it.
func (s *sfsimProcess) remaining(t testing.TB) int64 {
	t.Helper()
	return budgetMax - s.state(t).APIUsage
}

func TestNearItsDailyLimitSyncdPausesAboveTheReserveAndResumes(t *testing.T) {
	t.Parallel()
	reserve := int64(budgetReserve * budgetMax)
	// headroom is how many calls the org has left above the reserve when another
	// integration has spent the rest: none, or fewer than the cycle's 3 calls (a
	// delta read, since the first cycle read in full, and 2 update batches).
	for _, headroom := range []int64{0, 1, 2} {
		t.Run(fmt.Sprintf("with %d calls above the reserve", headroom), func(t *testing.T) {
			t.Parallel()
			s := lenient()
			s.Share, s.Reserve = 1, budgetReserve
			org := startSfsim(t, nil, "--api-max", fmt.Sprint(budgetMax))
			d := deploy(t, org, s)
			people := staff(1, 300)
			d.write(t, people)
			d.must(t, exitOK, "apply", "--once")

			// Another integration spends all but the headroom above the reserve; 300 title
			// changes need 2 update batches after the reads.
			own := org.state(t).APIUsage
			org.setOtherUsage(t, budgetMax-reserve-headroom-own)
			for i := range people {
				people[i].Title = "Principal Engineer"
			}
			d.write(t, people)
			for cycle := 1; cycle <= 2; cycle++ {
				before := org.remaining(t)
				o := d.must(t, exitPaused, "apply", "--once")
				// A syncd process learns the usage from its first call's answer, so that
				// call is blind: it alone may go below the reserve, and only when the
				// cycle starts at the reserve (the daemon, one process, pays it once).
				after := org.remaining(t)
				blind := int64(0)
				if before <= reserve {
					blind = 1
				}
				if after < min(before, reserve)-blind {
					t.Errorf("cycle %d went from %d calls left to %d: below the reserve of %d by more than its blind first call",
						cycle, before, after, reserve)
				}
				t.Logf("cycle %d: %d → %d calls left; stderr:\n%s", cycle, before, after, o.stderr)
				if !strings.Contains(o.stderr, "reserve") {
					t.Errorf("cycle %d's log does not say the reserve paused it:\n%s", cycle, o.stderr)
				}
				if r := d.runs(t)[0]; r.Status != "paused" || !strings.Contains(r.Error, "reserve") {
					t.Errorf("cycle %d's run is %+v, want paused because of the reserve", cycle, r)
				}
			}

			// The window frees the other integration's calls: the next cycle finishes.
			org.setOtherUsage(t, 0)
			d.must(t, exitOK, "apply", "--once")
			checkSynced(t, org, d, people, nil)
			for _, p := range people {
				if got := org.user(t, p.username()).field("Title"); got != p.Title {
					t.Fatalf("person %s's Title is %q after the resumed cycle, want %q", p.ID, got, p.Title)
				}
			}
		})
	}
}

package salesforce

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/clocktest"
	"github.com/syncd-io/syncd/internal/sfsim"
)

// holdOne holds the one request whose query string contains marker, either before
// sfsim handles it or after (its answer computed, then kept back), until release is
// closed. arrived is closed when the request reached the hold.
type holdOne struct {
	next          http.Handler
	marker        string
	beforeHandled bool
	arrived       chan struct{}
	release       chan struct{}
}

func (h *holdOne) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.URL.RawQuery, h.marker) {
		h.next.ServeHTTP(w, r)
		return
	}
	if h.beforeHandled {
		close(h.arrived)
		<-h.release
		h.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	close(h.arrived)
	<-h.release
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// TestSimUsageFromConcurrentAnswers sends request A, then request B while A is held,
// and lets A's answer arrive last. When sfsim counted A first (held after handling), its
// older, lower reading must not replace B's; when sfsim counted A last (held before
// handling), its higher reading is newer and is kept. A later request that shows less
// usage (the window rolled) is believed.
func TestSimUsageFromConcurrentAnswers(t *testing.T) {
	for _, tt := range []struct {
		name          string
		beforeHandled bool
		wantAFirst    bool // sfsim counted A before B
	}{
		{"older answer with less usage arrives last: ignored", false, true},
		{"earlier request counted last: its higher usage kept", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hold := &holdOne{marker: "held", beforeHandled: tt.beforeHandled, arrived: make(chan struct{}), release: make(chan struct{})}
			env := newWrappedSimEnv(t, sfsim.Options{APIMax: 1000}, func(h http.Handler) http.Handler {
				hold.next = h
				return hold
			}, nil)
			env.sim.SetOtherUsage(100)
			ctx := context.Background()
			aDone := make(chan error, 1)
			go func() {
				_, err := QueryAll[User](ctx, env.client, "SELECT Id FROM User WHERE LastName = 'held'")
				aDone <- err
			}()
			<-hold.arrived
			if _, err := QueryAll[User](ctx, env.client, "SELECT Id FROM User"); err != nil {
				t.Fatal(err)
			}
			afterB, _ := env.client.Usage()
			close(hold.release)
			if err := <-aDone; err != nil {
				t.Fatal(err)
			}
			simUsed, _ := env.sim.APIUsage()
			got, _ := env.client.Usage()
			if tt.wantAFirst && got.Used != afterB.Used {
				t.Errorf("Usage().Used = %d after A's late answer, want B's %d kept", got.Used, afterB.Used)
			}
			if !tt.wantAFirst && got.Used != simUsed {
				t.Errorf("Usage().Used = %d, want A's %d (counted last)", got.Used, simUsed)
			}
			if got.Used != simUsed-1 && got.Used != simUsed {
				t.Errorf("Usage().Used = %d, sfsim counted %d", got.Used, simUsed)
			}

			// Other integrations' calls leave the rolling window: a later request
			// shows less usage, and it is believed.
			env.sim.SetOtherUsage(0)
			if _, err := QueryAll[User](ctx, env.client, "SELECT Id FROM User"); err != nil {
				t.Fatal(err)
			}
			simUsed, _ = env.sim.APIUsage()
			if got, _ := env.client.Usage(); got.Used != simUsed {
				t.Errorf("after the window rolled: Usage().Used = %d, want %d", got.Used, simUsed)
			}
		})
	}
}

// TestSimReserveReadingExpires: a reading over the reserve refuses requests for
// ReserveRecheck; after that the client re-reads /limits once before refusing, and
// sends again when usage fell, though no other call brought the news.
func TestSimReserveReadingExpires(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	env := newSimEnv(t, sfsim.Options{APIMax: 1000}, func(c *Config) {
		c.Reserve = 0.2
		c.Now = clock.Now
	})
	ctx := context.Background()
	query := func() error {
		_, err := QueryAll[User](ctx, env.client, "SELECT Id FROM User")
		return err
	}
	env.sim.SetOtherUsage(850)
	if err := query(); err != nil {
		t.Fatalf("first query, usage unknown: %v", err)
	}
	var re *ReserveError
	steps := []struct {
		name        string
		advance     time.Duration
		otherUsage  int64
		wantRefused bool
		wantLimits  int
		wantQueries int
	}{
		{"fresh reading over the reserve: refused, no re-read", time.Minute, 850, true, 0, 1},
		{"reading expired, still over: re-read, refused", 4 * time.Minute, 850, true, 1, 1},
		{"just re-read: refused without another re-read", time.Minute, 0, true, 1, 1},
		{"re-read expired, usage fell: re-read, sent", 4 * time.Minute, 0, false, 2, 2},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		env.sim.SetOtherUsage(s.otherUsage)
		err := query()
		if refused := errors.As(err, &re); refused != s.wantRefused || (!refused && err != nil) {
			t.Errorf("%s: err = %v, want refused %v", s.name, err, s.wantRefused)
		}
		if got := env.sim.Calls()["limits"]; got != s.wantLimits {
			t.Errorf("%s: /limits reads = %d, want %d", s.name, got, s.wantLimits)
		}
		if got := env.sim.Calls()["query"]; got != s.wantQueries {
			t.Errorf("%s: queries sent = %d, want %d", s.name, got, s.wantQueries)
		}
	}
}

// TestSimReserveHoldsAfterTheLastCallAdmitted: a request is sent only if the allowance
// left after it, and after every request still in flight, is at least the reserve.
// Checked one at a time, and with a request held in flight while another asks.
func TestSimReserveHoldsAfterTheLastCallAdmitted(t *testing.T) {
	const reserve = 200 // 0.2 of 1000
	for _, tt := range []struct {
		name     string
		headroom int64 // calls left above the reserve, as the client last read it
		held     bool  // a first request is held in flight while the second asks
		wantSent int   // requests sfsim received after the reading
	}{
		{name: "one at a time, two calls above the reserve: two sent", headroom: 2, wantSent: 2},
		{name: "one at a time, no call above the reserve: none sent", headroom: 0, wantSent: 0},
		{name: "one call above the reserve, held in flight: the second is refused", headroom: 1, held: true, wantSent: 1},
		{name: "two calls above the reserve, one held in flight: the second is sent", headroom: 2, held: true, wantSent: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hold := &holdOne{marker: "held", beforeHandled: true, arrived: make(chan struct{}), release: make(chan struct{})}
			env := newWrappedSimEnv(t, sfsim.Options{APIMax: 1000}, func(h http.Handler) http.Handler {
				hold.next = h
				return hold
			}, func(c *Config) { c.Reserve = 0.2 })
			ctx := context.Background()
			query := func(q string) error {
				_, err := QueryAll[User](ctx, env.client, q)
				return err
			}
			// The first call is blind; its answer shows the headroom.
			env.sim.SetOtherUsage(1000 - reserve - tt.headroom - 1) // then this query
			if err := query("SELECT Id FROM User"); err != nil {
				t.Fatal(err)
			}
			if u, _ := env.client.Usage(); u.Remaining()-reserve != tt.headroom {
				t.Fatalf("the client read %d calls left, want the reserve %d and %d", u.Remaining(), reserve, tt.headroom)
			}
			before := env.sim.Calls()["query"]
			var heldErr chan error
			if tt.held {
				heldErr = make(chan error, 1)
				go func() { heldErr <- query("SELECT Id FROM User WHERE LastName = 'held'") }()
				<-hold.arrived
			}
			var re *ReserveError
			for range 5 {
				if err := query("SELECT Id FROM User"); errors.As(err, &re) {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if tt.held {
				close(hold.release)
				if err := <-heldErr; err != nil {
					t.Fatal(err)
				}
			}
			if got := env.sim.Calls()["query"] - before; got != tt.wantSent {
				t.Errorf("%d queries sent, want %d", got, tt.wantSent)
			}
			if used, max := env.sim.APIUsage(); max-used < reserve {
				t.Errorf("the org has %d calls left, below the reserve of %d", max-used, reserve)
			}
		})
	}
}

package source

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/syncd-io/syncd/internal/clocktest"
)

// deltaEnv is a SCIM source over the fake with a clock the test moves.
type deltaEnv struct {
	fake *fakeSCIM
	src  Source
	now  *clocktest.Clock // the source's clock
}

func newDeltaEnv(t *testing.T, faults scimFaults) *deltaEnv {
	t.Helper()
	e := &deltaEnv{fake: &fakeSCIM{scimFaults: faults}, now: clocktest.New(scimEpoch.Add(24 * time.Hour))}
	if e.fake.modified == nil {
		e.fake.modified = map[int]time.Time{}
	}
	srv := httptest.NewServer(e.fake)
	t.Cleanup(srv.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	e.src, err = New(Config{Type: TypeSCIM, URL: srv.URL + "/scim/v2", Auth: AuthConfig{Method: "bearer", TokenFile: tokenFile},
		SCIM: SCIMConfig{PageSize: 3, FullEvery: time.Hour}}, Options{HTTPClient: srv.Client(), Clock: e.now.Now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// pull pulls and returns the snapshot and whether its requests carried a change
// filter.
func (e *deltaEnv) pull(t *testing.T) (Snapshot, bool) {
	t.Helper()
	before := len(e.fake.requestLog())
	snap, err := e.src.Pull(context.Background())
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	filtered := false
	for _, r := range e.fake.requestLog()[before:] {
		filtered = filtered || strings.Contains(r, "meta.lastModified")
	}
	return snap, filtered
}

func families(s Snapshot) []string {
	var out []string
	for _, r := range s.Records {
		out = append(out, r.FamilyName)
	}
	return out
}

// TestSCIMReadsOnlyChangesBetweenFullLists lists seven users, then reads only the
// one changed and merges it; a pull with no change is NotModified; a deleted user
// stays until the next full list, which full_every brings.
func TestSCIMReadsOnlyChangesBetweenFullLists(t *testing.T) {
	e := newDeltaEnv(t, scimFaults{users: 7})
	first, filtered := e.pull(t)
	if filtered || first.Count != 7 {
		t.Fatalf("first pull: %d users, filtered %v; want a full list of 7", first.Count, filtered)
	}

	e.now.Advance(10 * time.Minute)
	changedAt := scimEpoch.Add(23 * time.Hour)
	e.fake.modified[2] = changedAt
	second, filtered := e.pull(t)
	if !filtered || second.NotModified || !second.Complete {
		t.Fatalf("second pull: filtered %v, NotModified %v, complete %v; want a merged change", filtered, second.NotModified, second.Complete)
	}
	want := families(first)
	want[2] = "Changed " + changedAt.Format(time.RFC3339)
	if diff := cmp.Diff(want, families(second)); diff != "" {
		t.Errorf("merged snapshot (-want +got):\n%s", diff)
	}
	if second.Digest != Digest(second.Records) {
		t.Error("the merged snapshot's digest is not its records'")
	}

	e.now.Advance(10 * time.Minute)
	third, filtered := e.pull(t)
	if !filtered || !third.NotModified || third.Digest != second.Digest {
		t.Errorf("third pull: filtered %v, NotModified %v; want an unchanged filtered read", filtered, third.NotModified)
	}

	e.fake.users = 6 // user 6 deleted: no filter shows it
	e.now.Advance(10 * time.Minute)
	fourth, _ := e.pull(t)
	if fourth.Count != 7 {
		t.Errorf("filtered pull after a deletion has %d users, want the 7 of the last full list", fourth.Count)
	}
	e.now.Advance(time.Hour)
	fifth, filtered := e.pull(t)
	if filtered || fifth.Count != 6 {
		t.Errorf("pull after full_every: %d users, filtered %v; want a full list of 6", fifth.Count, filtered)
	}
}

// TestSCIMProbesTheFilterOnce: a server that refuses the filter, or ignores it,
// gets full lists from then on, and the probing pull still returns everyone.
func TestSCIMProbesTheFilterOnce(t *testing.T) {
	for _, mode := range []string{"refuse", "ignore"} {
		t.Run(mode, func(t *testing.T) {
			// One user changed recently, the others long before: a server that
			// ignores the filter lists users older than the threshold.
			e := newDeltaEnv(t, scimFaults{users: 4, filterMode: mode, modified: map[int]time.Time{0: scimEpoch.Add(time.Hour)}})
			e.pull(t)
			e.now.Advance(time.Minute)
			probe, filtered := e.pull(t)
			if !filtered || probe.Count != 4 || !probe.Complete || probe.NotModified {
				t.Fatalf("probing pull: filtered %v, %d users, complete %v", filtered, probe.Count, probe.Complete)
			}
			e.now.Advance(time.Minute)
			if _, filtered := e.pull(t); filtered {
				t.Error("the filter was tried again after the probe found it unsupported")
			}
		})
	}
}

// TestSCIMWithoutLastModifiedListsEveryone: users without meta.lastModified give
// no watermark, so every pull is a full list.
func TestSCIMWithoutLastModifiedListsEveryone(t *testing.T) {
	e := newDeltaEnv(t, scimFaults{users: 4})
	e.fake.modified = nil
	e.pull(t)
	e.now.Advance(time.Minute)
	if _, filtered := e.pull(t); filtered {
		t.Error("a change filter was sent though no user carries meta.lastModified")
	}
}

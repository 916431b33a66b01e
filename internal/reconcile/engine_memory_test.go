package reconcile_test

import (
	"context"
	"runtime"
	"testing"
	"weak"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/source"
)

// forgetfulSource returns fresh records on every pull and keeps only a weak pointer to
// them, so that they live exactly as long as the engine holds them.
type forgetfulSource struct {
	n       int
	records weak.Pointer[source.Record]
}

func (s *forgetfulSource) Pull(context.Context) (source.Snapshot, error) {
	records := people(0, s.n)
	s.records = weak.Make(&records[0])
	return source.Snapshot{Records: records, Complete: true, Count: len(records), Digest: source.Digest(records), FetchedAt: testNow}, nil
}

// watchedDirectory notes, when the org's users are read, whether the source's records
// are still held by anyone.
type watchedDirectory struct {
	reconcile.Directory
	src                *forgetfulSource
	recordsWhileRead   bool
	readUsersWasCalled bool
}

func (d *watchedDirectory) ReadUsers(ctx context.Context, fields []string, progress func(read, total int)) ([]reconcile.Existing, error) {
	runtime.GC() // a full collection: whatever nobody holds is freed
	d.readUsersWasCalled = true
	d.recordsWhileRead = d.src.records.Value() != nil
	return d.Directory.ReadUsers(ctx, fields, progress)
}

// TestTheCycleLetsGoOfTheRecordsOnceMapped: at a million people the raw records are a
// fifth of the cycle's peak heap, and nothing needs them after mapping, so they must
// be free to collect before the org's users, the largest part, are read.
func TestTheCycleLetsGoOfTheRecordsOnceMapped(t *testing.T) {
	org := newSimOrg(t, nil)
	src := &forgetfulSource{n: 50}
	dir := &watchedDirectory{Directory: org.Directory, src: src}
	e := newEnv(t, org, nil, func(c *reconcile.Config) { c.Source, c.Directory = src, dir })
	if _, err := e.engine.RunOnce(context.Background(), "manual"); err != nil {
		t.Fatal(err)
	}
	if !dir.readUsersWasCalled {
		t.Fatal("the cycle never read the org's users")
	}
	if dir.recordsWhileRead {
		t.Error("the source's records were still held while the org's users were read")
	}
	if f := e.journal.run(1).finish; f == nil || f.Stats.SourceRecords != src.n {
		t.Errorf("the run finished with %+v, want %d source records", f, src.n)
	}
}

package source

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNamed(t *testing.T) {
	records := []Record{
		{ID: "00u1", UserName: "Ann@Acme.example", Emails: []Email{{Value: "ann@acme.example"}}},
		{ID: "00u2", UserName: "bob", Emails: []Email{{Value: "Bob@Acme.example"}, {Value: "robert@acme.example"}}},
		{ID: "abc", UserName: "carol"},
	}
	tests := []struct {
		name string
		keys []string
		want []string
	}{
		{name: "ids", keys: []string{"00u2", "00u1"}, want: []string{"00u1", "00u2"}},
		{name: "an id and the login of one person name it once", keys: []string{"00u1", "ann@acme.example"}, want: []string{"00u1"}},
		{name: "logins and emails match without case", keys: []string{"ANN@acme.EXAMPLE", "ROBERT@acme.example"}, want: []string{"00u1", "00u2"}},
		{name: "ids match with case only", keys: []string{"ABC"}, want: []string{"ABC"}},
		{name: "a key no record has names a leaver by that id", keys: []string{"00u9", " ", ""}, want: []string{"00u9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Named(records, tt.keys)); diff != "" {
				t.Errorf("Named(%q) (-want +got):\n%s", tt.keys, diff)
			}
		})
	}
}

// TestLookupReadsAWholeExport looks people up in an export file: the records are
// the whole snapshot (mapping checks duplicates across all of them), and the named
// ids are the ones the keys pick.
func TestLookupReadsAWholeExport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(path, []byte(exportCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{Type: TypeFile, Path: path, Format: FormatCSV}, Options{Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	for _, pull := range []string{"first", "of the unchanged file"} {
		found, err := Lookup(context.Background(), src, []string{"b@acme.example", "7"})
		if err != nil {
			t.Fatal(err)
		}
		if len(found.Records) != 2 || !found.Complete || found.Digest != Digest(found.Records) {
			t.Errorf("%s pull: found %d records, complete %v, digest %q; want the whole complete export", pull, len(found.Records), found.Complete, found.Digest)
		}
		if diff := cmp.Diff([]string{"2", "7"}, found.Named); diff != "" {
			t.Errorf("%s pull: named (-want +got):\n%s", pull, diff)
		}
	}
}

// unchangedSource answers every pull NotModified without records, as the file source
// does for an export it read before, and may or may not be read afresh.
type unchangedSource struct{ fresh Snapshot }

func (s *unchangedSource) Pull(context.Context) (Snapshot, error) {
	return Snapshot{Complete: true, Count: s.fresh.Count, Digest: s.fresh.Digest, NotModified: true}, nil
}

type freshSource struct{ unchangedSource }

func (s *freshSource) PullFresh(context.Context) (Snapshot, error) { return s.fresh, nil }

// TestWithRecords: a snapshot that holds its records is kept; one without is read
// again whole; and a source that cannot be read again gives an incomplete snapshot,
// never an empty complete one.
func TestWithRecords(t *testing.T) {
	records := []Record{{ID: "1", Emails: []Email{{Value: "a@acme.example", Primary: true}}}}
	full := Snapshot{Records: records, Complete: true, Count: 1, Digest: Digest(records)}
	tests := []struct {
		name         string
		src          Source
		snap         Snapshot
		want         Snapshot
		wantComplete bool
	}{
		{name: "a snapshot with its records is kept", src: &unchangedSource{fresh: full}, snap: full, want: full, wantComplete: true},
		{name: "an unchanged answer is read again", src: &freshSource{unchangedSource{fresh: full}},
			snap: Snapshot{Complete: true, Count: 1, Digest: full.Digest, NotModified: true}, want: full, wantComplete: true},
		{name: "a source that cannot read again fails", src: &unchangedSource{fresh: full},
			snap: Snapshot{Complete: true, Count: 1, Digest: full.Digest, NotModified: true},
			want: Snapshot{Reasons: []string{"the source answered NotModified without its 1 records and cannot be read afresh"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WithRecords(context.Background(), tt.src, tt.snap)
			if (err == nil) != tt.wantComplete || got.Complete != tt.wantComplete {
				t.Errorf("complete %v, error %v; want complete %v", got.Complete, err, tt.wantComplete)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("snapshot (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSCIMFind reads named users one by one: found, gone (404, still named and
// complete) and failing (incomplete, so that no one is deactivated on it).
func TestSCIMFind(t *testing.T) {
	tests := []struct {
		name        string
		ids         []string
		failUser    string
		wantRecords []string
		wantNamed   []string
		complete    bool
	}{
		{name: "found", ids: []string{"id-0002", "id-0001", "id-0002"}, wantRecords: []string{"id-0002", "id-0001"},
			wantNamed: []string{"id-0001", "id-0002"}, complete: true},
		{name: "a 404 is a leaver", ids: []string{"id-0001", "id-0099"}, wantRecords: []string{"id-0001"},
			wantNamed: []string{"id-0001", "id-0099"}, complete: true},
		{name: "any other failure is incomplete", ids: []string{"id-0001", "id-0003"}, failUser: "id-0003",
			wantRecords: []string{"id-0001"}, wantNamed: []string{"id-0001", "id-0003"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSCIM{scimFaults: scimFaults{users: 5, token: "s3cret", failUser: tt.failUser}}
			src := newSCIMSource(t, fake, nil)
			found, err := Lookup(context.Background(), src, tt.ids)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range found.Records {
				got = append(got, r.ID)
			}
			if diff := cmp.Diff(tt.wantRecords, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNamed, found.Named); diff != "" {
				t.Errorf("named (-want +got):\n%s", diff)
			}
			if found.Complete != tt.complete || (len(found.Reasons) == 0) != tt.complete {
				t.Errorf("complete %v (reasons %q), want %v", found.Complete, found.Reasons, tt.complete)
			}
			if found.Digest != "" {
				t.Errorf("digest %q of a partial read; want none", found.Digest)
			}
		})
	}
}

package source

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/google/go-cmp/cmp"
)

// TestHTTPLastModified: a server that sends Last-Modified and no ETag answers the
// next pull's If-Modified-Since with 304, and the previous snapshot's count and
// digest come back.
func TestHTTPLastModified(t *testing.T) {
	fake := &fakeExport{body: exportCSV, lastModified: "Mon, 30 Nov 2026 09:00:00 GMT"}
	src := newHTTPSource(t, fake, nil)
	ctx := context.Background()
	first, err := src.Pull(ctx)
	if err != nil || first.NotModified {
		t.Fatalf("first pull: %+v, %v", first, err)
	}
	second, err := src.Pull(ctx)
	if err != nil || !second.NotModified || fake.got304 != 1 || second.Digest != first.Digest {
		t.Fatalf("second pull: NotModified %v, err %v, 304s %d", second.NotModified, err, fake.got304)
	}
	fake.set(func(f *fakeExport) {
		f.body = exportCSV + "3,c@acme.example,C\n"
		f.lastModified = "Mon, 30 Nov 2026 10:00:00 GMT"
	})
	if third, err := src.Pull(ctx); err != nil || third.NotModified || third.Count != 3 {
		t.Fatalf("pull after a change: NotModified %v, count %d, %v", third.NotModified, third.Count, err)
	}
}

// TestFileUnchanged pulls a file again: unchanged in size, time and content it is
// not parsed again (NotModified, the same count and digest, no records); any of the
// three changed, it is.
func TestFileUnchanged(t *testing.T) {
	const other = "id,email,surname\n1,a@acme.example,A\n2,b@acme.example,X\n" // exportCSV's size, other content
	mtime := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		format string
		first  string
		change func(t *testing.T, path string) // between the second and third pull
		wantNM bool                            // whether the third pull is NotModified
	}{
		{name: "untouched csv", format: FormatCSV, first: exportCSV, change: func(*testing.T, string) {}, wantNM: true},
		{name: "untouched json with trailing space", format: FormatJSON,
			first: `[{"id": "1", "email": "a@acme.example"}]` + strings.Repeat(" ", 256<<10) + "\n", change: func(*testing.T, string) {}, wantNM: true},
		{name: "same size and time, other content", format: FormatCSV, first: exportCSV,
			change: func(t *testing.T, path string) { writeAt(t, path, other, mtime) }},
		{name: "same content, touched", format: FormatCSV, first: exportCSV,
			change: func(t *testing.T, path string) { writeAt(t, path, exportCSV, mtime.Add(time.Second)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "export")
			writeAt(t, path, tt.first, mtime)
			src, err := New(Config{Type: TypeFile, Path: path, Format: tt.format}, Options{Clock: fixedClock})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			first, err := src.Pull(ctx)
			if err != nil || first.NotModified {
				t.Fatalf("first pull: NotModified %v, %v", first.NotModified, err)
			}
			second, err := src.Pull(ctx)
			if err != nil || !second.NotModified || !second.Complete || second.Records != nil || second.Count != first.Count || second.Digest != first.Digest {
				t.Fatalf("second pull of the same file: NotModified %v, complete %v, %d records, count %d, %v; want the first snapshot's count and digest without its records",
					second.NotModified, second.Complete, len(second.Records), second.Count, err)
			}
			tt.change(t, path)
			third, err := src.Pull(ctx)
			if err != nil || third.NotModified != tt.wantNM {
				t.Fatalf("third pull: NotModified %v, %v; want %v", third.NotModified, err, tt.wantNM)
			}
			if !tt.wantNM && len(third.Records) != third.Count {
				t.Errorf("a changed file gave %d records for a count of %d; want it parsed again", len(third.Records), third.Count)
			}
		})
	}
}

// TestFileIncompletePullIsNotRemembered: an incomplete read never becomes the
// snapshot an unchanged file returns.
func TestFileIncompletePullIsNotRemembered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "export.csv")
	mtime := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	writeAt(t, path, "id,email\n1,a@acme.example,extra\n", mtime) // a ragged row
	src, err := New(Config{Type: TypeFile, Path: path, Format: FormatCSV}, Options{Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		snap, err := src.Pull(context.Background())
		if err == nil || snap.Complete || snap.NotModified {
			t.Errorf("pull %d: complete %v, NotModified %v, %v; want incomplete each time", i+1, snap.Complete, snap.NotModified, err)
		}
	}
}

// writeAt writes content to path with the given modification time.
func writeAt(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// TestPullFreshReadsAnUnchangedExport: a caller that needs the records of an unchanged
// export (a targeted run picking people, a cycle without the memo's mapping) gets
// them from PullFresh, from the file or the server, never a NotModified snapshot.
func TestPullFreshReadsAnUnchangedExport(t *testing.T) {
	fake := &fakeExport{body: exportCSV, etag: `"v1"`}
	for _, tt := range exportSources(t, fake) {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			first, err := tt.src.Pull(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if second, err := tt.src.Pull(ctx); err != nil || !second.NotModified || !second.MissingRecords() {
				t.Fatalf("second pull: NotModified %v, missing records %v, %v; want an unchanged answer without records", second.NotModified, second.MissingRecords(), err)
			}
			fresh, err := tt.src.(FreshPuller).PullFresh(ctx)
			if err != nil || fresh.NotModified || fresh.Digest != first.Digest {
				t.Fatalf("PullFresh: NotModified %v, digest %s, %v; want the export read again", fresh.NotModified, fresh.Digest, err)
			}
			if diff := cmp.Diff(first.Records, fresh.Records); diff != "" {
				t.Errorf("PullFresh's records (-first +fresh):\n%s", diff)
			}
			if again, err := tt.src.Pull(ctx); err != nil || !again.NotModified {
				t.Errorf("a pull after PullFresh: NotModified %v, %v; want the export still remembered", again.NotModified, err)
			}
		})
	}
	if fake.got304 != 2 || fake.gets != 4 {
		t.Errorf("the server answered %d GETs, %d of them 304; want 4 and 2 (PullFresh asks unconditionally)", fake.gets, fake.got304)
	}
}

// TestSourcesKeepNoRecordsBetweenPulls: once the caller lets go of a snapshot, its
// records are free to collect; the file and HTTP sources keep only what tells an
// unchanged export (at a million people the records are some 300 MiB, and the
// engine's MapMemo already holds their mapping).
func TestSourcesKeepNoRecordsBetweenPulls(t *testing.T) {
	for _, tt := range exportSources(t, &fakeExport{body: exportCSV, etag: `"v1"`}) {
		t.Run(tt.name, func(t *testing.T) {
			records := pulledRecords(t, tt.src)
			runtime.GC()
			if records.Value() != nil {
				t.Error("the source still holds the records of its last pull")
			}
			runtime.KeepAlive(tt.src)
		})
	}
}

// pulledRecords pulls src and returns a weak pointer to the snapshot's records, which
// the caller no longer holds.
func pulledRecords(t *testing.T, src Source) weak.Pointer[Record] {
	t.Helper()
	snap, err := src.Pull(context.Background())
	if err != nil || len(snap.Records) == 0 {
		t.Fatalf("pull: %d records, %v", len(snap.Records), err)
	}
	return weak.Make(&snap.Records[0])
}

// namedSource is a source under test with the name of its kind.
type namedSource struct {
	name string
	src  Source
}

// exportSources returns the two sources that read exportCSV whole: a file source over
// a copy of it and an http source downloading it from fake.
func exportSources(t *testing.T, fake *fakeExport) []namedSource {
	t.Helper()
	path := filepath.Join(t.TempDir(), "export.csv")
	writeAt(t, path, exportCSV, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	file, err := New(Config{Type: TypeFile, Path: path, Format: FormatCSV}, Options{Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	return []namedSource{{name: "file", src: file}, {name: "http", src: newHTTPSource(t, fake, nil)}}
}

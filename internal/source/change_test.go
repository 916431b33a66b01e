package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHTTPLastModified: a server that sends Last-Modified and no ETag answers the
// next pull's If-Modified-Since with 304, and the previous snapshot comes back.
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
// not parsed again (NotModified, the same records); any of the three changed, it is.
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
			if err != nil || !second.NotModified || &second.Records[0] != &first.Records[0] {
				t.Fatalf("second pull of the same file: NotModified %v, %v; want the first snapshot again", second.NotModified, err)
			}
			tt.change(t, path)
			third, err := src.Pull(ctx)
			if err != nil || third.NotModified != tt.wantNM {
				t.Fatalf("third pull: NotModified %v, %v; want %v", third.NotModified, err, tt.wantNM)
			}
			if !tt.wantNM && &third.Records[0] == &first.Records[0] {
				t.Error("a changed file was not parsed again")
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

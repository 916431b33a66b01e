package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPullEachHandsOverWhatPullReturns: a streaming pull hands over, chunk by chunk
// and in order, exactly the records Pull returns, and its snapshot has Pull's count,
// digest and completeness without the records, at sizes around a chunk's, in every
// format the file decoders stream, complete or cut short by a broken line.
func TestPullEachHandsOverWhatPullReturns(t *testing.T) {
	csvOf := func(n int, broken int) string {
		var b strings.Builder
		b.WriteString("id,email,surname,department\n")
		for i := 1; i <= n; i++ {
			if i == broken {
				b.WriteString("ragged\n")
				continue
			}
			fmt.Fprintf(&b, "%d,p%d@acme.example,Family %d,Dept %d\n", i, i, i, i%7)
		}
		return b.String()
	}
	ndjsonOf := func(n int) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, `{"id":"%d","email":"p%d@acme.example","surname":"Family %d"}`+"\n", i, i, i)
		}
		return b.String()
	}
	tests := []struct {
		name, format, content string
	}{
		{name: "csv of one record", format: FormatCSV, content: csvOf(1, 0)},
		{name: "csv of one chunk", format: FormatCSV, content: csvOf(streamChunk, 0)},
		{name: "csv of a chunk and one", format: FormatCSV, content: csvOf(streamChunk+1, 0)},
		{name: "csv of some chunks", format: FormatCSV, content: csvOf(3*streamChunk+17, 0)},
		{name: "csv cut short after two chunks", format: FormatCSV, content: csvOf(3*streamChunk, 2*streamChunk+5)},
		{name: "ndjson of some chunks", format: FormatNDJSON, content: ndjsonOf(2*streamChunk + 3)},
		{name: "json array", format: FormatJSON, content: `[{"id":"1","email":"a@acme.example"},{"id":"2","email":"b@acme.example"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "export")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			pull := func() Source {
				src, err := New(Config{Type: TypeFile, Path: path, Format: tt.format}, Options{Clock: fixedClock})
				if err != nil {
					t.Fatal(err)
				}
				return src
			}
			want, wantErr := pull().Pull(context.Background())
			var got []Record
			var chunks int
			snap, err := pull().(Streamer).PullEach(context.Background(), func(records []Record, _ int) {
				for _, r := range records { // the source re-uses the records' slices too
					r.Emails, r.Groups, r.Attributes = slices.Clone(r.Emails), slices.Clone(r.Groups), slices.Clone(r.Attributes)
					got = append(got, r)
				}
				chunks++
			})
			if (err == nil) != (wantErr == nil) || snap.Complete != want.Complete || snap.Count != want.Count || snap.Digest != want.Digest || snap.Records != nil {
				t.Errorf("PullEach: complete %v, count %d, digest %s, %d records, %v; want complete %v, count %d, digest %s, no records, %v",
					snap.Complete, snap.Count, snap.Digest, len(snap.Records), err, want.Complete, want.Count, want.Digest, wantErr)
			}
			if diff := cmp.Diff(want.Records, got); diff != "" {
				t.Errorf("records handed over (-Pull +PullEach):\n%s", diff)
			}
			if wantChunks := (want.Count + streamChunk - 1) / streamChunk; chunks != wantChunks {
				t.Errorf("%d chunks handed over, want %d", chunks, wantChunks)
			}
		})
	}
}

// TestPullEachPassesTheExpectedSize: from the first chunk on, a CSV pull tells the
// caller about how many records the file holds, so that what the caller builds is
// sized once.
func TestPullEachPassesTheExpectedSize(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,email\n")
	n := 4 * streamChunk
	for i := range n {
		fmt.Fprintf(&b, "%d,p%d@acme.example\n", i, i)
	}
	path := filepath.Join(t.TempDir(), "export.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{Type: TypeFile, Path: path, Format: FormatCSV}, Options{Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	var expected []int
	if _, err := src.(Streamer).PullEach(context.Background(), func(_ []Record, e int) { expected = append(expected, e) }); err != nil {
		t.Fatal(err)
	}
	for i, e := range expected {
		if e < n || e > n+n/10 {
			t.Errorf("chunk %d: expected %d records, want about %d", i+1, e, n)
		}
	}
}

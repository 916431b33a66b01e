package source

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// addFixtures seeds a fuzz target with the testdata files of the given extensions.
func addFixtures(f *testing.F, exts ...string) {
	f.Helper()
	for _, ext := range exts {
		paths, err := filepath.Glob(filepath.Join("testdata", "*"+ext))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// fuzzDecode runs a decoder over arbitrary input and checks the snapshot's invariants.
func fuzzDecode(t *testing.T, format string, data []byte, opts decoderOptions) {
	var p pullResult
	decode(context.Background(), format, bytes.NewReader(data), int64(len(data)), opts, &p)
	snap, err := p.snapshot(testNow)
	if snap.Complete != (err == nil) || snap.Complete != (len(snap.Reasons) == 0) {
		t.Fatalf("Complete %v, err %v, reasons %q disagree", snap.Complete, err, snap.Reasons)
	}
	if snap.Complete && snap.Count == 0 {
		t.Fatal("an empty snapshot claims to be complete")
	}
	for _, r := range snap.Records {
		if snap.Complete && r.ID == "" {
			t.Fatalf("a complete snapshot holds a record without id: %+v", r)
		}
		if !slices.IsSortedFunc(r.Attributes, func(a, b Attribute) int { return strings.Compare(a.Name, b.Name) }) {
			t.Fatalf("attributes not sorted: %v", r.Attributes)
		}
	}
	if Digest(snap.Records) != snap.Digest {
		t.Fatal("digest is not deterministic")
	}
}

func defaultDecoderOptions() decoderOptions {
	return decoderOptions{delimiter: ',', groupSeparator: ";"}
}

func FuzzCSV(f *testing.F) {
	addFixtures(f, ".csv")
	f.Add([]byte("id,email\n\"1\r\n\",\"a\"\"b\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, FormatCSV, data, defaultDecoderOptions()) })
}

func FuzzJSONArray(f *testing.F) {
	addFixtures(f, ".json")
	f.Add([]byte(`[{"emails":[{"value":"a@x","primary":"yes"}],"groups":[1]}]`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, FormatJSON, data, defaultDecoderOptions()) })
}

func FuzzNDJSON(f *testing.F) {
	addFixtures(f, ".ndjson")
	f.Add([]byte("{\"a\":{\"b\":{\"c\":null}}}\n\n[]\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, FormatNDJSON, data, defaultDecoderOptions()) })
}

func FuzzSCIMDocument(f *testing.F) {
	addFixtures(f, ".json")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, FormatSCIM, data, defaultDecoderOptions()) })
}

// FuzzSCIMPage feeds one SCIM server answer through what the client does with it: the
// page parser and user builder for a 2xx, the error parser otherwise.
func FuzzSCIMPage(f *testing.F) {
	addFixtures(f, ".json")
	f.Add([]byte(`{"status":400,"scimType":"invalidFilter","detail":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := parseSCIMError(400, data); err == nil || err.Error() == "" {
			t.Fatal("error parser returned no error")
		}
		lr, err := parseSCIMPage(data)
		if err != nil {
			return
		}
		for _, res := range lr.Resources {
			if rec, err := scimUser(res); err == nil && rec.ID == "" {
				t.Fatal("a user without id was accepted")
			}
		}
		lr.resourceIDs()
	})
}

// FuzzCountedExport reads CSV or NDJSON with the count trailer required and a byte cap,
// and checks that a complete read really ended with a matching trailer within the cap.
func FuzzCountedExport(f *testing.F) {
	for _, name := range []string{"trailer.csv", "trailer.ndjson", "trailer-wrong.csv", "trailer-after.ndjson", "trailer-bad.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, strings.HasSuffix(name, ".ndjson"), uint16(len(b)))
	}
	f.Add([]byte("id,email\n1,a@x\n#count=1"), false, uint16(20))
	f.Fuzz(func(t *testing.T, data []byte, ndjson bool, maxBytes uint16) {
		format := FormatCSV
		if ndjson {
			format = FormatNDJSON
		}
		opts := defaultDecoderOptions()
		opts.countTrailer, opts.maxBytes = true, int64(maxBytes)+1
		fuzzDecode(t, format, data, opts)
		var p pullResult
		decode(context.Background(), format, bytes.NewReader(data), int64(len(data)), opts, &p)
		snap, _ := p.snapshot(testNow)
		if !snap.Complete {
			return
		}
		if int64(len(data)) > opts.maxBytes {
			t.Fatalf("%d bytes read complete past a cap of %d", len(data), opts.maxBytes)
		}
		lines := strings.Fields(string(data))
		if want := trailerPrefix + strconv.Itoa(snap.Count); len(lines) == 0 || lines[len(lines)-1] != want {
			t.Fatalf("complete with %d records, but the export does not end with %s", snap.Count, want)
		}
	})
}

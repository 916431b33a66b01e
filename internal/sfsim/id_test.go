package sfsim

import (
	"strings"
	"testing"
)

func TestTo18KnownIDs(t *testing.T) {
	// Real Ids from Salesforce's documentation and from salesforce-api.md.
	for _, want := range []string{
		"005RO0000035WQgYAM",
		"005RM000003oLnnYAE",
		"00Dxx0000001gPFEAY",
		"005xx000001Sv6AAAS",
		"01gRO0000016PIAYA2",
	} {
		if got := to18(want[:15]); got != want {
			t.Errorf("to18(%q) = %q, want %q", want[:15], got, want)
		}
	}
}

func TestNormalizeID(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "005RO0000035WQg", want: "005RO0000035WQgYAM"},
		{in: "005RO0000035WQgYAM", want: "005RO0000035WQgYAM"},
		{in: "005RO0000035WQgyam", want: "005RO0000035WQgYAM"},
		{in: "005RO0000035WQgYAA", wantErr: true},
		{in: "005RO0000035WQ", wantErr: true},
		{in: "005RO0000035WQ-YAM", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := normalizeID(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("normalizeID(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNewIDIsValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for n := uint64(0); n < 5000; n += 7 {
		id := newID(prefixUser, n)
		if !strings.HasPrefix(id, prefixUser) || len(id) != 18 {
			t.Fatalf("newID(%d) = %q", n, id)
		}
		if got, err := normalizeID(id); err != nil || got != id {
			t.Fatalf("normalizeID(newID(%d)=%q) = %q, %v", n, id, got, err)
		}
		if seen[strings.ToLower(id)] {
			t.Fatalf("newID(%d) = %q repeats case-insensitively", n, id)
		}
		seen[strings.ToLower(id)] = true
	}
}

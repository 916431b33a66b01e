package soql

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHostileQueries feeds inputs built to exhaust the parser or the evaluator.
// Each must end with a result or the expected error code; a hang fails the test
// by its timeout.
func TestHostileQueries(t *testing.T) {
	orChain := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = "Username = 'u" + strings.Repeat("x", i%7) + "'"
		}
		return "SELECT Id FROM User WHERE " + strings.Join(parts, " OR ")
	}
	longIn := "SELECT Id FROM User WHERE Username IN ('" + strings.Repeat("a', '", 15_000) + "ada@example.com')"
	tests := []struct {
		name     string
		query    string
		wantCode string // "" when the query must parse
		wantIDs  []string
	}{
		{"parentheses to the length limit", "SELECT Id FROM User WHERE " + strings.Repeat("(", MaxQueryLength-30), CodeMalformedQuery, nil},
		{"NOT nested past the limit", "SELECT Id FROM User WHERE " + strings.Repeat("NOT (", 200) + "IsActive = true" + strings.Repeat(")", 200), CodeMalformedQuery, nil},
		{"NOT nested within the limit", "SELECT Id FROM User WHERE " + strings.Repeat("NOT (", 50) + "IsActive = true" + strings.Repeat(")", 50), "", []string{"u1", "u3", "u5"}},
		{"OR chain at the comparison limit", orChain(maxComparisons), "", []string{}},
		{"OR chain over the comparison limit", orChain(maxComparisons + 1), CodeQueryTooComplicated, nil},
		{"15,000 values in one IN list", longIn, "", []string{"u1"}},
		{"LIKE pattern longer than any value", "SELECT Id FROM User WHERE Username LIKE '" + strings.Repeat("%a", 40_000) + "'", "", []string{}},
		{"a 99,000-character literal", "SELECT Id FROM User WHERE Username = '" + strings.Repeat("é", 99_000) + "'", "", []string{}},
		{"keywords repeated to the limit", strings.Repeat("SELECT ", MaxQueryLength/7), CodeMalformedQuery, nil},
		{"only whitespace", strings.Repeat(" \n\t", MaxQueryLength/3), CodeMalformedQuery, nil},
		{"NUL and control bytes", "SELECT Id\x00 FROM User", CodeMalformedQuery, nil},
		{"invalid UTF-8 outside a literal", "SELECT Id FROM User WHERE \xff = 1", CodeMalformedQuery, nil},
		{"over the length limit", "SELECT Id FROM User WHERE Username = '" + strings.Repeat("x", MaxQueryLength) + "'", CodeMalformedQuery, nil},
	}
	users := testUsers()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.query, testSchema{})
			if tt.wantCode != "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != tt.wantCode {
					t.Fatalf("Parse error = %v, want %s", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.wantIDs, ids(q.Run(users))); diff != "" {
				t.Errorf("Run mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLikeWorstCase matches patterns that make a backtracking matcher explode
// against a long value.
func TestLikeWorstCase(t *testing.T) {
	long := &rec{fields: map[string]any{"Id": "long", "Username": strings.Repeat("a", 20_000)}}
	for _, pattern := range []string{
		"%" + strings.Repeat("a", 500) + "b",
		strings.Repeat("%a", 500) + "%b",
		strings.Repeat("_", 19_999) + "%b",
		"%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b",
	} {
		q := mustParse(t, "SELECT Id FROM User WHERE Username LIKE '"+pattern+"'")
		if q.Match(long) {
			t.Errorf("LIKE %.40q... matched a value without a b", pattern)
		}
	}
}

// TestConcurrentRun runs one parsed query from many goroutines, as the simulator
// does for parallel requests; the race detector checks that evaluation only reads.
func TestConcurrentRun(t *testing.T) {
	q := mustParse(t, "SELECT Id FROM User WHERE Username LIKE '%example%' AND (Username IN ('ada@example.com', 'bob@example.com') OR IsActive = true) ORDER BY LastName DESC")
	users := testUsers()
	want := ids(q.Run(users))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := ids(q.Run(users)); !cmp.Equal(want, got) {
					t.Errorf("concurrent Run = %v, want %v", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

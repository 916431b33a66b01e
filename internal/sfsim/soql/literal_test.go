package soql

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/quick"
)

// escapeSOQL is the straightforward escaper a client would write: the documented
// escapes for quote, double quote, backslash and the common control characters,
// \uXXXX for the other control characters, every other byte as it is.
func escapeSOQL(s string) string {
	var b strings.Builder
	for i := range len(s) {
		switch c := s[i]; c {
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// roundTrip checks that s, escaped and embedded in a query, decodes to exactly s
// and matches a record holding s.
func roundTrip(s string) error {
	lit := "'" + escapeSOQL(s) + "'"
	got, err := UnquoteString(lit)
	if err != nil {
		return fmt.Errorf("UnquoteString(%q): %w", lit, err)
	}
	if got != s {
		return fmt.Errorf("UnquoteString(%q) = %q, want %q", lit, got, s)
	}
	q, err := Parse("SELECT Id FROM User WHERE Username = "+lit, testSchema{})
	if err != nil {
		return fmt.Errorf("Parse with %q: %w", lit, err)
	}
	if !q.Match(&rec{fields: map[string]any{"Username": s}}) {
		return fmt.Errorf("WHERE Username = %s does not match %q", lit, s)
	}
	return nil
}

func TestEscapedLiteralsRoundTrip(t *testing.T) {
	for _, s := range []string{
		"", "plain", "o'brien", `back\slash`, `"quoted"`, "\\'", "''", `\\\\`,
		"line\nbreak\r\n", "\t\b\f", "\x00\x01\x1f\x7f", "ünïcödé", "日本語", "😀 emoji", "\u2028\ufeff",
		"%_ wildcards stay plain", "\xff\xfe invalid utf-8 \xc3", "trailing backslash\\",
	} {
		if err := roundTrip(s); err != nil {
			t.Error(err)
		}
	}
	// Any valid string, from testing/quick's generator.
	if err := quick.Check(func(s string) bool {
		if err := roundTrip(s); err != nil {
			t.Log(err)
			return false
		}
		return true
	}, &quick.Config{MaxCount: 2000}); err != nil {
		t.Error(err)
	}
	// Any bytes at all, including invalid UTF-8.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		if err := roundTrip(string(b)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUnquoteString(t *testing.T) {
	tests := []struct {
		literal  string
		want     string
		wantCode string
	}{
		{`'abc'`, "abc", ""},
		{`'\u00e9\u00C9'`, "éÉ", ""},
		{`'\uD83D\uDE00'`, "😀", ""},
		{`'\uD83D'`, "\uFFFD", ""},
		{`'a\'b\"c\\d\ne\rf\tg\bh\fi'`, "a'b\"c\\d\ne\rf\tg\bh\fi", ""},
		{`''`, "", ""},
		{`'\N\R\T\B\F'`, "\n\r\t\b\f", ""},
		{`'\U00e9'`, "", "MALFORMED_QUERY"},
		{`abc`, "", "MALFORMED_QUERY"},
		{``, "", "MALFORMED_QUERY"},
		{`'abc`, "", "MALFORMED_QUERY"},
		{`'a' 'b'`, "", "MALFORMED_QUERY"},
		{`'a\xb'`, "", "MALFORMED_QUERY"},
		{`'a\%'`, "", "MALFORMED_QUERY"},
		{`'a\_'`, "", "MALFORMED_QUERY"},
	}
	for _, tt := range tests {
		got, err := UnquoteString(tt.literal)
		if tt.wantCode == "" {
			if err != nil || got != tt.want {
				t.Errorf("UnquoteString(%q) = %q, %v; want %q", tt.literal, got, err, tt.want)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != tt.wantCode {
			t.Errorf("UnquoteString(%q) error = %v, want %s", tt.literal, err, tt.wantCode)
		}
	}
}

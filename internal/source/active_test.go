package source

import "testing"

// TestParseActive covers the spellings taken as they are ("true", "false") and those
// that are trimmed and lower-cased first, so that the shortcut agrees with the rest.
func TestParseActive(t *testing.T) {
	tests := []struct {
		in      string
		want    bool
		wantErr bool
	}{
		{"true", true, false}, {"false", false, false},
		{"TRUE", true, false}, {"False", false, false}, {" true ", true, false}, {"\tfalse\n", false, false},
		{"", true, false}, {"1", true, false}, {"0", false, false}, {"Suspended", false, false}, {"ACTIVE", true, false},
		{"truee", false, true}, {"fals", false, true}, {"tru e", false, true},
	}
	for _, tt := range tests {
		got, err := parseActive(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("parseActive(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

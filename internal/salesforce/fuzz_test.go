package salesforce

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzAPIErrorBody feeds arbitrary error bodies, as Salesforce or a proxy before it
// could answer, to the error parser: it must never panic, must keep either parsed
// details or the raw body, and its message must stay valid UTF-8 for logs.
func FuzzAPIErrorBody(f *testing.F) {
	for _, seed := range []string{
		`[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`,
		`[{"message":"m","errorCode":"FIELD_INTEGRITY_EXCEPTION","fields":["IsActive"]}]`,
		`{"error":"invalid_grant","error_description":"expired access/refresh token"}`,
		`<html><body>502 Bad Gateway</body></html>`, `[]`, `null`, "", "\xff\xfe",
	} {
		f.Add(seed, http.StatusBadRequest)
	}
	f.Fuzz(func(t *testing.T, body string, status int) {
		e := newAPIError(http.MethodPatch, "/services/data/v67.0/sobjects/User/005", status, []byte(body))
		if len(e.Details) == 0 && e.Details != nil {
			t.Errorf("empty but non-nil details for %q", body)
		}
		if msg := e.Error(); !utf8.ValidString(msg) {
			t.Errorf("the message of %q is not UTF-8: %q", body, msg)
		}
		_ = ClassOf(e)
	})
}

// FuzzDatetime feeds arbitrary JSON values to Datetime: whatever it accepts it writes
// back in Salesforce's form, and reading that again gives the same instant to the
// millisecond (the precision Salesforce keeps).
func FuzzDatetime(f *testing.F) {
	for _, seed := range []string{
		`"2013-05-20T20:49:32.000+0000"`, `"2026-11-30T09:00:00Z"`, `"2026-11-30T09:00:00.123456789+05:30"`,
		`null`, `""`, `"2026-13-01T00:00:00.000+0000"`, `12`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var d Datetime
		if err := json.Unmarshal([]byte(data), &d); err != nil {
			return
		}
		if y := d.UTC().Year(); y < 0 || y > 9999 {
			return // outside what the four-digit layout can write
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("%s read as %v, cannot be written: %v", data, d.Time, err)
		}
		var back Datetime
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%s read as %v, written as %s, which does not read back: %v", data, d.Time, out, err)
		}
		if want := d.Truncate(time.Millisecond); !back.Equal(want) {
			t.Errorf("%s read as %v, written as %s, read back as %v", data, d.Time, out, back.Time)
		}
	})
}

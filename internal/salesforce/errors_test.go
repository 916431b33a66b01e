package salesforce

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestClassOf(t *testing.T) {
	api := func(method string, status int, codes ...string) *APIError {
		e := &APIError{Method: method, Path: "/p", StatusCode: status}
		for _, c := range codes {
			e.Details = append(e.Details, ErrorDetail{Code: c})
		}
		return e
	}
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, ClassNone},
		{"lock row on 500", api("PATCH", 500, CodeUnableToLockRow), ClassRetryable},
		{"lock row on a create's 400", api("POST", 400, CodeUnableToLockRow), ClassRetryable},
		{"lock row on a create's 500", api("POST", 500, CodeUnableToLockRow), ClassOutcomeUnknown},
		{"server unavailable on a create", api("POST", 503, CodeServerUnavailable), ClassOutcomeUnknown},
		{"server unavailable on an update", api("PATCH", 503, CodeServerUnavailable), ClassRetryable},
		{"bare 503 on a create", api("POST", 503), ClassOutcomeUnknown},
		{"bare 500 on a GET", api("GET", 500), ClassRetryable},
		{"bare 504 on a create", api("POST", 504), ClassOutcomeUnknown},
		{"daily limit", api("GET", 403, CodeRequestLimitExceeded), ClassRateLimited},
		{"429", api("GET", 429), ClassRateLimited},
		{"session invalid after renewal", api("GET", 401, CodeInvalidSessionID), ClassAuth},
		{"session invalid as 403", api("GET", 403, CodeInvalidSessionID), ClassAuth},
		{"lock and a permanent error together", api("PATCH", 400, CodeUnableToLockRow, "INVALID_FIELD"), ClassPermanent},
		{"duplicate username", api("POST", 400, "DUPLICATE_USERNAME"), ClassPermanent},
		{"empty array 400", api("POST", 400), ClassPermanent},
		{"300", &MultipleChoicesError{}, ClassPermanent},
		{"record lock", &RecordError{StatusCode: CodeUnableToLockRow}, ClassRetryable},
		{"record failure without a code", &RecordError{}, ClassPermanent},
		{"record duplicate", &RecordError{StatusCode: "DUPLICATE_USERNAME"}, ClassPermanent},
		{"oauth refusal", &OAuthError{StatusCode: 400, Code: "invalid_grant"}, ClassAuth},
		{"oauth endpoint down", &OAuthError{StatusCode: 502}, ClassRetryable},
		{"reset before sending a create", &TransportError{Method: "POST", Err: errors.New("reset")}, ClassRetryable},
		{"reset after sending a create", &TransportError{Method: "POST", Written: true, Err: errors.New("reset")}, ClassOutcomeUnknown},
		{"reset after sending an update", &TransportError{Method: "PATCH", Written: true, Idempotent: true, Err: errors.New("reset")}, ClassRetryable},
		{"reserve", &ReserveError{Used: 90, Max: 100, Reserve: 0.2}, ClassRateLimited},
		{"limiter refusal", &LimiterError{Err: errors.New("rate: Wait(n=1) would exceed context deadline")}, ClassRateLimited},
		{"batch wraps its call's error", &BatchError{Offset: 200, Err: &TransportError{Method: "POST", Written: true}}, ClassOutcomeUnknown},
		{"wrapped", fmt.Errorf("applying: %w", api("GET", 403, CodeRequestLimitExceeded)), ClassRateLimited},
		{"config", &ConfigError{Field: "x"}, ClassPermanent},
		{"context", context.Canceled, ClassPermanent},
	}
	for _, tt := range tests {
		if got := ClassOf(tt.err); got != tt.want {
			t.Errorf("%s: ClassOf(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestRecordResultErr(t *testing.T) {
	r := RecordResult{Errors: []RecordError{{StatusCode: "DUPLICATE_USERNAME", Message: "Duplicate Username.", Fields: []string{"Username"}}, {StatusCode: "INVALID_EMAIL_ADDRESS", Message: "bad"}}}
	err := r.Err()
	want := "DUPLICATE_USERNAME: Duplicate Username. (fields Username)\nINVALID_EMAIL_ADDRESS: bad"
	if err == nil || err.Error() != want {
		t.Errorf("Err() = %v, want %q", err, want)
	}
	if (RecordResult{Success: true}).Err() != nil {
		t.Error("a success has an error")
	}
}

func TestWireRecord(t *testing.T) {
	tests := []struct {
		rec  wireRecord
		want string
	}{
		{wireRecord{sobject: "User", fields: Fields{"LastName": "O\"Brien", "ManagerId": nil}}, `{"attributes":{"type":"User"},"LastName":"O\"Brien","ManagerId":null}`},
		{wireRecord{sobject: "UserLogin", id: "0Yw000000000001", fields: Fields{"IsFrozen": true}}, `{"attributes":{"type":"UserLogin"},"id":"0Yw000000000001","IsFrozen":true}`},
		{wireRecord{sobject: "User", id: "005000000000001", fields: Fields{}}, `{"attributes":{"type":"User"},"id":"005000000000001"}`},
	}
	for _, tt := range tests {
		got, err := tt.rec.MarshalJSON()
		if err != nil || string(got) != tt.want {
			t.Errorf("MarshalJSON = %s, %v; want %s", got, err, tt.want)
		}
	}
}

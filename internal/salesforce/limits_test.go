package salesforce

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLimitInfo(t *testing.T) {
	tests := []struct {
		header  string
		want    LimitInfo
		wantErr bool
	}{
		{header: "api-usage=10018/100000", want: LimitInfo{Used: 10018, Max: 100000}},
		{header: "api-usage=1/15000; api-bursts=1/750", want: LimitInfo{Used: 1, Max: 15000}},
		{header: "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)", want: LimitInfo{Used: 25, Max: 5000}},
		{header: "per-app-api-usage=17/250(appName=a), api-usage=25/5000", want: LimitInfo{Used: 25, Max: 5000}},
		{header: " api-usage = 7 / 9 ", want: LimitInfo{Used: 7, Max: 9}},
		{header: "api-usage=101000/100000", want: LimitInfo{Used: 101000, Max: 100000}},
		{header: "", wantErr: true},
		{header: "api-bursts=1/750", wantErr: true},
		{header: "api-usage=10", wantErr: true},
		{header: "api-usage=a/b", wantErr: true},
		{header: "api-usage=5/0", wantErr: true},
		{header: "api-usage=-5/10", wantErr: true},
		{header: "api-usage=1/99999999999999999999", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseLimitInfo(tt.header)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseLimitInfo(%q) error = %v, want error %v", tt.header, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseLimitInfo(%q) (-want +got):\n%s", tt.header, diff)
		}
		if err != nil && !strings.Contains(err.Error(), "Sforce-Limit-Info") {
			t.Errorf("error %q does not name the header", err)
		}
	}
}

func FuzzParseLimitInfo(f *testing.F) {
	for _, s := range []string{"api-usage=10018/100000", "api-usage=1/15000; api-bursts=1/750",
		"api-usage=25/5000, per-app-api-usage=17/250(appName=x;y=z)", "api-usage=/", "=;,", "api-usage=0/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		info, err := ParseLimitInfo(header)
		if err != nil {
			if info != (LimitInfo{}) {
				t.Errorf("error with a non-zero result %+v", info)
			}
			return
		}
		if info.Used < 0 || info.Max <= 0 {
			t.Errorf("accepted %q as %+v", header, info)
		}
		if !strings.Contains(header, "api-usage") {
			t.Errorf("accepted %q without api-usage", header)
		}
	})
}

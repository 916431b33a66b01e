package salesforce

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/sfsim"
)

// TestSimQueryCountedAgainstTotalSize reads 2450 users (two pages of the default 2000)
// while sfsim's second page is replaced by a faulty one: every page that breaks the
// count is refused with a *QueryCountError, classified retryable.
func TestSimQueryCountedAgainstTotalSize(t *testing.T) {
	const users = 2450
	total := users + 1 // and the integration user
	tests := []struct {
		name     string
		lastPage string // the second page's body; "" leaves sfsim's own
		want     *QueryCountError
	}{
		{name: "sfsim's own pages add up"},
		{"last page short", `{"totalSize":2451,"done":true,"records":[]}`,
			&QueryCountError{TotalSize: total, Records: 2000, Page: 2, PageTotalSize: total}},
		{"more records than the total", `{"totalSize":2451,"done":true,"records":[` + repeatRecords(452) + `]}`,
			&QueryCountError{TotalSize: total, Records: 2452, Page: 2, PageTotalSize: total}},
		{"the total changes between pages", `{"totalSize":3000,"done":true,"records":[` + repeatRecords(451) + `]}`,
			&QueryCountError{TotalSize: total, Records: 2451, Page: 2, PageTotalSize: 3000}},
		{"no totalSize reported: nothing to check", `{"done":true,"records":[]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newSimEnv(t, sfsim.Options{}, nil)
			if err := env.sim.SetSeats("Salesforce", 3000); err != nil {
				t.Fatal(err)
			}
			addUsers(t, env.sim, users)
			if tt.lastPage != "" {
				env.sim.InjectFault(sfsim.FaultRule{Endpoint: "queryMore", Fault: sfsim.RawFault(200, "application/json", tt.lastPage)})
			}
			got, err := QueryAll[User](context.Background(), env.client, "SELECT Id FROM User")
			var qce *QueryCountError
			errors.As(err, &qce)
			if diff := cmp.Diff(tt.want, qce); diff != "" {
				t.Fatalf("QueryCountError (-want +got):\n%s\nerr: %v", diff, err)
			}
			if tt.want != nil && ClassOf(err) != ClassRetryable {
				t.Errorf("class = %v, want retryable", ClassOf(err))
			}
			if tt.want == nil && err != nil {
				t.Fatal(err)
			}
			if tt.lastPage == "" && len(got) != total {
				t.Errorf("read %d users, want %d", len(got), total)
			}
		})
	}
}

// repeatRecords returns n minimal User records as a JSON list body.
func repeatRecords(n int) string {
	b := make([]byte, 0, n*16)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Id":"005x"}`...)
	}
	return string(b)
}

// TestSimQueryCursorIsASnapshot: users created while the pages are read are not in
// the cursor, and its totalSize does not move, so the read completes without error;
// COUNT() answers, with a totalSize and no records, are not counted.
func TestSimQueryCursorIsASnapshot(t *testing.T) {
	env := newSimEnv(t, sfsim.Options{}, nil)
	if err := env.sim.SetSeats("Salesforce", 3000); err != nil {
		t.Fatal(err)
	}
	addUsers(t, env.sim, 2100)
	ctx := context.Background()
	read := 0
	for page, err := range Query[User](ctx, env.client, "SELECT Id FROM User") {
		if err != nil {
			t.Fatal(err)
		}
		if read == 0 {
			profile, _ := env.sim.ProfileID("Standard User")
			if _, err := env.client.Create(ctx, "User", newUserFields("during@acme.example.com", profile)); err != nil {
				t.Fatal(err)
			}
		}
		read += len(page.Records)
	}
	if read != 2101 {
		t.Errorf("read %d users, want the 2101 of the snapshot", read)
	}
	rows, err := QueryAll[map[string]any](ctx, env.client, "select count() from User")
	if err != nil || len(rows) != 0 {
		t.Errorf("COUNT(): %v, %v; want no records and no error", rows, err)
	}
}

package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd-io/syncd/internal/app/apptest"
	"github.com/syncd-io/syncd/internal/config"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/secret"
	"github.com/syncd-io/syncd/internal/sfsim"
)

// bulkManaged are the managed fields the bulk tests read: text, references,
// booleans, custom fields.
var bulkManaged = []string{"FirstName", "LastName", "Title", "Department", "Phone", "EmployeeNumber",
	"ManagerId", "UserRoleId", "ProfileId", "IsActive", "CommunityNickname", "Cost_Center__c", "Remote__c"}

// awkwardOrg starts a simulated org with two custom User fields (text and checkbox)
// and n users whose values are hard on CSV: quotes, commas, newlines, CJK, leading
// spaces, nulls, inactive users, a manager and a role.
func awkwardOrg(t *testing.T, opts sfsim.Options, n int) *apptest.Org {
	t.Helper()
	opts.CustomFields = []sfsim.CustomField{{Object: "User", Name: "Cost_Center__c", Type: "text"}, {Object: "User", Name: "Remote__c", Type: "checkbox"}}
	org := apptest.NewOrg(t, opts, nil)
	sim := org.Sim
	if err := sim.SetSeats("Salesforce", int64(n+10)); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddUsers(sfsim.SeedUser{Username: "boss@acme.example.com", LastName: "Boss", Role: "CEO"}); err != nil {
		t.Fatal(err)
	}
	users := make([]sfsim.SeedUser, n)
	inactive := false
	for i := range users {
		u := sfsim.SeedUser{Username: fmt.Sprintf("u%05d@acme.example.com", i), LastName: fmt.Sprintf("佐藤 %d", i),
			FederationIdentifier: fmt.Sprintf("E%05d", i), Manager: "boss@acme.example.com"}
		switch i % 4 {
		case 0:
			u.FirstName, u.Title, u.Department = `Jo "JJ"`, "Head, Sales\nEMEA", "営業"
			u.Custom = map[string]any{"Cost_Center__c": `CC "7", 東京`, "Remote__c": true}
		case 1:
			u.Title, u.Phone, u.IsActive = " leading space", "+1 (555) 010-0000", &inactive
		case 2:
			u.Role, u.EmployeeNumber, u.Department = "VP Sales", "0042", `a\b;c|d`
		}
		users[i] = u
	}
	if _, err := sim.AddUsers(users...); err != nil {
		t.Fatal(err)
	}
	return org
}

// noWait lets a bulk job's polling go without pausing; sfsim's jobs progress on reads.
func noWait(context.Context, time.Duration) error { return nil }

// TestReadUsersBulkEqualsSOQL reads the same org through SOQL paging and through
// Bulk API 2.0: the Existing values are identical, nulls, booleans, custom fields,
// quotes, newlines and CJK included.
func TestReadUsersBulkEqualsSOQL(t *testing.T) {
	org := awkwardOrg(t, sfsim.Options{}, 2100)
	ctx := context.Background()

	viaSOQL, err := NewDirectory(org.Client).ReadUsers(ctx, bulkManaged, nil)
	if err != nil {
		t.Fatal(err)
	}
	org.Sim.ResetCalls()
	viaBulk, err := NewDirectory(org.Client).WithBulk(Bulk{MinUsers: 1, Options: salesforce.BulkOptions{MaxRecords: 1000, Wait: noWait}}).
		ReadUsers(ctx, bulkManaged, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls := org.Sim.Calls(); calls["jobs.query.create"] != 1 || calls["jobs.query.results"] != 3 {
		t.Fatalf("the bulk read made %v, want one job read in three sets", calls)
	}
	if len(viaSOQL) != 2102 {
		t.Fatalf("SOQL read %d users, want 2102", len(viaSOQL))
	}
	if diff := cmp.Diff(viaSOQL, viaBulk); diff != "" {
		t.Errorf("bulk read differs from SOQL read (-soql +bulk):\n%s", diff)
	}
	// Delta cycles keep their watermark with SystemModstamp: both ways read it.
	if i := slices.IndexFunc(viaBulk, func(u reconcile.Existing) bool { return u.SystemModstamp.IsZero() }); i >= 0 {
		t.Errorf("user %s read through Bulk API 2.0 has no SystemModstamp", viaBulk[i].ID)
	}
	// The org holds the awkward values the comparison is about.
	awkward := 0
	for _, u := range viaBulk {
		if fields := u.Fields.List(); slices.Contains(fields, reconcile.FieldValue{Name: "Cost_Center__c", Value: `CC "7", 東京`}) &&
			slices.Contains(fields, reconcile.FieldValue{Name: "Title", Value: "Head, Sales\nEMEA"}) &&
			slices.Contains(fields, reconcile.FieldValue{Name: "Remote__c", Value: "true"}) {
			awkward++
		}
	}
	if awkward != 525 {
		t.Errorf("%d users carry the awkward values, want 525", awkward)
	}
}

// TestReadUsersChoosesBulkByOrgSize: an org below bulk.min_users is read by SOQL
// pages alone; one at or above it costs one SOQL page to learn its size, then a Bulk
// job, and the next read goes to Bulk at once.
func TestReadUsersChoosesBulkByOrgSize(t *testing.T) {
	tests := []struct {
		name     string
		minUsers int
		first    map[string]int // requests of the first read, by endpoint
		second   map[string]int
	}{
		{"never", 0, map[string]int{"query": 1, "queryMore": 1}, map[string]int{"query": 1, "queryMore": 1}},
		{"below the threshold", 2103, map[string]int{"query": 1, "queryMore": 1}, map[string]int{"query": 1, "queryMore": 1}},
		{"at the threshold", 2102, map[string]int{"query": 1, "jobs.query.create": 1, "jobs.query.get": 2, "jobs.query.results": 1},
			map[string]int{"jobs.query.create": 1, "jobs.query.get": 2, "jobs.query.results": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := awkwardOrg(t, sfsim.Options{}, 2100) // with the boss and the integration user: 2102 Standard users
			d := NewDirectory(org.Client).WithBulk(Bulk{MinUsers: tt.minUsers, Options: salesforce.BulkOptions{Wait: noWait}})
			for i, want := range []map[string]int{tt.first, tt.second} {
				org.Sim.ResetCalls()
				users, err := d.ReadUsers(context.Background(), bulkManaged, nil)
				if err != nil {
					t.Fatal(err)
				}
				got := org.Sim.Calls()
				delete(got, "token")
				if diff := cmp.Diff(want, got); diff != "" || len(users) != 2102 {
					t.Errorf("read %d: %d users; requests (-want +got):\n%s", i+1, len(users), diff)
				}
			}
		})
	}
}

// TestReadUsersFallsBackToSOQL: when Bulk API 2.0 cannot deliver, the read pages
// through SOQL and logs why; failures SOQL would meet too are returned instead.
func TestReadUsersFallsBackToSOQL(t *testing.T) {
	tests := []struct {
		name      string
		opts      sfsim.Options
		setup     func(t *testing.T, sim *sfsim.Server, d *Directory)
		reason    string // in the logged error; "" when the read must fail
		wantClass reconcile.ErrorClass
	}{
		{
			name:   "the job fails",
			setup:  func(_ *testing.T, sim *sfsim.Server, _ *Directory) { sim.FailBulkJobs("Query timed out") },
			reason: "Failed: Query timed out",
		},
		{
			name: "Bulk API is not enabled for the org",
			setup: func(_ *testing.T, sim *sfsim.Server, _ *Directory) {
				sim.InjectFault(sfsim.FaultRule{Endpoint: "jobs.query.create",
					Fault: sfsim.ErrorFault(http.StatusBadRequest, "API_DISABLED_FOR_ORG", "API is not enabled for this Organization or Partner")})
			},
			reason: "API_DISABLED_FOR_ORG",
		},
		{
			name: "the daily limit of query jobs is reached",
			opts: sfsim.Options{BulkQueryJobsMax: 1},
			setup: func(t *testing.T, _ *sfsim.Server, d *Directory) {
				if _, err := d.ReadUsers(context.Background(), bulkManaged, nil); err != nil { // spends the one job
					t.Fatal(err)
				}
			},
			reason: "LIMIT_EXCEEDED",
		},
		{
			name: "the results break off",
			setup: func(_ *testing.T, sim *sfsim.Server, _ *Directory) {
				sim.InjectFault(sfsim.FaultRule{Endpoint: "jobs.query.results", Fault: sfsim.RawFault(http.StatusOK, "text/csv", "\"Id\"\n\"005")})
			},
			reason: "parse error",
		},
		{
			name: "the org's API allowance is spent",
			setup: func(_ *testing.T, sim *sfsim.Server, _ *Directory) {
				sim.InjectFault(sfsim.FaultRule{Endpoint: "jobs.query.create",
					Fault: sfsim.ErrorFault(http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")})
			},
			wantClass: reconcile.ClassBudget,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := awkwardOrg(t, tt.opts, 30)
			core, logs := observer.New(zap.InfoLevel)
			d := NewDirectory(org.Client).WithBulk(Bulk{MinUsers: 1, Options: salesforce.BulkOptions{Wait: noWait}, Logger: zap.New(core)})
			want, err := NewDirectory(org.Client).ReadUsers(context.Background(), bulkManaged, nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(t, org.Sim, d)
			logs.TakeAll()
			got, err := d.ReadUsers(context.Background(), bulkManaged, nil)
			if tt.reason == "" {
				var ce *reconcile.CallError
				if !errors.As(err, &ce) || ce.Class != tt.wantClass {
					t.Fatalf("err = %v, want a %v CallError", err, tt.wantClass)
				}
				if n := logs.FilterMessageSnippet("paging through SOQL").Len(); n != 0 {
					t.Errorf("fell back to SOQL on a failure SOQL meets too")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the fallback read differs (-want +got):\n%s", diff)
			}
			fallbacks := logs.FilterMessageSnippet("paging through SOQL").All()
			if len(fallbacks) != 1 {
				t.Fatalf("logged %d fallbacks, want 1: %v", len(fallbacks), logs.All())
			}
			if reason := fmt.Sprint(fallbacks[0].ContextMap()["error"]); !strings.Contains(reason, tt.reason) {
				t.Errorf("fallback reason %q does not mention %q", reason, tt.reason)
			}
		})
	}
}

// TestNewReadsBulkMinUsersFromTheConfiguration: salesforce.bulk.min_users reaches the
// directory every cycle's engine uses, which asks for result sets of bulkMaxRecords.
func TestNewReadsBulkMinUsersFromTheConfiguration(t *testing.T) {
	secrets := config.Secrets{Salesforce: config.AuthSecrets{ClientSecret: secret.New("s")}}
	for _, minUsers := range []int{0, 1234} {
		cfg := loadConfig(t, "0.1")
		cfg.Salesforce.Bulk.MinUsers = &minUsers
		a, err := New(cfg, secrets, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if a.directory.bulk.MinUsers != minUsers {
			t.Errorf("min_users %d reached the directory as %d", minUsers, a.directory.bulk.MinUsers)
		}
		if got := a.directory.bulk.Options.MaxRecords; got != bulkMaxRecords {
			t.Errorf("result sets of %d records, want %d so that one set never outlasts a request's timeout", got, bulkMaxRecords)
		}
	}
	if got := *loadConfig(t, "0.1").Salesforce.Bulk.MinUsers; got != config.DefaultBulkMinUsers {
		t.Errorf("default min_users %d, want %d", got, config.DefaultBulkMinUsers)
	}
}

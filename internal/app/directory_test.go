package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/internal/app/apptest"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/sfsim"
)

// TestExistingDecodesGenerically decodes records with custom fields, nulls, booleans,
// numbers beyond float64's precision and escaped strings (testdata/user-records.json).
func TestExistingDecodesGenerically(t *testing.T) {
	data, err := os.ReadFile("testdata/user-records.json")
	if err != nil {
		t.Fatal(err)
	}
	var records []map[string]json.RawMessage
	if err := json.Unmarshal(data, &records); err != nil {
		t.Fatal(err)
	}
	managed := []string{"Title", "Headcount__c", "Department", "Cost_Center__c", "IsActive"}
	var got []reconcile.Existing
	reader := newUserReader(managed)
	for _, r := range records {
		u, err := reader.record(r)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, u)
	}
	want := []reconcile.Existing{
		{ID: "005RO0000035WQgYAM", Username: "ann@acme.example.com", Email: "Ann@Acme.example.com", FederationIdentifier: "E0001",
			IsActive: true, UserType: "Standard", ProfileID: "00eRO000000aBcDYAU", Fields: reconcile.PackFields(
				reconcile.FieldValue{Name: "Cost_Center__c", Value: "CC-7é"}, reconcile.FieldValue{Name: "Department", Value: `Sales "East"`},
				reconcile.FieldValue{Name: "Headcount__c", Value: "12345678901234567890"}, reconcile.FieldValue{Name: "IsActive", Value: "true"},
				reconcile.FieldValue{Name: "Title", Value: ""},
			)},
		{ID: "005RO0000035WQhYAM", Username: "bob@acme.example.com", Email: "bob@acme.example.com",
			UserType: "Standard", ProfileID: "00eRO000000aBcDYAU", Fields: reconcile.PackFields(
				reconcile.FieldValue{Name: "Cost_Center__c", Value: ""}, reconcile.FieldValue{Name: "Department", Value: ""},
				reconcile.FieldValue{Name: "Headcount__c", Value: "0.5"}, reconcile.FieldValue{Name: "IsActive", Value: "false"},
				reconcile.FieldValue{Name: "Title", Value: "Engineer"},
			)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("existing (-want +got):\n%s", diff)
	}
}

// TestExistingRefusesRelationships names the user and field whose value is an object.
func TestExistingRefusesRelationships(t *testing.T) {
	rec := map[string]json.RawMessage{"Id": json.RawMessage(`"005A"`), "Profile": json.RawMessage(`{"Name":"x"}`)}
	_, err := newUserReader([]string{"Profile"}).record(rec)
	if err == nil || err.Error() != "user 005A: field Profile: is an object, not a field value" {
		t.Errorf("err = %v", err)
	}
}

// TestFieldsForWriting sends "" as null and IsActive as a boolean.
func TestFieldsForWriting(t *testing.T) {
	got := fields([]reconcile.FieldValue{{Name: "Title", Value: ""}, {Name: "IsActive", Value: "false"}, {Name: "Department", Value: "true"}})
	want := salesforce.Fields{"Title": nil, "IsActive": false, "Department": "true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// TestClassOf maps each of the client's classes onto the engine's.
func TestClassOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want reconcile.ErrorClass
	}{
		{"reserve refusal pauses", &salesforce.ReserveError{Used: 90, Max: 100, Reserve: 0.2}, reconcile.ClassBudget},
		{"daily limit pauses", &salesforce.APIError{StatusCode: 403, Details: []salesforce.ErrorDetail{{Code: "REQUEST_LIMIT_EXCEEDED"}}}, reconcile.ClassBudget},
		{"create dropped after sending is unknown", &salesforce.TransportError{Method: http.MethodPost, Written: true}, reconcile.ClassOutcomeUnknown},
		{"503 is transient", &salesforce.APIError{StatusCode: 503}, reconcile.ClassTransient},
		{"refused token is auth", &salesforce.OAuthError{StatusCode: 400, Code: "invalid_grant"}, reconcile.ClassAuth},
		{"bad email is permanent", &salesforce.RecordError{StatusCode: "INVALID_EMAIL_ADDRESS"}, reconcile.ClassPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classOf(fmt.Errorf("wrapped: %w", tt.err)); got != tt.want {
				t.Errorf("classOf = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDirectoryAgainstTheSimulator reads, finds, creates, updates and freezes users
// of a simulated org through the real client.
func TestDirectoryAgainstTheSimulator(t *testing.T) {
	sim, d := newSimDirectory(t, sfsim.Options{}, nil)
	ctx := context.Background()
	standard, _ := sim.ProfileID("Standard User")

	names, err := d.ResolveNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if role, _ := sim.RoleID("CEO"); names.Profiles["Standard User"] != standard || names.Roles["CEO"] != role {
		t.Errorf("names = %+v", names)
	}

	newUser := func(username, email string) reconcile.UserWrite {
		return reconcile.UserWrite{Fields: []reconcile.FieldValue{
			{Name: "Username", Value: username}, {Name: "LastName", Value: "Doe"}, {Name: "Email", Value: email},
			{Name: "Alias", Value: "jdoe"}, {Name: "TimeZoneSidKey", Value: "America/New_York"}, {Name: "LocaleSidKey", Value: "en_US"},
			{Name: "EmailEncodingKey", Value: "UTF-8"}, {Name: "LanguageLocaleKey", Value: "en_US"}, {Name: "ProfileId", Value: standard},
			{Name: "FederationIdentifier", Value: "F-" + username}, {Name: "Title", Value: ""},
		}}
	}
	created, err := d.CreateUsers(ctx, []reconcile.UserWrite{newUser("jo@acme.example.com", "jo@acme.example.com"), newUser("bad@acme.example.com", "not-an-email")})
	if err != nil {
		t.Fatal(err)
	}
	jo := created[0].ID
	wantCreated := []reconcile.WriteResult{
		{ID: jo, OK: true},
		{Code: "INVALID_EMAIL_ADDRESS", Message: "Email: invalid email address: not-an-email", Class: reconcile.ClassPermanent},
	}
	if diff := cmp.Diff(wantCreated, created); diff != "" || jo == "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}

	updated, err := d.UpdateUsers(ctx, []reconcile.UserWrite{{ID: jo, Fields: []reconcile.FieldValue{{Name: "Title", Value: "Boss"}, {Name: "IsActive", Value: "false"}}}})
	if err != nil || len(updated) != 1 || !updated[0].OK {
		t.Fatalf("UpdateUsers = %+v, %v", updated, err)
	}

	var reads [][2]int
	users, err := d.ReadUsers(ctx, []string{"Title", "ProfileId"}, func(read, total int) { reads = append(reads, [2]int{read, total}) })
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || len(reads) != 1 || reads[0] != [2]int{2, 2} {
		t.Fatalf("read %d users with progress %v, want the integration user and jo in one page", len(users), reads)
	}
	wantJo := reconcile.Existing{ID: jo, Username: "jo@acme.example.com", Email: "jo@acme.example.com", FederationIdentifier: "F-jo@acme.example.com",
		UserType: "Standard", ProfileID: standard, Fields: reconcile.PackFields(reconcile.FieldValue{Name: "ProfileId", Value: standard}, reconcile.FieldValue{Name: "Title", Value: "Boss"})}
	info, _ := sim.User(jo)
	wantJo.SystemModstamp = info.Fields["SystemModstamp"].(time.Time)
	if diff := cmp.Diff(wantJo, users[1]); diff != "" {
		t.Errorf("jo (-want +got):\n%s", diff)
	}

	for _, field := range []string{"Username", "FederationIdentifier"} {
		value := wantJo.Username
		if field == "FederationIdentifier" {
			value = wantJo.FederationIdentifier
		}
		found, err := d.FindUsers(ctx, field, []string{value, "nobody@acme.example.com"})
		if err != nil || len(found) != 1 || found[0].ID != jo || found[0].Fields.Len() != 0 {
			t.Errorf("FindUsers(%s) = %+v, %v; want jo without managed fields", field, found, err)
		}
	}

	frozen, err := d.FreezeUsers(ctx, []string{jo})
	if err != nil || len(frozen) != 1 || !frozen[0].OK {
		t.Fatalf("FreezeUsers = %+v, %v", frozen, err)
	}
	if u, _ := sim.User(jo); !u.IsFrozen {
		t.Errorf("jo is not frozen")
	}
	if u, ok := d.Usage(); !ok || u.Max != sfsim.DefaultAPIMax || u.Used == 0 {
		t.Errorf("Usage = %+v, %v", u, ok)
	}
}

// TestFreeSeats reads the license behind profiles and its free seats.
func TestFreeSeats(t *testing.T) {
	sim, d := newSimDirectory(t, sfsim.Options{}, nil)
	ctx := context.Background()
	if err := sim.SetSeats("Salesforce", 10); err != nil {
		t.Fatal(err)
	}
	used, _, _ := sim.Seats("Salesforce")
	standard, _ := sim.ProfileID("Standard User")
	admin, _ := sim.ProfileID("System Administrator")
	seats, err := d.FreeSeats(ctx, []string{standard, admin})
	if err != nil {
		t.Fatal(err)
	}
	license := seats.LicenseOf[standard]
	if license == "" || seats.LicenseOf[admin] != license || seats.Free[license] != int(10-used) {
		t.Errorf("seats = %+v, want both profiles on one license with %d free", seats, 10-used)
	}
	if _, err := d.FreeSeats(ctx, []string{"00e000000000000AAA"}); !errors.Is(err, reconcile.ErrSeatsUnknown) {
		t.Errorf("unknown profile: err = %v, want ErrSeatsUnknown", err)
	}
}

// TestCallErrors classifies whole-call failures: a reserve refusal pauses, a create
// whose answer is lost is outcome-unknown.
func TestCallErrors(t *testing.T) {
	t.Run("reserve", func(t *testing.T) {
		sim, d := newSimDirectory(t, sfsim.Options{}, func(c *salesforce.Config) { c.Reserve = 0.2 })
		sim.SetOtherUsage(sfsim.DefaultAPIMax * 9 / 10)
		// The profiles' answer tells the client the usage; the roles' query is refused.
		_, err := d.ResolveNames(context.Background())
		var ce *reconcile.CallError
		if !errors.As(err, &ce) || ce.Class != reconcile.ClassBudget {
			t.Errorf("err = %v, want a budget CallError", err)
		}
	})
	t.Run("lost answer", func(t *testing.T) {
		sim, d := newSimDirectory(t, sfsim.Options{}, nil)
		sim.InjectFault(sfsim.FaultRule{Endpoint: "collections.create", Fault: sfsim.LostAnswerFault()})
		_, err := d.CreateUsers(context.Background(), []reconcile.UserWrite{{Fields: []reconcile.FieldValue{{Name: "LastName", Value: "X"}}}})
		var ce *reconcile.CallError
		if !errors.As(err, &ce) || ce.Class != reconcile.ClassOutcomeUnknown {
			t.Errorf("err = %v, want an outcome-unknown CallError", err)
		}
	})
}

// newSimDirectory returns a simulated org and a Directory on a client connected to it.
func newSimDirectory(t *testing.T, opts sfsim.Options, mod func(*salesforce.Config)) (*sfsim.Server, *Directory) {
	org := apptest.NewOrg(t, opts, mod)
	return org.Sim, NewDirectory(org.Client)
}

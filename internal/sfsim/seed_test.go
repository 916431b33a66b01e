package sfsim

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSeedFile(t *testing.T) {
	seed, err := ParseSeed(mustRead(t, "testdata/seed.json"))
	if err != nil {
		t.Fatal(err)
	}
	sim, err := New(Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	lead, ok := sim.User("LEAD@acme.example.com")
	if !ok {
		t.Fatal("lead missing")
	}
	ceo, _ := sim.User("ceo@acme.example.com")
	if lead.ProfileName != "Support Agent" || lead.RoleName != "Support Lead" || lead.Fields["ManagerId"] != ceo.ID {
		t.Errorf("lead %+v", lead)
	}
	gone, _ := sim.User("gone@acme.example.com")
	wantLogin := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if gone.IsActive || !cmp.Equal(gone.Fields["LastLoginDate"], wantLogin) ||
		!cmp.Equal(gone.Fields["CreatedDate"], time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("gone %v", gone.Fields)
	}
	if frozen, _ := sim.User("frozen@acme.example.com"); !frozen.IsFrozen {
		t.Error("frozen user is not frozen")
	}
	if used, total, _ := sim.Seats("Customer Community"); used != 0 || total != 10 {
		t.Errorf("community seats %d/%d", used, total)
	}
	if used, total, _ := sim.Seats("Salesforce"); used != 6 || total != 50 {
		t.Errorf("salesforce seats %d/%d", used, total)
	}
}

func TestSeedErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown key", `{"userz":[]}`, "unknown field"},
		{"not JSON", `{`, "parse seed"},
		{"profile on unknown license", `{"profiles":[{"name":"P","license":"Nope"}]}`, `no license named "Nope"`},
		{"duplicate profile", `{"profiles":[{"name":"Read Only","license":"Salesforce"}]}`, "exists already"},
		{"role under unknown parent", `{"roles":[{"name":"R","parent":"Nope"}]}`, `no parent role named "Nope"`},
		{"negative seats", `{"licenses":[{"name":"Salesforce","seats":-1}]}`, "non-negative"},
		{"user on unknown profile", `{"users":[{"Username":"a@b.example.com","LastName":"A","Profile":"Nope"}]}`, `no profile named "Nope"`},
		{"user in unknown role", `{"users":[{"Username":"a@b.example.com","LastName":"A","Role":"Nope"}]}`, `no role named "Nope"`},
		{"unknown manager", `{"users":[{"Username":"a@b.example.com","LastName":"A","Manager":"x@y.example.com"}]}`, "no manager"},
		{"unknown permission set", `{"users":[{"Username":"a@b.example.com","LastName":"A","PermissionSets":["Nope"]}]}`, "no permission set"},
		{"bad username", `{"users":[{"Username":"nope","LastName":"A"}]}`, "INVALID_EMAIL_ADDRESS"},
		{"no last name", `{"users":[{"Username":"a@b.example.com"}]}`, "REQUIRED_FIELD_MISSING"},
		{"duplicate username", `{"users":[{"Username":"a@b.example.com","LastName":"A"},{"Username":"A@b.example.com","LastName":"B"}]}`, "DUPLICATE_USERNAME"},
		{"taken elsewhere", `{"takenUsernames":["a@b.example.com"],"users":[{"Username":"a@b.example.com","LastName":"A"}]}`, "DUPLICATE_USERNAME"},
		{"over the seats", `{"licenses":[{"name":"Identity","seats":1}],"users":[{"Username":"a@b.example.com","LastName":"A","Profile":"Identity User"},{"Username":"c@b.example.com","LastName":"C","Profile":"Identity User"}]}`, "LICENSE_LIMIT_EXCEEDED"},
		{"seats below use", `{"licenses":[{"name":"Salesforce","seats":0}]}`, "already used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed, err := ParseSeed([]byte(tt.doc))
			if err == nil {
				_, err = New(Options{Seed: seed})
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{{Username: "not-an-email"}, {FaultRate: 1.5}, {FaultRate: -0.1}} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v) succeeded", opts)
		}
	}
}

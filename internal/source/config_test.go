package source

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// TestConfigYAML loads every documented key strictly, as internal/config will, so a
// yaml tag that drifts from the documented vocabulary fails here.
func TestConfigYAML(t *testing.T) {
	b, err := os.ReadFile("testdata/source.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	want := Config{
		Type: "scim", URL: "https://idp.example/scim/v2",
		Columns: Columns{ID: "objectId", UserName: "userPrincipalName", Email: "mail", GivenName: "givenName",
			FamilyName: "surname", DisplayName: "displayName", Active: "accountEnabled", Title: "jobTitle",
			Department: "department", ManagerID: "manager", EmployeeNumber: "employeeId", Groups: "memberOf"},
		CSV:     CSVConfig{Delimiter: ",", GroupSeparator: "|"},
		Auth:    AuthConfig{Method: "bearer", TokenFile: "/etc/syncd/idp-token"},
		Timeout: 45 * time.Second, MaxBytes: 512 << 20, CountTrailer: true,
		SCIM: SCIMConfig{Filter: `userType eq "Employee"`, PageSize: 200, Paging: "cursor"},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	// The file mixes every key; no single type uses them all.
	if err := cfg.Validate(); err == nil || err.Error() != "source.columns: not used by type scim (SCIM attribute names are fixed)\n"+
		"source.count_trailer: only csv and ndjson exports have a count trailer (json and scim documents have an end of their own)" {
		t.Errorf("Validate: %v", err)
	}
	cfg.Type, cfg.Format, cfg.SCIM = TypeHTTP, FormatCSV, SCIMConfig{}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate as http: %v", err)
	}
}

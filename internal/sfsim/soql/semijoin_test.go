package soql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testProfiles are the profiles behind testUsers.
func testProfiles() []Record {
	return []Record{
		&rec{fields: map[string]any{"Id": "00e000000000001", "Name": "System Administrator", "UserLicenseId": "100000000000001"}},
		&rec{fields: map[string]any{"Id": "00e000000000002", "Name": "Standard User"}},
	}
}

// TestSemijoin filters users by the Ids a sub-select over profiles returns, with
// IN and NOT IN, the Ids compared in their 15-character form.
func TestSemijoin(t *testing.T) {
	tests := []struct {
		where string
		want  []string
	}{
		{"ProfileId IN (SELECT Id FROM Profile WHERE Name = 'Standard User')", []string{"u2", "u3"}},
		{"ProfileId NOT IN (SELECT Id FROM Profile WHERE Name = 'Standard User')", []string{"u1", "u4", "u5"}},
		{"ProfileId IN (SELECT Id FROM Profile WHERE UserLicenseId != null) AND IsActive = true", []string{"u1", "u5"}},
		{"ProfileId IN (SELECT Id FROM Profile)", []string{"u1", "u2", "u3", "u5"}},
		{"ProfileId IN (SELECT Id FROM Profile WHERE Name = 'Nobody')", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			q := mustParse(t, "SELECT Id FROM User WHERE "+tt.where)
			if len(q.Semijoins) != 1 || q.Semijoins[0].Object.Name != "Profile" {
				t.Fatalf("semi-joins: %+v", q.Semijoins)
			}
			q.Semijoins[0].Resolve(testProfiles())
			if diff := cmp.Diff(tt.want, ids(q.Run(testUsers()))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

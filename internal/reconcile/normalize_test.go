package reconcile

import "testing"

func TestSameValueNormalisesWhatSalesforceNormalises(t *testing.T) {
	for _, tc := range []struct {
		field, desired, existing string
		same                     bool
	}{
		{"Title", "Engineer", "Engineer", true},
		{"Title", "Engineer", " Engineer\t", true},
		{"Title", "Engineer", "engineer", false}, // only Email and Username ignore case
		{"Title", "", "", true},
		{"Title", "  ", "", true},
		{"Title", "Engineer", "", false},
		{"Email", "Ana@Example.com", "ana@example.com", true},
		{"Username", "ana@example.com.sf", " ANA@EXAMPLE.COM.SF ", true},
		{"Email", "ana@example.com", "ana@example.org", false},
		{"FederationIdentifier", "E1", "e1", false}, // kept as sent: a change of case is written
		{"ProfileId", "00e000000000001AAA", "00e000000000001", true},
		{"UserRoleId", "00E000000000001", "00E000000000001AAA", true},
		{"ManagerId", "005000000000001AAA", "005000000000001AAB", true},  // the suffix only checks case
		{"ProfileId", "00e000000000001AAA", "00E000000000001AAA", false}, // 15-character Ids are case-sensitive
		{"ProfileId", "00e000000000001", "00e000000000002", false},
		{"ProfileId", "", "00e000000000001", false},
	} {
		if got := sameValue(tc.field, tc.desired, tc.existing); got != tc.same {
			t.Errorf("sameValue(%q, %q, %q) = %v, want %v", tc.field, tc.desired, tc.existing, got, tc.same)
		}
	}
}

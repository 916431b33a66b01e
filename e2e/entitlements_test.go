package e2e

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// entitlementOrg is an org with a permission set that needs a permission set
// licence (Sales_User), one tied to the Salesforce Platform user licence
// (Platform_App), two plain ones (Reports, Manual_Extra), a public group and a queue.
func entitlementOrg(t testing.TB, seats int, flags ...string) *sfsimProcess {
	t.Helper()
	return startSfsim(t, map[string]any{
		"licenses": []map[string]any{{"name": "Salesforce", "seats": 20000}},
		"entitlements": map[string]any{
			"permissionSetLicenses": []map[string]any{{"name": "SalesLic", "seats": seats}},
			"groups":                []map[string]any{{"name": "All_Sales"}, {"name": "Sales_Queue", "type": "Queue"}},
		},
		"permissionSets": []map[string]any{
			{"name": "Sales_User", "permissionSetLicense": "SalesLic"},
			{"name": "Platform_App", "license": "Salesforce Platform"},
			{"name": "Reports"}, {"name": "Manual_Extra"},
		},
	}, flags...)
}

// entitlementRules is the mapping.entitlements section of these tests: Sales members
// get Sales_User (and so SalesLic), the public group and the queue; Platform members
// Platform_App; Analysts Reports, which syncd owns exclusively.
const entitlementRules = `  entitlements:
    rules:
      - when: { group: Sales }
        permission_sets: [Sales_User]
        public_groups: [All_Sales]
        queues: [Sales_Queue]
      - when: { group: Platform }
        permission_sets: [Platform_App]
      - when: { group: Analysts }
        permission_sets: [Reports]
    exclusive:
      permission_sets: [Reports]`

// entitlementDeployment is syncd with entitlementRules and lenient guardrails on an
// entitlementOrg with 10 seats of SalesLic.
func entitlementDeployment(t testing.TB) (*sfsimProcess, *deployment) {
	t.Helper()
	org := entitlementOrg(t, 10)
	s := lenient()
	s.Entitlements = entitlementRules
	return org, deploy(t, org, s)
}

// writeMembers writes the export with a groups column: each person's groups, ";"
// separated.
func (d *deployment) writeMembers(t testing.TB, people []person, groups map[string][]string) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	rows := [][]string{{"employeeId", "email", "firstName", "lastName", "title", "department", "groups"}}
	for _, p := range people {
		rows = append(rows, []string{p.ID, p.Email, p.GivenName, p.FamilyName, p.Title, p.Department, strings.Join(groups[p.ID], ";")})
	}
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	d.writeRaw(t, buf.Bytes())
}

// query runs SOQL over the REST API, every page, as an admin would.
func (s *sfsimProcess) query(t testing.TB, soql string) []map[string]any {
	t.Helper()
	var out []map[string]any
	next := "/services/data/v67.0/query?q=" + url.QueryEscape(soql)
	for next != "" {
		var page struct {
			Records        []map[string]any `json:"records"`
			NextRecordsURL string           `json:"nextRecordsUrl"`
		}
		s.do(t, http.MethodGet, s.url+next, s.accessToken(t), nil, &page)
		out = append(out, page.Records...)
		next = page.NextRecordsURL
	}
	return out
}

// held returns what each user holds of the org's entitlements, by username, each
// list sorted: permission sets and licences by name, groups and queues by
// DeveloperName. A name held twice appears twice.
func (s *sfsimProcess) held(t testing.TB) map[string][]string {
	t.Helper()
	username := map[string]string{}
	for _, u := range s.people(t) {
		username[u.ID] = u.Username
	}
	out := map[string][]string{}
	add := func(user, name string) { out[username[user]] = append(out[username[user]], name) }
	for _, r := range s.query(t, "SELECT AssigneeId, PermissionSet.Name FROM PermissionSetAssignment WHERE PermissionSet.IsOwnedByProfile = false") {
		add(r["AssigneeId"].(string), r["PermissionSet"].(map[string]any)["Name"].(string))
	}
	for _, r := range s.query(t, "SELECT AssigneeId, PermissionSetLicense.DeveloperName FROM PermissionSetLicenseAssign") {
		add(r["AssigneeId"].(string), r["PermissionSetLicense"].(map[string]any)["DeveloperName"].(string))
	}
	for _, r := range s.query(t, "SELECT UserOrGroupId, Group.DeveloperName FROM GroupMember") {
		add(r["UserOrGroupId"].(string), r["Group"].(map[string]any)["DeveloperName"].(string))
	}
	for u := range out {
		slices.Sort(out[u])
	}
	return out
}

// assignByHand creates assignments as an admin would, through Collections; each
// record is {"attributes": {"type": ...}, ...fields}.
func (s *sfsimProcess) assignByHand(t testing.TB, records ...map[string]any) {
	t.Helper()
	var results []struct {
		Success bool `json:"success"`
		Errors  any  `json:"errors"`
	}
	s.do(t, http.MethodPost, s.url+"/services/data/v67.0/composite/sobjects", s.accessToken(t),
		map[string]any{"allOrNone": true, "records": records}, &results)
	for i, r := range results {
		if !r.Success {
			t.Fatalf("assigning by hand, record %d: %v", i, r.Errors)
		}
	}
}

// entitlementID returns the Id of a permission set (by Name) or group (by DeveloperName).
func (s *sfsimProcess) entitlementID(t testing.TB, object, field, name string) string {
	t.Helper()
	rs := s.query(t, "SELECT Id FROM "+object+" WHERE "+field+" = '"+name+"'")
	if len(rs) != 1 {
		t.Fatalf("%s %s: %v", object, name, rs)
	}
	return rs[0]["Id"].(string)
}

func TestJoiningAndLeavingAGroupGrantsAndRemovesExactlyWhatSyncdGranted(t *testing.T) {
	t.Parallel()
	org, d := entitlementDeployment(t)
	people := staff(1, 3)
	ann, bob, cy := people[0], people[1], people[2]
	d.writeMembers(t, people, map[string][]string{ann.ID: {"Sales"}, bob.ID: {"Sales"}})

	if diff := cmp.Diff(map[string]int{"collections.create": 4}, d.applyWrites(t, exitOK)); diff != "" {
		t.Errorf("writes of the first sync (-want +got): users, then licences, permission sets and members, one call each:\n%s", diff)
	}
	sales := []string{"All_Sales", "SalesLic", "Sales_Queue", "Sales_User"}
	if diff := cmp.Diff(map[string][]string{ann.username(): sales, bob.username(): sales}, org.held(t)); diff != "" {
		t.Fatalf("after joining Sales (-want +got):\n%s", diff)
	}
	if w := d.applyWrites(t, exitOK); len(w) > 0 {
		t.Errorf("a cycle with nothing to change wrote %v", w)
	}

	// An admin gives Ann a permission set by hand, and Cy the public group.
	annU, cyU := org.user(t, ann.username()), org.user(t, cy.username())
	org.assignByHand(t,
		map[string]any{"attributes": map[string]any{"type": "PermissionSetAssignment"}, "AssigneeId": annU.ID,
			"PermissionSetId": org.entitlementID(t, "PermissionSet", "Name", "Manual_Extra")})
	org.assignByHand(t,
		map[string]any{"attributes": map[string]any{"type": "GroupMember"}, "UserOrGroupId": cyU.ID,
			"GroupId": org.entitlementID(t, "Group", "DeveloperName", "All_Sales")})

	// Ann leaves Sales.
	d.writeMembers(t, people, map[string][]string{bob.ID: {"Sales"}})
	if diff := cmp.Diff(map[string]int{"collections.delete": 3}, d.applyWrites(t, exitOK)); diff != "" {
		t.Errorf("writes when Ann leaves (-want +got): members, permission set, then licence, one call each:\n%s", diff)
	}
	want := map[string][]string{ann.username(): {"Manual_Extra"}, bob.username(): sales, cy.username(): {"All_Sales"}}
	if diff := cmp.Diff(want, org.held(t)); diff != "" {
		t.Errorf("after Ann left (-want +got):\n%s", diff)
	}
	d.must(t, exitOK, "plan")
}

func TestExclusivePermissionSetsLoseTheirStrayAssignments(t *testing.T) {
	t.Parallel()
	org, d := entitlementDeployment(t)
	people := staff(1, 2)
	ann, bob := people[0], people[1]
	d.writeMembers(t, people, map[string][]string{ann.ID: {"Analysts"}})
	d.must(t, exitOK, "apply", "--once")

	// An admin gives Bob Reports and Manual_Extra by hand; only Reports is exclusive.
	bobU := org.user(t, bob.username())
	for _, ps := range []string{"Reports", "Manual_Extra"} {
		org.assignByHand(t, map[string]any{"attributes": map[string]any{"type": "PermissionSetAssignment"},
			"AssigneeId": bobU.ID, "PermissionSetId": org.entitlementID(t, "PermissionSet", "Name", ps)})
	}
	if diff := cmp.Diff(map[string]int{"collections.delete": 1}, d.applyWrites(t, exitOK)); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	want := map[string][]string{ann.username(): {"Reports"}, bob.username(): {"Manual_Extra"}}
	if diff := cmp.Diff(want, org.held(t)); diff != "" {
		t.Errorf("after the cycle (-want +got):\n%s", diff)
	}
}

func TestALicenceMismatchIsReportedOnceAndNeverSent(t *testing.T) {
	t.Parallel()
	org, d := entitlementDeployment(t)
	people := staff(1, 2)
	ann := people[0]
	d.writeMembers(t, people, map[string][]string{ann.ID: {"Platform", "Analysts"}})

	if diff := cmp.Diff(map[string]int{"collections.create": 2}, d.applyWrites(t, exitPartial)); diff != "" {
		t.Errorf("writes of the first run (-want +got): the users and Reports, never Platform_App:\n%s", diff)
	}
	if w := d.applyWrites(t, exitOK); len(w) > 0 {
		t.Errorf("the next cycle wrote %v", w)
	}
	if diff := cmp.Diff([]string{"assign LICENSE_MISMATCH"}, d.explain(t, ann.ID).failures(t)); diff != "" {
		t.Errorf("Ann's failures (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{ann.username(): {"Reports"}}, org.held(t)); diff != "" {
		t.Errorf("held (-want +got):\n%s", diff)
	}
}

func TestAnIncompletePullRemovesNoEntitlement(t *testing.T) {
	t.Parallel()
	org, d := entitlementDeployment(t)
	people := staff(1, 3)
	members := map[string][]string{}
	for _, p := range people {
		members[p.ID] = []string{"Sales"}
	}
	d.writeMembers(t, people, members)
	d.must(t, exitOK, "apply", "--once")
	before := org.held(t)

	// Everyone leaves Sales, in an export with a row without an id: incomplete.
	d.writeMembers(t, people, nil)
	var buf bytes.Buffer
	data, err := os.ReadFile(d.export)
	if err != nil {
		t.Fatal(err)
	}
	buf.Write(data)
	buf.WriteString(",x@acme.example.com,No,Id,T,D,Sales\n")
	d.writeRaw(t, buf.Bytes())
	o := d.must(t, exitOK, "apply", "--once")
	if !strings.Contains(o.stderr, "source pull incomplete") {
		t.Errorf("syncd does not say the pull is incomplete:\n%s", o.stderr)
	}
	if diff := cmp.Diff(before, org.held(t)); diff != "" {
		t.Errorf("an incomplete pull removed entitlements (-before +after):\n%s", diff)
	}
}

func TestSIGKILLMidEntitlementApplyThenRerunConvergesWithoutDuplicates(t *testing.T) {
	t.Parallel()
	org := entitlementOrg(t, 5000, "--latency", simLatency.String())
	s := settings{MaxDeactivations: 200, MaxDeactivationPercent: 100, MaxShrinkPercent: 100, Concurrency: 2,
		Entitlements: entitlementRules, MaxEntitlementRemovals: 5000}
	d := deploy(t, org, s)
	k := &killer{org: org, d: d, rng: rand.New(rand.NewPCG(killSeed, 1))}
	people := staff(1, 600)
	members := map[string][]string{}
	for _, p := range people {
		members[p.ID] = []string{"Sales"}
	}
	d.writeMembers(t, people, members)
	for k.interrupt(t) {
	}
	d.must(t, exitOK, "apply", "--once")
	sales := []string{"All_Sales", "SalesLic", "Sales_Queue", "Sales_User"}
	held := org.held(t)
	for _, p := range people {
		if diff := cmp.Diff(sales, held[p.username()]); diff != "" {
			t.Fatalf("%s after %d kills (-want +got):\n%s", p.ID, k.kills, diff)
		}
	}
	if k.kills == 0 {
		t.Error("no kill landed: the test proved nothing")
	}

	// Whatever a killed run created before recording it, syncd owns: everyone leaves
	// Sales and loses all of it.
	d.writeMembers(t, people, nil)
	d.must(t, exitOK, "apply", "--once")
	if got := org.held(t); len(got) != 0 {
		t.Errorf("after everyone left Sales, %d users still hold entitlements, e.g. %v", len(got), firstOf(got))
	}
	t.Logf("%d kills (%d before the first write)", k.kills, k.early)
}

func firstOf(m map[string][]string) map[string][]string {
	for k, v := range m {
		return map[string][]string{k: v}
	}
	return nil
}

func TestUnknownEntitlementNamesAreConfigurationErrorsListingTheValidOnes(t *testing.T) {
	t.Parallel()
	org := entitlementOrg(t, 10)
	s := lenient()
	s.Entitlements = strings.ReplaceAll(entitlementRules, "[Sales_Queue]", "[Sales_Queu]")
	d := deploy(t, org, s)
	d.writeMembers(t, staff(1, 2), nil)
	want := `mapping.entitlements: the org has no queue "Sales_Queu" (it has: Sales_Queue)`
	o := d.must(t, 1, "check-config")
	if !strings.Contains(o.stdout, "FAIL  "+want) {
		t.Errorf("check-config does not name the unknown queue:\n%s", o.stdout)
	}
	before := org.state(t)
	o = d.must(t, 1, "apply", "--once")
	if !strings.Contains(o.stdout+o.stderr, want) {
		t.Errorf("apply does not name the unknown queue:\nstdout:\n%s\nstderr:\n%s", o.stdout, o.stderr)
	}
	if w := writeCalls(callsSince(before, org.state(t))); len(w) > 0 {
		t.Errorf("a cycle with a configuration error wrote %v", w)
	}
}

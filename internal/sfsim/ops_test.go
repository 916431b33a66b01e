package sfsim

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// widgetDef is a plain object with generic writes, registered on a test Server: the
// shape of the objects other files add (records with owners, assignments, members).
func widgetDef() *objectDef {
	d := newObjectDef("Widget__c", "a01", nil,
		idField(),
		required(text("Name", "Name", 10)),
		ref("OwnerId", "Owner ID", "User"),
		boolean("IsDone", "Done"),
		fieldDef{name: "AssigneeId", label: "Assignee ID", kind: kindRef, length: 18, access: createOnly, ref: "User"},
		datetime("CreatedDate", "Created Date"),
		readonly(ref("CreatedById", "Created By ID", "User")),
		datetime("LastModifiedDate", "Last Modified Date"),
		readonly(ref("LastModifiedById", "Last Modified By ID", "User")),
		datetime("SystemModstamp", "System Modstamp"),
	)
	d.ops = genericOps()
	return d
}

func newWidgetHarness(t *testing.T) (*harness, *objectDef) {
	t.Helper()
	h := newHarness(t, Options{})
	d := widgetDef()
	h.sim.mu.Lock()
	h.sim.schema.add(d)
	h.sim.org.tables[d] = &table{byID: map[string]*row{}}
	h.sim.mu.Unlock()
	return h, d
}

func TestGenericCreateValidatesAndStamps(t *testing.T) {
	h, d := newWidgetHarness(t)
	owner := h.sim.IntegrationUserID()
	records := []any{
		typed(map[string]any{"Name": "one", "OwnerId": owner[:15], "AssigneeId": owner}, "Widget__c"),
		typed(map[string]any{"OwnerId": owner}, "Widget__c"),
		typed(map[string]any{"Name": "much too long"}, "Widget__c"),
		typed(map[string]any{"Name": "bad", "OwnerId": "005000000000000AAA"}, "Widget__c"),
		typed(map[string]any{"Name": "ro", "CreatedById": owner}, "Widget__c"),
		typed(map[string]any{"Name": "x"}, "Profile"),
	}
	status, got, data := h.collection("POST", "/composite/sobjects", map[string]any{"records": records})
	if status != 200 || len(got) != len(records) {
		t.Fatalf("%d %s", status, data)
	}
	var codes []string
	for _, r := range got[1:] {
		codes = append(codes, r.Errors[0].StatusCode)
	}
	want := []string{"REQUIRED_FIELD_MISSING", "STRING_TOO_LONG", "INVALID_CROSS_REFERENCE_KEY", "INVALID_FIELD_FOR_INSERT_UPDATE", "INVALID_TYPE_FOR_OPERATION"}
	if !got[0].Success || !cmp.Equal(want, codes) {
		t.Fatalf("results %s, want success then %v", data, want)
	}
	h.sim.mu.Lock()
	defer h.sim.mu.Unlock()
	r := h.sim.org.tables[d].byID[got[0].ID]
	if r == nil || len(h.sim.org.tables[d].rows) != 1 {
		t.Fatalf("created %s not stored alone", got[0].ID)
	}
	now := h.clock.Now()
	wantVals := map[string]any{
		"Name": "one", "OwnerId": owner, "IsDone": false, "AssigneeId": owner,
		"CreatedDate": now, "CreatedById": owner, "LastModifiedDate": now, "LastModifiedById": owner, "SystemModstamp": now,
	}
	for name, v := range wantVals {
		if got := r.vals[d.mustIndex(name)]; !cmp.Equal(got, v) {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
}

func TestGenericUpdateAndDelete(t *testing.T) {
	h, d := newWidgetHarness(t)
	owner := h.sim.IntegrationUserID()
	var ids []string
	for _, name := range []string{"a", "b", "c"} {
		status, got, data := h.collection("POST", "/composite/sobjects", map[string]any{"records": []any{typed(map[string]any{"Name": name}, "Widget__c")}})
		if status != 200 || !got[0].Success {
			t.Fatalf("create %s: %d %s", name, status, data)
		}
		ids = append(ids, got[0].ID)
	}
	created := h.clock.Now()
	h.clock.Advance(time.Minute)

	if status, _, body := h.do("PATCH", testVersion+"/sobjects/Widget__c/"+ids[0], map[string]any{"IsDone": true, "OwnerId": owner}); status != 204 {
		t.Fatalf("update: %d %s", status, body)
	}
	status, _, body := h.do("PATCH", testVersion+"/sobjects/Widget__c/"+ids[0], map[string]any{"AssigneeId": owner})
	if status != 400 || !cmp.Equal(errorCodes(t, body), []string{"INVALID_FIELD_FOR_INSERT_UPDATE"}) {
		t.Errorf("update of a create-only field: %d %s", status, body)
	}
	h.sim.mu.Lock()
	r := h.sim.org.tables[d].byID[ids[0]]
	got := []any{r.vals[d.mustIndex("IsDone")], r.vals[d.mustIndex("AssigneeId")], r.vals[d.mustIndex("CreatedDate")], r.vals[d.mustIndex("SystemModstamp")]}
	h.sim.mu.Unlock()
	if diff := cmp.Diff([]any{true, nil, created, created.Add(time.Minute)}, got); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}

	// allOrNone: a failing id rolls the deleted one back into its place.
	status, res, data := h.collection("DELETE", "/composite/sobjects?allOrNone=true&ids="+ids[1]+","+h.sim.IntegrationUserID(), nil)
	if status != 200 || res[0].Success || res[1].Errors[0].StatusCode != "INVALID_TYPE_FOR_OPERATION" {
		t.Fatalf("delete with a user, all or none: %d %s", status, data)
	}
	if diff := cmp.Diff(ids, widgetIDs(h, d)); diff != "" {
		t.Errorf("after the rollback (-want +got):\n%s", diff)
	}
	status, res, data = h.collection("DELETE", "/composite/sobjects?ids="+ids[1]+","+ids[1], nil)
	if status != 200 || !res[0].Success || res[1].Errors[0].StatusCode != "ENTITY_IS_DELETED" {
		t.Fatalf("delete twice in one call: %d %s", status, data)
	}
	if status, _, body := h.do("DELETE", testVersion+"/sobjects/Widget__c/"+ids[2], nil); status != 204 {
		t.Fatalf("sObject delete: %d %s", status, body)
	}
	if status, _, _ := h.do("GET", testVersion+"/sobjects/Widget__c/"+ids[2], nil); status != 404 {
		t.Errorf("deleted widget still answers %d", status)
	}
	if diff := cmp.Diff(ids[:1], widgetIDs(h, d)); diff != "" {
		t.Errorf("left (-want +got):\n%s", diff)
	}
}

func TestWritesRefusedByObject(t *testing.T) {
	h := newHarness(t, Options{})
	profile, _ := h.sim.ProfileID("Read Only")
	tests := []struct {
		method, path, want string
	}{
		{"PATCH", "/sobjects/Profile/" + profile, "HTTP Method 'PATCH' not allowed. Allowed are GET,HEAD"},
		{"DELETE", "/sobjects/Profile/" + profile, "HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD"},
		{"DELETE", "/sobjects/User/" + h.sim.IntegrationUserID(), "HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD,PATCH"},
	}
	for _, tt := range tests {
		status, _, body := h.do(tt.method, testVersion+tt.path, map[string]any{})
		if status != 405 || !cmp.Equal(errorMessages(t, body), []string{tt.want}) {
			t.Errorf("%s %s: %d %s, want 405 %q", tt.method, tt.path, status, body, tt.want)
		}
	}
}

func widgetIDs(h *harness, d *objectDef) []string {
	h.sim.mu.Lock()
	defer h.sim.mu.Unlock()
	var ids []string
	for _, r := range h.sim.org.tables[d].rows {
		ids = append(ids, r.id())
	}
	return ids
}

// TestCollectionsDoNotMixSetupObjects: a Collections call may carry several object
// types, but not a setup object (User, PermissionSetAssignment, GroupMember ...) with
// another type; the records of the later types fail on their own.
func TestCollectionsDoNotMixSetupObjects(t *testing.T) {
	h, _ := newWidgetHarness(t)
	mixed := "MIXED_DML_OPERATION"
	records := []any{
		typed(map[string]any{"Name": "w1"}, "Widget__c"),
		typed(h.newUser("mixed@acme.example.com"), "User"),
		typed(map[string]any{"Name": "w2"}, "Widget__c"),
	}
	status, got, data := h.collection("POST", "/composite/sobjects", map[string]any{"records": records})
	if status != 200 || !got[0].Success || got[1].Success || got[1].Errors[0].StatusCode != mixed || !got[2].Success {
		t.Fatalf("widget, user, widget: %d %s", status, data)
	}
	want := "DML operation on setup object is not permitted after you have updated a non-setup object (or vice versa): User, original object: Widget__c"
	if got[1].Errors[0].Message != want {
		t.Errorf("message %q, want %q", got[1].Errors[0].Message, want)
	}
	user := h.create(h.newUser("alone@acme.example.com"))
	status, got, data = h.collection("PATCH", "/composite/sobjects", map[string]any{"records": []any{
		typed(map[string]any{"Id": user, "Title": "x"}, "User"),
		typed(map[string]any{"Id": got[0].ID, "Name": "w3"}, "Widget__c"),
	}})
	if status != 200 || !got[0].Success || got[1].Success || got[1].Errors[0].StatusCode != mixed {
		t.Fatalf("user, widget update: %d %s", status, data)
	}

	// Two setup objects of different types may not be deleted in one call either.
	h, ids := entitlementHarness(t)
	var created []string
	for _, rec := range []map[string]any{
		typed(map[string]any{"AssigneeId": ids["ann@example.com"], "PermissionSetId": ids["Reports"]}, "PermissionSetAssignment"),
		typed(map[string]any{"UserOrGroupId": ids["bob@example.com"], "GroupId": ids["All_Sales"]}, "GroupMember"),
	} {
		status, got, data := h.collection("POST", "/composite/sobjects", map[string]any{"records": []any{rec}})
		if status != 200 || !got[0].Success {
			t.Fatalf("create %v: %d %s", rec, status, data)
		}
		created = append(created, got[0].ID)
	}
	status, got, data = h.collection("DELETE", "/composite/sobjects?ids="+created[0]+","+created[1], nil)
	if status != 200 || !got[0].Success || got[1].Success || got[1].Errors[0].StatusCode != mixed {
		t.Fatalf("assignment, member delete: %d %s", status, data)
	}
}

package sfsim

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ownerOf returns a record's OwnerId as the simulator holds it.
func ownerOf(t *testing.T, sim *Server, object, id string) string {
	t.Helper()
	recs, err := sim.Records(object)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r["Id"] == id {
			owner, _ := r["OwnerId"].(string)
			return owner
		}
	}
	t.Fatalf("no %s %s", object, id)
	return ""
}

func TestOwnershipTransfer(t *testing.T) {
	for _, tt := range []struct {
		name   string
		object string
		setup  func(t *testing.T, h *harness, record, leaver, to string)
		header []string
		// wantCode is the record's error; "" for a success that leaves wantOwner.
		wantCode, wantMessage string
		wantOwner             string // "to", "leaver" or "rule"
	}{
		{name: "an open opportunity moves to an active user", object: "Opportunity", wantOwner: "to"},
		{
			name: "a case moved with Sforce-Auto-Assign: FALSE keeps the owner set", object: "Case",
			setup:  func(t *testing.T, h *harness, _, _, _ string) { setRule(t, h, "Case") },
			header: []string{"Sforce-Auto-Assign", "FALSE"}, wantOwner: "to",
		},
		{
			name: "a case moved without the header goes where the assignment rule says", object: "Case",
			setup: func(t *testing.T, h *harness, _, _, _ string) { setRule(t, h, "Case") }, wantOwner: "rule",
		},
		{
			name: "an opportunity has no assignment rules to run", object: "Opportunity",
			setup: func(t *testing.T, h *harness, _, _, _ string) {
				if err := h.sim.SetAssignmentRule("Opportunity", "rule@acme.example.com"); err == nil {
					t.Error("an Opportunity assignment rule was accepted")
				}
			},
			wantOwner: "to",
		},
		{
			name: "an inactive new owner is refused", object: "Lead",
			setup: func(t *testing.T, h *harness, _, _, to string) {
				if status, _, body := h.do("PATCH", testVersion+"/sobjects/User/"+to, map[string]any{"IsActive": false}); status != 204 {
					t.Fatalf("deactivate: %d %s", status, body)
				}
			},
			wantCode: "INACTIVE_OWNER_OR_USER", wantMessage: "operation performed with inactive user", wantOwner: "leaver",
		},
		{
			name: "a new owner who cannot read the record is refused", object: "Account",
			setup: func(t *testing.T, h *harness, _, _, to string) {
				if err := h.sim.DenyRead(to); err != nil {
					t.Fatal(err)
				}
			},
			wantCode: "TRANSFER_REQUIRES_READ", wantMessage: "The new owner must have read permission", wantOwner: "leaver",
		},
		{
			name: "a record an approval locks is refused", object: "Contact",
			setup: func(t *testing.T, h *harness, record, _, _ string) {
				if err := h.sim.LockRecord(record); err != nil {
					t.Fatal(err)
				}
			},
			wantCode: "ENTITY_IS_LOCKED", wantMessage: "the entity is locked for editing", wantOwner: "leaver",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			leaver := h.create(h.newUser("leaver@acme.example.com"))
			to := h.create(h.newUser("manager@acme.example.com"))
			rule := h.create(h.newUser("rule@acme.example.com"))
			fields := map[string]map[string]any{
				"Opportunity": {"Name": "Deal", "StageName": "Prospecting"},
				"Case":        {"Subject": "Broken"},
				"Lead":        {"LastName": "Prospect", "Company": "Initech"},
				"Account":     {"Name": "Acme"},
				"Contact":     {"LastName": "Buyer"},
			}[tt.object]
			fields["OwnerId"] = leaver
			record, err := h.sim.AddRecord(tt.object, fields)
			if err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(t, h, record, leaver, to)
			}
			body := map[string]any{"allOrNone": false, "records": []any{
				map[string]any{"attributes": map[string]string{"type": tt.object}, "id": record, "OwnerId": to}}}
			status, _, data := h.do("PATCH", testVersion+"/composite/sobjects", body, tt.header...)
			var got []result
			if err := json.Unmarshal(data, &got); err != nil || status != 200 || len(got) != 1 {
				t.Fatalf("%d %s", status, data)
			}
			var code, message string
			if len(got[0].Errors) > 0 {
				code, message = got[0].Errors[0].StatusCode, got[0].Errors[0].Message
			}
			if code != tt.wantCode || message != tt.wantMessage {
				t.Errorf("error %q %q, want %q %q", code, message, tt.wantCode, tt.wantMessage)
			}
			want := map[string]string{"to": to, "leaver": leaver, "rule": rule}[tt.wantOwner]
			if got := ownerOf(t, h.sim, tt.object, record); got != want {
				t.Errorf("owner %s, want the %s %s", got, tt.wantOwner, want)
			}
		})
	}
}

func setRule(t *testing.T, h *harness, object string) {
	t.Helper()
	if err := h.sim.SetAssignmentRule(object, "rule@acme.example.com"); err != nil {
		t.Fatal(err)
	}
}

func TestSessionsTokensAndWorkitems(t *testing.T) {
	h := newHarness(t, Options{})
	leaver := h.create(h.newUser("leaver@acme.example.com"))
	manager := h.create(h.newUser("manager@acme.example.com"))
	add := func(object string, fields map[string]any) string {
		t.Helper()
		id, err := h.sim.AddRecord(object, fields)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	s1 := add("AuthSession", map[string]any{"UsersId": "leaver@acme.example.com", "SessionType": "UI"})
	s2 := add("AuthSession", map[string]any{"UsersId": leaver, "SessionType": "Oauth2"})
	token := add("OauthToken", map[string]any{"UserId": leaver, "AppName": "Mobile", "DeleteToken": "dt-1"})
	item := add("ProcessInstanceWorkitem", map[string]any{"ActorId": leaver})

	// Sessions are read by UsersId and deleted, one at a time or in Collections.
	status, _, body := h.do("GET", testVersion+"/query?q="+url.QueryEscape("SELECT Id, SessionType FROM AuthSession WHERE UsersId = '"+leaver+"'"), nil)
	var page struct {
		TotalSize int `json:"totalSize"`
	}
	if err := json.Unmarshal(body, &page); err != nil || status != 200 || page.TotalSize != 2 {
		t.Fatalf("sessions query: %d %s", status, body)
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		wantStatus         int
		wantCode           string
	}{
		{"a session cannot be changed", "PATCH", "/sobjects/AuthSession/" + s1, map[string]any{"SessionType": "X"}, 405, "METHOD_NOT_ALLOWED"},
		{"a session is deleted", "DELETE", "/sobjects/AuthSession/" + s1, nil, 204, ""},
		{"an OAuth token cannot be deleted through sObjects", "DELETE", "/sobjects/OauthToken/" + token, nil, 405, "METHOD_NOT_ALLOWED"},
		{"a work item cannot be deleted", "DELETE", "/sobjects/ProcessInstanceWorkitem/" + item, nil, 405, "METHOD_NOT_ALLOWED"},
		{"a work item's actor is reassigned", "PATCH", "/sobjects/ProcessInstanceWorkitem/" + item, map[string]any{"ActorId": manager}, 204, ""},
	} {
		status, _, body := h.do(tc.method, testVersion+tc.path, tc.body)
		var code string
		if status >= 400 {
			code = errorCodes(t, body)[0]
		}
		if status != tc.wantStatus || code != tc.wantCode {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, body, tc.wantStatus, tc.wantCode)
		}
	}
	status, _, body = h.do("DELETE", testVersion+"/composite/sobjects?ids="+s2+","+s1+"&allOrNone=false", nil)
	var got []result
	if err := json.Unmarshal(body, &got); err != nil || status != 200 {
		t.Fatalf("collections delete: %d %s", status, body)
	}
	if !got[0].Success || got[1].Success || got[1].Errors[0].StatusCode != "ENTITY_IS_DELETED" {
		t.Errorf("collections delete of a live and a deleted session: %s", body)
	}

	// Tokens are revoked by their DeleteToken; a second revoke is invalid_token.
	for _, tc := range []struct {
		token      string
		wantStatus int
		wantBody   string
	}{
		{"dt-1", 200, ""},
		{"dt-1", 400, `{"error":"invalid_token","error_description":"invalid token"}`},
		{"", 400, `{"error":"unsupported_token_type","error_description":"missing token"}`},
	} {
		status, _, body := h.form("/services/oauth2/revoke", url.Values{"token": {tc.token}})
		if status != tc.wantStatus || string(body) != tc.wantBody {
			t.Errorf("revoke %q: %d %s, want %d %s", tc.token, status, body, tc.wantStatus, tc.wantBody)
		}
	}
	if recs, _ := h.sim.Records("OauthToken"); len(recs) != 0 {
		t.Errorf("tokens left after the revoke: %v", recs)
	}
}

func TestDeactivationBlockerMessages(t *testing.T) {
	for _, tt := range []struct{ blocker, want string }{
		{BlockerDefaultCaseOwner, "You cannot deactivate this user. You cannot deactivate a user who is the default owner of cases"},
		{BlockerWebToLeadCreator, "You cannot disable the Web to Lead Default Creator."},
		{BlockerDefaultWorkflow, "You cannot deactivate the Default Workflow User"},
		{BlockerHierarchyField("Approver__c"), "Cannot inactivate user that is the value of a hierarchy field:Approver__c"},
		{BlockerGuestRecordOwner, "This user is the default owner of records created by guest users and can't be deactivated"},
		{BlockerPortalAdmin, "You cannot deactivate a user who is a portal administrator"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			h := newHarness(t, Options{})
			id := h.create(h.newUser("blocked@acme.example.com"))
			if err := h.sim.AddBlocker(id, tt.blocker); err != nil {
				t.Fatal(err)
			}
			status, _, body := h.do("PATCH", testVersion+"/sobjects/User/"+id, map[string]any{"IsActive": false})
			if status != 400 {
				t.Fatalf("%d %s", status, body)
			}
			if diff := cmp.Diff([]string{tt.want}, errorMessages(t, body)); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

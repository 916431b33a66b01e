package sfsim

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGuestRecordOwnerCannotBeDeactivated(t *testing.T) {
	h := newHarness(t, Options{})
	owner := h.create(h.newUser("guest-owner@acme.example.com"))
	other := h.create(h.newUser("other@acme.example.com"))
	site, err := h.sim.AddRecord("Site", map[string]any{"Name": "Partner Portal", "Status": "Active",
		"GuestRecordDefaultOwnerId": "guest-owner@acme.example.com"})
	if err != nil {
		t.Fatal(err)
	}

	q := "SELECT Id, Name, GuestRecordDefaultOwnerId FROM Site WHERE GuestRecordDefaultOwnerId IN ('" + owner + "', '" + other + "')"
	status, _, body := h.do("GET", testVersion+"/query?q="+url.QueryEscape(q), nil)
	if status != 200 {
		t.Fatalf("query Site: %d %s", status, body)
	}
	var page struct {
		Records []map[string]any `json:"records"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"Id": site, "Name": "Partner Portal", "GuestRecordDefaultOwnerId": owner}}
	if diff := cmp.Diff(want, page.Records, ignoreAttributes()); diff != "" {
		t.Errorf("sites (-want +got):\n%s", diff)
	}

	status, _, body = h.do("PATCH", testVersion+"/sobjects/User/"+owner, map[string]any{"IsActive": false})
	if status != 400 {
		t.Fatalf("deactivating the guest-record owner: %d %s, want 400", status, body)
	}
	if diff := cmp.Diff([]string{BlockerGuestRecordOwner}, errorMessages(t, body)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if status, _, body := h.do("PATCH", testVersion+"/sobjects/User/"+other, map[string]any{"IsActive": false}); status != 204 {
		t.Errorf("deactivating a user who owns no site's guest records: %d %s, want 204", status, body)
	}
	if status, _, _ := h.do("PATCH", testVersion+"/sobjects/Site/"+site, map[string]any{"Name": "Renamed"}); status < 400 {
		t.Errorf("Site accepted an update (%d); it is query-only", status)
	}
}

func TestOrgWithoutSiteRefusesSiteQueries(t *testing.T) {
	h := newHarness(t, Options{WithoutSite: true})
	status, _, body := h.do("GET", testVersion+"/query?q="+url.QueryEscape("SELECT Id FROM Site"), nil)
	if status != 400 {
		t.Fatalf("query Site: %d %s, want 400", status, body)
	}
	if diff := cmp.Diff([]string{"INVALID_TYPE"}, errorCodes(t, body)); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
	if _, err := h.sim.AddRecord("Site", map[string]any{"Name": "x"}); err == nil {
		t.Error("AddRecord added a Site to an org without the Site object")
	}
	u := h.create(h.newUser("leaver@acme.example.com"))
	if status, _, body := h.do("PATCH", testVersion+"/sobjects/User/"+u, map[string]any{"IsActive": false}); status != 204 {
		t.Errorf("deactivating a user in an org without sites: %d %s, want 204", status, body)
	}
}

package reconcile

import (
	"strings"
	"time"
)

// BlockedRetry is how long a deactivation Salesforce refused for a named blocker
// waits before it is tried again: the blocker is reported once a day, not every
// cycle, and the user stays frozen meanwhile.
const BlockedRetry = 24 * time.Hour

// Blocker is a named reason Salesforce refuses to deactivate a user, with what a
// Salesforce admin must do to clear it.
type Blocker struct {
	// Name is stable, for metrics and scripts: default_case_owner, hierarchy_field ...
	Name string
	// Fix says what the admin must change.
	Fix string
}

// blockerRules match Salesforce's refusal messages (salesforce-second-wave.md §4),
// by a part of the text: which errorCode goes with each is undocumented, so the
// message decides. The first rule that matches wins.
func blockerRules() []blockerRule {
	return []blockerRule{
		{"default owner of cases", Blocker{"default_case_owner", "remove the user as the default case owner and the Automated Case User in Setup > Support Settings"}},
		{"automated case user", Blocker{"default_case_owner", "remove the user as the default case owner and the Automated Case User in Setup > Support Settings"}},
		{"receiving cases or notifications as part of your case assignment/escalation rules", Blocker{"case_rules", "remove the user from every case assignment and escalation rule, inactive rules included"}},
		{"web to lead default creator", Blocker{"web_to_lead_creator", "choose another Default Lead Creator in Setup > Web-to-Lead Settings"}},
		{"web-to-lead", Blocker{"web_to_lead_creator", "choose another Default Lead Creator in Setup > Web-to-Lead Settings"}},
		{"default workflow user", Blocker{"default_workflow_user", "choose another Default Workflow User in Setup > Process Automation Settings"}},
		{"value of a hierarchy field", Blocker{"hierarchy_field", "clear the user from the custom hierarchy field named in the message on every user (a deleted field must be erased)"}},
		{"default owner of records created by guest users", Blocker{"guest_record_owner", "choose another default owner for guest-user records in the site's settings (Experience Cloud or Sites)"}},
		{"portal administrator", Blocker{"portal_admin", "choose another portal administrator in the portal settings"}},
		{"approver", Blocker{"approver", "replace the user as approver or delegated approver in the approval processes"}},
	}
}

// blockerRule names the blocker of messages that contain a text.
type blockerRule struct {
	contains string
	blocker  Blocker
}

// ClassifyBlocker names the blocker behind a refused deactivation's message; ok is
// false when the message names none syncd knows.
func ClassifyBlocker(message string) (b Blocker, ok bool) {
	m := strings.ToLower(message)
	for _, r := range blockerRules() {
		if strings.Contains(m, r.contains) {
			return r.blocker, true
		}
	}
	return Blocker{}, false
}

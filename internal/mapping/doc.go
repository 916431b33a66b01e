// Package mapping turns an identity-provider record into the Salesforce User fields it
// should have: templates, defaults for the required picklists, generated Alias and
// Username, and profile and role rules by name.
//
// Field templates are Go text/template over the record. They see .ID, .UserName,
// .Email (the primary address: the one flagged primary, else type work, else the first),
// .Emails, .GivenName, .FamilyName, .DisplayName, .Active, .Title, .Department,
// .ManagerID, .EmployeeNumber, .Groups (each .ID and .Name), .UsernameSuffix, and the
// methods .Attr "name" (any other attribute) and .InGroup "name". Functions, with the
// piped value last: lower, upper, trim, truncate N, asciifold, default "value",
// replace "old" "new". Outputs are trimmed; Username is lower-cased.
//
// Defaults: Username, Email, FirstName, LastName, the four required picklists and
// FederationIdentifier (from .ID, mode always) are mapped unless configured otherwise
// (see DefaultFields); FederationIdentifier is there so that a user created just
// before a crash is found again by the stable IdP id, federation_id being in the
// default match order.
//
// Profile and role rules test record attributes by name. The standard names and those
// declared in mapping.attributes are accepted; any other name fails the configuration
// with the rule's path and the closest known name, rather than making a rule that
// silently matches nobody.
//
// Rejection reasons carry no personal data in their text: an offending email,
// Username or id is in Reason.Value, which Reason.String leaves out and
// Reason.StringWithValue shows, so the service can redact unless log.pii is set.
//
// Map gives a Result: the desired users (plain values, fields sorted by name, each
// with its mode always or on_create), the ids of inactive records, and the rejected
// records with every reason. ResolveIDs then turns the chosen profile and role names
// into ProfileId and UserRoleId.
package mapping

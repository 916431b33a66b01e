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
// Map gives a Result: the desired users (plain values, fields sorted by name, each
// with its mode always or on_create), the ids of inactive records, and the rejected
// records with every reason. ResolveIDs then turns the chosen profile and role names
// into ProfileId and UserRoleId.
package mapping

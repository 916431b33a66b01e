// Package mapping turns an identity-provider record into the Salesforce User fields it
// should have: templates, defaults for the required picklists, generated Alias and
// Username, and profile and role rules by name.
package mapping

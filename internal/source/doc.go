// Package source pulls the desired set of people from an identity provider (export
// files, HTTP URLs, SCIM) and says whether the pull is complete. An incomplete pull must
// never lead to a deactivation, so completeness is part of every snapshot.
package source

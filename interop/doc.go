// Package interop holds tests that drive the Salesforce simulator (cmd/sfsim) with real
// third-party Salesforce clients, to prove that sfsim speaks Salesforce's wire rather
// than our reading of it. It has no code of its own; see README.md.
package interop

// Package reconcile matches desired people to Salesforce users, computes the plan as a
// pure function, applies guardrails and drives the apply loop. It declares the small
// interfaces it consumes from Salesforce and the store.
package reconcile

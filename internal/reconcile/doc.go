// Package reconcile decides what to do to each Salesforce user, explains why, refuses
// to do harm, and does the rest with the fewest API calls the work allows.
//
// A cycle is three steps with a clean seam between them:
//
//  1. Calculate (plan.go) is a pure function of an Input (the mapped desired users,
//     the org's existing users, the links syncd owns, the pull's completeness) and a
//     Policy. It does no IO, reads no clock and logs nothing; it returns a Plan value:
//     actions, each with its explanation, and reports of what it left alone.
//  2. Guardrails (guard.go) take the plan and hold actions that need a person's
//     approval: every deactivation of a shrunken pull, or of a cycle above the
//     deactivation cap; an incomplete pull plans no deactivation at all. Policies
//     (sync, upsert-only, create-only, policy.go) turn what they forbid into Skips.
//     Calculate runs both; each guardrail is also a value that can be run alone.
//  3. The engine (engine.go, apply.go) saves the plan before Salesforce is touched,
//     applies it in sObject Collections batches under the API budget, and records
//     each batch's results as they land, through the small interfaces it declares
//     (Directory, Journal). The wiring adapts internal/salesforce and
//     internal/store to them; this package imports neither.
//
// A change is data before it is an action: the Changes of an Action are what `syncd
// plan` prints, what the journal stores and what is sent to Salesforce.
package reconcile

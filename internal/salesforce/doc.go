// Package salesforce is syncd's REST client for Salesforce: OAuth (JWT bearer and
// client credentials), SOQL paging, sObject Collections writes, typed errors and the
// org's API usage read from every answer.
//
// A Client is built with New from a Config whose TokenSource (NewJWTSource or
// NewClientCredentialsSource) yields tokens carrying the org's instance URL. Every call
// takes a context and, before each HTTP request, waits on the configured Limiter and
// checks the org's remaining allowance against the configured Reserve. The access token
// is shared by concurrent calls; when Salesforce answers INVALID_SESSION_ID it is
// renewed once (one renewal for all callers) and the request resent once.
//
// Errors are typed (*APIError, *OAuthError, *TransportError, *MultipleChoicesError,
// *ReserveError, *LimiterError, *RecordError, *BatchError,
// *QueryCountError, *ConfigError) and ClassOf is the one place that says what each means: retryable,
// rate-limited, auth, permanent, or outcome-unknown for a create that may have been
// applied. The client itself retries only retryable failures, with bounded exponential
// backoff and jitter, and returns the last attempt's own typed error.
//
// What is safe to retry: reads (Query, QueryAll, Get, Limits) and idempotent writes
// (UpdateRecords, UpsertRecords, Update, Upsert, SetFrozen: setting IsActive, IsFrozen
// or fields twice has the effect of setting them once) are retried on transient
// failures. Creates (CreateRecords, Create: POST) are never resent once they may have
// reached Salesforce: a dropped connection after sending, an unreadable answer or any
// 5xx answer makes them outcome-unknown, and the caller re-reads the org by
// FederationIdentifier or Username before it creates what is still missing.
//
// Reads go through Query, which yields one page at a time and decodes records into a
// caller-chosen type, and the builders UsersQuery, ProfilesQuery, RolesQuery,
// UsersWhereInQueries and UserLoginsQueries. Every value that enters SOQL passes
// through Quote (or QuoteLike). Writes go through CreateRecords, UpdateRecords and
// UpsertRecords (sObject Collections, 200 records per call) or the single-record
// Create, Get, Update and Upsert; SetFrozen freezes users through UserLogin.
//
// Large reads can go through BulkQuery instead: a Bulk API 2.0 query job, polled
// with a doubling wait and read as CSV streamed set by set (Sforce-Locator), one
// record at a time, a few dozen requests for a million records where SOQL paging
// takes 500. A job that fails ends in a *BulkJobError; a job left unfinished is
// aborted and deleted.
//
// The package shares no code with the simulator internal/sfsim, which is written from
// the same wire reference; the tests run this client against it.
package salesforce

// Package sfsim simulates a Salesforce org over HTTP, so that syncd's client, its tests,
// its demo and its benchmarks run without a real org. It is written from
// salesforce-api.md alone and shares no code with internal/salesforce: the two are
// checked against each other and against jsforce.
//
// A Server is an http.Handler; put it behind httptest.NewServer in a test, or run the
// sfsim binary. It serves, with Salesforce's paths, status codes, JSON and headers:
//
//	POST /services/oauth2/token                       client_credentials (form or HTTP Basic) and JWT bearer
//	GET|POST /services/oauth2/userinfo                 OpenID Connect userinfo of the token's user
//	GET  /services/data/                               the versions list (v20.0 to v67.0)
//	GET  /services/data/vNN.0/limits
//	GET  /services/data/vNN.0/sobjects[/{type}/describe]      describe (the fields clients read)
//	GET  /services/data/vNN.0/query?q=SOQL             also queryAll; paged by nextRecordsUrl
//	GET  /services/data/vNN.0/query?q=SOQL&columns=true  the query's columnMetadata, not its records
//	GET  /services/data/vNN.0/query/{locator}-{offset}
//	POST /services/data/vNN.0/sobjects/User
//	GET  /services/data/vNN.0/sobjects/{type}/{id}[?fields=A,B]
//	GET  /services/data/vNN.0/sobjects/User/updated/?start=&end=  Ids written in a window
//	PATCH /services/data/vNN.0/sobjects/User/{id}      and UserLogin/{id} (IsFrozen)
//	PATCH /services/data/vNN.0/sobjects/User/{field}/{value}   upsert (201, 200, 300)
//	POST|PATCH /services/data/vNN.0/composite/sobjects         Collections create, update
//	PATCH /services/data/vNN.0/composite/sobjects/User/{field} Collections upsert
//	DELETE /services/data/vNN.0/composite/sobjects?ids=         refused per record (no deletes)
//	GET|POST /services/data/vNN.0/composite/sobjects/{type}    Collections retrieve
//	GET  /id/{orgId}/{userId}                                   the token's identity URL
//	POST|GET /services/data/vNN.0/jobs/query                    Bulk API 2.0: create a query job, list them
//	GET|PATCH|DELETE /services/data/vNN.0/jobs/query/{id}       its state; abort; delete
//	GET  /services/data/vNN.0/jobs/query/{id}/results           CSV, maxRecords, locator
//	GET  /services/data/vNN.0/jobs/query/{id}/resultPages       v58.0+: five result URLs at once
//
// Every REST answer but the versions list carries Sforce-Limit-Info; every
// authenticated call spends one call of the daily allowance. Queries run against the
// objects User, Profile, UserRole, UserLicense, UserLogin, PermissionSet,
// PermissionSetAssignment and Organization (the org's own read-only record) through
// the soql subpackage. Runs of slashes in a path (//services/data/...) count as one,
// as on a real org. A JWT's exp may be a number or a string of digits; only a past
// one is refused, as real orgs accept far-future and millisecond values.
//
// # Bulk API 2.0 query
//
// A query job is UploadComplete when created; the first status read (GET of the job)
// starts it (InProgress) and the first read at least Options.BulkProcessingTime later
// on the simulator's clock finishes it: it runs the query over the org as it is then
// and becomes JobComplete, or Failed with an errorMessage when FailBulkJobs queued
// one. Nothing progresses by itself, so tests never wait. The SOQL is checked at
// create (400 with the REST API's codes; COUNT() and OFFSET get INVALIDJOB), jobs
// count against DailyBulkV2QueryJobs (Options.BulkQueryJobsMax; past it, 400
// LIMIT_EXCEEDED), and every request spends one API call. Results are CSV as
// Salesforce writes them: a header row, every value in double quotes, null as "",
// booleans true/false, datetimes as 2026-01-02T15:04:05.000Z; sets of maxRecords
// (DefaultBulkMaxRecords without it) with Sforce-NumberOfRecords and Sforce-Locator
// ("null" after the last); 412 JOB_NOT_COMPLETE before the job is complete and 409
// with another API version than the job's. Codes Salesforce does not document
// (INVALIDJOB, INVALIDJOBSTATE, LIMIT_EXCEEDED, API_ERROR for a bad locator or
// maxRecords or the version mismatch) are the simulator's choice.
//
// # The org
//
// A fresh org has the licenses Salesforce (1000 seats), Salesforce Platform (100),
// Chatter Free (5000, UserType CsnOnly) and Identity (100); the standard profiles
// (System Administrator, Standard User, Read Only, Solution Manager, Marketing User,
// Contract Manager, Minimum Access - Salesforce, Standard Platform User, Chatter Free
// User, Identity User); the roles CEO, VP Sales, VP Marketing and Sales Rep; two
// permission sets; and the integration user (Options.Username, a System
// Administrator) that every token acts as.
//
// # Validation
//
// Writes are checked as Salesforce checks them and refused with its error codes:
// unknown fields (INVALID_FIELD), read-only ones (INVALID_FIELD_FOR_INSERT_UPDATE),
// JSON of the wrong shape (JSON_PARSER_ERROR), the nine required fields
// (REQUIRED_FIELD_MISSING), lengths (STRING_TOO_LONG), email shape
// (INVALID_EMAIL_ADDRESS), restricted picklists (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST;
// locale and language keys by shape only), references (MALFORMED_ID,
// FIELD_INTEGRITY_EXCEPTION, INVALID_CROSS_REFERENCE_KEY), uniqueness
// (DUPLICATE_USERNAME, also against usernames taken in other orgs; DUPLICATE_VALUE;
// DUPLICATE_COMM_NICKNAME), license seats (LICENSE_LIMIT_EXCEEDED), deactivation
// blockers (FIELD_INTEGRITY_EXCEPTION) and the last active System Administrator
// (CANNOT_DISABLE_LAST_ADMIN). Usernames are stored lower-case; CommunityNickname is
// generated when absent; UserType follows the profile's license; CreatedDate,
// LastModifiedDate and SystemModstamp follow Options.Clock in whole seconds, and
// every User write moves the last two (also one that changes nothing), while a
// refused or rolled-back write moves neither. Server.EditUser (PATCH
// /__sim/users/{id}) models an administrator's edit in Setup; Server.TouchUser
// models a system-driven update, which moves SystemModstamp alone. Freezing
// (UserLogin) leaves the User's stamps alone. So `WHERE SystemModstamp > t ORDER
// BY SystemModstamp, Id` finds every user written after t, as on Salesforce.
//
// # Custom fields
//
// Options.CustomFields adds custom fields (API names ending in __c) to the standard
// objects, text (255 characters) or checkbox (false unless set, never null): written,
// queried, described and exported like the standard ones. Seeded users set them
// through SeedUser.Custom.
//
// # Seeds
//
// A seed document (Options.Seed, ParseSeed, Server.ApplySeed, the binary's --seed)
// adds licenses or seat counts, profiles, roles, permission sets, users and usernames
// taken in other orgs. Users name their profile, role and manager by name and may
// carry LastLoginDate, CreatedDate, Frozen, PermissionSets and deactivation Blockers.
// A seed, unlike the API, may repeat a FederationIdentifier so that an upsert
// matching several users (300) can be reproduced. Example (testdata/seed.json):
//
//	{
//	  "licenses": [{"name": "Salesforce", "seats": 50}],
//	  "profiles": [{"name": "Support Agent", "license": "Salesforce"}],
//	  "roles": [{"name": "Support Lead", "parent": "CEO"}],
//	  "takenUsernames": ["taken@elsewhere.example.com"],
//	  "users": [
//	    {"Username": "lead@acme.example.com", "FirstName": "Lin", "LastName": "Lead",
//	     "Profile": "Support Agent", "Role": "Support Lead", "FederationIdentifier": "E0002",
//	     "LastLoginDate": "2026-11-20T08:15:00Z", "Blockers": ["the default owner of cases"]},
//	    {"Username": "gone@acme.example.com", "LastName": "Timer", "IsActive": false}
//	  ]
//	}
//
// # Offboarding
//
// A leaver's footprint (offboarding.go): Account, Contact, Opportunity (IsClosed),
// Case (IsClosed) and Lead (IsConverted) owned through OwnerId, whose transfer checks
// the new owner is active (INACTIVE_OWNER_OR_USER) and may read
// (TRANSFER_REQUIRES_READ), refuses records an approval locks (ENTITY_IS_LOCKED), and
// runs the org's assignment rule on Account, Case and Lead unless the request says
// Sforce-Auto-Assign: FALSE; ProcessInstanceWorkitem, whose ActorId alone may change;
// AuthSession (query, delete); OauthToken (query only) and POST
// /services/oauth2/revoke. The deactivation blockers carry Salesforce's own messages
// (the Blocker constants). Site (site.go, query only) names the default owner of
// guest users' records, who cannot be deactivated (BlockerGuestRecordOwner);
// Options.WithoutSite makes an org without it. Tests seed these records with
// AddRecord or POST /__sim/records, and set rules, locks and read denials through
// the controls.
//
// # Faults and controls
//
// Tests steer the simulator in-process (AddUsers, User, EditUser, TouchUser,
// AdvanceClock, ExpireSessions, SetOtherUsage, AddBlocker, InjectFault, Calls, ...) or, for the binary, over JSON
// under /__sim/ (see Server.serveControl's list). A FaultRule answers the next
// matching requests with a Salesforce error, a raw body (an HTML page, an empty
// array), a connection dropped before the request is handled or after (the write
// happens, the answer is lost), or a delay; Options.FaultRate adds random faults from
// a seeded generator. Faulted requests spend no API allowance.
//
// # Trying it
//
//	go run ./cmd/sfsim --addr 127.0.0.1:8080 &
//	curl -s -d grant_type=client_credentials -d client_id=sfsim-client-id \
//	     -d client_secret=sfsim-client-secret http://127.0.0.1:8080/services/oauth2/token
//	curl -s -H "Authorization: Bearer $TOKEN" \
//	     'http://127.0.0.1:8080/services/data/v67.0/query?q=SELECT+Id,Username,Profile.Name+FROM+User'
//	# the next two creates get UNABLE_TO_LOCK_ROW; then look at the counters
//	curl -s -d '{"endpoint":"sobject.create","count":2,"fault":{"status":500,"errorCode":"UNABLE_TO_LOCK_ROW","message":"unable to obtain exclusive access to this record"}}' \
//	     http://127.0.0.1:8080/__sim/faults
//	curl -s http://127.0.0.1:8080/__sim/state
package sfsim

// Package source pulls the desired set of people from an identity provider (export
// files, HTTP URLs, SCIM) and says whether the pull is complete. An incomplete pull must
// never lead to a deactivation, so completeness is part of every snapshot.
//
// The contract of Source.Pull: it always returns a Snapshot, and its error is non-nil
// exactly when Snapshot.Complete is false. An incomplete snapshot carries the records
// read so far and, in Reasons, why it is incomplete (with the line, array element or
// page where that applies): an empty or header-only file, a row or object that does not
// parse, a ragged CSV row, an unreadable active flag, a failed or short HTTP read, a
// non-2xx answer, a SCIM page whose totalResults disagrees, a repeated id or page, an
// empty page before the end, a missing or blank id, a count trailer that is missing or
// disagrees, an input larger than its bound, a cancelled context.
//
// CSV and NDJSON have no end marker, so a truncated export looks complete to any
// reader. Exports must therefore be replaced atomically: the exporter writes a
// temporary file in the same directory and renames it over the old one (or the server
// publishes a download only once written), never overwriting in place. Where a format
// or transport offers a check, it is used: an HTTP answer shorter than its
// Content-Length fails the read (unexpected EOF); JSON arrays and SCIM documents must
// close; source.count_trailer makes a CSV or NDJSON export end with a `#count=N` line
// that must match the records read. The named backstop for what no check can see (an
// export cut at a line boundary without a trailer, a SCIM server that truncates
// consistently) is the shrink gate, implemented by the reconcile engine: a pull that
// shrank by more than the configured share holds every deactivation.
//
// Every read of outside input is bounded: source.max_bytes (default 1 GiB) caps a file,
// a download and the sum of a SCIM pull's pages; one NDJSON line may take at most
// 4 MiB and one SCIM page 64 MiB. Going past a bound ends the read as incomplete, with
// a reason that names the bound.
//
// Credentials: a source URL used with a bearer token or basic password must be https,
// except on loopback (127.0.0.0/8, ::1, localhost), and a redirect to plain http off
// loopback is not followed. The token and password are read from their file or
// environment variable at every pull and held as secret.Secret until the header is
// set. No reason or error keeps them: a server's error body is quoted only with the
// credential just sent, its base64 form and the URL's query values (8 characters or
// longer) replaced by "<secret>", and a transport error (*url.Error, whose text repeats
// the full URL) is kept as a cause only with its URL cut to scheme, host and path. The
// http and scim sources print, with any verb, as their kind and URL without query.
//
// Parsing streams: a file or download is never held in memory as a whole, only the
// records built from it (CSV fields share one string per row), and the file and HTTP
// sources keep no records between pulls (a NotModified snapshot has only the last
// pull's count and digest; Snapshot.MissingRecords, WithRecords).
//
// Which record attribute a CSV column or JSON key fills is configurable
// (source.columns); by default the names of the common exports are recognised, matched
// case-insensitively and ignoring punctuation and bracketed notes: Entra's
// (objectId, userPrincipalName, givenName, surname, mail, jobTitle, accountEnabled),
// Google's ("First Name [Required]", "Email Address [Required]", "Employee ID",
// "Manager Email"), Okta's (login, firstName, lastName, email, status, and profile.*
// in JSON).
//
// Identity never changes silently: links to Salesforce users are keyed on the record's
// id, so a record that lacks its id would make its linked user look gone. When
// source.columns.id is configured every record must carry it; otherwise the first
// record decides whether the export has ids (a CSV id column, a JSON id key) and every
// later record must agree, and a present id must not be blank (a blank CSV cell
// included). A record that breaks this makes the pull incomplete, with its line or
// array element named. Only an export without any id column or key falls back, for
// every record alike, to the login, then the email.
package source

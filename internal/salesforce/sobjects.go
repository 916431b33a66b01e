package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// MaxCollectionRecords is the most records one sObject Collections call accepts.
const MaxCollectionRecords = 200

// Fields are the field values of one record to write, by API name. A nil value clears
// the field. The keys "attributes" and, for updates, "Id" are the client's to set.
type Fields map[string]any

// RecordResult is the outcome of writing one record, mapped back to its input.
type RecordResult struct {
	// Index is the record's position in the slice given to the call.
	Index int
	// ID is the record's Id when Salesforce gave one.
	ID      string
	Success bool
	// Created is true when an upsert inserted the record rather than updating it.
	Created bool
	Errors  []RecordError
}

// Err returns nil for a success, otherwise the record's errors joined; ClassOf
// classifies it by its first error.
func (r RecordResult) Err() error {
	if r.Success {
		return nil
	}
	if len(r.Errors) == 0 {
		return &RecordError{Message: "Salesforce reported a failure without an error"}
	}
	errs := make([]error, len(r.Errors))
	for i := range r.Errors {
		errs[i] = &r.Errors[i]
	}
	return errors.Join(errs...)
}

// wireResult is one element of a Collections answer, or a single create's answer.
type wireResult struct {
	ID      string            `json:"id"`
	Success bool              `json:"success"`
	Created bool              `json:"created"`
	Errors  []wireErrorDetail `json:"errors"`
}

func (w wireResult) result(index int) RecordResult {
	r := RecordResult{Index: index, ID: w.ID, Success: w.Success, Created: w.Created}
	for _, e := range w.Errors {
		d := e.detail()
		r.Errors = append(r.Errors, RecordError{StatusCode: d.Code, Message: d.Message, Fields: d.Fields})
	}
	return r
}

// wireRecord is a record of a Collections body: attributes.type, the id for updates,
// then the fields.
type wireRecord struct {
	sobject string
	id      string
	fields  Fields
}

// MarshalJSON writes {"attributes":{"type":T},"id":ID,...fields}.
func (w wireRecord) MarshalJSON() ([]byte, error) {
	typ, err := json.Marshal(w.sobject)
	if err != nil {
		return nil, err
	}
	fields, err := json.Marshal(w.fields)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(fields)+len(typ)+48)
	out = append(out, `{"attributes":{"type":`...)
	out = append(out, typ...)
	out = append(out, '}')
	if w.id != "" {
		id, err := json.Marshal(w.id)
		if err != nil {
			return nil, err
		}
		out = append(out, `,"id":`...)
		out = append(out, id...)
	}
	if len(fields) > 2 { // not "{}"
		out = append(out, ',')
		out = append(out, fields[1:]...)
	} else {
		out = append(out, '}')
	}
	return out, nil
}

// checkFields refuses keys the client sets itself and names that are not API names.
func checkFields(f Fields, forbidID bool) error {
	for k := range f {
		switch {
		case k == "attributes":
			return &ConfigError{Field: "fields", Reason: "\"attributes\" is set by the client"}
		case forbidID && strings.EqualFold(k, "Id"):
			return &ConfigError{Field: "fields", Reason: "the Id goes in the record's ID, not its fields"}
		}
		if err := checkIdents("field", k); err != nil {
			return err
		}
	}
	return nil
}

// RecordUpdate is one record of UpdateRecords: its Id and the fields to change.
type RecordUpdate struct {
	ID     string
	Fields Fields
}

// CreateRecords creates records of one sObject type through sObject Collections, 200
// per call with allOrNone false, and returns one result per record in input order.
// When a call fails as a whole, the results of the earlier calls are returned with a
// *BatchError. A call that may have been applied (its connection dropped after
// sending, its answer unreadable, or any 5xx answer) is outcome-unknown (ClassOf) and
// never resent: re-read by FederationIdentifier or Username before trying again, or
// the records may be created twice.
func (c *Client) CreateRecords(ctx context.Context, sobject string, records []Fields) ([]RecordResult, error) {
	for i, f := range records {
		if err := checkFields(f, true); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
	}
	return c.collections(ctx, "collections.create", http.MethodPost, "/composite/sobjects", sobject, len(records), nil,
		func(i int) wireRecord { return wireRecord{sobject: sobject, fields: records[i]} })
}

// UpdateRecords updates records of one sObject type through sObject Collections, 200
// per call with allOrNone false; see CreateRecords for results and errors. Setting
// fields twice has the effect of setting them once, so transient failures (5xx, a
// lost answer) are retried within the RetryPolicy.
func (c *Client) UpdateRecords(ctx context.Context, sobject string, records []RecordUpdate) ([]RecordResult, error) {
	return c.updateRecords(ctx, sobject, records, nil)
}

// updateRecords is UpdateRecords with extra request headers.
func (c *Client) updateRecords(ctx context.Context, sobject string, records []RecordUpdate, header http.Header) ([]RecordResult, error) {
	for i, r := range records {
		if r.ID == "" {
			return nil, fmt.Errorf("record %d: %w", i, &ConfigError{Field: "id", Reason: "is empty"})
		}
		if err := checkFields(r.Fields, true); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
	}
	return c.collections(ctx, "collections.update", http.MethodPatch, "/composite/sobjects", sobject, len(records), header,
		func(i int) wireRecord {
			return wireRecord{sobject: sobject, id: records[i].ID, fields: records[i].Fields}
		})
}

// UpsertRecords inserts or updates records of one sObject type matched on an external
// id field (for User: FederationIdentifier), which every record must carry, through
// sObject Collections; see CreateRecords for results and errors. RecordResult.Created
// tells inserts from updates.
func (c *Client) UpsertRecords(ctx context.Context, sobject, externalIDField string, records []Fields) ([]RecordResult, error) {
	if err := checkIdents("external_id_field", externalIDField); err != nil {
		return nil, err
	}
	for i, f := range records {
		if err := checkFields(f, true); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		if v, _ := f[externalIDField].(string); v == "" {
			return nil, fmt.Errorf("record %d: %w", i, &ConfigError{Field: externalIDField, Reason: "the external id is missing or empty"})
		}
	}
	return c.collections(ctx, "collections.upsert", http.MethodPatch, "/composite/sobjects/"+sobject+"/"+externalIDField, sobject, len(records), nil,
		func(i int) wireRecord { return wireRecord{sobject: sobject, fields: records[i]} })
}

// DeleteRecords deletes records by Id through sObject Collections, 200 per call with
// allOrNone false, and returns one result per Id in input order; see CreateRecords for
// results and errors. The Ids may be of different types (Collections deletes by Id),
// but objects Salesforce will not delete (User) fail on their own. Deleting twice has
// the effect of deleting once (the second answer is ENTITY_IS_DELETED), so transient
// failures are retried within the RetryPolicy.
func (c *Client) DeleteRecords(ctx context.Context, ids []string) ([]RecordResult, error) {
	for i, id := range ids {
		if !isSalesforceID(id) {
			return nil, fmt.Errorf("record %d: %w", i, &ConfigError{Field: "id", Reason: fmt.Sprintf("%q is not a 15- or 18-character Salesforce Id", id)})
		}
	}
	results := make([]RecordResult, 0, len(ids))
	for start := 0; start < len(ids); start += MaxCollectionRecords {
		end := min(start+MaxCollectionRecords, len(ids))
		q := url.Values{"ids": {strings.Join(ids[start:end], ",")}, "allOrNone": {"false"}}
		path := c.dataPath("/composite/sobjects") + "?" + q.Encode()
		batch, err := c.batch(ctx, &request{endpoint: "collections.delete", method: http.MethodDelete, path: path}, start, end)
		results = append(results, batch...)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// isSalesforceID tells a 15- or 18-character Id's shape.
func isSalesforceID(id string) bool {
	if len(id) != 15 && len(id) != 18 {
		return false
	}
	for _, c := range []byte(id) {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// collections sends n records in calls of MaxCollectionRecords, with header when not
// nil, and maps the answers back to input indexes.
func (c *Client) collections(ctx context.Context, endpoint, method, resource, sobject string, n int, header http.Header, record func(int) wireRecord) ([]RecordResult, error) {
	if err := checkIdents("sobject", sobject); err != nil {
		return nil, err
	}
	results := make([]RecordResult, 0, n)
	for start := 0; start < n; start += MaxCollectionRecords {
		end := min(start+MaxCollectionRecords, n)
		body := struct {
			AllOrNone bool         `json:"allOrNone"`
			Records   []wireRecord `json:"records"`
		}{Records: make([]wireRecord, 0, end-start)}
		for i := start; i < end; i++ {
			body.Records = append(body.Records, record(i))
		}
		data, err := json.Marshal(body)
		if err != nil {
			return results, &BatchError{Offset: start, Err: fmt.Errorf("salesforce: encoding records: %w", err)}
		}
		batch, err := c.batch(ctx, &request{endpoint: endpoint, method: method, path: c.dataPath(resource), body: data, header: header}, start, end)
		results = append(results, batch...)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// batch sends one Collections call carrying the records start to end of the caller's
// input and maps its answer back to those indexes. A failed call is a *BatchError at
// start.
func (c *Client) batch(ctx context.Context, r *request, start, end int) ([]RecordResult, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, &BatchError{Offset: start, Err: err}
	}
	var answer []wireResult
	if err := json.Unmarshal(resp.body, &answer); err != nil || len(answer) != end-start {
		// The records were sent and something was done with them; what, we can't tell.
		cause := fmt.Errorf("answer has %d results for %d records", len(answer), end-start)
		if err != nil {
			cause = fmt.Errorf("decoding the answer: %w", err)
		}
		return nil, &BatchError{Offset: start, Err: &TransportError{
			Method: r.method, Path: r.errorPath(), Written: true, Idempotent: idempotent(r.method), Err: cause}}
	}
	results := make([]RecordResult, len(answer))
	for i, w := range answer {
		results[i] = w.result(start + i)
	}
	return results, nil
}

// sobjectPath returns /sobjects/{sobject}/{escaped parts...} under the data path.
func (c *Client) sobjectPath(sobject string, parts ...string) (string, error) {
	if err := checkIdents("sobject", sobject); err != nil {
		return "", err
	}
	p := "/sobjects/" + sobject
	for _, part := range parts {
		if part == "" {
			return "", &ConfigError{Field: "id", Reason: "is empty"}
		}
		p += "/" + url.PathEscape(part)
	}
	return c.dataPath(p), nil
}

// Create creates one record and returns its Id. For more than one record use
// CreateRecords: it costs one API call per 200. A create that may have been applied
// (connection dropped after sending, any 5xx answer) is outcome-unknown and not
// resent (see ClassOf).
func (c *Client) Create(ctx context.Context, sobject string, fields Fields) (string, error) {
	if err := checkFields(fields, true); err != nil {
		return "", err
	}
	path, err := c.sobjectPath(sobject)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(fields)
	if err != nil {
		return "", fmt.Errorf("salesforce: encoding the record: %w", err)
	}
	resp, err := c.do(ctx, &request{endpoint: "sobject.create", method: http.MethodPost, path: path, body: body})
	if err != nil {
		return "", err
	}
	var w wireResult
	if err := json.Unmarshal(resp.body, &w); err != nil {
		return "", &TransportError{Method: http.MethodPost, Path: path, Written: true, Err: fmt.Errorf("decoding the answer: %w", err)}
	}
	if r := w.result(0); !r.Success || r.ID == "" {
		if err := r.Err(); err != nil {
			return "", err
		}
		return "", &TransportError{Method: http.MethodPost, Path: path, Written: true, Err: errors.New("the answer has no id")}
	}
	return w.ID, nil
}

// Get reads one record into out (a pointer to a struct with json tags, or to a map),
// limited to fields when given.
func (c *Client) Get(ctx context.Context, sobject, id string, fields []string, out any) error {
	path, err := c.sobjectPath(sobject, id)
	if err != nil {
		return err
	}
	if len(fields) > 0 {
		if err := checkIdents("field", fields...); err != nil {
			return err
		}
		path += "?fields=" + url.QueryEscape(strings.Join(fields, ","))
	}
	resp, err := c.do(ctx, &request{endpoint: "sobject.get", method: http.MethodGet, path: path})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fmt.Errorf("salesforce: decoding %s %s: %w", sobject, id, err)
	}
	return nil
}

// Update changes the given fields of one record; deactivation is Update with
// {"IsActive": false}. Any failure of a deactivation means "blocked": keep its code and
// message and do not retry it blindly.
func (c *Client) Update(ctx context.Context, sobject, id string, fields Fields) error {
	if err := checkFields(fields, true); err != nil {
		return err
	}
	path, err := c.sobjectPath(sobject, id)
	if err != nil {
		return err
	}
	body, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("salesforce: encoding the record: %w", err)
	}
	_, err = c.do(ctx, &request{endpoint: "sobject.update", method: http.MethodPatch, path: path, body: body})
	return err
}

// UpsertResult is the outcome of Upsert.
type UpsertResult struct {
	// ID is the record's Id; empty when Salesforce answered 204 without a body
	// (versions before v46.0 do on update).
	ID      string
	Created bool
}

// Upsert inserts or updates the one record whose externalIDField equals value. When
// several records match, nothing is written and the error is a *MultipleChoicesError
// listing them. Errors name the path with "{value}" in place of value. The value travels in the URL path, where Salesforce cannot take a "/"
// even escaped; such values are refused here, and UpsertRecords (the value travels in
// the body) handles them.
func (c *Client) Upsert(ctx context.Context, sobject, externalIDField, value string, fields Fields) (UpsertResult, error) {
	if err := checkIdents("external_id_field", externalIDField); err != nil {
		return UpsertResult{}, err
	}
	if strings.Contains(value, "/") {
		return UpsertResult{}, &ConfigError{Field: externalIDField, Reason: "the value contains \"/\", which a URL path cannot carry; use UpsertRecords"}
	}
	if err := checkFields(fields, true); err != nil {
		return UpsertResult{}, err
	}
	path, err := c.sobjectPath(sobject, externalIDField, value)
	if err != nil {
		return UpsertResult{}, err
	}
	body, err := json.Marshal(fields)
	if err != nil {
		return UpsertResult{}, fmt.Errorf("salesforce: encoding the record: %w", err)
	}
	// The value is personal data (an employee id, an email address): errors show the
	// path with "{value}" in its place.
	shown := c.dataPath("/sobjects/" + sobject + "/" + externalIDField + "/{value}")
	resp, err := c.do(ctx, &request{endpoint: "sobject.upsert", method: http.MethodPatch, path: path, shownPath: shown, body: body})
	if err != nil {
		return UpsertResult{}, err
	}
	if resp.status == http.StatusNoContent || len(resp.body) == 0 {
		return UpsertResult{}, nil
	}
	var w wireResult
	if err := json.Unmarshal(resp.body, &w); err != nil {
		return UpsertResult{}, fmt.Errorf("salesforce: decoding the upsert answer: %w", err)
	}
	if r := w.result(0); !r.Success {
		return UpsertResult{}, r.Err()
	}
	return UpsertResult{ID: w.ID, Created: w.Created || resp.status == http.StatusCreated}, nil
}

// userLogin is the part of a UserLogin row that freezing needs.
type userLogin struct {
	ID       string `json:"Id"`
	UserID   string `json:"UserId"`
	IsFrozen bool   `json:"IsFrozen"`
}

// SetFrozen freezes (or unfreezes) users through their UserLogin rows: a frozen user
// cannot log in, and unlike deactivation freezing is not stopped by the org's
// configuration, so it is the first step when a deactivation is blocked. Results are
// in userIDs order with the UserLogin Id; a user without a UserLogin row gets a
// NOT_FOUND error, and rows already in the wanted state are not written. userIDs must
// be distinct. When a Collections call fails, the results before the first user it
// carried are returned with a *BatchError whose Offset indexes userIDs.
func (c *Client) SetFrozen(ctx context.Context, userIDs []string, frozen bool) ([]RecordResult, error) {
	canonical := make([]string, len(userIDs))
	for i, id := range userIDs {
		canonical[i] = CanonicalID(id)
	}
	queries, err := UserLoginsQueries(canonical)
	if err != nil {
		return nil, err
	}
	logins := make(map[string]userLogin, len(userIDs))
	for _, q := range queries {
		rows, err := QueryAll[userLogin](ctx, c, q)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			logins[CanonicalID(row.UserID)] = row
		}
	}
	results := make([]RecordResult, len(userIDs))
	var updates []RecordUpdate
	var updateIndex []int // updates[k] belongs to userIDs[updateIndex[k]]
	for i, id := range canonical {
		row, ok := logins[id]
		switch {
		case !ok:
			results[i] = RecordResult{Index: i, Errors: []RecordError{{StatusCode: "NOT_FOUND", Message: "no UserLogin row for user " + userIDs[i]}}}
		case row.IsFrozen == frozen:
			results[i] = RecordResult{Index: i, ID: row.ID, Success: true}
		default:
			updates = append(updates, RecordUpdate{ID: row.ID, Fields: Fields{"IsFrozen": frozen}})
			updateIndex = append(updateIndex, i)
		}
	}
	written, err := c.UpdateRecords(ctx, "UserLogin", updates)
	for _, r := range written {
		i := updateIndex[r.Index]
		r.Index = i
		results[i] = r
	}
	if err != nil {
		var be *BatchError
		if errors.As(err, &be) && be.Offset < len(updateIndex) {
			first := updateIndex[be.Offset]
			return results[:first], &BatchError{Offset: first, Err: be.Err}
		}
		return nil, err
	}
	return results, nil
}

// CanonicalID returns the 18-character form of a Salesforce Id: the 15-character,
// case-sensitive form (the one Salesforce's pages show in their URLs) with its
// case-checksum suffix. Both forms name the same record, but only equal strings
// compare equal in SOQL filters, Go maps and syncd's journal. Other strings are
// returned unchanged.
func CanonicalID(id string) string {
	if len(id) != 15 {
		return id
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	suffix := make([]byte, 3)
	for chunk := range 3 {
		bits := 0
		for i := range 5 {
			c := id[chunk*5+i]
			switch {
			case c >= 'A' && c <= 'Z':
				bits |= 1 << i
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			default:
				return id
			}
		}
		suffix[chunk] = alphabet[bits]
	}
	return id + string(suffix)
}

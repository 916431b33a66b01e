package salesforce

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/syncd-io/syncd/internal/secret"
)

// TransferRecords changes records of one sObject type, usually their OwnerId, like
// UpdateRecords, with Sforce-Auto-Assign: FALSE: for Account, Case and Lead,
// Salesforce otherwise runs the active assignment rules, which may overwrite the
// owner just set (salesforce-second-wave.md §3).
func (c *Client) TransferRecords(ctx context.Context, sobject string, records []RecordUpdate) ([]RecordResult, error) {
	return c.updateRecords(ctx, sobject, records, http.Header{"Sforce-Auto-Assign": {"FALSE"}})
}

// RevokeToken revokes an OAuth token (an OauthToken's DeleteToken, an access or a
// refresh token) through POST /services/oauth2/revoke on the instance. A token
// Salesforce no longer knows (400 invalid_token) counts as revoked: revoking twice
// has the effect of revoking once.
func (c *Client) RevokeToken(ctx context.Context, token secret.Secret) error {
	const path = "/services/oauth2/revoke"
	body := url.Values{"token": {token.Reveal()}}.Encode()
	_, err := c.do(ctx, &request{endpoint: "revoke", method: http.MethodPost, path: path, body: []byte(body), form: true})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest && strings.Contains(apiErr.RawBody, "invalid_token") {
		return nil
	}
	return err
}

// FrozenUsersQuery selects the UserLogin rows of frozen users, with when each last
// changed (the freeze).
func FrozenUsersQuery() string {
	return "SELECT UserId, LastModifiedDate FROM UserLogin WHERE IsFrozen = true"
}

// SessionsQueries select the AuthSession rows (Id, UsersId) of the given users, in
// as many statements as MaxQueryLength requires. AuthSession names its user field
// UsersId.
func SessionsQueries(userIDs []string) ([]string, error) {
	return inQueries("SELECT Id, UsersId FROM AuthSession WHERE UsersId IN (", ")", userIDs)
}

// TokensQueries select the OAuth tokens (UserId, AppName, DeleteToken) of the given
// users. OauthToken's Id is always null; DeleteToken is what revokes it.
func TokensQueries(userIDs []string) ([]string, error) {
	return inQueries("SELECT UserId, AppName, DeleteToken FROM OauthToken WHERE UserId IN (", ")", userIDs)
}

// OpenRecordsQueries select the Id and OwnerId of the open records of sobject the
// given users own: not closed (Opportunity, Case), not converted (Lead); every
// Account and Contact.
func OpenRecordsQueries(sobject string, ownerIDs []string) ([]string, error) {
	if err := checkIdents("sobject", sobject); err != nil {
		return nil, err
	}
	suffix := ")"
	switch sobject {
	case "Opportunity", "Case":
		suffix = ") AND IsClosed = false"
	case "Lead":
		suffix = ") AND IsConverted = false"
	}
	return inQueries("SELECT Id, OwnerId FROM "+sobject+" WHERE OwnerId IN (", suffix, ownerIDs)
}

// WorkitemsQueries select the pending approval work items (Id, ActorId) of the given
// users.
func WorkitemsQueries(actorIDs []string) ([]string, error) {
	return inQueries("SELECT Id, ActorId FROM ProcessInstanceWorkitem WHERE ActorId IN (", ")", actorIDs)
}

// GuestRecordOwnerQueries select the sites (Id, Name, GuestRecordDefaultOwnerId)
// whose guest users' records default to one of the given users: Salesforce refuses
// to deactivate those users (salesforce-second-wave.md §4). An org with neither
// Sites nor Experience Cloud has no Site object and answers INVALID_TYPE.
func GuestRecordOwnerQueries(userIDs []string) ([]string, error) {
	return inQueries("SELECT Id, Name, GuestRecordDefaultOwnerId FROM Site WHERE GuestRecordDefaultOwnerId IN (", ")", userIDs)
}

// RecordsByIDQueries select the Id and field (OwnerId, ActorId) of records of
// sobject by Id.
func RecordsByIDQueries(sobject, field string, ids []string) ([]string, error) {
	if err := checkIdents("sobject", sobject, field); err != nil {
		return nil, err
	}
	return inQueries("SELECT Id, "+field+" FROM "+sobject+" WHERE Id IN (", ")", ids)
}

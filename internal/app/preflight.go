package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/salesforce"
)

// msgGuestRecordOwner is Salesforce's refusal to deactivate the default owner of a
// site's guest-user records (KB 000381030, salesforce-second-wave.md §4).
const msgGuestRecordOwner = "This user is the default owner of records created by guest users and can't be deactivated"

// WithLogger returns o logging through log: what it learns about the org once,
// such as an org without the Site object.
func (o *Offboarder) WithLogger(log *zap.Logger) *Offboarder {
	o.log = log
	return o
}

// DeactivationBlockers finds, before the deactivations, the users Salesforce would
// refuse to deactivate that a query can find: the default owners of a site's
// guest-user records (one query per IN-list chunk of Site). Each message is
// Salesforce's, followed by the sites (their Name is an API name: letters, digits
// and underscores, so it cannot mimic another blocker's words).
//
// An org with neither Sites nor Experience Cloud has no Site object and answers
// INVALID_TYPE: it has no such blocker. The Offboarder remembers that, logs it once,
// and sends the query no more.
func (o *Offboarder) DeactivationBlockers(ctx context.Context, userIDs []string) (map[string]string, error) {
	if o.noSite.Load() {
		return nil, nil
	}
	queries, err := salesforce.GuestRecordOwnerQueries(canonical(userIDs))
	if err != nil {
		return nil, callError(err)
	}
	type site struct {
		ID    string `json:"Id"`
		Name  string `json:"Name"`
		Owner string `json:"GuestRecordDefaultOwnerId"`
	}
	sites := map[string][]string{} // user Id → "Name (Id)" of their sites
	err = queryEach(ctx, o.c, queries, func(s site) {
		owner := salesforce.CanonicalID(s.Owner)
		sites[owner] = append(sites[owner], s.Name+" ("+s.ID+")")
	})
	var apiErr *salesforce.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.HasCode("INVALID_TYPE"):
		if o.noSite.CompareAndSwap(false, true) {
			o.log.Info("the org has no Site object (no Sites or Experience Cloud): no user can be the default owner of guest records; Site is not queried again",
				zap.Error(err))
		}
		return nil, nil
	case err != nil:
		return nil, callError(fmt.Errorf("reading the sites whose guest records the leavers own: %w", err))
	}
	out := make(map[string]string, len(sites))
	for user, names := range sites {
		slices.Sort(names)
		out[user] = msgGuestRecordOwner + " (found before deactivating: the GuestRecordDefaultOwnerId of site " +
			strings.Join(names, ", ") + ")"
	}
	return out, nil
}

package app

import (
	"context"

	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/store"
)

var _ reconcile.Ownership = (*Journal)(nil)

// Owned returns every assignment syncd made (store.Grants).
func (j *Journal) Owned(ctx context.Context) ([]reconcile.Owned, error) {
	gs, err := j.s.Grants(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.Owned, len(gs))
	for i, g := range gs {
		out[i] = reconcile.Owned{UserID: g.UserID, EntitlementID: g.EntitlementID, Kind: mapping.EntitlementKind(g.Kind), IdPID: g.IdPID}
	}
	return out, nil
}

// Own records assignments about to be made, under the journal's epoch.
func (j *Journal) Own(ctx context.Context, os []reconcile.Owned) error {
	gs := make([]store.Grant, len(os))
	for i, o := range os {
		gs[i] = store.Grant{UserID: o.UserID, EntitlementID: o.EntitlementID, Kind: string(o.Kind), IdPID: o.IdPID}
	}
	return j.s.AddGrants(ctx, j.epoch, gs)
}

// Disown forgets assignments removed or never made, under the journal's epoch.
func (j *Journal) Disown(ctx context.Context, os []reconcile.Owned) error {
	keys := make([]store.GrantKey, len(os))
	for i, o := range os {
		keys[i] = store.GrantKey{UserID: o.UserID, EntitlementID: o.EntitlementID}
	}
	return j.s.RemoveGrants(ctx, j.epoch, keys)
}

package app

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/store"
)

// The journal is also the engine's Mirror: the same store, the same epoch.
var _ reconcile.Mirror = (*Journal)(nil)

// LoadMirror returns the store's mirror as the engine sees it; ok is false when no
// full read was recorded.
func (j *Journal) LoadMirror(ctx context.Context) (reconcile.MirrorState, []reconcile.Existing, bool, error) {
	st, users, err := j.s.Mirror(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return reconcile.MirrorState{}, nil, false, nil
	}
	if err != nil {
		return reconcile.MirrorState{}, nil, false, err
	}
	out := make([]reconcile.Existing, len(users))
	var packer reconcile.FieldPacker
	var fields []reconcile.FieldValue
	for i, u := range users {
		out[i] = reconcile.Existing{ID: u.ID, Username: u.Username, Email: u.Email, FederationIdentifier: u.FederationIdentifier,
			IsActive: u.IsActive, UserType: u.UserType, ProfileID: u.ProfileID, SystemModstamp: u.SystemModstamp}
		fields = fields[:0]
		for _, name := range slices.Sorted(maps.Keys(u.Fields)) {
			fields = append(fields, reconcile.FieldValue{Name: name, Value: u.Fields[name]})
		}
		out[i].Fields = packer.Pack(fields)
	}
	state := reconcile.MirrorState{OrgID: st.OrgID, Fields: st.Fields, Watermark: st.Watermark, FullReadAt: st.FullReadAt,
		Names: reconcile.Names{Profiles: st.Profiles, Roles: st.Roles, Licenses: st.Licenses}}
	return state, out, true, nil
}

// ReplaceMirror records a full read under the journal's epoch.
func (j *Journal) ReplaceMirror(ctx context.Context, state reconcile.MirrorState, users []reconcile.Existing) error {
	return j.s.ReplaceMirror(ctx, j.epoch, store.MirrorState{OrgID: state.OrgID, Fields: state.Fields,
		Profiles: state.Names.Profiles, Roles: state.Names.Roles, Licenses: state.Names.Licenses,
		Watermark: state.Watermark, FullReadAt: state.FullReadAt},
		mirrorUsers(users))
}

// PatchMirror records a delta read, or syncd's own writes, under the journal's epoch.
func (j *Journal) PatchMirror(ctx context.Context, watermark time.Time, users []reconcile.Existing) error {
	return j.s.PatchMirror(ctx, j.epoch, watermark, mirrorUsers(users))
}

// mirrorUsers turns the engine's users into the store's.
func mirrorUsers(users []reconcile.Existing) []store.MirrorUser {
	out := make([]store.MirrorUser, len(users))
	for i, u := range users {
		fields := make(map[string]string, u.Fields.Len())
		for name, value := range u.Fields.All() {
			fields[name] = value
		}
		out[i] = store.MirrorUser{ID: u.ID, Username: u.Username, Email: u.Email,
			FederationIdentifier: u.FederationIdentifier, IsActive: u.IsActive, UserType: u.UserType,
			ProfileID: u.ProfileID, Fields: fields, SystemModstamp: u.SystemModstamp}
	}
	return out
}

package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/store"
)

// testGrants checks the record of the entitlement assignments syncd made: added
// idempotently, listed in order, removed by key, validated, and fenced by epoch.
func testGrants(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	a, b := e.open(), e.open()
	old := must[store.Lease](t, "first leader")(a.TryLeaderLock(ctx))
	epoch := old.Epoch()
	if gs := must[[]store.Grant](t, "grants of an empty store")(a.Grants(ctx)); len(gs) != 0 {
		t.Fatalf("grants of an empty store: %+v", gs)
	}
	t0 := e.at()
	ps := store.Grant{UserID: "005B", EntitlementID: "0PS1", Kind: "permission_set", IdPID: "b"}
	lic := store.Grant{UserID: "005A", EntitlementID: "0PL1", Kind: "permission_set_license", IdPID: "a"}
	queue := store.Grant{UserID: "005A", EntitlementID: "00G1", Kind: "queue", IdPID: "a"}
	noErr(t, "add grants", a.AddGrants(ctx, epoch, []store.Grant{ps, lic, queue}))
	e.clock.Advance(time.Hour)
	noErr(t, "add one again", a.AddGrants(ctx, epoch, []store.Grant{ps}))
	stamp := func(gs ...store.Grant) []store.Grant {
		for i := range gs {
			gs[i].CreatedAt = t0
		}
		return gs
	}
	diff(t, "grants", stamp(queue, lic, ps), must[[]store.Grant](t, "grants")(a.Grants(ctx)))

	noErr(t, "remove grants", a.RemoveGrants(ctx, epoch, []store.GrantKey{{UserID: "005A", EntitlementID: "00G1"}, {UserID: "005Z", EntitlementID: "0PS9"}}))
	diff(t, "grants after removal", stamp(lic, ps), must[[]store.Grant](t, "grants")(a.Grants(ctx)))

	wantErr(t, "a grant without a user", a.AddGrants(ctx, epoch, []store.Grant{{EntitlementID: "0PS1", Kind: "permission_set"}}), store.ErrInvalid)
	wantErr(t, "a grant without a kind", a.AddGrants(ctx, epoch, []store.Grant{{UserID: "005A", EntitlementID: "0PS1"}}), store.ErrInvalid)
	wantErr(t, "a key without an entitlement", a.RemoveGrants(ctx, epoch, []store.GrantKey{{UserID: "005A"}}), store.ErrInvalid)

	noErr(t, "release", old.Release(ctx))
	next := must[store.Lease](t, "next leader")(b.TryLeaderLock(ctx))
	defer func() { _ = next.Release(ctx) }()
	wantErr(t, "AddGrants by the old leader", a.AddGrants(ctx, epoch, []store.Grant{queue}), store.ErrFenced)
	wantErr(t, "RemoveGrants by the old leader", a.RemoveGrants(ctx, epoch, []store.GrantKey{{UserID: "005A", EntitlementID: "0PL1"}}), store.ErrFenced)
	diff(t, "grants after fenced writes", stamp(lic, ps), must[[]store.Grant](t, "grants")(b.Grants(ctx)))
}

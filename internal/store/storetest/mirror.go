package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/store"
)

// mirrorUser is a mirror row with the given Id, title and SystemModstamp.
func mirrorUser(id, title string, modstamp time.Time) store.MirrorUser {
	return store.MirrorUser{ID: id, Username: id + "@acme.com", Email: "Ada@Acme.com", FederationIdentifier: "E-" + id,
		IsActive: true, UserType: "Standard", ProfileID: "00e000000000001AAA",
		Fields: map[string]string{"Title": title, "Department": ""}, SystemModstamp: modstamp}
}

// testMirror checks the Salesforce mirror's life: none before a full read, a full
// read replacing it wholesale, patches upserting users and moving the watermark
// forward only, and every write fenced by the leader epoch.
func testMirror(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s, epoch := e.leader()
	sfClock := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC) // Salesforce's, whole seconds

	_, _, err := s.Mirror(ctx)
	wantErr(t, "mirror before any full read", err, store.ErrNotFound)
	wantErr(t, "patch before any full read", s.PatchMirror(ctx, epoch, sfClock, nil), store.ErrNotFound)

	state := store.MirrorState{OrgID: "00D000000000001AAA", Fields: []string{"Department", "Title"},
		Profiles:  map[string]string{"Standard User": "00e000000000001AAA", "System Administrator": "00e000000000002AAA"},
		Roles:     map[string]string{"CEO": "00E000000000001AAA"},
		Licenses:  map[string]string{"00e000000000001AAA": "Salesforce", "00e000000000002AAA": "Salesforce"},
		Watermark: sfClock.Add(2 * time.Second), FullReadAt: e.clock.Now()}
	full := []store.MirrorUser{
		mirrorUser("005000000000002AAA", "Engineer", sfClock.Add(2*time.Second)),
		mirrorUser("005000000000001AAA", "Manager", sfClock),
		mirrorUser("005000000000003AAA", "", sfClock.Add(time.Second)),
	}
	full[2].IsActive, full[2].UserType = false, "CsnOnly"
	noErr(t, "replace", s.ReplaceMirror(ctx, epoch, state, full))
	wantState := state
	wantState.FullReadAt, wantState.Users = e.at(), 3
	gotState, gotUsers, err := s.Mirror(ctx)
	noErr(t, "mirror", err)
	diff(t, "state after a full read", wantState, gotState)
	diff(t, "users after a full read", []store.MirrorUser{full[1], full[0], full[2]}, gotUsers)

	// A delta read: one user changed, one new; the watermark moves forward.
	changed := mirrorUser("005000000000001AAA", "Director", sfClock.Add(time.Minute))
	changed.Email, changed.FederationIdentifier, changed.IsActive = "new@acme.com", "E-renamed", false
	added := mirrorUser("005000000000004AAA", "Intern", sfClock.Add(time.Minute))
	noErr(t, "patch with a delta read", s.PatchMirror(ctx, epoch, sfClock.Add(time.Minute), []store.MirrorUser{changed, added}))
	// syncd's own write: no watermark; an older one never moves it back.
	own := mirrorUser("005000000000002AAA", "Staff Engineer", sfClock.Add(2*time.Second))
	noErr(t, "patch with syncd's own write", s.PatchMirror(ctx, epoch, time.Time{}, []store.MirrorUser{own}))
	noErr(t, "patch with an older watermark", s.PatchMirror(ctx, epoch, sfClock, nil))
	gotState, gotUsers, err = s.Mirror(ctx)
	noErr(t, "mirror", err)
	wantState.Watermark, wantState.Users = sfClock.Add(time.Minute), 4
	diff(t, "state after patches", wantState, gotState)
	diff(t, "users after patches", []store.MirrorUser{changed, own, full[2], added}, gotUsers)

	// The next full read replaces everything: a user it no longer returns is gone.
	e.clock.Advance(24 * time.Hour)
	next := store.MirrorState{OrgID: state.OrgID, Fields: []string{"Title"}, Profiles: map[string]string{"Standard User": "00e000000000001AAA"},
		Roles: map[string]string{}, Watermark: sfClock.Add(time.Hour), FullReadAt: e.clock.Now()}
	kept := mirrorUser("005000000000004AAA", "Analyst", sfClock.Add(time.Hour))
	kept.Fields = map[string]string{"Title": "Analyst"}
	noErr(t, "replace again", s.ReplaceMirror(ctx, epoch, next, []store.MirrorUser{kept}))
	gotState, gotUsers, err = s.Mirror(ctx)
	noErr(t, "mirror", err)
	next.FullReadAt, next.Users = e.at(), 1
	diff(t, "state after the next full read", next, gotState)
	diff(t, "users after the next full read", []store.MirrorUser{kept}, gotUsers)

	// Bad input is refused before anything is written.
	for _, tc := range []struct {
		name  string
		write func() error
	}{
		{"empty org id", func() error {
			return s.ReplaceMirror(ctx, epoch, store.MirrorState{FullReadAt: e.clock.Now()}, nil)
		}},
		{"unsorted fields", func() error {
			return s.ReplaceMirror(ctx, epoch, store.MirrorState{OrgID: "00D", Fields: []string{"Title", "Department"}, FullReadAt: e.clock.Now()}, nil)
		}},
		{"a user twice", func() error { return s.PatchMirror(ctx, epoch, time.Time{}, []store.MirrorUser{kept, kept}) }},
		{"a user without Id", func() error {
			return s.PatchMirror(ctx, epoch, time.Time{}, []store.MirrorUser{{SystemModstamp: sfClock}})
		}},
		{"a user without SystemModstamp", func() error {
			return s.PatchMirror(ctx, epoch, time.Time{}, []store.MirrorUser{{ID: "005000000000009AAA"}})
		}},
	} {
		wantErr(t, tc.name, tc.write(), store.ErrInvalid)
	}
	_, gotUsers, _ = s.Mirror(ctx)
	diff(t, "users after refused writes", []store.MirrorUser{kept}, gotUsers)
}

// testMirrorFencing checks that an old leader's mirror writes fail with ErrFenced
// and change nothing.
func testMirrorFencing(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	a, b := e.open(), e.open()
	old := must[store.Lease](t, "first leader")(a.TryLeaderLock(ctx))
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	state := store.MirrorState{OrgID: "00D000000000001AAA", Fields: []string{"Title"}, Profiles: map[string]string{},
		Roles: map[string]string{}, Watermark: at, FullReadAt: e.clock.Now()}
	user := mirrorUser("005000000000001AAA", "Engineer", at)
	user.Fields = map[string]string{"Title": "Engineer"}
	noErr(t, "replace", a.ReplaceMirror(ctx, old.Epoch(), state, []store.MirrorUser{user}))
	noErr(t, "release", old.Release(ctx))
	next := must[store.Lease](t, "next leader")(b.TryLeaderLock(ctx))
	defer func() { _ = next.Release(ctx) }()

	late := mirrorUser("005000000000001AAA", "Changed", at.Add(time.Hour))
	wantErr(t, "replace by the old leader", a.ReplaceMirror(ctx, old.Epoch(), state, nil), store.ErrFenced)
	wantErr(t, "patch by the old leader", a.PatchMirror(ctx, old.Epoch(), at.Add(time.Hour), []store.MirrorUser{late}), store.ErrFenced)
	gotState, gotUsers, err := b.Mirror(ctx)
	noErr(t, "mirror", err)
	state.FullReadAt, state.Users = e.at(), 1
	diff(t, "state after fenced writes", state, gotState)
	diff(t, "users after fenced writes", []store.MirrorUser{user}, gotUsers)
}

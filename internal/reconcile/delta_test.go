package reconcile_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/store"
)

// TestCycleReadMode checks when a cycle reads everything and when only what
// changed: the first cycle, a cycle asked to, and every cycle that cannot trust the
// mirror read in full; the others read the changes only, at one API call for a
// quiet org.
func TestCycleReadMode(t *testing.T) {
	tests := []struct {
		name string
		// before runs after a first, full cycle and returns how to run the next one.
		before func(t *testing.T, h *history) func(context.Context, string) (reconcile.Summary, error)
		mapper func(t testing.TB) *mapping.Mapper
		want   reconcile.ReadMode
	}{
		{"quiet org", func(t *testing.T, h *history) func(context.Context, string) (reconcile.Summary, error) {
			return h.engine.RunOnce
		}, nil, reconcile.ReadDelta},
		{"asked for a full read", func(t *testing.T, h *history) func(context.Context, string) (reconcile.Summary, error) {
			return h.engine.RunFull
		}, nil, reconcile.ReadFull},
		{"last full read older than full_every", func(t *testing.T, h *history) func(context.Context, string) (reconcile.Summary, error) {
			h.clock.Advance(30 * time.Minute) // 45 minutes in all
			return h.engine.RunOnce
		}, nil, reconcile.ReadFull},
		{"clock moved back before the last full read", func(t *testing.T, h *history) func(context.Context, string) (reconcile.Summary, error) {
			h.clock.Advance(-time.Hour) // 45 minutes before the full read
			return h.engine.RunOnce
		}, nil, reconcile.ReadFull},
		{"mirror read from another org", func(t *testing.T, h *history) func(context.Context, string) (reconcile.Summary, error) {
			h.rewriteMirror(t, func(s *store.MirrorState) { s.OrgID = "00D000000000000AAA" })
			return h.engine.RunOnce
		}, nil, reconcile.ReadFull},
		{"a profile the mirror does not know", func(t *testing.T, h *history) func(context.Context, string) (reconcile.Summary, error) {
			h.rewriteMirror(t, func(s *store.MirrorState) { delete(s.Profiles, "Standard User") })
			return h.engine.RunOnce
		}, nil, reconcile.ReadFull},
		{"other managed fields", func(t *testing.T, h *history) func(context.Context, string) (reconcile.Summary, error) {
			h.rewriteMirror(t, func(s *store.MirrorState) { s.Fields = s.Fields[1:] })
			return h.engine.RunOnce
		}, nil, reconcile.ReadFull},
		{"no mirror yet", func(t *testing.T, h *history) func(context.Context, string) (reconcile.Summary, error) {
			return h.engine.RunOnce
		}, nil, reconcile.ReadFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHistory(t, 1, historyConfig{unchecked: true})
			if tt.name != "no mirror yet" {
				if s := h.cycle(h.engine.RunOnce); s.Read != reconcile.ReadFull {
					t.Fatalf("first cycle read %q, want full", s.Read)
				}
			}
			h.clock.Advance(15 * time.Minute)
			run := tt.before(t, h)
			used := h.org.Used()
			s := h.cycle(run)
			if s.Read != tt.want {
				t.Errorf("cycle read %q, want %q", s.Read, tt.want)
			}
			if calls := h.org.Used() - used; tt.want == reconcile.ReadDelta && calls != 1 {
				t.Errorf("a quiet delta cycle spent %d API calls, want 1", calls)
			}
			if tt.name != "no mirror yet" && s.Applied+s.Failed+s.Held != 0 {
				t.Errorf("a quiet cycle acted: %+v", s)
			}
		})
	}
}

// rewriteMirror changes the stored mirror's state, keeping its users.
func (h *history) rewriteMirror(t *testing.T, change func(*store.MirrorState)) {
	t.Helper()
	ctx := context.Background()
	state, users, err := h.store.Mirror(ctx)
	if err != nil {
		t.Fatal(err)
	}
	change(&state)
	if err := h.store.ReplaceMirror(ctx, h.epoch, state, users); err != nil {
		t.Fatal(err)
	}
}

// TestDeltaCycleRevertsDriftAndPatchesTheMirror reverts an administrator's edit of
// an always field in a delta cycle, writes the reverted value into the mirror, and
// reads the user again in the next delta cycle (Salesforce stamped the write after
// the watermark) without acting on it.
func TestDeltaCycleRevertsDriftAndPatchesTheMirror(t *testing.T) {
	h := newHistory(t, 2, historyConfig{})
	ctx := context.Background()
	h.cycle(h.engine.RunOnce) // full: creates everyone
	h.clock.Advance(15 * time.Minute)
	sfID, title := "", ""
	for _, u := range h.sfUsers() {
		info, _ := h.org.Sim.User(u.ID)
		sfID, title = u.ID, info.Fields["Title"].(string)
		break
	}
	h.clock.Advance(time.Minute)
	if err := h.org.Sim.EditUser(sfID, map[string]any{"Title": "Drifted"}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	s := h.cycle(h.engine.RunOnce)
	if s.Read != reconcile.ReadDelta || s.Applied != 1 {
		t.Fatalf("cycle: %+v; want a delta read and the edited user's update", s)
	}
	if info, _ := h.org.Sim.User(sfID); info.Fields["Title"] != title {
		t.Errorf("Title in Salesforce = %v, want %q back", info.Fields["Title"], title)
	}
	_, users, err := h.store.Mirror(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.ID == sfID && u.Fields["Title"] != title {
			t.Errorf("mirror Title = %q, want syncd's write %q", u.Fields["Title"], title)
		}
	}
	h.clock.Advance(time.Minute)
	s = h.cycle(h.engine.RunOnce)
	// The watermark is now the edit's stamp: the creates, 15 minutes older, are
	// past the overlap.
	if s.Read != reconcile.ReadDelta || s.RowsRead != 1 || s.Applied+s.Failed != 0 {
		t.Errorf("next cycle: %+v; want a delta read of syncd's own write alone and nothing to do", s)
	}
	if len(h.mismatches) > 0 {
		t.Errorf("delta and full planning differ:\n%s", h.mismatches[0])
	}
}

// TestPreviewLeavesTheMirrorAlone checks that a preview reads in full and records
// nothing.
func TestPreviewLeavesTheMirrorAlone(t *testing.T) {
	h := newHistory(t, 3, historyConfig{unchecked: true})
	h.src.set(nil)
	if _, s, err := h.engine.Preview(context.Background()); err != nil || s.Read != reconcile.ReadFull {
		t.Fatalf("Preview: %+v, %v; want a full read", s, err)
	}
	if _, _, err := h.store.Mirror(context.Background()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after a preview, Mirror: %v; want ErrNotFound", err)
	}
}

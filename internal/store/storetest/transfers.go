package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/store"
)

// testTransfers records the records handed over from two leavers, lists the pending
// ones by person, marks some returned, and checks that a fenced leader writes none.
func testTransfers(t *testing.T, h Harness) {
	ctx := context.Background()
	e := newEnv(t, h)
	s := e.open()
	lease := must[store.Lease](t, "leader")(s.TryLeaderLock(ctx))
	defer func() { _ = lease.Release(ctx) }()
	epoch := lease.Epoch()
	at := e.at()
	ana := func(seq int, object, record string) store.Transfer {
		return store.Transfer{RunID: 3, Seq: seq, IdPID: "ana", Object: object, RecordID: record, FromID: "005A", ToID: "005M"}
	}
	bo := store.Transfer{RunID: 3, Seq: 9, IdPID: "bo", Object: "Case", RecordID: "500B", FromID: "005B", ToID: "005F"}
	ts := []store.Transfer{ana(4, "Opportunity", "006X"), ana(4, "Case", "500A"), bo}
	noErr(t, "record transfers", s.RecordTransfers(ctx, epoch, ts))
	noErr(t, "record them again", s.RecordTransfers(ctx, epoch, ts[:1])) // a rerun after a crash
	stamped := func(ts ...store.Transfer) []store.Transfer {
		for i := range ts {
			ts[i].CreatedAt = at
		}
		return ts
	}
	diff(t, "people with pending transfers", []store.Transfer{{IdPID: "ana"}, {IdPID: "bo"}},
		must[[]store.Transfer](t, "pending people")(s.PendingTransfers(ctx, nil)))
	diff(t, "ana's pending transfers", stamped(ana(4, "Opportunity", "006X"), ana(4, "Case", "500A")),
		must[[]store.Transfer](t, "pending")(s.PendingTransfers(ctx, []string{"ana"})))

	e.clock.Advance(time.Hour)
	noErr(t, "mark returned", s.MarkReturned(ctx, epoch, []store.Transfer{ana(4, "Opportunity", "006X")}))
	diff(t, "pending after a return", stamped(ana(4, "Case", "500A"), bo),
		must[[]store.Transfer](t, "pending")(s.PendingTransfers(ctx, []string{"ana", "bo", "cy"})))
	wantErr(t, "a transfer without its record", s.RecordTransfers(ctx, epoch, []store.Transfer{{IdPID: "x", Object: "Case", FromID: "1", ToID: "2"}}), store.ErrInvalid)

	noErr(t, "release", lease.Release(ctx))
	next := must[store.Lease](t, "next leader")(e.open().TryLeaderLock(ctx))
	defer func() { _ = next.Release(ctx) }()
	wantErr(t, "old leader's RecordTransfers", s.RecordTransfers(ctx, epoch, []store.Transfer{ana(5, "Lead", "00QA")}), store.ErrFenced)
	wantErr(t, "old leader's MarkReturned", s.MarkReturned(ctx, epoch, []store.Transfer{bo}), store.ErrFenced)
	diff(t, "pending after fenced writes", stamped(ana(4, "Case", "500A"), bo),
		must[[]store.Transfer](t, "pending")(s.PendingTransfers(ctx, []string{"ana", "bo"})))
}

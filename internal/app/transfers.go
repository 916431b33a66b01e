package app

import (
	"context"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/store"
)

var _ reconcile.TransferLog = (*Journal)(nil)

// RecordTransfers keeps handed-over records in the store, under the journal's epoch.
func (j *Journal) RecordTransfers(ctx context.Context, ts []reconcile.Transfer) error {
	return j.s.RecordTransfers(ctx, j.epoch, toStore(ts))
}

// PendingTransfers reads the transfers people have not got back.
func (j *Journal) PendingTransfers(ctx context.Context, idpIDs []string) ([]reconcile.Transfer, error) {
	rows, err := j.s.PendingTransfers(ctx, idpIDs)
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.Transfer, len(rows))
	for i, t := range rows {
		out[i] = reconcile.Transfer{Action: reconcile.ActionRef{RunID: t.RunID, Seq: t.Seq}, IdPID: t.IdPID,
			MovedRecord: reconcile.MovedRecord{Object: t.Object, RecordID: t.RecordID, From: t.FromID, To: t.ToID}}
	}
	return out, nil
}

// MarkReturned records transfers as settled, under the journal's epoch.
func (j *Journal) MarkReturned(ctx context.Context, ts []reconcile.Transfer) error {
	return j.s.MarkReturned(ctx, j.epoch, toStore(ts))
}

func toStore(ts []reconcile.Transfer) []store.Transfer {
	out := make([]store.Transfer, len(ts))
	for i, t := range ts {
		out[i] = store.Transfer{RunID: t.Action.RunID, Seq: t.Action.Seq, IdPID: t.IdPID, Object: t.Object,
			RecordID: t.RecordID, FromID: t.From, ToID: t.To}
	}
	return out
}

package store

import (
	"context"
	"fmt"
	"strings"
)

const transferColumns = `run_id, seq, idp_id, object, record_id, from_id, to_id, created_at, returned_at`

// transfersPerStatement bounds the rows of one INSERT, well under both drivers'
// limits on arguments.
const transfersPerStatement = 500

func (s *sqlStore) RecordTransfers(ctx context.Context, epoch int64, ts []Transfer) error {
	for i, t := range ts {
		if t.IdPID == "" || t.RecordID == "" || t.FromID == "" || t.ToID == "" || t.Object == "" {
			return fmt.Errorf("record transfers: transfer %d lacks its person, object, record or users: %w", i, ErrInvalid)
		}
	}
	now := normalTime(s.now())
	err := s.d.inTx(ctx, func(tx db) error {
		if err := s.fence(ctx, tx, epoch); err != nil {
			return err
		}
		var stmts []statement
		for start := 0; start < len(ts); start += transfersPerStatement {
			chunk := ts[start:min(start+transfersPerStatement, len(ts))]
			values := make([]string, len(chunk))
			args := make([]any, 0, len(chunk)*8)
			for i, t := range chunk {
				values[i] = "(" + placeholders(len(args)+1, 8) + ")"
				args = append(args, t.RunID, t.Seq, t.IdPID, t.Object, t.RecordID, t.FromID, t.ToID, now)
			}
			stmts = append(stmts, statement{query: `INSERT INTO transfers (run_id, seq, idp_id, object, record_id, from_id, to_id, created_at)
				VALUES ` + strings.Join(values, ", ") + ` ON CONFLICT (run_id, seq, record_id) DO NOTHING`, args: args})
		}
		return tx.execAll(ctx, stmts)
	})
	if err != nil {
		return fmt.Errorf("record %d transfers: %w", len(ts), err)
	}
	return nil
}

func (s *sqlStore) PendingTransfers(ctx context.Context, idpIDs []string) ([]Transfer, error) {
	if len(idpIDs) == 0 {
		rs, err := s.d.reader().query(ctx, `SELECT DISTINCT idp_id FROM transfers WHERE returned_at IS NULL ORDER BY idp_id`)
		if err != nil {
			return nil, fmt.Errorf("list people with pending transfers: %w", err)
		}
		defer rs.Close()
		var out []Transfer
		for rs.Next() {
			var t Transfer
			if err := rs.Scan(&t.IdPID); err != nil {
				return nil, fmt.Errorf("list people with pending transfers: %w", err)
			}
			out = append(out, t)
		}
		return out, rs.Err()
	}
	args := make([]any, len(idpIDs))
	for i, id := range idpIDs {
		args[i] = id
	}
	rs, err := s.d.reader().query(ctx, `SELECT `+transferColumns+` FROM transfers
		WHERE returned_at IS NULL AND idp_id IN (`+placeholders(1, len(args))+`) ORDER BY run_id, seq, record_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list pending transfers: %w", err)
	}
	defer rs.Close()
	var out []Transfer
	for rs.Next() {
		var t Transfer
		if err := rs.Scan(&t.RunID, &t.Seq, &t.IdPID, &t.Object, &t.RecordID, &t.FromID, &t.ToID,
			timeCol(&t.CreatedAt), timeCol(&t.ReturnedAt)); err != nil {
			return nil, fmt.Errorf("list pending transfers: %w", err)
		}
		out = append(out, t)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("list pending transfers: %w", err)
	}
	return out, nil
}

func (s *sqlStore) MarkReturned(ctx context.Context, epoch int64, ts []Transfer) error {
	now := normalTime(s.now())
	err := s.d.inTx(ctx, func(tx db) error {
		if err := s.fence(ctx, tx, epoch); err != nil {
			return err
		}
		stmts := make([]statement, len(ts))
		for i, t := range ts {
			stmts[i] = statement{query: `UPDATE transfers SET returned_at = $1
				WHERE run_id = $2 AND seq = $3 AND record_id = $4 AND returned_at IS NULL`, args: []any{now, t.RunID, t.Seq, t.RecordID}}
		}
		return tx.execAll(ctx, stmts)
	})
	if err != nil {
		return fmt.Errorf("mark %d transfers returned: %w", len(ts), err)
	}
	return nil
}

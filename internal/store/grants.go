package store

import (
	"context"
	"fmt"
	"time"
)

// Grant is one entitlement assignment syncd made: the user's Salesforce Id and the
// entitlement's (a permission set, permission set group or licence, a public group
// or queue). It is recorded before the assignment is created, so a crash between the
// two leaves syncd owning what it made; syncd removes only what it owns.
type Grant struct {
	UserID        string
	EntitlementID string
	// Kind is the entitlement's kind as configured (permission_set, queue, ...).
	Kind string
	// IdPID is the person the user stands for, for explanations.
	IdPID     string
	CreatedAt time.Time // set by the store
}

// GrantKey names one grant.
type GrantKey struct {
	UserID, EntitlementID string
}

func validateGrantKey(k GrantKey) error {
	if k.UserID == "" || k.EntitlementID == "" {
		return fmt.Errorf("%w: a grant needs a user Id and an entitlement Id, got %q and %q", ErrInvalid, k.UserID, k.EntitlementID)
	}
	return nil
}

func (s *sqlStore) Grants(ctx context.Context) ([]Grant, error) {
	rs, err := s.d.reader().query(ctx, `SELECT user_id, entitlement_id, kind, idp_id, created_at FROM entitlement_grants
		ORDER BY user_id, entitlement_id`)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	defer rs.Close()
	var out []Grant
	for rs.Next() {
		var g Grant
		if err := rs.Scan(&g.UserID, &g.EntitlementID, &g.Kind, &g.IdPID, timeCol(&g.CreatedAt)); err != nil {
			return nil, fmt.Errorf("list grants: %w", err)
		}
		out = append(out, g)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	return out, nil
}

func (s *sqlStore) AddGrants(ctx context.Context, epoch int64, grants []Grant) error {
	if len(grants) == 0 {
		return nil
	}
	for _, g := range grants {
		if err := validateGrantKey(GrantKey{g.UserID, g.EntitlementID}); err != nil {
			return fmt.Errorf("add grants: %w", err)
		}
		if g.Kind == "" {
			return fmt.Errorf("add grants: %w: the grant of %s to %s has no kind", ErrInvalid, g.EntitlementID, g.UserID)
		}
	}
	now := normalTime(s.now())
	err := s.d.inTx(ctx, func(tx db) error {
		if err := s.fence(ctx, tx, epoch); err != nil {
			return err
		}
		for _, g := range grants {
			if _, err := tx.exec(ctx, `INSERT INTO entitlement_grants (user_id, entitlement_id, kind, idp_id, created_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, entitlement_id) DO NOTHING`,
				g.UserID, g.EntitlementID, g.Kind, g.IdPID, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add %d grant(s): %w", len(grants), err)
	}
	return nil
}

func (s *sqlStore) RemoveGrants(ctx context.Context, epoch int64, keys []GrantKey) error {
	if len(keys) == 0 {
		return nil
	}
	for _, k := range keys {
		if err := validateGrantKey(k); err != nil {
			return fmt.Errorf("remove grants: %w", err)
		}
	}
	err := s.d.inTx(ctx, func(tx db) error {
		if err := s.fence(ctx, tx, epoch); err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := tx.exec(ctx, `DELETE FROM entitlement_grants WHERE user_id = $1 AND entitlement_id = $2`,
				k.UserID, k.EntitlementID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove %d grant(s): %w", len(keys), err)
	}
	return nil
}

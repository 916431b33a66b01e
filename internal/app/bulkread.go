package app

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/reconcile"
	"github.com/syncd-io/syncd/internal/salesforce"
)

// Bulk says when Directory.ReadUsers reads the org through Bulk API 2.0: one query
// job whose results stream as CSV, a few dozen API calls for a million users where
// SOQL pages of 2000 take 500. Small orgs stay on SOQL, which needs no job to wait
// for.
type Bulk struct {
	// MinUsers is the number of Standard users from which full reads go through Bulk
	// API 2.0; 0 never uses it (salesforce.bulk.min_users).
	MinUsers int
	// Options tune the query job: its polling, how long it may take, the size of its
	// result sets.
	Options salesforce.BulkOptions
	// Logger hears which way each large read goes and why a Bulk read fell back to
	// SOQL; nil discards.
	Logger *zap.Logger
}

// wanted reports whether an org of this many users is read through Bulk API 2.0.
func (b Bulk) wanted(users int) bool { return b.MinUsers > 0 && users >= b.MinUsers }

// bulkMaxRecords is the result set size a Bulk read asks for when Bulk.Options does
// not say. Salesforce's own default is undocumented and may be large enough that one
// set outlasts the client's per-request timeout; 50,000 records (about 15 MB of CSV
// for syncd's fields) read in seconds, and cost 20 requests per million users.
const bulkMaxRecords = 50_000

// WithBulk makes d read large orgs through Bulk API 2.0 as b says, and returns d.
func (d *Directory) WithBulk(b Bulk) *Directory {
	if b.Logger == nil {
		b.Logger = zap.NewNop()
	}
	if b.Options.MaxRecords == 0 {
		b.Options.MaxRecords = bulkMaxRecords
	}
	d.bulk = b
	return d
}

// bulkProgressEvery is how often, in users, a Bulk read reports progress: as often
// as SOQL paging does.
const bulkProgressEvery = 2000

// readBulk reads the users through a Bulk API 2.0 query job, with exactly the
// values the SOQL read gives (CSV's "" and JSON's null both become ""). ok is false
// when the job could not deliver them and the caller should page through SOQL
// instead (logged with the reason); failures SOQL would meet too (authentication,
// the API allowance, the caller's context) are returned as errors instead.
func (d *Directory) readBulk(ctx context.Context, soql string, fields []string, progress func(read, total int)) (users []reconcile.Existing, ok bool, err error) {
	log := d.bulk.Logger
	expected := int(d.users.Load())
	log.Info("reading users through Bulk API 2.0", zap.Int("expected_users", expected), zap.Int("min_users", d.bulk.MinUsers))
	users = make([]reconcile.Existing, 0, expected)
	var column map[string]int
	reader := newUserReader(fields)
	for rec, err := range d.c.BulkQuery(ctx, soql, d.bulk.Options) {
		if err != nil {
			if !fallsBack(ctx, err) {
				return nil, false, callError(fmt.Errorf("reading users through Bulk API 2.0: %w", err))
			}
			log.Warn("reading users through Bulk API 2.0 failed; paging through SOQL instead",
				zap.Error(err), zap.Int("users_read_before", len(users)))
			return nil, false, nil
		}
		if column == nil {
			column = make(map[string]int, len(rec.Columns))
			for i, name := range rec.Columns {
				column[name] = i
			}
		}
		u, err := reader.user(func(name string) (string, error) {
			if i, ok := column[name]; ok {
				return rec.Values[i], nil
			}
			return "", nil
		})
		if err != nil {
			return nil, false, callError(err)
		}
		users = append(users, u)
		if progress != nil && len(users)%bulkProgressEvery == 0 {
			progress(len(users), max(expected, len(users)))
		}
	}
	if progress != nil {
		progress(len(users), len(users))
	}
	d.users.Store(int64(len(users)))
	return users, true, nil
}

// fallsBack reports whether a failed Bulk read should be retried through SOQL: yes,
// unless the caller gave up or the failure is one SOQL would meet as well (the
// credentials, the API allowance or syncd's share of it).
func fallsBack(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	switch salesforce.ClassOf(err) {
	case salesforce.ClassAuth, salesforce.ClassRateLimited:
		return false
	}
	return true
}

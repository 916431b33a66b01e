package reconcile

import (
	"context"
	"slices"
	"sync"

	"github.com/syncd-io/syncd/internal/mapping"
	"github.com/syncd-io/syncd/internal/source"
)

// MapMemo remembers the mapping of the last complete snapshot, so that a cycle whose
// pull has not changed (an HTTP 304, a file with the same size, time and digest, a
// SCIM pull with no change, or simply the same digest) skips mapping. It lives as
// long as the mapping configuration it was filled under (the daemon keeps one per
// configuration load), across the engines built for each cycle. Safe for concurrent
// use. It is the one copy of an unchanged export the process keeps: the file and HTTP
// sources answer an unchanged pull without records (see pullAndMap).
//
// An unchanged source does not skip the cycle: the plan is computed again from the
// same desired set against what Salesforce holds now, so that an unchanged source
// plans exactly what a full pull would (drift in Salesforce is still reverted, and
// no deactivation follows that a full pull would not give).
type MapMemo struct {
	mu     sync.Mutex
	digest string
	result mapping.Result
	hits   int
}

// Hits says how many cycles re-used a mapping instead of mapping again.
func (m *MapMemo) Hits() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits
}

// recall returns a copy of the remembered mapping when it is the one of the snapshot
// with the given digest. A nil memo remembers nothing.
func (m *MapMemo) recall(digest string) (mapping.Result, bool) {
	if m == nil || digest == "" {
		return mapping.Result{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.digest != digest {
		return mapping.Result{}, false
	}
	m.hits++
	return cloneResult(m.result), true
}

// pullAndMap pulls the source and maps the snapshot (mapSnapshot). The file and HTTP
// sources answer an unchanged pull with the last one's count and digest but without
// its records: the memo's mapping of that digest stands for them, and without one
// (no memo, or the memo holds another pull's mapping) the source is read again whole,
// so that a snapshot without its records is never mapped as if it were empty. It
// reports whether the source was unchanged (it said NotModified, or the memo knew the
// digest); the error and the snapshot are the pull's, and the result is the zero
// Result when the pull failed without records.
func (e *Engine) pullAndMap(ctx context.Context) (source.Snapshot, mapping.Result, bool, error) {
	snap, err := e.cfg.Source.Pull(ctx)
	notModified := snap.NotModified
	if err == nil && snap.MissingRecords() {
		if res, ok := e.cfg.Memo.recall(snap.Digest); ok {
			return snap, res, true, nil
		}
		snap, err = source.WithRecords(ctx, e.cfg.Source, snap)
	}
	if err != nil && len(snap.Records) == 0 {
		return snap, mapping.Result{}, false, err
	}
	res, remembered := e.mapSnapshot(snap)
	return snap, res, notModified || remembered, err
}

// mapSnapshot maps a snapshot's records, or returns a copy of the remembered mapping
// when the snapshot is complete and has the remembered digest. Only complete
// snapshots are remembered: an incomplete pull's digest says nothing about the next.
// It reports whether the mapping was re-used.
func (e *Engine) mapSnapshot(snap source.Snapshot) (mapping.Result, bool) {
	m := e.cfg.Memo
	if m == nil || !snap.Complete || snap.Digest == "" {
		return e.cfg.Mapper.Map(snap.Records), false
	}
	if res, ok := m.recall(snap.Digest); ok {
		return res, true
	}
	res := e.cfg.Mapper.Map(snap.Records)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.digest, m.result = snap.Digest, res
	return cloneResult(res), false
}

// cloneResult copies a mapping result deep enough that resolving profile and role
// Ids (which sets fields of each Desired) never writes into the remembered one.
func cloneResult(r mapping.Result) mapping.Result {
	desired := make([]mapping.Desired, len(r.Desired))
	for i, d := range r.Desired {
		d.Fields = slices.Clone(d.Fields)
		desired[i] = d
	}
	return mapping.Result{Desired: desired, Inactive: slices.Clone(r.Inactive), Rejected: slices.Clone(r.Rejected)}
}

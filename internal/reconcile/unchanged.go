package reconcile

import (
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
// use.
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

// mapSnapshot maps a snapshot's records, or returns a copy of the remembered mapping
// when the snapshot is complete and has the remembered digest. Only complete
// snapshots are remembered: an incomplete pull's digest says nothing about the next.
// It reports whether the mapping was re-used.
func (e *Engine) mapSnapshot(snap source.Snapshot) (mapping.Result, bool) {
	m := e.cfg.Memo
	if m == nil || !snap.Complete || snap.Digest == "" {
		return e.cfg.Mapper.Map(snap.Records), false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	hit := m.digest == snap.Digest
	if hit {
		m.hits++
	} else {
		m.digest, m.result = snap.Digest, e.cfg.Mapper.Map(snap.Records)
	}
	return cloneResult(m.result), hit
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

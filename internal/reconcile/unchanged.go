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

// knows reports whether the memo holds the mapping of snap: a complete snapshot with
// the remembered digest.
func (m *MapMemo) knows(snap source.Snapshot) bool {
	if m == nil || !snap.Complete || snap.Digest == "" {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.digest == snap.Digest
}

// pullAndMap pulls the source and maps the snapshot (pullMapped).
func (e *Engine) pullAndMap(ctx context.Context) (source.Snapshot, mapping.Result, bool, error) {
	return pullMapped(ctx, e.cfg.Source, e.cfg.Mapper, e.cfg.Memo)
}

// pullMapped pulls src and maps the snapshot with mapper, through memo (which may be
// nil). A source.Streamer hands its records over as it reads them and they are
// mapped as they come, so that the cycle never holds all of them beside the desired
// users. The file and HTTP sources answer an unchanged pull with the last one's count
// and digest but without its records: the memo's mapping of that digest stands for
// them, and without one (no memo, or the memo holds another pull's mapping) the
// source is read again whole, so that a snapshot without its records is never mapped
// as if it were empty. So is a streamed export whose ids repeat (see
// mapping.Stream.Result). It reports whether the source was unchanged (it said
// NotModified, or the memo knew the digest); the error and the snapshot are the
// pull's, and the result is the zero Result when the pull failed without records.
func pullMapped(ctx context.Context, src source.Source, mapper Mapper, memo *MapMemo) (source.Snapshot, mapping.Result, bool, error) {
	var stream *mapping.Stream
	var snap source.Snapshot
	var err error
	s, streams := src.(source.Streamer)
	m, maps := mapper.(streamMapper)
	if streams && maps {
		stream = m.NewStream()
		snap, err = s.PullEach(ctx, stream.Add)
	} else {
		snap, err = src.Pull(ctx)
	}
	notModified := snap.NotModified
	if err == nil && notModified && snap.MissingRecords() {
		if res, ok := memo.recall(snap.Digest); ok {
			return snap, res, true, nil
		}
	} else if stream != nil && snap.Count > 0 {
		if res, ok := stream.Result(); ok {
			// Mapped as it was read, so the mapping is the cycle's own even when the
			// export is the one the memo holds (a file touched, its content the same):
			// the memo then only tells that nothing changed.
			return snap, res, notModified || memo.knows(snap), err
		}
	}
	if snap.MissingRecords() {
		snap, err = source.WithRecords(ctx, src, snap)
	}
	if err != nil && len(snap.Records) == 0 {
		return snap, mapping.Result{}, false, err
	}
	res, remembered := mapSnapshot(mapper, memo, snap)
	return snap, res, notModified || remembered, err
}

// streamMapper is a Mapper that can map records as a source hands them over
// (*mapping.Mapper).
type streamMapper interface {
	NewStream() *mapping.Stream
}

// mapSnapshot maps a snapshot's records, or returns a copy of the remembered mapping
// when the snapshot is complete and has the remembered digest (mapSnapshot).
func (e *Engine) mapSnapshot(snap source.Snapshot) (mapping.Result, bool) {
	return mapSnapshot(e.cfg.Mapper, e.cfg.Memo, snap)
}

// mapSnapshot maps a snapshot's records with mapper, or returns a copy of memo's
// mapping when the snapshot is complete and has the remembered digest (only complete
// snapshots are remembered: an incomplete pull's digest says nothing about the next).
// It reports whether the mapping was re-used. A new mapping is not remembered here:
// the cycle hands it to the memo once it is done changing it (keep).
func mapSnapshot(mapper Mapper, memo *MapMemo, snap source.Snapshot) (mapping.Result, bool) {
	if snap.Complete {
		if res, ok := memo.recall(snap.Digest); ok {
			return res, true
		}
	}
	return mapper.Map(snap.Records), false
}

// keep remembers res as the mapping of snap, when snap is complete. The cycle calls
// it once it has resolved the profile and role Ids, the last change it makes to its
// mapping, so that the memo holds the cycle's own mapping rather than a copy made
// beside it (at a million people the users' Fields are some 500 MB): nothing writes
// into it any more, and a later cycle that re-uses it copies it before resolving
// (recall). The users' Fields may then hold ProfileId and UserRoleId already, which
// ResolveIDs replaces. A nil memo keeps nothing.
func (m *MapMemo) keep(snap source.Snapshot, res mapping.Result) {
	if m == nil || !snap.Complete || snap.Digest == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.digest, m.result = snap.Digest, res
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

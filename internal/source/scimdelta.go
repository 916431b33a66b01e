package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// DefaultSCIMFullEvery is how often a SCIM source lists every user when the server
// supports change filters: the pulls between read only the users changed since.
const DefaultSCIMFullEvery = time.Hour

// scimOverlap is how far before the newest meta.lastModified already seen a change
// filter starts: servers stamp a change before it is listable (eventual
// consistency) and clocks of a server's nodes differ. Users read twice are merged
// twice, which changes nothing.
const scimOverlap = 2 * time.Minute

// Whether the server filters on meta.lastModified: unknown until the first filtered
// pull, the probe, tells.
const (
	filterUnknown = iota
	filterSupported
	filterUnsupported
)

// scimState is what a SCIM source keeps between pulls to read only changes.
type scimState struct {
	support  int
	last     *Snapshot // the last complete snapshot, full or merged
	lastFull time.Time // when the last complete full list was read
	// watermark is the newest meta.lastModified read; zero when some user had none,
	// which rules filtered pulls out until the next full list.
	watermark time.Time
}

// Pull lists the users; Config.Timeout bounds each page request. See Source for the
// meaning of the result.
//
// Between full lists (at least every source.scim.full_every), a pull asks only for
// the users changed since the newest meta.lastModified seen, less scimOverlap
// (`filter=meta.lastModified gt "<ts>"`, RFC 7644 §3.4.2.2), and merges them into the
// last complete snapshot by id. The first such request probes the server: an error
// answer, or a user in the answer whose meta.lastModified is not after the
// threshold (a server that ignores the filter), marks filters unsupported for the
// source's life and the pull lists everyone. A filtered read that fails is not
// trusted either: the pull lists everyone.
//
// Deletions: a change filter never shows a user who was deleted, so a merged
// snapshot keeps them (their last record) until the next full list. A merged
// snapshot therefore never lacks anyone the full list had, and can deactivate only
// people whose own record now says inactive, which a full list would show alike; a
// deleted person is deactivated at the next full list, at most full_every later.
// An unchanged merge is marked NotModified.
func (s *SCIMSource) Pull(ctx context.Context) (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if snap, ok := s.pullChanges(ctx); ok {
		return snap, nil
	}
	l := s.list(ctx, s.filter, false)
	snap, err := l.snapshot(s.clock())
	if err == nil {
		s.state.last, s.state.lastFull, s.state.watermark = &snap, snap.FetchedAt, l.newest
	}
	return snap, err
}

// pullChanges reads the users changed since the watermark and merges them into the
// last snapshot; ok is false when the pull must list everyone instead.
func (s *SCIMSource) pullChanges(ctx context.Context) (Snapshot, bool) {
	st := &s.state
	now := s.clock()
	if st.support == filterUnsupported || st.last == nil || st.watermark.IsZero() || now.Sub(st.lastFull) >= s.fullEvery {
		return Snapshot{}, false
	}
	threshold := st.watermark.Add(-scimOverlap)
	filter := fmt.Sprintf("meta.lastModified gt %q", threshold.UTC().Format(time.RFC3339))
	if s.filter != "" {
		filter = "(" + s.filter + ") and " + filter
	}
	l := s.list(ctx, filter, true)
	if len(l.reasons) > 0 {
		var se *SCIMError
		if st.support == filterUnknown && errors.As(l.cause, &se) && (se.HTTPStatus == http.StatusBadRequest ||
			se.HTTPStatus == http.StatusNotImplemented || se.ScimType == "invalidFilter") {
			st.support = filterUnsupported // the probe was refused: the server has no such filter
		}
		return Snapshot{}, false
	}
	for _, t := range l.stamps {
		if !t.After(threshold) {
			st.support = filterUnsupported // the server ignored the filter
			return Snapshot{}, false
		}
	}
	st.support = filterSupported
	if l.newest.After(st.watermark) {
		st.watermark = l.newest
	}
	snap := merge(*st.last, l.records)
	snap.FetchedAt = now
	if snap.NotModified {
		return snap, true
	}
	st.last = &snap
	return snap, true
}

// merge returns last with changed records replacing those of the same id and new
// ones appended; NotModified (and last's records, shared) when nothing differs.
func merge(last Snapshot, changed []Record) Snapshot {
	at := make(map[string]int, len(last.Records))
	for i := range last.Records {
		at[last.Records[i].ID] = i
	}
	records := slices.Clone(last.Records)
	for _, r := range changed {
		if i, ok := at[r.ID]; ok {
			records[i] = r
			continue
		}
		at[r.ID] = len(records)
		records = append(records, r)
	}
	digest := Digest(records)
	if digest == last.Digest {
		last.NotModified = true
		return last
	}
	return Snapshot{Records: records, Complete: true, Count: len(records), Digest: digest}
}

// lastModified reads a resource's meta.lastModified; zero when it has none or it
// does not parse.
func lastModified(resource map[string]any) time.Time {
	meta, _ := foldKeys(resource)["meta"].(map[string]any)
	if meta == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, str(foldKeys(meta), "lastmodified"))
	if err != nil {
		return time.Time{}
	}
	return t
}

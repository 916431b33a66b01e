package source

import (
	"context"
	"slices"
	"strings"
)

// Found is what Lookup returns for a set of keys: the records to map and the IdP ids
// of the people the keys name.
type Found struct {
	// Records are the records the caller maps. For a source that can only be read
	// whole (a file, a download) they are the whole snapshot, so that what mapping
	// checks across records (a duplicate email, a duplicate id) is checked as in a
	// full cycle; for SCIM they are the named users alone.
	Records []Record
	// Digest is the snapshot's digest when Records is a whole snapshot, "" otherwise.
	Digest string
	// Named are the IdP ids of the people the keys name, sorted and unique: the id of
	// every record a key matched, and every key that matched no record (a person who
	// left the source is known by the IdP id a link carries).
	Named []string
	// Complete is true when the read would have been good enough for a full cycle to
	// deactivate someone: a complete snapshot, or every SCIM user either found or
	// answered 404. A key that matches nothing then names a leaver.
	Complete bool
	// Reasons says why the read is not complete.
	Reasons []string
}

// Finder is a source that can read single people by IdP id without a full pull
// (SCIM's GET /Users/{id}).
type Finder interface {
	Find(ctx context.Context, ids []string) (Found, error)
}

// Lookup reads the people the keys name: through Find when the source is a Finder,
// otherwise by pulling it (which costs little when it has not changed) and picking
// the records a key names (reading it whole when an unchanged source answers without
// records). A key names a record when it equals the record's id, or,
// ignoring case, its user name or one of its email addresses (an Okta event names a
// user by id and by login). The error is non-nil when nothing could be read.
func Lookup(ctx context.Context, src Source, keys []string) (Found, error) {
	if f, ok := src.(Finder); ok {
		return f.Find(ctx, keys)
	}
	snap, err := src.Pull(ctx)
	if err == nil {
		snap, err = WithRecords(ctx, src, snap)
	}
	if err != nil && len(snap.Records) == 0 {
		return Found{}, err
	}
	return Found{Records: snap.Records, Digest: snap.Digest, Named: Named(snap.Records, keys),
		Complete: snap.Complete, Reasons: snap.Reasons}, nil
}

// Named returns the IdP ids the keys name among records (see Lookup), with the keys
// that name no record, sorted and unique.
func Named(records []Record, keys []string) []string {
	exact := map[string]bool{}  // key → matched, against ids
	folded := map[string]bool{} // lower-case key → matched, against user names and emails
	for _, k := range keys {
		if k = strings.TrimSpace(k); k != "" {
			exact[k] = false
			folded[strings.ToLower(k)] = false
		}
	}
	hit := func(m map[string]bool, key string) bool {
		if _, ok := m[key]; ok && key != "" {
			m[key] = true
			return true
		}
		return false
	}
	ids := map[string]bool{}
	for i := range records {
		r := &records[i]
		found := hit(exact, r.ID)
		found = hit(folded, strings.ToLower(r.UserName)) || found
		for _, e := range r.Emails {
			found = hit(folded, strings.ToLower(e.Value)) || found
		}
		if found {
			ids[r.ID] = true
		}
	}
	for k, matched := range exact {
		if !matched && !folded[strings.ToLower(k)] {
			ids[k] = true
		}
	}
	out := make([]string, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

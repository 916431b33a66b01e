package sfsim

import (
	"fmt"
	"net/http"
	"time"
)

// Bounds of the get-updated window, as Salesforce documents them.
const (
	updatedMaxAge = 30 * 24 * time.Hour
	updatedMaxIDs = 600000
)

// parseReplicationDate reads a start or end parameter: ISO 8601 with seconds and an
// offset, with or without milliseconds and the offset's colon.
func parseReplicationDate(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a dateTime such as 2024-05-01T00:00:00+00:00", v)
}

// serveUpdated is GET .../sobjects/User/updated?start=&end=: the Ids of the records
// written in the window (by SystemModstamp), the window at most 30 days back.
func (s *Server) serveUpdated(c *call) {
	d, ok := s.objectOf(c)
	if !ok {
		return
	}
	modstamp, _, ok := d.field("SystemModstamp")
	if !ok {
		s.writeErrors(c.w, c.limit, notFound())
		return
	}
	q := c.r.URL.Query()
	start, err := parseReplicationDate(q.Get("start"))
	if err != nil {
		s.writeErrors(c.w, c.limit, badRequest("INVALID_REPLICATION_DATE", "start: "+err.Error()))
		return
	}
	end, err := parseReplicationDate(q.Get("end"))
	if err != nil {
		s.writeErrors(c.w, c.limit, badRequest("INVALID_REPLICATION_DATE", "end: "+err.Error()))
		return
	}
	now := s.now()
	switch {
	case !start.Before(end):
		s.writeErrors(c.w, c.limit, badRequest("INVALID_REPLICATION_DATE", "start must be before end"))
		return
	case start.Before(now.Add(-updatedMaxAge)):
		s.writeErrors(c.w, c.limit, badRequest("INVALID_REPLICATION_DATE", "start must be within the last 30 days"))
		return
	}
	// The window is covered to the last whole minute before end (and before now).
	covered := end
	if now.Before(covered) {
		covered = now
	}
	covered = covered.Truncate(time.Minute)
	ids := []string{}
	s.mu.Lock()
	for _, r := range s.org.tables[d].rows {
		if t, ok := r.vals[modstamp].(time.Time); ok && !t.Before(start) && t.Before(covered) {
			ids = append(ids, r.id())
		}
	}
	s.mu.Unlock()
	if len(ids) > updatedMaxIDs {
		s.writeErrors(c.w, c.limit, badRequest("EXCEEDED_ID_LIMIT", fmt.Sprintf("more than %d ids changed in the window: ask for a shorter one", updatedMaxIDs)))
		return
	}
	s.writeJSON(c.w, c.limit, http.StatusOK, struct {
		IDs               []string `json:"ids"`
		LatestDateCovered string   `json:"latestDateCovered"`
	}{ids, covered.Format(dateTimeLayout)})
}

package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

var _ Finder = (*SCIMSource)(nil)

// Find reads each named user with GET /Users/{id} (RFC 7644 §3.4.1), for a targeted
// reconcile: a 200 is the user's record, a 404 says the service provider has no such
// user (a leaver, as an id absent from a complete list is), and any other answer makes
// the result incomplete, so that no one is deactivated on it. A user the configured
// filter would exclude is still returned: the filter cannot be checked on one
// resource, so a person moved out of the filter leaves only at the next full cycle.
// The error is non-nil only when the context ended before anything was read.
func (s *SCIMSource) Find(ctx context.Context, ids []string) (Found, error) {
	f := Found{Complete: true}
	named := map[string]bool{}
	for _, id := range ids {
		if id == "" || named[id] {
			continue
		}
		named[id] = true
		body, err := s.get(ctx, s.base+"/Users/"+url.PathEscape(id), s.maxBytes)
		var se *SCIMError
		switch {
		case errors.As(err, &se) && se.HTTPStatus == http.StatusNotFound:
			continue // gone: Named keeps the id, no record
		case err != nil:
			f.Complete = false
			f.Reasons = append(f.Reasons, fmt.Sprintf("GET /Users/%s: %v", quote(id), err))
			if ctx.Err() != nil && len(f.Records) == 0 {
				return f, &IncompleteError{Reasons: f.Reasons, Cause: err}
			}
			continue
		}
		rec, err := parseSCIMUser(body)
		if err == nil && rec.ID != id {
			err = fmt.Errorf("the service provider answered with user %s", quote(rec.ID))
		}
		if err != nil {
			f.Complete = false
			f.Reasons = append(f.Reasons, fmt.Sprintf("GET /Users/%s: %v", quote(id), err))
			continue
		}
		f.Records = append(f.Records, rec)
	}
	for id := range named {
		f.Named = append(f.Named, id)
	}
	slices.Sort(f.Named)
	return f, nil
}

// parseSCIMUser parses one User resource.
func parseSCIMUser(body []byte) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var res map[string]any
	if err := dec.Decode(&res); err != nil {
		return Record{}, fmt.Errorf("parsing the User: %w", err)
	}
	return scimUser(res)
}

package source

import (
	"errors"
	"fmt"
)

// idRule keeps identity stable within one export. Links between IdP and Salesforce
// users are keyed on Record.ID, so a record whose id silently became something else
// (its login or email, by the fallback) would make its linked user look gone. The
// rule: when source.columns.id is configured, every record must carry that id; without
// it, the first record decides whether the export has ids (a CSV header with an id
// column, a JSON object with an id key) and every later record must agree; a present
// id must not be blank. Only an export without any id at all uses the fallback id
// (login, else email), for every record alike.
type idRule struct {
	configured string // source.columns.id, "" when not configured
	decided    bool   // the first record has been seen
	hasIDs     bool   // the export carries ids (decided by the first record)
}

// check applies the rule to one record; hasID says whether its source row or object
// has the id column or key. It fills the fallback id when the export has no ids, and
// otherwise returns what is wrong with the record's identity, nil when nothing is.
func (r *idRule) check(rec *Record, hasID bool) error {
	if !r.decided {
		r.decided, r.hasIDs = true, hasID
	}
	switch {
	case !hasID && r.configured != "":
		return fmt.Errorf("no id: the record lacks %s (source.columns.id)", quote(r.configured))
	case !hasID && r.hasIDs:
		return errors.New("no id: the record lacks the id key that the first record has, so its identity would silently change")
	case hasID && !r.hasIDs:
		return errors.New("an id key where the first record has none: the export mixes ids and fallback ids (login or email); configure source.columns.id")
	case hasID && rec.ID == "":
		return errors.New("no id: the id is blank")
	case !hasID:
		if rec.ID = fallbackID(rec); rec.ID == "" {
			return errors.New("no id: the export has no id column and the record has neither a login nor an email to fall back to")
		}
	}
	return nil
}

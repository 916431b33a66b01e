package sfsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/syncd-io/syncd/internal/sfsim/soql"
)

// cursor is the rest of a query's result, rendered when the query ran, so that pages
// read later show the records as they were then.
type cursor struct {
	records  [][]byte
	batch    int
	lastUsed time.Time
	useOrder uint64 // s.cursorUses when last used: the eviction order, even when the clock stands still
}

// view adapts a row to the SOQL evaluator. The org's mutex must be held while a view
// is in use.
type view struct {
	o *org
	r *row
}

func (v view) Field(name string) any {
	i, ok := v.r.def.exact[name]
	if !ok {
		return nil
	}
	return v.r.vals[i]
}

// views returns every record of an object as the evaluator sees them.
func (o *org) views(object string) []soql.Record {
	d, _ := o.s.object(object)
	rows := o.tables[d].rows
	out := make([]soql.Record, len(rows))
	for i, r := range rows {
		out[i] = view{o: o, r: r}
	}
	return out
}

func (v view) Parent(relationship string) soql.Record {
	p := v.o.parentOf(v.r, relationship)
	if p == nil {
		return nil
	}
	return view{o: v.o, r: p}
}

// parentOf follows a relationship of a row; nil when the reference is null.
func (o *org) parentOf(r *row, relationship string) *row {
	rel, ok := r.def.parent(relationship)
	if !ok {
		return nil
	}
	id, _ := r.vals[r.def.mustIndex(rel.Field)].(string)
	p, _ := o.get(id)
	return p
}

// batchSize reads Sforce-Query-Options: batchSize=N, bounded to 200..2000 as
// Salesforce treats the value as a hint. 0 means the header does not say.
func batchSize(r *http.Request) int {
	for _, opt := range strings.Split(r.Header.Get("Sforce-Query-Options"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(opt), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "batchSize") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0
		}
		return min(max(n, MinQueryBatchSize), DefaultQueryBatchSize)
	}
	return 0
}

// serveQuery is GET .../query?q=SOQL (and queryAll).
func (s *Server) serveQuery(c *call) {
	q := c.r.URL.Query().Get("q")
	if strings.TrimSpace(q) == "" {
		s.writeErrors(c.w, c.limit, badRequest("MALFORMED_QUERY", "A query string has to be specified"))
		return
	}
	batch := batchSize(c.r)
	if batch == 0 {
		batch = DefaultQueryBatchSize
	}
	s.mu.Lock()
	s.queries = append(s.queries, q)
	query, err := soql.Parse(q, soqlSchema{s.schema})
	if err != nil {
		s.mu.Unlock()
		s.writeErrors(c.w, c.limit, soqlError(err))
		return
	}
	for _, sj := range query.Semijoins {
		sj.Resolve(s.org.views(sj.Object.Name))
	}
	if wantsColumns(c.r) {
		s.mu.Unlock()
		s.writeJSON(c.w, c.limit, http.StatusOK, s.describeColumns(query))
		return
	}
	selected := query.Run(s.org.views(query.Object.Name))
	if query.Count {
		s.mu.Unlock()
		s.writeRaw(c.w, c.limit, http.StatusOK, fmt.Appendf(nil, `{"totalSize":%d,"done":true,"records":[]}`, len(selected)))
		return
	}
	// Render every record into one buffer, then slice it: one allocation, not one a record.
	var rendered bytes.Buffer
	ends := make([]int, len(selected))
	for i, rec := range selected {
		s.org.render(&rendered, rec.(view).r, query.Fields, c.base)
		ends[i] = rendered.Len()
	}
	records := make([][]byte, len(selected))
	start := 0
	for i, end := range ends {
		records[i] = rendered.Bytes()[start:end:end]
		start = end
	}
	locator := ""
	if len(records) > batch {
		now := s.now()
		s.pruneCursors(now)
		s.nextCursor++
		locator = newID(prefixQueryLocator, s.nextCursor)
		s.cursorUses++
		s.cursors[locator] = &cursor{records: records, batch: batch, lastUsed: now, useOrder: s.cursorUses}
	}
	s.mu.Unlock()
	s.writePage(c, records, 0, batch, locator)
}

// serveQueryMore is GET .../query/{locator}-{offset}.
func (s *Server) serveQueryMore(c *call) {
	locator, offsetText, _ := strings.Cut(c.segs[1], "-")
	offset, err := strconv.Atoi(offsetText)
	now := s.now()
	s.mu.Lock()
	cur, ok := s.cursors[locator]
	if !ok || err != nil || offset < 0 || offset >= len(cur.records) || now.Sub(cur.lastUsed) > cursorIdleTimeout {
		s.mu.Unlock()
		s.writeErrors(c.w, c.limit, badRequest("INVALID_QUERY_LOCATOR", "invalid query locator"))
		return
	}
	cur.lastUsed = now
	s.cursorUses++
	cur.useOrder = s.cursorUses
	batch := batchSize(c.r)
	if batch == 0 {
		batch = cur.batch
	}
	records := cur.records
	s.mu.Unlock()
	s.writePage(c, records, offset, batch, locator)
}

// pruneCursors forgets idle cursors and, past the limit, the least recently used
// ones. s.mu held.
func (s *Server) pruneCursors(now time.Time) {
	for loc, cur := range s.cursors {
		if now.Sub(cur.lastUsed) > cursorIdleTimeout {
			delete(s.cursors, loc)
		}
	}
	for len(s.cursors) >= maxOpenCursors {
		oldest := ""
		for loc, cur := range s.cursors {
			if oldest == "" || cur.useOrder < s.cursors[oldest].useOrder {
				oldest = loc
			}
		}
		delete(s.cursors, oldest)
	}
}

// writePage answers one page of a result: totalSize of the whole result, done, the
// next page's URL while there is one, and the records.
func (s *Server) writePage(c *call, records [][]byte, offset, batch int, locator string) {
	end := min(offset+batch, len(records))
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"totalSize":%d,"done":%t,`, len(records), end == len(records))
	if end < len(records) {
		fmt.Fprintf(&b, `"nextRecordsUrl":"%s/query/%s-%d",`, c.base, locator, end)
	}
	b.WriteString(`"records":[`)
	for i, rec := range records[offset:end] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(rec)
	}
	b.WriteString("]}")
	s.writeRaw(c.w, c.limit, http.StatusOK, b.Bytes())
}

// render writes a record as the REST API does: attributes first, then the fields in
// the order asked, parent fields nested under their relationship (null when the
// reference is null).
func (o *org) render(b *bytes.Buffer, r *row, fields []soql.FieldRef, base string) {
	d := r.def
	fmt.Fprintf(b, `{"attributes":{"type":%q,"url":"%s/sobjects/%s/%s"}`, d.name, base, d.name, r.id())
	done := map[string]bool{}
	for i, f := range fields {
		head := f[0]
		if len(f) == 1 {
			idx, fd, ok := d.field(head)
			if !ok {
				continue
			}
			b.WriteByte(',')
			writeJSONString(b, fd.name)
			b.WriteByte(':')
			writeValue(b, fd, r.vals[idx])
			continue
		}
		if done[head] {
			continue
		}
		done[head] = true
		tails := relationshipTails(fields[i:], head)
		b.WriteByte(',')
		writeJSONString(b, head)
		b.WriteByte(':')
		if p := o.parentOf(r, head); p != nil {
			o.render(b, p, tails, base)
		} else {
			b.WriteString("null")
		}
	}
	b.WriteByte('}')
}

// relationshipTails returns what refs select through the relationship head: the rest
// of each path that starts with it (Name of Profile.Name), in SELECT order.
func relationshipTails(refs []soql.FieldRef, head string) []soql.FieldRef {
	var tails []soql.FieldRef
	for _, g := range refs {
		if len(g) > 1 && g[0] == head {
			tails = append(tails, g[1:])
		}
	}
	return tails
}

// allFields selects every field of an object, for a GET of a whole record.
func allFields(d *objectDef) []soql.FieldRef {
	out := make([]soql.FieldRef, len(d.fields))
	for i := range d.fields {
		out[i] = soql.FieldRef{d.fields[i].name}
	}
	return out
}

// The formats of dates and datetimes in REST answers.
const (
	dateTimeLayout = "2006-01-02T15:04:05.000-0700"
	dateLayout     = "2006-01-02"
)

func writeValue(b *bytes.Buffer, fd *fieldDef, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeJSONString(b, x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
	case time.Time:
		layout := dateTimeLayout
		if fd.kind == kindDate {
			layout = dateLayout
		}
		writeJSONString(b, x.UTC().Format(layout))
	default:
		panic(fmt.Sprintf("sfsim: field %s holds a %T", fd.name, v))
	}
}

// writeJSONString writes s as a JSON string. Most values are plain ASCII and are
// written as they are; the rest go through encoding/json for escaping.
func writeJSONString(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			out, _ := json.Marshal(s)
			b.Write(out)
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

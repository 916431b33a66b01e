package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// decoderOptions configures the format decoders shared by the file and http sources.
type decoderOptions struct {
	columns        Columns
	delimiter      rune
	groupSeparator string
	maxBytes       int64 // source.max_bytes; 0: no cap
	countTrailer   bool  // source.count_trailer
}

// ctxCheckEvery is how many records a decoder reads between context checks.
const ctxCheckEvery = 1024

// decode reads a whole export from r in the given format into p, streaming: the input
// is never held in memory as a whole, only the records built from it. size is the
// input's length when known (0 otherwise), used to size the record slice. Any problem
// ends the read with a reason in p; records read before it stay in p.
func decode(ctx context.Context, format string, r io.Reader, size int64, opts decoderOptions, p *pullResult) {
	if opts.maxBytes > 0 {
		r = newCappedReader(r, opts.maxBytes)
	}
	r = skipBOM(r)
	switch format {
	case FormatCSV:
		decodeCSV(ctx, r, size, opts, p)
	case FormatJSON:
		decodeJSONArray(ctx, r, opts, p)
	case FormatNDJSON:
		decodeNDJSON(ctx, r, opts, p)
	case FormatSCIM:
		decodeSCIMDocument(ctx, r, p)
	default:
		p.fail(nil, fmt.Sprintf("unknown format %q", format))
	}
}

// skipBOM drops a leading UTF-8 byte order mark, which Windows tools write in front of
// CSV and JSON alike.
func skipBOM(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\ufeff")) {
		_, _ = br.Discard(3)
	}
	return br
}

// decodeCSV reads an RFC 4180 file with a header row (quoted fields may span lines,
// CRLF or LF line ends, an optional UTF-8 BOM). Every row must have as many fields as
// the header: a ragged row means the export is broken, so the read stops there.
func decodeCSV(ctx context.Context, r io.Reader, size int64, opts decoderOptions, p *pullResult) {
	cr := csv.NewReader(r)
	cr.Comma = opts.delimiter
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // checked per row, to name the line and both counts
	header, err := cr.Read()
	if err == io.EOF {
		p.fail(nil, "the file is empty (no header row)")
		return
	}
	if err != nil {
		p.fail(err, fmt.Sprintf("header row: %v", err))
		return
	}
	header = slices.Clone(header)
	byName, problems := resolveColumns(header, &opts.columns, true)
	for _, problem := range problems {
		p.fail(nil, problem)
	}
	if len(problems) > 0 {
		return
	}
	layout := newCSVLayout(header, byName, opts.groupSeparator)
	layout.ids.configured = opts.columns.ID
	p.handedOver = layout.recycle
	trailer := countTrailer{required: opts.countTrailer}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.fail(err, fmt.Sprintf("CSV: %v", err))
			return
		}
		line, _ := cr.FieldPos(0)
		if isTrailer, err := trailer.check(row[0], len(row) == 1); isTrailer || err != nil {
			if err != nil {
				p.fail(nil, fmt.Sprintf("line %d: %v", line, err))
				return
			}
			continue
		}
		rec, err := layout.record(row)
		if err != nil {
			p.fail(nil, fmt.Sprintf("line %d: %v", line, err))
			return
		}
		if p.read() == ctxCheckEvery-1 { // estimated before a streaming pull hands over its first chunk
			p.expect(estimateRows(size, cr.InputOffset(), ctxCheckEvery))
		}
		p.add(rec)
		if n := p.read(); n%ctxCheckEvery == 0 && ctx.Err() != nil {
			p.fail(ctx.Err(), fmt.Sprintf("stopped at line %d: %v", line, ctx.Err()))
			return
		}
	}
	if err := trailer.finish(p.read()); err != nil {
		p.fail(nil, err.Error())
	}
	if p.read() == 0 {
		p.fail(nil, "the file has a header row but no records")
	}
}

// estimateRows extrapolates the number of rows of an input of size bytes from the
// first rows, which took offset bytes, so that the record slice is allocated about
// once: growing a slice of a million records step by step allocates five times its
// final size. The estimate is capped at one row per 8 bytes (an id and an address
// cannot be shorter); 0 when size is unknown.
func estimateRows(size, offset int64, rows int) int {
	if size <= 0 || offset <= 0 {
		return 0
	}
	est := float64(size) / float64(offset) * float64(rows) * 1.02
	return int(min(est, float64(size/8)))
}

// csvLayout knows which column holds what.
type csvLayout struct {
	// emails and attributes hold the rows' emails and extra attributes: a million
	// rows then cost a thousand allocations of each instead of a million.
	emails     chunk[Email]
	attributes chunk[Attribute]
	columns    []attr // per column: a standard attribute, attrExtra or attrIgnored
	extraOrder []int  // additional columns, sorted by header name
	header     []string
	hasID      bool
	builder    recordBuilder
	ids        idRule
}

func newCSVLayout(header []string, byName map[string]attr, groupSeparator string) *csvLayout {
	l := &csvLayout{header: header, columns: make([]attr, len(header)), builder: recordBuilder{groupSeparator: groupSeparator}}
	seen := make(map[string]bool)
	for i, h := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		n := normalizeName(h)
		a, ok := byName[n]
		switch {
		case ok && !seen[n]:
			l.columns[i] = a
			l.hasID = l.hasID || a == attrID
		case header[i] != "" && !seen[n]:
			l.columns[i] = attrExtra
			l.extraOrder = append(l.extraOrder, i)
		default:
			l.columns[i] = attrIgnored // an unnamed or repeated column
		}
		seen[n] = true
	}
	sort.SliceStable(l.extraOrder, func(a, b int) bool { return header[l.extraOrder[a]] < header[l.extraOrder[b]] })
	return l
}

func (l *csvLayout) record(row []string) (Record, error) {
	if len(row) != len(l.columns) {
		return Record{}, fmt.Errorf("%d fields where the header has %d", len(row), len(l.columns))
	}
	rec := Record{Active: true, Emails: l.emails.take(1)} // a CSV row has one email column
	for i, v := range row {
		if a := l.columns[i]; a >= 0 {
			if err := l.builder.set(&rec, a, v); err != nil {
				return Record{}, fmt.Errorf("column %s: %w", quote(l.header[i]), err)
			}
		}
	}
	if len(rec.Emails) == 0 {
		rec.Emails = nil
	}
	n := 0
	for _, i := range l.extraOrder {
		if strings.TrimSpace(row[i]) != "" {
			n++
		}
	}
	if n > 0 {
		rec.Attributes = l.attributes.take(n)
		for _, i := range l.extraOrder {
			if v := strings.TrimSpace(row[i]); v != "" {
				rec.Attributes = append(rec.Attributes, Attribute{Name: l.header[i], Value: v})
			}
		}
	}
	if err := l.ids.check(&rec, l.hasID); err != nil {
		return Record{}, err
	}
	rec.normalize()
	return rec, nil
}

// recycle re-uses the memory of the rows' emails and attributes once a streaming pull
// has handed the records that use them over (pullResult.handedOver).
func (l *csvLayout) recycle() {
	l.emails.recycle()
	l.attributes.recycle()
}

// chunk hands out small slices carved from shared arrays of chunkLen values.
type chunk[T any] struct {
	free []T
	// used are the arrays handed out from since the last recycle, spare the ones
	// free to hand out again.
	used, spare [][]T
}

// chunkLen is how many values one allocation of a chunk holds.
const chunkLen = 1024

// take returns an empty slice with room for n values. Its capacity is capped at n, so
// appending more allocates anew instead of reaching the next slice's values.
func (c *chunk[T]) take(n int) []T {
	if len(c.free) < n {
		if k := len(c.spare) - 1; k >= 0 && len(c.spare[k]) >= n {
			c.free, c.spare = c.spare[k], c.spare[:k]
		} else {
			c.free = make([]T, max(n, chunkLen))
		}
		c.used = append(c.used, c.free)
	}
	s := c.free[:0:n]
	c.free = c.free[n:]
	return s
}

// recycle makes every array handed out from free to hand out again: the caller
// promises that nothing uses the slices taken so far.
func (c *chunk[T]) recycle() {
	for _, a := range c.used {
		clear(a)
		c.spare = append(c.spare, a)
	}
	c.used, c.free = c.used[:0], nil
}

// fallbackID is the id of a record whose source has no id column: the login, else the
// primary email. It changes when the person's login changes, which makes a rename look
// like a leaver and a joiner; configure source.columns.id when the export has a real id.
func fallbackID(r *Record) string {
	if r.UserName != "" {
		return r.UserName
	}
	return r.PrimaryEmail()
}

// decodeJSONArray reads a JSON array of objects, one person each, without holding more
// than one object at a time.
func decodeJSONArray(ctx context.Context, r io.Reader, opts decoderOptions, p *pullResult) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := expectDelim(dec, '['); err != nil {
		p.fail(err, fmt.Sprintf("JSON: %v", err))
		return
	}
	b := recordBuilder{groupSeparator: opts.groupSeparator}
	ids := idRule{configured: opts.columns.ID}
	for i := 1; dec.More(); i++ {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || obj == nil {
			p.fail(err, fmt.Sprintf("JSON array element %d: %s", i, errorOr(err, "not an object")))
			return
		}
		rec, err := flatRecord(obj, &opts.columns, b, &ids)
		if err != nil {
			p.fail(nil, fmt.Sprintf("JSON array element %d: %v", i, err))
			return
		}
		p.add(rec)
		if i%ctxCheckEvery == 0 && ctx.Err() != nil {
			p.fail(ctx.Err(), fmt.Sprintf("stopped at JSON array element %d: %v", i, ctx.Err()))
			return
		}
	}
	if err := expectDelim(dec, ']'); err != nil {
		p.fail(err, fmt.Sprintf("JSON: %v", err))
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		p.fail(nil, "JSON: unexpected data after the array")
		return
	}
	if p.read() == 0 {
		p.fail(nil, "the JSON array is empty")
	}
}

// decodeNDJSON reads one JSON object a line; blank lines are skipped. A line longer
// than maxLineBytes ends the read.
func decodeNDJSON(ctx context.Context, r io.Reader, opts decoderOptions, p *pullResult) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	b := recordBuilder{groupSeparator: opts.groupSeparator}
	ids := idRule{configured: opts.columns.ID}
	trailer := countTrailer{required: opts.countTrailer}
	for line := 1; ; line++ {
		text, err := br.ReadSlice('\n') // valid until the next read; decodeObject copies what it keeps
		if errors.Is(err, bufio.ErrBufferFull) {
			p.fail(nil, fmt.Sprintf("line %d: longer than %d bytes, the most one record may take", line, maxLineBytes))
			return
		}
		if err != nil && err != io.EOF {
			p.fail(err, fmt.Sprintf("line %d: %v", line, err))
			return
		}
		if trimmed := bytes.TrimSpace(text); len(trimmed) > 0 {
			if isTrailer, terr := trailer.checkBytes(trimmed); isTrailer || terr != nil {
				if terr != nil {
					p.fail(nil, fmt.Sprintf("line %d: %v", line, terr))
					return
				}
				continue
			}
			obj, perr := decodeObject(trimmed)
			if perr != nil {
				p.fail(perr, fmt.Sprintf("line %d: %v", line, perr))
				return
			}
			rec, perr := flatRecord(obj, &opts.columns, b, &ids)
			if perr != nil {
				p.fail(nil, fmt.Sprintf("line %d: %v", line, perr))
				return
			}
			p.add(rec)
		}
		if err == io.EOF {
			break
		}
		if line%ctxCheckEvery == 0 && ctx.Err() != nil {
			p.fail(ctx.Err(), fmt.Sprintf("stopped at line %d: %v", line, ctx.Err()))
			return
		}
	}
	if err := trailer.finish(p.read()); err != nil {
		p.fail(nil, err.Error())
	}
	if p.read() == 0 {
		p.fail(nil, "the NDJSON file has no records")
	}
}

// decodeObject parses exactly one JSON object from b.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the object")
	}
	return obj, nil
}

// errorOr returns err's text, or otherwise when err is nil.
func errorOr(err error, otherwise string) string {
	if err != nil {
		return err.Error()
	}
	return otherwise
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", string(want), tok)
	}
	return nil
}

// flatRecord builds a record from a JSON object whose keys name attributes: nested
// objects are addressed with dots ("profile.email", "name.givenName"), emails and
// groups may be arrays of strings or of SCIM-style objects. ids checks the record's
// identity against the export's earlier records.
func flatRecord(obj map[string]any, cols *Columns, b recordBuilder, ids *idRule) (Record, error) {
	var flat []flatValue
	flatten("", obj, &flat)
	// Sort so that lookups and attribute order do not depend on map iteration.
	slices.SortFunc(flat, func(x, y flatValue) int { return strings.Compare(x.key, y.key) })
	names := make([]string, len(flat))
	for i, f := range flat {
		names[i] = f.key
	}
	byName, _ := resolveColumns(names, cols, false)
	rec := Record{Active: true}
	hasID := false
	used := make(map[string]bool, numAttrs)
	for _, f := range flat {
		n := normalizeName(f.key)
		a, ok := byName[n]
		if !ok || used[n] {
			if s, scalar := scalarString(f.value); scalar && s != "" {
				rec.Attributes = append(rec.Attributes, Attribute{Name: f.key, Value: s})
			}
			continue
		}
		used[n] = true
		hasID = hasID || a == attrID
		if list, isList := f.value.([]any); isList {
			if err := setList(&rec, a, list, b); err != nil {
				return Record{}, fmt.Errorf("key %s: %w", quote(f.key), err)
			}
			continue
		}
		s, scalar := scalarString(f.value)
		if !scalar {
			return Record{}, fmt.Errorf("key %s: not a scalar value", quote(f.key))
		}
		if err := b.set(&rec, a, s); err != nil {
			return Record{}, fmt.Errorf("key %s: %w", quote(f.key), err)
		}
	}
	if err := ids.check(&rec, hasID); err != nil {
		return Record{}, err
	}
	rec.normalize()
	return rec, nil
}

type flatValue struct {
	key   string
	value any
}

func flatten(prefix string, obj map[string]any, out *[]flatValue) {
	for k, v := range obj {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if nested, ok := v.(map[string]any); ok {
			flatten(key, nested, out)
			continue
		}
		*out = append(*out, flatValue{key: key, value: v})
	}
}

// scalarString renders a JSON scalar as text; ok is false for arrays and objects.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// setList fills emails or groups from a JSON array; other attributes take no arrays.
func setList(r *Record, a attr, list []any, b recordBuilder) error {
	switch a {
	case attrEmail:
		for _, item := range list {
			switch item := item.(type) {
			case string:
				if err := b.set(r, attrEmail, item); err != nil {
					return err
				}
			case map[string]any:
				if e, ok := scimEmail(item); ok {
					r.Emails = append(r.Emails, e)
				}
			default:
				return errors.New("emails must be strings or objects")
			}
		}
	case attrGroups:
		for _, item := range list {
			switch item := item.(type) {
			case string:
				if item = strings.TrimSpace(item); item != "" {
					r.Groups = append(r.Groups, Group{Name: item})
				}
			case map[string]any:
				if g, ok := scimGroup(item); ok {
					r.Groups = append(r.Groups, g)
				}
			default:
				return errors.New("groups must be strings or objects")
			}
		}
	default:
		return errors.New("an array where a single value is expected")
	}
	return nil
}

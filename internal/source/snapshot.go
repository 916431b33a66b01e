package source

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Source pulls the full desired set of people from an identity provider.
//
// Pull always returns a Snapshot, and its error is non-nil exactly when the snapshot is
// not Complete: a caller that only checks the error and a caller that only checks
// Complete both see an incomplete pull. An incomplete snapshot still carries whatever
// records were read (useful for creates and updates, and for reporting) together with
// the reasons; it must never lead to a deactivation. The error then wraps ErrIncomplete
// (and, where there is one, the underlying cause such as context.DeadlineExceeded).
type Source interface {
	Pull(ctx context.Context) (Snapshot, error)
}

// ErrIncomplete is wrapped by every error Pull returns: the pull did not produce a
// trustworthy full list.
var ErrIncomplete = errors.New("source pull incomplete")

// Snapshot is the result of one pull.
type Snapshot struct {
	// Records in source order. Shared, read-only. A NotModified snapshot of the file
	// and HTTP sources has none (they keep only the count and digest of their last
	// pull; see MissingRecords and WithRecords); SCIM's returns the same slice as the
	// pull it repeats.
	Records []Record
	// Complete is true only when the source's own end-of-list signal was reached, every
	// page or line parsed, and the counts agreed. The zero Snapshot is incomplete.
	Complete bool
	// Reasons says why the snapshot is incomplete, with the line or page where it
	// applies; empty when Complete.
	Reasons []string
	// Count is len(Records), kept for the shrink gate and reports.
	Count int
	// Digest is an order-independent hash of the records (hex SHA-256): two pulls of the
	// same people in any order have the same digest, so change detection and the shrink
	// gate can compare pulls without keeping them.
	Digest string
	// FetchedAt is when the pull finished, from the injected clock.
	FetchedAt time.Time
	// NotModified is true when the source found nothing changed since its previous
	// complete pull (an HTTP 304, a file of the same size, time and SHA-256, a SCIM
	// change filter that selected no change): Count and Digest are that pull's, and
	// so are Records when the source kept them.
	NotModified bool
}

// MissingRecords reports whether the snapshot stands for more records than it holds:
// a NotModified snapshot of a source that does not keep records between pulls. Its
// Count and Digest are good; mapping it would see nobody.
func (s *Snapshot) MissingRecords() bool { return len(s.Records) != s.Count }

// withoutRecords returns the snapshot as a source keeps it between pulls: everything
// but the records.
func (s Snapshot) withoutRecords() Snapshot {
	s.Records = nil
	return s
}

// FreshPuller is a source whose NotModified snapshots may come without records (the
// file and HTTP sources). PullFresh reads the source whole whatever it remembers, so
// its snapshot is never NotModified and always carries its records.
type FreshPuller interface {
	PullFresh(ctx context.Context) (Snapshot, error)
}

// Streamer is a source that can hand its records over as it reads them, so that a
// caller that maps them never holds them all (the file and HTTP sources).
type Streamer interface {
	// PullEach is Pull with the records handed to each in source order, a chunk at a
	// time, instead of kept: the snapshot's Records are nil, its Count and Digest the
	// whole pull's. expected is the source's estimate of the pull's size (0 when
	// unknown). The chunk's memory is the source's again once each returns: each may
	// keep the records' strings, never the slice, its records or their slices
	// (Emails, Groups, Attributes). An unchanged export
	// hands nothing over and answers NotModified, as Pull does.
	PullEach(ctx context.Context, each func(records []Record, expected int)) (Snapshot, error)
}

// WithRecords returns snap when it holds its records and otherwise reads src again
// whole (FreshPuller), for a caller that needs the people themselves rather than the
// digest. A source that answered without records and cannot be read afresh gives an
// incomplete snapshot: the caller must never take it for an empty one.
func WithRecords(ctx context.Context, src Source, snap Snapshot) (Snapshot, error) {
	if !snap.MissingRecords() {
		return snap, nil
	}
	if f, ok := src.(FreshPuller); ok {
		return f.PullFresh(ctx)
	}
	reason := fmt.Sprintf("the source answered NotModified without its %d records and cannot be read afresh", snap.Count)
	return Snapshot{Reasons: []string{reason}, FetchedAt: snap.FetchedAt}, &IncompleteError{Reasons: []string{reason}}
}

// IncompleteError is the error Pull returns with an incomplete snapshot.
type IncompleteError struct {
	Reasons []string
	// Cause is the underlying error when a single failure ended the pull (a transport
	// error, a cancelled context); nil otherwise.
	Cause error
}

// Error lists every reason, so a log line says why the pull cannot be trusted.
func (e *IncompleteError) Error() string {
	return ErrIncomplete.Error() + ": " + strings.Join(e.Reasons, "; ")
}

// Unwrap lets errors.Is find both ErrIncomplete and the cause.
func (e *IncompleteError) Unwrap() []error {
	if e.Cause != nil {
		return []error{ErrIncomplete, e.Cause}
	}
	return []error{ErrIncomplete}
}

// pullResult accumulates records and problems while a pull runs.
type pullResult struct {
	records []Record
	reasons []string
	cause   error
	// each, when set, takes the records in chunks of streamChunk as they are read
	// (Streamer), and records holds only the chunk being filled. handed counts the
	// records handed over, expected is the decoder's estimate of the whole pull's
	// (0: unknown), and digest sums the records handed over.
	each     func(records []Record, expected int)
	handed   int
	expected int
	digest   digester
	// handedOver, when set, is called after each chunk is handed over: the decoder
	// may re-use the memory of the records' slices.
	handedOver func()
}

// streamChunk is how many records a streaming pull hands over at a time: the chunk's
// memory is re-used for the next, so a pull of any size holds this many records.
const streamChunk = 1024

// add keeps one record read, or adds it to the chunk to hand over.
func (p *pullResult) add(rec Record) {
	p.records = append(p.records, rec)
	if p.each != nil && len(p.records) == streamChunk {
		p.handOver()
	}
}

// read returns how many records the pull has read so far.
func (p *pullResult) read() int { return p.handed + len(p.records) }

// expect notes the decoder's estimate of how many records the whole pull has: the
// record slice is grown to it once, or a streaming pull passes it on so that the
// caller can size what it builds.
func (p *pullResult) expect(n int) {
	if p.each != nil {
		p.expected = n
		return
	}
	if more := n - len(p.records); more > 0 {
		p.records = slices.Grow(p.records, more)
	}
}

// handOver hands the chunk read so far to each and clears it for re-use.
func (p *pullResult) handOver() {
	if len(p.records) == 0 {
		return
	}
	p.digest.add(p.records)
	p.each(p.records, p.expected)
	p.handed += len(p.records)
	clear(p.records) // so that the chunk keeps nothing of the records handed over alive
	p.records = p.records[:0]
	if p.handedOver != nil {
		p.handedOver()
	}
}

// fail records a reason why the pull is incomplete. The first error given is kept as
// the cause so that callers can test for context errors.
func (p *pullResult) fail(cause error, reason string) {
	p.reasons = append(p.reasons, reason)
	if p.cause == nil {
		p.cause = cause
	}
}

// redact removes secrets from the reasons and from a transport error kept as cause.
func (p *pullResult) redact(r redactor) {
	for i, reason := range p.reasons {
		p.reasons[i] = r.text(reason)
	}
	if p.cause != nil {
		p.cause, _ = r.transportError(p.cause)
	}
}

// snapshot seals the result: Complete is derived from the reasons, never set directly.
// A streaming pull hands over its last chunk here, and its snapshot has no records.
func (p *pullResult) snapshot(now time.Time) (Snapshot, error) {
	records := p.records
	if p.each != nil {
		p.handOver()
		records = nil
	} else {
		p.digest.add(p.records)
	}
	s := Snapshot{
		Records:   records,
		Complete:  len(p.reasons) == 0,
		Reasons:   p.reasons,
		Count:     p.read(),
		Digest:    p.digest.String(),
		FetchedAt: now,
	}
	if !s.Complete {
		return s, &IncompleteError{Reasons: p.reasons, Cause: p.cause}
	}
	return s, nil
}

// Digest returns the order-independent hash of records: each record is hashed on its
// own and the hashes are added lane by lane (a multiset hash, so a record twice differs
// from once), then the sum and the count are hashed again.
func Digest(records []Record) string {
	var d digester
	d.add(records)
	return d.String()
}

// digester computes Digest over records given in any number of parts, so that a
// streaming pull digests each chunk before it hands it over.
type digester struct {
	sum [4]uint64
	n   int
	buf []byte
}

func (d *digester) add(records []Record) {
	for i := range records {
		d.buf = appendCanonical(d.buf[:0], &records[i])
		h := sha256.Sum256(d.buf)
		for lane := range d.sum {
			d.sum[lane] += binary.BigEndian.Uint64(h[lane*8:])
		}
	}
	d.n += len(records)
}

// String returns the digest of every record added.
func (d *digester) String() string {
	final := sha256.New()
	var b [8]byte
	for _, v := range d.sum {
		binary.BigEndian.PutUint64(b[:], v)
		final.Write(b[:])
	}
	binary.BigEndian.PutUint64(b[:], uint64(d.n)) //nolint:gosec // a count, never negative
	final.Write(b[:])
	return hex.EncodeToString(final.Sum(nil))
}

// appendCanonical encodes every field of r, length-prefixed so that no two different
// records encode alike.
func appendCanonical(buf []byte, r *Record) []byte {
	buf = appendField(buf, r.ID)
	buf = appendField(buf, r.UserName)
	buf = appendCount(buf, len(r.Emails))
	for _, e := range r.Emails {
		buf = appendField(buf, e.Value)
		buf = appendField(buf, e.Type)
		buf = strconv.AppendBool(buf, e.Primary)
	}
	buf = appendField(buf, r.GivenName)
	buf = appendField(buf, r.FamilyName)
	buf = appendField(buf, r.DisplayName)
	buf = strconv.AppendBool(buf, r.Active)
	buf = appendField(buf, r.Title)
	buf = appendField(buf, r.Department)
	buf = appendField(buf, r.ManagerID)
	buf = appendField(buf, r.EmployeeNumber)
	buf = appendCount(buf, len(r.Groups))
	for _, g := range r.Groups {
		buf = appendField(buf, g.ID)
		buf = appendField(buf, g.Name)
	}
	buf = appendCount(buf, len(r.Attributes))
	for _, a := range r.Attributes {
		buf = appendField(buf, a.Name)
		buf = appendField(buf, a.Value)
	}
	return buf
}

// appendField appends s as "length:s".
func appendField(buf []byte, s string) []byte {
	buf = appendCount(buf, len(s))
	buf = append(buf, ':')
	return append(buf, s...)
}

// appendCount appends n in decimal, the bytes strconv.AppendInt gives, with the one- and
// two-digit numbers that nearly every length and count is written directly: the digest
// encodes some fifteen of them per record.
func appendCount(buf []byte, n int) []byte {
	switch {
	case n < 0 || n >= 100:
		return strconv.AppendInt(buf, int64(n), 10)
	case n < 10:
		return append(buf, byte('0'+n))
	}
	return append(buf, byte('0'+n/10), byte('0'+n%10))
}

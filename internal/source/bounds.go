package source

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// DefaultMaxBytes is the default of source.max_bytes: far above any real export (a
// million people in CSV take about 200 MB) yet small enough that a runaway or hostile
// server cannot exhaust memory.
const DefaultMaxBytes = 1 << 30

// maxLineBytes bounds one NDJSON line: a person with thousands of groups takes a few
// hundred kilobytes, so a longer line is a broken export, not a person.
const maxLineBytes = 4 << 20

// errTooLarge is the error a cappedReader returns past its limit.
var errTooLarge = errors.New("input larger than source.max_bytes")

// cappedReader reads at most limit bytes and fails, rather than stopping quietly, when
// the input holds more: a quietly truncated export would look complete.
type cappedReader struct {
	r     io.Reader
	left  int64 // bytes that may still be read, plus one to detect overflow
	limit int64
}

func newCappedReader(r io.Reader, limit int64) *cappedReader {
	return &cappedReader{r: r, left: limit + 1, limit: limit}
}

func (c *cappedReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, c.err()
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	if c.left <= 0 {
		return n - 1, c.err() // the one byte past the limit is never handed on
	}
	return n, err
}

func (c *cappedReader) err() error {
	return tooLarge(c.limit)
}

// tooLarge says which cap was hit and how to raise it.
func tooLarge(limit int64) error {
	return fmt.Errorf("%w (%d bytes): the read stopped there; raise source.max_bytes if the export really is that large", errTooLarge, limit)
}

// countTrailer checks the optional `#count=N` last line of a CSV or NDJSON export
// (source.count_trailer), the end marker those formats lack.
type countTrailer struct {
	required bool
	seen     bool
	count    int
}

// trailerPrefix starts the trailer line.
const trailerPrefix = "#count="

// check reads one line (a CSV row of one field, an NDJSON line) that may be the
// trailer: it reports whether it is, and fails for an unreadable or second trailer and
// for a record after the trailer. candidate is false for lines that cannot be the
// trailer (a CSV row of several fields).
func (t *countTrailer) check(line string, candidate bool) (bool, error) {
	if candidate {
		if isTrailer, err := t.match(line); isTrailer {
			return true, err
		}
	}
	if t.seen {
		return false, errAfterTrailer
	}
	return false, nil
}

// checkBytes is check for a trimmed NDJSON line; it converts the line to a string only
// when it may be the trailer.
func (t *countTrailer) checkBytes(line []byte) (bool, error) {
	candidate := t.required && len(line) > 0 && line[0] == '#'
	if !candidate {
		return t.check("", false)
	}
	return t.check(string(line), true)
}

// match reports whether line is the trailer (only when the trailer is required, so
// that without it such a line is read as data) and parses it.
func (t *countTrailer) match(line string) (bool, error) {
	line = strings.TrimSpace(line)
	if !t.required || !strings.HasPrefix(line, trailerPrefix) {
		return false, nil
	}
	digits := line[len(trailerPrefix):]
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || digits == "" || digits[0] == '+' {
		return true, fmt.Errorf("count trailer %s is not %sN with N a number", quote(line), trailerPrefix)
	}
	if t.seen {
		return true, errors.New("a second count trailer")
	}
	t.seen, t.count = true, n
	return true, nil
}

// errAfterTrailer is the error for a record that follows the trailer.
var errAfterTrailer = errors.New("a record after the count trailer, which must be the last line")

// finish checks the trailer against the number of records read; nil when no trailer
// is required.
func (t *countTrailer) finish(records int) error {
	switch {
	case !t.required:
		return nil
	case !t.seen:
		return fmt.Errorf("no %sN line at the end (source.count_trailer): the export may be truncated", trailerPrefix)
	case t.count != records:
		return fmt.Errorf("the count trailer says %d records but the export holds %d: it may be truncated", t.count, records)
	}
	return nil
}

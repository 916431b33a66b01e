package source

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"time"
)

// FileSource reads an export file (CSV, JSON, NDJSON or a SCIM ListResponse) from disk
// at every pull. It remembers the size, modification time and SHA-256 of the file
// behind its last complete snapshot: when the file has the same size and time and
// the same SHA-256, the pull returns that snapshot again, marked NotModified, without
// parsing. Size and time alone are not trusted (a file rewritten within the clock's
// resolution keeps both); the digest is. The snapshot comes back without its records:
// they are not kept between pulls (at a million people they are some 300 MiB that the
// engine's MapMemo already stands for), and PullFresh reads the file whole when a
// caller needs them.
type FileSource struct {
	path   string
	format string
	dec    decoderOptions
	clock  func() time.Time

	mu   sync.Mutex
	last *fileState // the file behind the last complete snapshot
}

// fileState identifies one version of the file and the snapshot read from it.
type fileState struct {
	size    int64
	modTime time.Time
	sha256  []byte
	snap    Snapshot // without its records
}

// Pull reads the whole file, unless it is the one the last complete pull read. See
// Source for the meaning of the result.
func (s *FileSource) Pull(ctx context.Context) (Snapshot, error) { return s.pull(ctx, true, nil) }

// PullFresh reads the whole file whatever the last pull read: it never answers
// NotModified, so the snapshot carries its records.
func (s *FileSource) PullFresh(ctx context.Context) (Snapshot, error) {
	return s.pull(ctx, false, nil)
}

// PullEach is Pull with the records handed to each as they are read (Streamer).
func (s *FileSource) PullEach(ctx context.Context, each func(records []Record, expected int)) (Snapshot, error) {
	return s.pull(ctx, true, each)
}

// pull reads the file; with unchanged set, a file the last complete pull read gives a
// NotModified snapshot without records instead. With each set, the records are
// handed to it as they are read instead of returned.
func (s *FileSource) pull(ctx context.Context, unchanged bool, each func([]Record, int)) (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := pullResult{each: each}
	f, err := os.Open(s.path)
	if err != nil {
		p.fail(err, fmt.Sprintf("open %s: %v", s.path, err))
		return p.snapshot(s.clock())
	}
	defer f.Close()
	var size int64
	var modTime time.Time
	if info, err := f.Stat(); err == nil {
		size, modTime = info.Size(), info.ModTime()
	}
	if unchanged && s.last != nil && s.last.size == size && s.last.modTime.Equal(modTime) {
		sum, err := sha256Of(ctx, f, s.dec.maxBytes)
		if err == nil && bytes.Equal(sum, s.last.sha256) {
			snap := s.last.snap
			snap.NotModified = true
			snap.FetchedAt = s.clock()
			return snap, nil
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			p.fail(err, fmt.Sprintf("read %s: %v", s.path, err))
			return p.snapshot(s.clock())
		}
	}
	h := sha256.New()
	decode(ctx, s.format, io.TeeReader(f, h), size, s.dec, &p)
	snap, err := p.snapshot(s.clock())
	if err == nil {
		// A decoder may stop at its format's end: hash the rest too, so that the sum
		// is the whole file's, as the unchanged check computes it.
		if _, err := io.Copy(h, io.LimitReader(f, s.dec.maxBytes)); err != nil {
			return snap, nil // still a good snapshot; the next pull parses again
		}
		s.last = &fileState{size: size, modTime: modTime, sha256: h.Sum(nil), snap: snap.withoutRecords()}
	}
	return snap, err
}

// sha256Of hashes what is left of r, reading at most limit bytes (source.max_bytes)
// and stopping when ctx ends.
func sha256Of(ctx context.Context, r io.Reader, limit int64) ([]byte, error) {
	h := sha256.New()
	if _, err := io.Copy(contextWriter{ctx, h}, io.LimitReader(r, limit+1)); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// contextWriter fails a copy once its context has ended.
type contextWriter struct {
	ctx context.Context
	h   hash.Hash
}

func (w contextWriter) Write(b []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.h.Write(b)
}

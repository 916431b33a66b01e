package source

import (
	"context"
	"fmt"
	"os"
	"time"
)

// FileSource reads an export file (CSV, JSON, NDJSON or a SCIM ListResponse) from disk
// at every pull.
type FileSource struct {
	path   string
	format string
	dec    decoderOptions
	clock  func() time.Time
}

// Pull reads the whole file. See Source for the meaning of the result.
func (s *FileSource) Pull(ctx context.Context) (Snapshot, error) {
	var p pullResult
	f, err := os.Open(s.path)
	if err != nil {
		p.fail(err, fmt.Sprintf("open %s: %v", s.path, err))
		return p.snapshot(s.clock())
	}
	defer f.Close()
	var size int64
	if info, err := f.Stat(); err == nil {
		size = info.Size()
	}
	decode(ctx, s.format, f, size, s.dec, &p)
	return p.snapshot(s.clock())
}

//go:build unix

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// fileLease is the SQLite leader lock: an exclusive flock on a file beside the
// database. The kernel releases it when the holder's process dies, however it dies,
// so a crashed leader never blocks its successor. A flock belongs to the open file,
// so two stores in one process exclude each other too.
type fileLease struct {
	*lostSignal
	epoch int64
	mu    sync.Mutex
	file  *os.File
}

func tryFileLock(path string) (*fileLease, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) //nolint:gosec // the path is derived from the configured database file
	if err != nil {
		return nil, fmt.Errorf("leader lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close() // the lock was not taken; nothing was written
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("leader lock %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("leader lock %s: %w", path, err)
	}
	return &fileLease{lostSignal: newLostSignal(), file: f}, nil
}

func (l *fileLease) Epoch() int64 { return l.epoch }

func (l *fileLease) Release(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return nil
	}
	l.lose()
	err := l.file.Close() // closing the last descriptor drops the flock
	l.file = nil
	if err != nil {
		return fmt.Errorf("release leader lock: %w", err)
	}
	return nil
}

//go:build !unix

package store

import (
	"context"
	"fmt"
)

// fileLease is never held where file locks are not supported.
type fileLease struct{ epoch int64 }

func (l *fileLease) Epoch() int64                  { return l.epoch }
func (l *fileLease) Lost() <-chan struct{}         { return nil }
func (l *fileLease) Release(context.Context) error { return nil }

func tryFileLock(path string) (*fileLease, error) {
	return nil, fmt.Errorf("leader lock %s: file locks are only supported on Unix", path)
}

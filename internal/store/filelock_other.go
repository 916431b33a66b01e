//go:build !unix

package store

import "fmt"

func tryFileLock(path string) (Lease, error) {
	return nil, fmt.Errorf("leader lock %s: file locks are only supported on Unix", path)
}

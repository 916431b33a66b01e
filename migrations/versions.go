package migrations

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// Versions lists the version numbers of a dialect's migrations, in order: what a
// fresh database has applied once migrated. Tests compare with it rather than with
// a list every new migration would have to edit.
func Versions(d Dialect) ([]int64, error) {
	fsys, err := FS(d)
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(names))
	for _, name := range names {
		n, err := strconv.ParseInt(strings.SplitN(name, "_", 2)[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migrations: %s/%s has no version number: %w", d, name, err)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

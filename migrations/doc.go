// Package migrations holds syncd's schema as numbered SQL files per dialect, embedded in
// the binary so that `syncd migrate` and start-up migration need nothing on disk. The
// files are goose migrations (https://github.com/pressly/goose): each has an Up and a
// Down section and runs in its own transaction. Both dialects keep the same version
// numbers so that one schema version means the same tables everywhere.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

// files is read-only: the embedded SQL of every dialect.
//
//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialect names a directory of migrations.
type Dialect string

// The dialects syncd ships migrations for.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// FS returns the migrations of one dialect as a file system whose root holds the
// numbered SQL files, the shape goose.NewProvider expects.
func FS(d Dialect) (fs.FS, error) {
	switch d {
	case Postgres, SQLite:
		return fs.Sub(files, string(d))
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q (want %q or %q)", d, Postgres, SQLite)
	}
}

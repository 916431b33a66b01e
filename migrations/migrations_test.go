package migrations_test

import (
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd-io/syncd/migrations"
)

// TestDialectsMatch checks that both dialects carry the same numbered migrations,
// each with an Up and a Down section, so one version means one schema everywhere.
func TestDialectsMatch(t *testing.T) {
	names := map[migrations.Dialect][]string{}
	for _, d := range []migrations.Dialect{migrations.Postgres, migrations.SQLite} {
		fsys, err := migrations.FS(d)
		if err != nil {
			t.Fatal(err)
		}
		files, err := fs.Glob(fsys, "*.sql")
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no migrations (%v)", d, err)
		}
		for _, name := range files {
			body, err := fs.ReadFile(fsys, name)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(body), "-- +goose Up") || !strings.Contains(string(body), "-- +goose Down") {
				t.Errorf("%s/%s lacks a goose Up or Down section", d, name)
			}
		}
		names[d] = files
	}
	if d := cmp.Diff(names[migrations.Postgres], names[migrations.SQLite]); d != "" {
		t.Errorf("postgres and sqlite migrations differ (-postgres +sqlite):\n%s", d)
	}
}

func TestUnknownDialect(t *testing.T) {
	if _, err := migrations.FS("mysql"); err == nil {
		t.Fatal("FS(mysql) succeeded")
	}
}

func TestVersionsListEveryMigrationInOrder(t *testing.T) {
	for _, d := range []migrations.Dialect{migrations.Postgres, migrations.SQLite} {
		got, err := migrations.Versions(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[0] != 1 || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("%s: versions %v, want distinct versions from 1, in order", d, got)
		}
	}
	if _, err := migrations.Versions("mysql"); err == nil {
		t.Error("Versions(mysql) succeeded")
	}
}

// Package e2e runs the built syncd and sfsim binaries as processes, through
// configuration files, the way an operator would: sfsim stands in for the org, a CSV
// file for the identity provider's export, and every check reads what the processes
// left behind (the org's users through sfsim, the runs and links through syncd's
// own commands and store).
//
// The binaries are built once per test binary, without the race detector whatever the
// test's flags: the processes are the subject here, and their packages' own tests run
// under -race.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/syncd-io/syncd/internal/store/pgtest"
)

// pg is the PostgreSQL server of the tests that run syncd on PostgreSQL; it starts on
// the first database asked for.
var pg *pgtest.Server

// binaries are the paths of the built syncd and sfsim. TestMain sets them once,
// before any test runs, and nothing writes them afterwards.
var binaries struct{ syncd, sfsim string }

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests builds the binaries into a temporary directory, runs the tests and removes
// the directory, returning the exit code (a function of its own so the deferred
// removal runs before os.Exit).
func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "syncd-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: the go tool is needed to build syncd and sfsim: %v\n", err)
		return 1
	}
	build := exec.Command(goBin, "build", "-o", dir+string(filepath.Separator),
		"github.com/syncd-io/syncd/cmd/syncd", "github.com/syncd-io/syncd/cmd/sfsim")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		return 1
	}
	binaries.syncd = filepath.Join(dir, "syncd")
	binaries.sfsim = filepath.Join(dir, "sfsim")
	return pgtest.Run(m, &pg)
}

// Package pgtest gives tests a real PostgreSQL server: a private throwaway one that
// it starts from the installed server binaries (initdb into a temporary directory,
// listening only on a Unix socket there, durability off for speed), or the server
// SYNCD_TEST_POSTGRES_DSN points at. Each test gets a fresh database of its own.
//
// Use it from TestMain, so that one server serves the whole test binary and is
// stopped at the end:
//
//	var pg *pgtest.Server
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, &pg)) }
//
//	func TestX(t *testing.T) { dsn := pg.NewDatabase(t); ... }
//
// The server starts on the first NewDatabase, so a run that selects no PostgreSQL
// test pays nothing. Where no PostgreSQL binaries are installed, tests that need one
// are skipped with a loud message, except under CI=true, where they fail: CI must
// never pass by skipping.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the variable that points the tests at an existing server instead. Its
// user must be allowed to CREATE DATABASE.
const EnvDSN = "SYNCD_TEST_POSTGRES_DSN"

// errNoBinaries says PostgreSQL is not installed here.
var errNoBinaries = errors.New("no PostgreSQL server binaries (initdb, postgres) on PATH or under /usr/lib/postgresql/*/bin")

// Server hands out databases on one PostgreSQL server.
type Server struct {
	once     sync.Once
	startErr error
	adminDSN string
	external bool

	dir    string        // the private server's directory (data, socket, log)
	cmd    *exec.Cmd     // the private server's postmaster
	exited chan struct{} // closed when the postmaster has exited

	mu sync.Mutex
	n  int
}

// Run runs the tests of m with *srv set to a Server, stops the server afterwards and
// returns m's exit code.
func Run(m *testing.M, srv **Server) int {
	s := &Server{}
	*srv = s
	code := m.Run()
	if err := s.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: stopping the test server: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// NewDatabase creates an empty database for t and returns its DSN. Without a server
// it skips t loudly, or fails it under CI=true.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	s.once.Do(func() { s.startErr = s.start() })
	if errors.Is(s.startErr, errNoBinaries) {
		msg := fmt.Sprintf("\n\n*** PostgreSQL TESTS NOT RUN: %v.\n*** Install PostgreSQL (scripts/test-deps.sh does) or set %s.\n", s.startErr, EnvDSN)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "*** CI=true: this is a failure.\n")
		}
		t.Skip(msg)
	}
	if s.startErr != nil {
		t.Fatalf("pgtest: %v", s.startErr)
	}
	s.mu.Lock()
	s.n++
	name := fmt.Sprintf("syncd_test_%d_%d", os.Getpid(), s.n)
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.admin(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if s.external {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.admin(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
				t.Errorf("pgtest: %v", err)
			}
		})
	}
	dsn, err := WithDatabase(s.adminDSN, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// admin runs one statement on the server's maintenance database.
func (s *Server) admin(ctx context.Context, stmt string) error {
	conn, err := pgx.Connect(ctx, s.adminDSN)
	if err != nil {
		return fmt.Errorf("connect to test server: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

// WithDatabase returns dsn (URL or keyword/value form) pointed at database name.
func WithDatabase(dsn, name string) (string, error) {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return "", fmt.Errorf("parse DSN: %w", err)
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse DSN: %w", err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil // the last setting of a keyword wins
}

func (s *Server) start() error {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		s.adminDSN, s.external = dsn, true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return s.admin(ctx, "SELECT 1")
	}
	bin, err := findBinaries()
	if err != nil {
		return err
	}
	s.dir, err = os.MkdirTemp(serverTempRoot(), "syncd-pgtest-")
	if err != nil {
		return err
	}
	cred, err := serverCredential(s.dir)
	if err != nil {
		return err
	}
	data := filepath.Join(s.dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	logPath := filepath.Join(s.dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", s.dir, "-p", "5432",
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=64MB")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// Pdeathsig kills the server if the test binary dies without stopping it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.exited = make(chan struct{})
	go func() {
		_ = s.cmd.Wait() // how it exited shows in the log
		close(s.exited)
	}()
	s.adminDSN = fmt.Sprintf("host=%s port=5432 user=postgres dbname=postgres sslmode=disable", s.dir)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := s.admin(ctx, "SELECT 1")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres exited at start:\n%s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres not ready after 30s: %w\n%s", err, log)
		}
	}
}

// stop shuts a private server down (fast shutdown, then kill) and removes its files.
func (s *Server) stop() error {
	if s.exited != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.dir == "" {
		return nil
	}
	return os.RemoveAll(s.dir)
}

// findBinaries returns the directory holding initdb and postgres.
func findBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", errNoBinaries
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// serverTempRoot is where the server's directory goes: the usual temporary
// directory, unless running as root with one (TMPDIR) that other users cannot
// enter, since the server then runs as the postgres user.
func serverTempRoot() string {
	dir := os.TempDir()
	if os.Geteuid() != 0 {
		return dir
	}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o001 != 0 {
		return dir
	}
	return "/tmp"
}

// serverCredential returns who runs the server. PostgreSQL refuses to run as root,
// so as root the server runs as the postgres user, who is given dir.
func serverCredential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres user to run the test server as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user's uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user's gid %q: %w", u.Gid, err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

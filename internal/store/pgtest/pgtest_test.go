package pgtest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://u:p@127.0.0.1:5432/postgres?sslmode=disable", "postgres://u:p@127.0.0.1:5432/t1?sslmode=disable"},
		{"postgresql://127.0.0.1/", "postgresql://127.0.0.1/t1"},
		{"host=/tmp/x port=5432 user=postgres dbname=postgres", "host=/tmp/x port=5432 user=postgres dbname=postgres dbname=t1"},
	} {
		got, err := WithDatabase(tc.dsn, "t1")
		if err != nil || got != tc.want {
			t.Errorf("WithDatabase(%q) = %q, %v; want %q", tc.dsn, got, err, tc.want)
		}
	}
	if _, err := WithDatabase("postgres://%zz", "t1"); err == nil {
		t.Error("a bad DSN was accepted")
	}
}

// fakeTB records how NewDatabase ends a test that cannot have a database.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatal(args ...any) {
	f.failed, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

func TestNoBinariesSkipsLoudlyOrFailsUnderCI(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		s := &Server{}
		s.once.Do(func() { s.startErr = errNoBinaries })
		fake := &fakeTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.NewDatabase(fake)
		}()
		<-done
		if ci == "true" && !fake.failed || ci == "" && !fake.skipped {
			t.Errorf("CI=%q: skipped=%v failed=%v, want %s", ci, fake.skipped, fake.failed, map[bool]string{true: "failed", false: "skipped"}[ci == "true"])
		}
		if !strings.Contains(fake.msg, "PostgreSQL TESTS NOT RUN") {
			t.Errorf("CI=%q: message %q is not loud", ci, fake.msg)
		}
	}
}

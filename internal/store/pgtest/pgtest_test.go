package pgtest

import "testing"

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

package config

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse feeds arbitrary documents to Parse: it must never panic, and it returns
// either a configuration or an *Error with at least one problem, never both and
// never neither.
func FuzzParse(f *testing.F) {
	for _, path := range []string{examplePath, "testdata/minimal.yaml", "testdata/zeros.yaml"} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "~", "- a", "a: &x [*x]", "log: {level: ${L}}", "x: &a {b: 1}\nlog:\n  <<: [*a, *a]\n",
		"store: {dsn: $$${L}$}", "log: {level: info}\nlog: {}", "---\n---\n", "salesforce:\n\tx: 1"} {
		f.Add([]byte(s))
	}
	lookup := env{"L": "debug", "SF_CLIENT_ID": "id"}.lookup
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data, lookup)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", cfg != nil, err)
		}
		var cerr *Error
		if err != nil && (!errors.As(err, &cerr) || len(cerr.Problems) == 0) {
			t.Fatalf("Parse error is not an *Error with problems: %#v", err)
		}
	})
}

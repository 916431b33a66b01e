package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseNotification feeds POST /v1/events bodies to the parser: it never panics,
// and what it accepts names no blank or repeated key, and names someone whenever the
// format promises to (ids and SCIM).
func FuzzParseNotification(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"ids": []}`))
	f.Add([]byte(`{"value": [{"resource": "Users/"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotification(body)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, k := range n.Keys {
			if strings.TrimSpace(k) == "" || k != strings.TrimSpace(k) || seen[k] {
				t.Fatalf("keys %q: a blank, untrimmed or repeated key", n.Keys)
			}
			seen[k] = true
		}
		if (n.Format == FormatIDs || n.Format == FormatSCIM) && len(n.Keys) == 0 {
			t.Fatalf("format %s accepted with no key", n.Format)
		}
	})
}

package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const examplePath = "../../config.example.yaml"

// TestExampleLoads keeps config.example.yaml loadable: a documented key that no
// longer exists, or a value that no longer validates, fails here.
func TestExampleLoads(t *testing.T) {
	cfg := loadFile(t, examplePath, env{"SF_CLIENT_ID": "3MVG9-example"})
	got := []any{cfg.Salesforce.Auth.ClientID, cfg.Source.Type, cfg.Mapping.Profile.Default,
		*cfg.Policy.Guardrails.MaxSourceShrinkPercent, cfg.Store.DSN.Reveal()}
	want := []any{"3MVG9-example", "file", "Standard User", Percent(10), "file:syncd.db"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("example values (-want +got):\n%s", diff)
	}
}

// TestExampleDocumentsEveryKey fails when a key the configuration accepts (a new
// source or mapping key included) is not in config.example.yaml, set or commented out.
func TestExampleDocumentsEveryKey(t *testing.T) {
	text, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, path := range keyPaths(reflect.TypeFor[Config](), "") {
		name := path[strings.LastIndex(path, ".")+1:]
		if !regexp.MustCompile(`(?m)^[ \t]*(#[ \t]*)?(- )?`+regexp.QuoteMeta(name)+`:`).Match(text) &&
			!regexp.MustCompile(`[{,] *`+regexp.QuoteMeta(name)+`:`).Match(text) {
			missing = append(missing, path)
		}
	}
	if len(missing) > 0 {
		t.Errorf("config.example.yaml does not document: %v", missing)
	}
}

// keyPaths lists every key path a type accepts; map keys are written "*".
func keyPaths(t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	switch {
	case reflect.PointerTo(t).Implements(unmarshalerType):
		return nil
	case t.Kind() == reflect.Map:
		return keyPaths(t.Elem(), keyPath(path, "*"))
	case t.Kind() != reflect.Struct:
		return nil
	}
	fields, names := yamlFields(t)
	var out []string
	for _, name := range names {
		p := keyPath(path, name)
		out = append(out, p)
		out = append(out, keyPaths(fields[name], p)...)
	}
	return out
}

func TestKeyPathsSeesNestedKeys(t *testing.T) {
	paths := keyPaths(reflect.TypeFor[Config](), "")
	for _, want := range []string{"salesforce.budget.reserve", "source.scim.paging", "mapping.fields.*.max_length",
		"mapping.profile.rules.when", "store.dsn"} {
		found := false
		for _, p := range paths {
			found = found || p == want
		}
		if !found {
			t.Errorf("keyPaths misses %s", want)
		}
	}
}

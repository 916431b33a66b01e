package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LookupEnv reads an environment variable and says whether it is set: os.LookupEnv in
// main, a map in tests. It is passed in so that the package never reads the process
// environment behind its caller's back.
type LookupEnv func(name string) (string, bool)

// orUnset makes a nil LookupEnv one that finds no variable.
func (f LookupEnv) orUnset() LookupEnv {
	if f == nil {
		return func(string) (string, bool) { return "", false }
	}
	return f
}

// Load reads the configuration file at path; see Parse.
func Load(path string, lookupEnv LookupEnv) (*Config, error) {
	data, err := os.ReadFile(path) //nolint:gosec // the path is the operator's choice
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return Parse(path, data, lookupEnv)
}

// Parse decodes one YAML document, expands ${VAR} in its values, applies the defaults
// and validates the result. file names the document in problems. Unknown keys, bad
// values, unset variables and invalid settings are all collected into one *Error, each
// with its key path and line, so that one run of `syncd check-config` shows every
// mistake. Secrets are not read here (see LoadSecrets), so a configuration can be
// checked where its secret files do not exist.
//
// Parse returns a non-nil Config exactly when the error is nil.
func Parse(file string, data []byte, lookupEnv LookupEnv) (*Config, error) {
	l := &loader{
		where:     &positions{file: file, keys: map[string]int{}, leaves: map[int]string{}},
		lookupEnv: lookupEnv.orUnset(),
		seen:      map[visit]bool{},
	}
	root, err := parseDocument(data)
	if err != nil {
		l.problems = append(l.problems, yamlProblem(err, l.where))
		return nil, l.problems.err(l.where)
	}
	cfg := &Config{where: l.where}
	if root != nil && root.Kind != yaml.MappingNode {
		l.problems = append(l.problems, Problem{Line: root.Line,
			Message: "the configuration must be a mapping of sections (salesforce:, source:, mapping: ...)"})
		return nil, l.problems.err(l.where)
	}
	if root != nil {
		l.expand(root, "")
		l.checkKeys(root, reflect.TypeFor[Config](), "")
		if l.repeated || l.decode(root, cfg) {
			return nil, l.problems.err(l.where)
		}
	}
	cfg.applyDefaults()
	l.problems = append(l.problems, cfg.validate()...)
	if err := l.problems.err(l.where); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseDocument parses data into a node tree; nil for an empty document. More than
// one document is refused: a second one would be silently ignored.
func parseDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: a second YAML document; the configuration is one document", next.Line)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return &doc, nil
}

// loader holds what one Parse call accumulates.
type loader struct {
	where     *positions
	lookupEnv LookupEnv
	problems  problems
	// seen bounds the key check to one visit per node and type, whatever aliases do.
	seen map[visit]bool
	// repeated is set when a mapping repeats a key: the decoder stops at that mapping,
	// so decoding would only add problems that are not there.
	repeated bool
}

type visit struct {
	node *yaml.Node
	typ  reflect.Type
}

// decode fills cfg from the tree, recording every type error as a problem. It reports
// whether decoding stopped early, in which case cfg is unusable.
func (l *loader) decode(root *yaml.Node, cfg *Config) (fatal bool) {
	err := root.Decode(cfg)
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, msg := range te.Errors {
			l.problems = append(l.problems, yamlProblem(errors.New(msg), l.where))
		}
		return false
	}
	if err != nil {
		l.problems = append(l.problems, yamlProblem(err, l.where))
		return true
	}
	return false
}

// yamlProblem turns a parser or decoder message ("yaml: line 3: ...") into a Problem
// with that line and the key path found there.
func yamlProblem(err error, where *positions) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := Problem{Message: msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, text, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(n); err == nil {
				p = Problem{Path: where.leaves[line], Line: line, Message: text}
			}
		}
	}
	if strings.HasSuffix(p.Message, "into time.Duration") {
		p.Message += "; want a duration such as 90s, 5m or 1h30m"
	}
	return p
}

// expand replaces ${VAR} in every scalar value (never in keys, never in the raw text,
// so a variable's value cannot add YAML structure). On a problem the value is left as
// written, so that validation does not report the same key again as missing.
func (l *loader) expand(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			l.expand(c, indexPath(path, i))
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			l.expand(n.Content[i+1], keyPath(path, n.Content[i].Value))
		}
	case yaml.ScalarNode:
		v, err := expandEnv(n.Value, l.lookupEnv)
		if err != nil {
			l.problems = append(l.problems, Problem{Path: path, Line: n.Line, Message: err.Error()})
			return
		}
		if v != n.Value && n.Style == 0 {
			// A plain scalar resolves its type from its text, as if the value had been
			// written there: port: ${PORT} is a number.
			n.Tag = ""
		}
		n.Value = v
	}
}

// expandEnv replaces ${NAME} by the variable's value and $$ by $; any other $ is
// kept, so that template variables such as {{ $x }} need no escaping. An unset
// variable is an error (a set but empty one is not); the error names the variable,
// never a value.
func expandEnv(s string, lookupEnv LookupEnv) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		rest := s[i+1:]
		switch {
		case strings.HasPrefix(rest, "$"):
			b.WriteByte('$')
			s = rest[1:]
		case strings.HasPrefix(rest, "{"):
			name, after, ok := strings.Cut(rest[1:], "}")
			if !ok {
				return "", errors.New("${ without a closing }; write $$ for a literal $")
			}
			if !isEnvName(name) {
				return "", fmt.Errorf("${%s}: not a variable name (letters, digits and _, not starting with a digit); write $$ for a literal $", name)
			}
			v, set := lookupEnv(name)
			if !set {
				return "", fmt.Errorf("environment variable %s is not set", name)
			}
			b.WriteString(v)
			s = after
		default:
			b.WriteByte('$')
			s = rest
		}
	}
}

func isEnvName(s string) bool {
	for i, r := range s {
		if r != '_' && (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return s != ""
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// checkKeys walks the tree along the Go type it decodes into, reports every key that
// type does not have (the YAML decoder only offers that check on a byte stream, and
// stops at the first), and records where each key is for later problems.
func (l *loader) checkKeys(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	want := yaml.ScalarNode
	switch {
	case reflect.PointerTo(t).Implements(unmarshalerType):
	case t.Kind() == reflect.Struct, t.Kind() == reflect.Map:
		want = yaml.MappingNode
	case t.Kind() == reflect.Slice, t.Kind() == reflect.Array:
		want = yaml.SequenceNode
	}
	if n.Kind != want || want == yaml.ScalarNode {
		l.where.leaf(path, n.Line) // the decoder reports any type error here
		return
	}
	if l.seen[visit{n, t}] {
		return
	}
	l.seen[visit{n, t}] = true
	if want == yaml.SequenceNode {
		for i, c := range n.Content {
			l.where.key(indexPath(path, i), c.Line)
			l.checkKeys(c, t.Elem(), indexPath(path, i))
		}
		return
	}
	var fields map[string]reflect.Type
	var names []string
	if t.Kind() == reflect.Struct {
		fields, names = yamlFields(t)
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			l.checkMerge(v, t, path)
			continue
		}
		p := keyPath(path, k.Value)
		if line, ok := first[k.Value]; ok {
			l.problems = append(l.problems, Problem{Path: p, Line: k.Line, Message: fmt.Sprintf("repeated key (first at line %d)", line)})
			l.repeated = true
			continue
		}
		first[k.Value] = k.Line
		var elem reflect.Type
		if fields == nil {
			elem = t.Elem()
		} else if elem = fields[k.Value]; elem == nil {
			l.problems = append(l.problems, Problem{Path: p, Line: k.Line, Message: unknownKey(k.Value, fields, names)})
			continue
		}
		l.where.key(p, k.Line)
		l.checkKeys(v, elem, p)
	}
}

// checkMerge checks the mappings merged into a mapping by "<<: *anchor".
func (l *loader) checkMerge(v *yaml.Node, t reflect.Type, path string) {
	if v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			l.checkKeys(c, t, path)
		}
		return
	}
	l.checkKeys(v, t, path)
}

// unknownKey explains an unknown key, steering inline secrets to their file key.
func unknownKey(key string, fields map[string]reflect.Type, names []string) string {
	if _, ok := fields[key+"_file"]; ok {
		hint := "secrets are read from files: use " + key + "_file"
		if _, ok := fields[key+"_env"]; ok {
			hint += " (or " + key + "_env)"
		}
		return "unknown key; " + hint
	}
	return "unknown key; valid keys here: " + strings.Join(names, ", ")
}

// yamlFields returns the keys a struct decodes, by the decoder's rules (yaml tags,
// lower-cased field names, inlined structs), and their types.
func yamlFields(t reflect.Type) (map[string]reflect.Type, []string) {
	fields := map[string]reflect.Type{}
	var names []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") && f.Type.Kind() == reflect.Struct {
			inner, innerNames := yamlFields(f.Type)
			for _, n := range innerNames {
				fields[n] = inner[n]
			}
			names = append(names, innerNames...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	return fields, names
}

func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// positions remembers where keys are in the file.
type positions struct {
	file string
	// keys maps a key path to the line of its key.
	keys map[string]int
	// leaves maps a line to the path of the first value on it, to name the key of a
	// decoder error, which gives only a line.
	leaves map[int]string
}

func (w *positions) key(path string, line int) {
	if _, ok := w.keys[path]; !ok {
		w.keys[path] = line
	}
}

func (w *positions) leaf(path string, line int) {
	if _, ok := w.leaves[line]; !ok {
		w.leaves[line] = path
	}
}

// lineOf returns the line of path, or of its nearest ancestor in the file (a missing
// key is reported at its parent); 0 when none is.
func (w *positions) lineOf(path string) int {
	for path != "" {
		if line, ok := w.keys[path]; ok {
			return line
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

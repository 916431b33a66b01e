package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a configuration: where (the key path, e.g.
// salesforce.budget.share, and its line; 0 when the key is absent) and what.
type Problem struct {
	Path    string
	Line    int
	Message string
	// Err is the underlying error, when there is one (a secret file that cannot be
	// read); Error unwraps to it, so errors.Is(err, fs.ErrNotExist) works.
	Err error
}

// Error lists every problem found in a configuration file, so that an operator fixes
// them in one pass instead of one per restart. Load, Validate and LoadSecrets return
// it; each problem is formatted "file:line: path: message".
type Error struct {
	File     string
	Problems []Problem
}

// Error formats every problem, one a line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = e.format(p)
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the underlying errors of the problems that have one.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, p := range e.Problems {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}

func (e *Error) format(p Problem) string {
	var b strings.Builder
	b.WriteString(e.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// problems collects Problems while a configuration is checked.
type problems []Problem

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// err returns the problems as an *Error in file order (problems without a line
// last), or nil when there are none.
func (ps problems) err(where *positions) error {
	if len(ps) == 0 {
		return nil
	}
	out := slices.Clone([]Problem(ps))
	file := "config"
	if where != nil {
		file = where.file
		for i := range out {
			if out[i].Line == 0 {
				out[i].Line = where.lineOf(out[i].Path)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Problem) int {
		if (a.Line == 0) != (b.Line == 0) {
			return cmp.Compare(b.Line, a.Line) // the one without a line goes last
		}
		return cmp.Compare(a.Line, b.Line)
	})
	return &Error{File: file, Problems: out}
}

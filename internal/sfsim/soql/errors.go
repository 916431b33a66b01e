package soql

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Salesforce errorCodes a query can fail with.
const (
	CodeMalformedQuery      = "MALFORMED_QUERY"
	CodeInvalidField        = "INVALID_FIELD"
	CodeInvalidType         = "INVALID_TYPE"
	CodeNumberOutsideRange  = "NUMBER_OUTSIDE_VALID_RANGE"
	CodeQueryTooComplicated = "QUERY_TOO_COMPLICATED"
)

// shortLine is the longest query line Salesforce quotes whole in an error; longer
// lines are quoted as a window of tokens around the error. The threshold is
// inferred from real messages (a 77-character line quoted whole, an 81-character
// one windowed), not documented.
const shortLine = 80

// Tokens quoted before and after the offending one when the line is long.
const (
	windowBefore = 5
	windowAfter  = 4
)

// positionedError builds Salesforce's positioned message:
//
//	\n<the query around the error>\n<caret under the error>\nERROR at Row:R:Column:C\n<detail>
//
// pos is the byte offset of the error in the query; column overrides the reported
// column when it is not the 1-based column of pos (the lexer's own messages use a
// 0-based one). toks are the tokens known so far, used to cut long lines.
func positionedError(code, query string, toks []token, pos int, zeroBasedColumn bool, detail string) *Error {
	lineStart := strings.LastIndexByte(query[:pos], '\n') + 1
	lineEnd := len(query)
	if i := strings.IndexByte(query[pos:], '\n'); i >= 0 {
		lineEnd = pos + i
	}
	row := strings.Count(query[:lineStart], "\n") + 1
	col := utf16Len(query[lineStart:pos]) + 1
	if zeroBasedColumn {
		col--
	}

	winStart, winEnd := lineStart, lineEnd
	if utf8.RuneCountInString(query[lineStart:lineEnd]) > shortLine {
		winStart, winEnd = tokenWindow(toks, pos, lineStart, lineEnd)
	}
	window := strings.TrimRight(query[winStart:winEnd], "\r")
	caret := max(col-1-utf16Len(query[lineStart:winStart]), 0)

	var b strings.Builder
	b.Grow(len(window) + caret + len(detail) + 48)
	b.WriteByte('\n')
	b.WriteString(window)
	b.WriteByte('\n')
	b.WriteString(strings.Repeat(" ", caret))
	b.WriteString("^\nERROR at Row:")
	b.WriteString(strconv.Itoa(row))
	b.WriteString(":Column:")
	b.WriteString(strconv.Itoa(col))
	b.WriteByte('\n')
	b.WriteString(detail)
	return &Error{Code: code, Message: b.String()}
}

// tokenWindow returns the byte range of a long line to quote: a few tokens either
// side of pos, never starting on a comma, clipped to the line.
func tokenWindow(toks []token, pos, lineStart, lineEnd int) (int, int) {
	at := len(toks)
	for i, t := range toks {
		if t.pos >= pos {
			at = i
			break
		}
	}
	first := at
	for first > 0 && at-first < windowBefore && toks[first-1].pos >= lineStart {
		first--
	}
	if first < at && toks[first].kind == tokComma {
		first++
	}
	start := pos
	if first < at {
		start = toks[first].pos
	}
	end := lineEnd
	if last := at + windowAfter; last < len(toks) && toks[last].end <= lineEnd {
		end = toks[last].end
	}
	if end < pos {
		end = pos
	}
	return start, end
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// quoteToken renders a token for "unexpected token: 'X'".
func quoteToken(t token) string {
	return "unexpected token: '" + t.text + "'"
}

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

// The part of the query an error quotes, inferred from real Salesforce messages
// (no documentation describes it): on the error's line, the tokens that start at
// most windowBefore characters before the error (never starting on a comma), the
// offending token and windowAfter tokens after it.
const (
	windowBefore = 44
	windowAfter  = 4
)

// positionedError builds Salesforce's positioned message:
//
//	\n<the query around the error>\n<caret under the error>\nERROR at Row:R:Column:C\n<detail>
//
// pos is the byte offset of the error in the query. The column is counted in
// UTF-16 units from 1, or from 0 when zeroBasedColumn is set (Salesforce's lexer
// errors do that). toks are the tokens known so far, used to cut long lines.
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

	winStart, winEnd := tokenWindow(query, toks, pos, lineStart, lineEnd)
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

// tokenWindow returns the byte range of the line to quote around pos.
func tokenWindow(query string, toks []token, pos, lineStart, lineEnd int) (int, int) {
	at := len(toks)
	for i, t := range toks {
		if t.pos >= pos {
			at = i
			break
		}
	}
	first := at
	for first > 0 && toks[first-1].pos >= lineStart && utf16Len(query[toks[first-1].pos:pos]) <= windowBefore {
		first--
	}
	if first < at && toks[first].kind == tokComma {
		first++
	}
	start := pos
	if first < at {
		start = toks[first].pos
	}
	if last := at + windowAfter; last < len(toks) {
		return start, max(min(toks[last].end, lineEnd), pos)
	}
	if at < len(toks) {
		return start, lineEnd // the query ends within the window
	}
	// A lexer error: what follows is not tokenised; quote a little of it.
	end := pos
	for end < lineEnd && end-pos < windowBefore {
		_, n := utf8.DecodeRuneInString(query[end:])
		end += n
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

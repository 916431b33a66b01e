package soql

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// tokenKind classifies a lexed token.
type tokenKind int

const (
	tokEOF      tokenKind = iota
	tokIdent              // a name or keyword, possibly dotted: Profile.Name
	tokString             // a quoted string literal; val holds the decoded text
	tokNumber             // an integer or decimal, optionally signed
	tokDate               // YYYY-MM-DD
	tokDateTime           // YYYY-MM-DDThh:mm:ss[.SSS](Z|+hh:mm|-hh:mm)
	tokLParen
	tokRParen
	tokComma
	tokOp // = != <> < > <= >=
)

// token is one lexeme. pos and end are byte offsets into the query; text is the
// source text of the token exactly as written.
type token struct {
	kind  tokenKind
	text  string
	pos   int
	end   int
	str   string    // decoded value of a tokString
	wild  []int     // byte offsets in str of a % or _ written escaped (\% \_): literal in LIKE
	num   float64   // value of a tokNumber
	isInt bool      // the tokNumber has no fractional part
	when  time.Time // value of a tokDate or tokDateTime
}

// lexError is a failure of the lexer, reported at a byte offset.
type lexError struct {
	pos int
	// illegal is set for characters that start no token. Salesforce reports those
	// as "line R:C unexpected token: 'X'" with a 0-based column; everything else is
	// a plain unexpected token.
	illegal bool
	text    string // the offending text: the character, or the unterminated quote
	msg     string // when set, the whole message (bad escapes, bad dates)
}

// lex splits the query into tokens, ending with a tokEOF at len(query). On a
// failure it returns the tokens before it too, for the error's context.
func lex(query string) ([]token, *lexError) {
	var toks []token
	i := 0
	for {
		for i < len(query) && isSpace(query[i]) {
			i++
		}
		if i >= len(query) {
			toks = append(toks, token{kind: tokEOF, text: "<EOF>", pos: len(query), end: len(query)})
			return toks, nil
		}
		c := query[i]
		start := i
		if n := operatorLen(query[i:]); n > 0 {
			toks = append(toks, token{kind: tokOp, text: query[i : i+n], pos: i, end: i + n})
			i += n
			continue
		}
		switch {
		case c == '(':
			toks = append(toks, token{kind: tokLParen, text: "(", pos: i, end: i + 1})
			i++
		case c == ')':
			toks = append(toks, token{kind: tokRParen, text: ")", pos: i, end: i + 1})
			i++
		case c == ',':
			toks = append(toks, token{kind: tokComma, text: ",", pos: i, end: i + 1})
			i++
		case c == '\'':
			tok, err := lexString(query, i)
			if err != nil {
				return toks, err
			}
			toks = append(toks, tok)
			i = tok.end
		case isDigit(c) || ((c == '-' || c == '+') && i+1 < len(query) && (isDigit(query[i+1]) || query[i+1] == '.')) || (c == '.' && i+1 < len(query) && isDigit(query[i+1])):
			tok, err := lexNumberOrDate(query, i)
			if err != nil {
				return toks, err
			}
			toks = append(toks, tok)
			i = tok.end
		case isIdentStart(c):
			for i < len(query) && (isIdentPart(query[i]) || query[i] == '.') {
				i++
			}
			toks = append(toks, token{kind: tokIdent, text: query[start:i], pos: start, end: i})
		default:
			r, _ := utf8.DecodeRuneInString(query[i:])
			return toks, &lexError{pos: i, illegal: true, text: string(r)}
		}
	}
}

// operatorLen is the length of the comparison operator at the start of s
// (= != <> < <= > >=), or 0.
func operatorLen(s string) int {
	switch {
	case strings.HasPrefix(s, "!=") || strings.HasPrefix(s, "<>") || strings.HasPrefix(s, "<=") || strings.HasPrefix(s, ">="):
		return 2
	case s[0] == '=' || s[0] == '<' || s[0] == '>':
		return 1
	}
	return 0
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

// lexString decodes a single-quoted literal starting at query[start] == '\”.
// The escapes are Salesforce's: \' \" \\ \n \r \t \b \f (those five in either
// case) and \uXXXX, plus \% and \_
// whose positions are kept so that LIKE can tell them from wildcards (Salesforce
// allows those two in LIKE patterns only).
func lexString(query string, start int) (token, *lexError) {
	var b strings.Builder
	var wild []int
	i := start + 1
	for i < len(query) {
		c := query[i]
		switch c {
		case '\'':
			return token{kind: tokString, text: query[start : i+1], pos: start, end: i + 1, str: b.String(), wild: wild}, nil
		case '\\':
			if i+1 >= len(query) {
				return token{}, &lexError{pos: start, text: "'"}
			}
			e := query[i+1]
			switch e {
			case '\'', '"', '\\':
				b.WriteByte(e)
			case 'n', 'N':
				b.WriteByte('\n')
			case 'r', 'R':
				b.WriteByte('\r')
			case 't', 'T':
				b.WriteByte('\t')
			case 'b', 'B':
				b.WriteByte('\b')
			case 'f', 'F':
				b.WriteByte('\f')
			case '%', '_':
				wild = append(wild, b.Len())
				b.WriteByte(e)
			case 'u':
				if i+6 > len(query) {
					return token{}, badEscape(query, start, i, len(query))
				}
				v, err := strconv.ParseUint(query[i+2:i+6], 16, 16)
				if err != nil {
					return token{}, badEscape(query, start, i, i+6)
				}
				i += 6
				r := rune(v)
				// A surrogate pair written as two escapes is one character, as in Java.
				if utf16.IsSurrogate(r) && i+6 <= len(query) && query[i] == '\\' && query[i+1] == 'u' {
					if lo, err := strconv.ParseUint(query[i+2:i+6], 16, 16); err == nil {
						if pair := utf16.DecodeRune(r, rune(lo)); pair != utf8.RuneError {
							r = pair
							i += 6
						}
					}
				}
				b.WriteRune(r)
				continue
			default:
				_, n := utf8.DecodeRuneInString(query[i+1:])
				return token{}, badEscape(query, start, i, i+1+n)
			}
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	// Salesforce reports an unterminated literal as the lone quote that opened it.
	return token{}, &lexError{pos: start, text: "'"}
}

// badEscape reports an escape sequence Salesforce does not know, quoting the
// literal up to the bad sequence and the sequence itself.
func badEscape(query string, start, seqStart, seqEnd int) *lexError {
	if seqEnd > len(query) {
		seqEnd = len(query)
	}
	literal := query[start:seqEnd]
	seq := query[seqStart:seqEnd]
	return &lexError{
		pos: start,
		msg: "Invalid string literal '" + literal + "'. Illegal character sequence '" + seq + "' in string literal.",
	}
}

// lexNumberOrDate lexes a signed number, a date or a datetime starting at query[start].
func lexNumberOrDate(query string, start int) (token, *lexError) {
	i := start
	if query[i] == '-' || query[i] == '+' {
		i++
	}
	digitsStart := i
	for i < len(query) && isDigit(query[i]) {
		i++
	}
	// A date is exactly four digits and a dash, unsigned.
	if i-digitsStart == 4 && digitsStart == start && i < len(query) && query[i] == '-' {
		return lexDate(query, start)
	}
	if i < len(query) && query[i] == '.' {
		i++
		for i < len(query) && isDigit(query[i]) {
			i++
		}
	}
	if i < len(query) && isIdentPart(query[i]) {
		// 12abc: Salesforce's lexer sees no valid token here.
		for i < len(query) && isIdentPart(query[i]) {
			i++
		}
		return token{}, &lexError{pos: start, text: query[start:i]}
	}
	text := query[start:i]
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return token{}, &lexError{pos: start, text: text}
	}
	return token{kind: tokNumber, text: text, pos: start, end: i, num: v, isInt: !strings.Contains(text, ".")}, nil
}

// lexDate lexes YYYY-MM-DD or a full datetime. The shape is checked first so that
// an impossible date (2024-02-30) gets its own message rather than a bad token.
func lexDate(query string, start int) (token, *lexError) {
	i := start
	for i < len(query) && (isIdentPart(query[i]) || strings.IndexByte("-+:.", query[i]) >= 0) {
		i++
	}
	text := query[start:i]
	if len(text) == 10 {
		if !dateShape(text) {
			return token{}, &lexError{pos: start, text: text}
		}
		t, err := time.Parse("2006-01-02", text)
		if err != nil {
			return token{}, &lexError{pos: start, msg: "Invalid date: " + text}
		}
		return token{kind: tokDate, text: text, pos: start, end: i, when: t}, nil
	}
	t, ok, valid := parseDateTime(text)
	if !ok {
		return token{}, &lexError{pos: start, text: text}
	}
	if !valid {
		return token{}, &lexError{pos: start, msg: "Invalid datetime: " + text}
	}
	return token{kind: tokDateTime, text: text, pos: start, end: i, when: t}, nil
}

// dateShape reports whether s looks like NNNN-NN-NN.
func dateShape(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i := range len(s) {
		if i == 4 || i == 7 {
			continue
		}
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// parseDateTime parses YYYY-MM-DDThh:mm:ss[.SSS](Z|±hh:mm), the SOQL reference's
// forms plus the REST API's optional milliseconds; T and Z may be lower case. ok
// reports the shape; valid reports that the fields name a real instant.
func parseDateTime(s string) (t time.Time, ok, valid bool) {
	if len(s) < 20 || !dateShape(s[:10]) || (s[10] != 'T' && s[10] != 't') {
		return time.Time{}, false, false
	}
	clock := s[11:]
	if len(clock) < 9 || clock[2] != ':' || clock[5] != ':' || !allDigits(clock[0:2]) || !allDigits(clock[3:5]) || !allDigits(clock[6:8]) {
		return time.Time{}, false, false
	}
	rest := clock[8:]
	frac := ""
	if rest[0] == '.' {
		j := 1
		for j < len(rest) && isDigit(rest[j]) {
			j++
		}
		if j == 1 || j > 4 {
			return time.Time{}, false, false
		}
		frac = rest[:j]
		rest = rest[j:]
	}
	var zone string
	switch {
	case rest == "Z" || rest == "z":
		zone = "Z"
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' && allDigits(rest[1:3]) && allDigits(rest[4:6]):
		zone = rest
	default:
		return time.Time{}, false, false
	}
	norm := s[:10] + "T" + clock[:8] + frac + zone
	t, err := time.Parse(time.RFC3339Nano, norm)
	if err != nil {
		return time.Time{}, true, false
	}
	return t.UTC(), true, true
}

func allDigits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// UnquoteString decodes one single-quoted SOQL string literal, quotes included,
// exactly as Parse decodes a literal compared with = != < <= > >= or IN. It lets
// a client test its own escaper against the simulator. \% and \_ belong to LIKE
// patterns only and are refused here, as in those comparisons.
func UnquoteString(literal string) (string, error) {
	if literal == "" || literal[0] != '\'' {
		return "", &Error{Code: CodeMalformedQuery, Message: "a string literal starts with a single quote"}
	}
	tok, lerr := lexString(literal, 0)
	switch {
	case lerr != nil:
		return "", lexFailure(literal, nil, lerr)
	case tok.end != len(literal):
		return "", positionedError(CodeMalformedQuery, literal, []token{tok}, tok.end, false, "unexpected token: '"+literal[tok.end:]+"'")
	case len(tok.wild) > 0:
		return "", likeEscapeOutsideLike(literal, nil, tok)
	}
	return tok.str, nil
}

package soql

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxQueryLength is the longest SOQL statement Salesforce accepts, in characters.
const MaxQueryLength = 100_000

// MaxOffset is the largest OFFSET Salesforce accepts.
const MaxOffset = 2000

// maxNesting bounds parenthesised WHERE nesting so hostile input cannot exhaust
// the stack. Salesforce documents no such limit; real queries nest a few levels.
const maxNesting = 100

// maxComparisons bounds the field comparisons in one WHERE clause (an IN list
// counts once), so that a hostile query cannot make Run cost more than about
// maxComparisons × rows. Salesforce refuses filters it finds too complex with
// QUERY_TOO_COMPLICATED; its threshold is not documented.
const maxComparisons = 1000

// isReserved reports whether a name is a SOQL keyword that can never name a
// field or an object.
func isReserved(name string) bool {
	switch strings.ToUpper(name) {
	case "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES",
		"LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH", "TRUE",
		"FALSE", "ORDER", "BY", "OFFSET", "FOR", "USING", "TYPEOF", "ROLLUP", "CUBE", "ALL":
		return true
	}
	return false
}

// isDateLiteral reports whether a name is one of SOQL's relative date literals
// (TODAY, LAST_N_DAYS ...), which the simulator does not evaluate: they depend on
// the org's time zone and fiscal year.
func isDateLiteral(name string) bool {
	switch strings.ToUpper(name) {
	case "YESTERDAY", "TODAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK", "LAST_MONTH",
		"THIS_MONTH", "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS", "THIS_QUARTER", "LAST_QUARTER",
		"NEXT_QUARTER", "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR", "THIS_FISCAL_QUARTER",
		"LAST_FISCAL_QUARTER", "NEXT_FISCAL_QUARTER", "THIS_FISCAL_YEAR", "LAST_FISCAL_YEAR",
		"NEXT_FISCAL_YEAR", "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "NEXT_N_WEEKS",
		"LAST_N_WEEKS", "N_WEEKS_AGO", "NEXT_N_MONTHS", "LAST_N_MONTHS", "N_MONTHS_AGO",
		"NEXT_N_QUARTERS", "LAST_N_QUARTERS", "N_QUARTERS_AGO", "NEXT_N_YEARS", "LAST_N_YEARS",
		"N_YEARS_AGO", "NEXT_N_FISCAL_QUARTERS", "LAST_N_FISCAL_QUARTERS", "N_FISCAL_QUARTERS_AGO",
		"NEXT_N_FISCAL_YEARS", "LAST_N_FISCAL_YEARS", "N_FISCAL_YEARS_AGO":
		return true
	}
	return false
}

// condKind is the shape of a WHERE node before it is checked against the schema.
type condKind int

const (
	condCompare condKind = iota
	condAnd
	condOr
	condNot
)

// rawCond is a parsed WHERE node; compile checks it and turns it into an expr.
type rawCond struct {
	kind   condKind
	kids   []*rawCond // condAnd, condOr, condNot
	field  token      // condCompare: the field path
	op     token      // condCompare: the operator token (for IN, the IN token)
	opName string     // "=", "!=", "<", "<=", ">", ">=", "LIKE", "IN", "NOT IN"
	values []token    // condCompare: one literal, or the IN list
	sub    *rawSub    // condCompare: the sub-select of IN or NOT IN, if any
}

type rawOrder struct {
	field      token
	descending bool
	nullsLast  bool
}

// parser holds the state of one Parse call.
type parser struct {
	query  string
	toks   []token
	i      int
	schema Schema
	alias  string // the object's alias after FROM, if any

	comparisons int         // field comparisons read so far
	conds       []Condition // the WHERE clause's comparisons compiled so far
	inSub       bool        // reading a sub-select's WHERE clause
	semijoins   []*Semijoin // compiled so far
}

// Parse parses one SOQL statement against the schema. Every failure is an *Error.
func Parse(query string, schema Schema) (*Query, error) {
	if n := utf8.RuneCountInString(query); n > MaxQueryLength {
		return nil, &Error{
			Code:    CodeMalformedQuery,
			Message: "SOQL statements cannot exceed " + strconv.Itoa(MaxQueryLength) + " characters; this one has " + strconv.Itoa(n),
		}
	}
	toks, lerr := lex(query)
	if lerr != nil {
		return nil, lexFailure(query, toks, lerr)
	}
	p := &parser{query: query, toks: toks, schema: schema}
	q, err := p.parse()
	if err != nil { // not returned directly: a nil *Error is a non-nil error
		return nil, err
	}
	return q, nil
}

// lexFailure turns a lexer error into Salesforce's message for it.
func lexFailure(query string, toks []token, e *lexError) *Error {
	switch {
	case e.illegal:
		col := utf16Len(query[strings.LastIndexByte(query[:e.pos], '\n')+1 : e.pos])
		row := strings.Count(query[:e.pos], "\n") + 1
		return positionedError(CodeMalformedQuery, query, toks, e.pos, true,
			"line "+strconv.Itoa(row)+":"+strconv.Itoa(col)+" unexpected token: '"+e.text+"'")
	case e.msg != "":
		return positionedError(CodeMalformedQuery, query, toks, e.pos, false, e.msg)
	default:
		return positionedError(CodeMalformedQuery, query, toks, e.pos, false, "unexpected token: '"+e.text+"'")
	}
}

func (p *parser) peek() token { return p.toks[p.i] }

// peek2 is the token after the next one (the EOF token at the end).
func (p *parser) peek2() token { return p.toks[min(p.i+1, len(p.toks)-1)] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// isKeyword reports whether t is the keyword kw (upper case), in any case.
func isKeyword(t token, kw string) bool {
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) acceptKeyword(kw string) bool {
	if isKeyword(p.peek(), kw) {
		p.i++
		return true
	}
	return false
}

// unexpected is the MALFORMED_QUERY for a token the grammar does not allow here.
func (p *parser) unexpected(t token) *Error {
	return positionedError(CodeMalformedQuery, p.query, p.toks, t.pos, false, quoteToken(t))
}

// unexpectedSpan is the current parser's message for a few rules that fail as a
// whole: it quotes the query from the rule's first token to the offending one
// ("unexpected token: 'SELECT FROM'", "unexpected token: 'ParentId IN ()'").
func (p *parser) unexpectedSpan(first, offending token) *Error {
	return positionedError(CodeMalformedQuery, p.query, p.toks, first.pos, false,
		"unexpected token: '"+p.query[first.pos:offending.end]+"'")
}

// unsupported is the MALFORMED_QUERY for valid SOQL the simulator does not serve.
func (p *parser) unsupported(t token, what string) *Error {
	return positionedError(CodeMalformedQuery, p.query, p.toks, t.pos, false,
		"unexpected token: '"+t.text+"' ("+what+" is not supported by the simulator)")
}

func (p *parser) fail(code string, t token, detail string) *Error {
	return positionedError(code, p.query, p.toks, t.pos, false, detail)
}

func (p *parser) expectKeyword(kw string) *Error {
	if !p.acceptKeyword(kw) {
		return p.unexpected(p.peek())
	}
	return nil
}

func (p *parser) expect(kind tokenKind) (token, *Error) {
	t := p.peek()
	if t.kind != kind {
		return t, p.unexpected(t)
	}
	return p.next(), nil
}

// fieldPath accepts an identifier that can name a field: not a keyword, no empty
// segments.
func (p *parser) fieldPath() (token, *Error) {
	t := p.peek()
	if t.kind != tokIdent || isReserved(t.text) || !validPath(t.text) {
		return t, p.unexpected(t)
	}
	return p.next(), nil
}

func validPath(s string) bool {
	for part := range strings.SplitSeq(s, ".") {
		if part == "" || isDigit(part[0]) {
			return false
		}
	}
	return true
}

// parse reads the whole statement, then checks it against the schema: syntax
// errors win over unknown objects, which win over unknown fields.
func (p *parser) parse() (*Query, *Error) {
	if err := p.expectKeyword("SELECT"); err != nil {
		return nil, err
	}
	count, selected, err := p.selectList()
	if err != nil {
		return nil, err
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	objTok, err := p.objectName()
	if err != nil {
		return nil, err
	}
	// An alias: FROM User u, then u.Username.
	if t := p.peek(); t.kind == tokIdent && !isReserved(t.text) && !strings.Contains(t.text, ".") {
		p.alias = t.text
		p.next()
	}

	var where *rawCond
	if p.acceptKeyword("WHERE") {
		if where, err = p.condition(0); err != nil {
			return nil, err
		}
	}
	if t := p.peek(); isKeyword(t, "WITH") || isKeyword(t, "GROUP") || isKeyword(t, "HAVING") || isKeyword(t, "USING") {
		return nil, p.unsupported(t, strings.ToUpper(t.text))
	}
	var orders []rawOrder
	if p.acceptKeyword("ORDER") {
		if err := p.expectKeyword("BY"); err != nil {
			return nil, err
		}
		if orders, err = p.orderBy(); err != nil {
			return nil, err
		}
	}
	limit, offset := -1, 0
	if p.acceptKeyword("LIMIT") {
		if limit, err = p.integer(); err != nil {
			return nil, err
		}
	}
	if p.acceptKeyword("OFFSET") {
		if offset, err = p.integer(); err != nil {
			return nil, err
		}
	}
	if t := p.peek(); isKeyword(t, "FOR") || isKeyword(t, "UPDATE") || isKeyword(t, "ALL") {
		return nil, p.unsupported(t, strings.ToUpper(t.text))
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t)
	}

	// Semantic checks, in Salesforce's order.
	obj, ok := p.schema.Object(objTok.text)
	if !ok {
		return nil, p.fail(CodeInvalidType, objTok, "sObject type '"+objTok.text+"' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.")
	}
	q := &Query{Object: obj, Count: count, Limit: limit, Offset: offset}
	seen := map[string]bool{}
	for _, t := range selected {
		ref, _, err := p.resolve(obj, t)
		if err != nil {
			return nil, err
		}
		key := strings.Join(ref, ".")
		if seen[key] {
			return nil, &Error{Code: CodeInvalidField, Message: "duplicate field selected: " + key}
		}
		seen[key] = true
		q.Fields = append(q.Fields, ref)
	}
	if where != nil {
		if q.where, err = p.compile(obj, where); err != nil {
			return nil, err
		}
		q.Conditions = p.conds
		q.Semijoins = p.semijoins
	}
	for _, o := range orders {
		ref, typ, err := p.resolve(obj, o.field)
		if err != nil {
			return nil, err
		}
		q.OrderBy = append(q.OrderBy, Order{Field: ref, Descending: o.descending, NullsLast: o.nullsLast})
		q.orderTypes = append(q.orderTypes, typ)
	}
	if offset > MaxOffset {
		return nil, &Error{Code: CodeNumberOutsideRange, Message: "Maximum SOQL offset allowed for apiName " + obj.Name + " is " + strconv.Itoa(MaxOffset)}
	}
	return q, nil
}

// objectName reads the object after FROM. Group is an object there (public groups,
// queues): GROUP is a keyword only in GROUP BY.
func (p *parser) objectName() (token, *Error) {
	t := p.peek()
	if t.kind != tokIdent || (isReserved(t.text) && !isKeyword(t, "Group")) {
		return t, p.unexpected(t)
	}
	return p.next(), nil
}

// selectList reads COUNT() or a comma-separated list of field paths.
func (p *parser) selectList() (count bool, fields []token, err *Error) {
	t := p.peek()
	if isKeyword(t, "FROM") {
		return false, nil, p.unexpectedSpan(p.toks[p.i-1], t)
	}
	if t.kind == tokLParen {
		return false, nil, p.unsupported(t, "a subquery")
	}
	if isKeyword(t, "TYPEOF") {
		return false, nil, p.unsupported(t, "TYPEOF")
	}
	if t.kind == tokIdent && p.peek2().kind == tokLParen {
		if !isKeyword(t, "COUNT") {
			return false, nil, p.unsupported(t, "the function "+strings.ToUpper(t.text)+"()")
		}
		p.next()
		p.next()
		if arg := p.peek(); arg.kind != tokRParen {
			return false, nil, p.unsupported(arg, "COUNT with a field (an aggregate query)")
		}
		p.next()
		if next := p.peek(); next.kind == tokComma {
			return false, nil, p.unexpected(next)
		}
		return true, nil, nil
	}
	for {
		t := p.peek()
		if t.kind == tokLParen {
			return false, nil, p.unsupported(t, "a subquery")
		}
		if t.kind == tokIdent && p.peek2().kind == tokLParen {
			return false, nil, p.unsupported(t, "the function "+strings.ToUpper(t.text)+"()")
		}
		f, err := p.fieldPath()
		if err != nil {
			return false, nil, err
		}
		fields = append(fields, f)
		if p.peek().kind != tokComma {
			return false, fields, nil
		}
		p.next()
	}
}

// condition reads a WHERE condition. SOQL refuses to mix AND, OR and NOT without
// parentheses: a NOT applies to one simple condition and ends the expression.
func (p *parser) condition(depth int) (*rawCond, *Error) {
	if depth > maxNesting {
		return nil, p.fail(CodeMalformedQuery, p.peek(), "the WHERE clause nests parentheses more than "+strconv.Itoa(maxNesting)+" deep")
	}
	if p.acceptKeyword("NOT") {
		kid, err := p.simple(depth)
		if err != nil {
			return nil, err
		}
		return &rawCond{kind: condNot, kids: []*rawCond{kid}}, nil
	}
	first, err := p.simple(depth)
	if err != nil {
		return nil, err
	}
	var kind condKind
	var kw string
	switch t := p.peek(); {
	case isKeyword(t, "AND"):
		kind, kw = condAnd, "AND"
	case isKeyword(t, "OR"):
		kind, kw = condOr, "OR"
	default:
		return first, nil
	}
	node := &rawCond{kind: kind, kids: []*rawCond{first}}
	for p.acceptKeyword(kw) {
		kid, err := p.simple(depth)
		if err != nil {
			return nil, err
		}
		node.kids = append(node.kids, kid)
	}
	return node, nil
}

// simple reads a parenthesised condition or one field comparison.
func (p *parser) simple(depth int) (*rawCond, *Error) {
	if p.peek().kind == tokLParen {
		p.next()
		c, err := p.condition(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen); err != nil {
			return nil, err
		}
		return c, nil
	}
	if t := p.peek(); t.kind == tokIdent && p.peek2().kind == tokLParen {
		return nil, p.unsupported(t, "the function "+strings.ToUpper(t.text)+"()")
	}
	field, err := p.fieldPath()
	if err != nil {
		return nil, err
	}
	if p.comparisons++; p.comparisons > maxComparisons {
		return nil, &Error{Code: CodeQueryTooComplicated, Message: "Query is either selecting too many fields or the filter conditions are too complicated."}
	}
	op := p.peek()
	c := &rawCond{kind: condCompare, field: field, op: op}
	switch {
	case op.kind == tokOp || isKeyword(op, "LIKE"):
		p.next()
		c.opName = strings.ToUpper(op.text)
		if c.opName == "<>" {
			c.opName = "!="
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		c.values = []token{v}
	case isKeyword(op, "IN") || isKeyword(op, "NOT") && isKeyword(p.peek2(), "IN"):
		c.opName = "IN"
		if isKeyword(p.next(), "NOT") {
			p.next()
			c.opName = "NOT IN"
		}
		if p.peek().kind == tokLParen && isKeyword(p.peek2(), "SELECT") {
			c.sub, err = p.subquery(depth)
		} else {
			c.values, err = p.valueList(field)
		}
		if err != nil {
			return nil, err
		}
	case isKeyword(op, "INCLUDES") || isKeyword(op, "EXCLUDES"):
		return nil, p.unsupported(op, strings.ToUpper(op.text))
	default:
		return nil, p.unexpected(op)
	}
	return c, nil
}

// value reads one literal.
func (p *parser) value() (token, *Error) {
	t := p.peek()
	switch t.kind {
	case tokString, tokNumber, tokDate, tokDateTime:
		return p.next(), nil
	case tokIdent:
		if isKeyword(t, "NULL") || isKeyword(t, "TRUE") || isKeyword(t, "FALSE") {
			return p.next(), nil
		}
		if isDateLiteral(t.text) {
			return t, p.unsupported(t, "the date literal "+strings.ToUpper(t.text))
		}
	case tokLParen:
		if isKeyword(p.peek2(), "SELECT") {
			return t, p.unsupported(t, "a semi-join subquery")
		}
	}
	return t, p.unexpected(t)
}

// valueList reads ( literal, literal ... ) after field IN or field NOT IN.
func (p *parser) valueList(field token) ([]token, *Error) {
	if _, err := p.expect(tokLParen); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tokRParen {
		return nil, p.unexpectedSpan(field, t)
	}
	var vals []token
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		if p.peek().kind != tokComma {
			break
		}
		p.next()
	}
	if _, err := p.expect(tokRParen); err != nil {
		return nil, err
	}
	return vals, nil
}

// orderBy reads field [ASC|DESC] [NULLS FIRST|LAST], ...
func (p *parser) orderBy() ([]rawOrder, *Error) {
	var out []rawOrder
	for {
		if t := p.peek(); t.kind == tokIdent && p.peek2().kind == tokLParen {
			return nil, p.unsupported(t, "the function "+strings.ToUpper(t.text)+"()")
		}
		f, err := p.fieldPath()
		if err != nil {
			return nil, err
		}
		o := rawOrder{field: f}
		if p.acceptKeyword("DESC") {
			o.descending = true
		} else {
			p.acceptKeyword("ASC")
		}
		o.nullsLast = o.descending
		if p.acceptKeyword("NULLS") {
			switch {
			case p.acceptKeyword("FIRST"):
				o.nullsLast = false
			case p.acceptKeyword("LAST"):
				o.nullsLast = true
			default:
				return nil, p.unexpected(p.peek())
			}
		}
		out = append(out, o)
		if p.peek().kind != tokComma {
			return out, nil
		}
		p.next()
	}
}

// integer reads the non-negative integer of LIMIT or OFFSET. Salesforce holds them
// in 32 bits.
func (p *parser) integer() (int, *Error) {
	t := p.peek()
	if t.kind != tokNumber || !t.isInt || t.text[0] == '-' || t.text[0] == '+' {
		return 0, p.unexpected(t)
	}
	p.next()
	if t.num > math.MaxInt32 {
		return 0, p.fail(CodeMalformedQuery, t, "numeric value out of range: "+t.text)
	}
	return int(t.num), nil
}

// resolve checks a field path against the object, following parent relationships,
// and returns it in the schema's canonical case with the field's type.
func (p *parser) resolve(obj *Object, t token) (FieldRef, FieldType, *Error) {
	parts := strings.Split(t.text, ".")
	// A path may start with the alias or the object's own name (u.Username,
	// User.Username); a relationship of the same name wins over the object's name.
	if len(parts) > 1 {
		_, isRel := findRelationship(obj, parts[0])
		if p.alias != "" && strings.EqualFold(parts[0], p.alias) || !isRel && strings.EqualFold(parts[0], obj.Name) {
			parts = parts[1:]
		}
	}
	ref := make(FieldRef, 0, len(parts))
	cur := obj
	for _, rel := range parts[:len(parts)-1] {
		r, ok := findRelationship(cur, rel)
		var parent *Object
		if ok {
			parent, ok = p.schema.Object(r.Object)
		}
		if !ok {
			return nil, 0, p.fail(CodeInvalidField, t, "Didn't understand relationship '"+rel+"' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.")
		}
		ref = append(ref, r.Name)
		cur = parent
	}
	name := parts[len(parts)-1]
	f, ok := findField(cur, name)
	if !ok {
		return nil, 0, p.fail(CodeInvalidField, t, "No such column '"+name+"' on entity '"+cur.Name+"'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.")
	}
	return append(ref, f.Name), f.Type, nil
}

func findRelationship(o *Object, name string) (Relationship, bool) {
	for _, r := range o.Parents {
		if strings.EqualFold(r.Name, name) {
			return r, true
		}
	}
	return Relationship{}, false
}

func findField(o *Object, name string) (Field, bool) {
	for _, f := range o.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Field{}, false
}

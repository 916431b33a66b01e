package soql

import "strings"

// compile checks a parsed WHERE tree against the object and builds the evaluator.
func (p *parser) compile(obj *Object, c *rawCond) (expr, *Error) {
	switch c.kind {
	case condAnd, condOr:
		kids := make([]expr, 0, len(c.kids))
		for _, k := range c.kids {
			e, err := p.compile(obj, k)
			if err != nil {
				return nil, err
			}
			kids = append(kids, e)
		}
		if c.kind == condAnd {
			return andExpr(kids), nil
		}
		return orExpr(kids), nil
	case condNot:
		e, err := p.compile(obj, c.kids[0])
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	}

	ref, typ, err := p.resolve(obj, c.field)
	if err != nil {
		return nil, err
	}
	name := ref[len(ref)-1]
	if c.sub != nil {
		return p.compileSemijoin(ref, typ, c)
	}
	p.conds = append(p.conds, condition(ref, c))
	switch c.opName {
	case "LIKE":
		v := c.values[0]
		if typ != TypeString {
			return nil, p.fail(CodeMalformedQuery, c.op, "invalid operator on field '"+name+"': LIKE applies to text fields only")
		}
		if v.kind != tokString {
			return nil, p.fail(CodeInvalidField, v, typeMismatch(name, typ))
		}
		return newLike(ref, v.str, v.wild), nil
	case "IN", "NOT IN":
		in := &inExpr{field: ref, typ: typ, negate: c.opName == "NOT IN", strs: map[string]struct{}{}, ids: map[idKey]struct{}{}}
		for _, v := range c.values {
			lit, err := p.literal(name, typ, v)
			if err != nil {
				return nil, err
			}
			switch x := lit.(type) {
			case nil:
				in.hasNull = true
			case string:
				in.strs[x] = struct{}{}
			case idKey:
				in.ids[x] = struct{}{}
			default:
				in.others = append(in.others, x)
			}
		}
		return in, nil
	}
	op := opFromText(c.opName)
	if typ == TypeBoolean && op != opEq && op != opNe {
		return nil, p.fail(CodeMalformedQuery, c.op, "invalid operator on field '"+name+"': a boolean can only be compared with = or !=")
	}
	lit, err := p.literal(name, typ, c.values[0])
	if err != nil {
		return nil, err
	}
	return &compareExpr{field: ref, typ: typ, op: op, lit: lit}, nil
}

// condition records a comparison's field, operator and literals for Query.Conditions.
func condition(ref FieldRef, c *rawCond) Condition {
	cond := Condition{Field: ref, Operator: c.opName, Values: make([]string, len(c.values))}
	for i, v := range c.values {
		if v.kind == tokString {
			cond.Values[i] = v.str
		} else {
			cond.Values[i] = v.text
		}
	}
	return cond
}

// literal converts a literal token to the value a field of type typ compares
// with: a lower-cased string, an idKey, a bool, a float64, a time.Time, or nil
// for null.
func (p *parser) literal(field string, typ FieldType, v token) (any, *Error) {
	if isKeyword(v, "NULL") {
		if typ == TypeBoolean {
			return false, nil // a boolean is never null: null means false
		}
		return nil, nil
	}
	mismatch := func() (any, *Error) {
		return nil, p.fail(CodeInvalidField, v, typeMismatch(field, typ))
	}
	switch typ {
	case TypeString:
		if v.kind != tokString {
			return mismatch()
		}
		if len(v.wild) > 0 {
			return nil, likeEscapeOutsideLike(p.query, p.toks, v)
		}
		return strings.ToLower(v.str), nil
	case TypeBoolean:
		switch {
		case isKeyword(v, "TRUE"):
			return true, nil
		case isKeyword(v, "FALSE"):
			return false, nil
		}
		return mismatch()
	case TypeID:
		if v.kind != tokString {
			return mismatch()
		}
		if !validID(v.str) {
			return nil, p.fail(CodeMalformedQuery, v, "invalid ID field: "+v.str)
		}
		return toIDKey(v.str), nil
	case TypeInt, TypeDouble:
		if v.kind != tokNumber {
			return mismatch()
		}
		return v.num, nil
	case TypeDate:
		if v.kind != tokDate {
			return mismatch()
		}
		return v.when, nil
	case TypeDateTime:
		if v.kind != tokDateTime {
			return mismatch()
		}
		return v.when, nil
	}
	return mismatch()
}

// typeMismatch is Salesforce's message for a literal of the wrong type.
func typeMismatch(field string, typ FieldType) string {
	name, quoted := "dateTime", false
	switch typ {
	case TypeString:
		name, quoted = "string", true
	case TypeID:
		name, quoted = "id", true
	case TypeBoolean:
		name = "boolean"
	case TypeInt:
		name = "int"
	case TypeDouble:
		name = "double"
	case TypeDate:
		name = "date"
	}
	quotes := "should not be enclosed in quotes"
	if quoted {
		quotes = "should be enclosed in quotes"
	}
	return "value of filter criterion for field '" + field + "' must be of type " + name + " and " + quotes
}

// likeEscapeOutsideLike refuses \% or \_ in a literal that is not a LIKE pattern:
// Salesforce documents them for LIKE only and any other backslash use as an error.
func likeEscapeOutsideLike(query string, toks []token, v token) *Error {
	i := v.wild[0]
	return positionedError(CodeMalformedQuery, query, toks, v.pos, false,
		"Invalid string literal '"+v.text+"'. Illegal character sequence '\\"+v.str[i:i+1]+"' in string literal.")
}

// validID reports whether s has the shape of a record id: 15 or 18 ASCII letters
// and digits.
func validID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !isDigit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

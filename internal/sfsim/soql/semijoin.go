package soql

// Semi-joins filter by the Ids another object's rows hold:
//
//	SELECT Id FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = '0PS...')
//
// As in Salesforce, the outer field and the selected field must be Ids (Id or a
// reference), and a semi-join cannot hold another.

// rawSub is a parsed sub-select: SELECT field FROM object [WHERE ...].
type rawSub struct {
	field, object token
	where         *rawCond
}

// Semijoin is one sub-select of a query. The caller gives it the rows of its
// Object with Resolve before Run; until then it matches nothing.
type Semijoin struct {
	Object *Object
	field  FieldRef
	where  expr
	ids    map[idKey]struct{}
}

// Resolve evaluates the sub-select over rows, the records of s.Object.
func (s *Semijoin) Resolve(rows []Record) {
	s.ids = map[idKey]struct{}{}
	for _, r := range rows {
		if s.where != nil && !s.where.eval(r) {
			continue
		}
		if id, ok := normalize(Value(r, s.field), TypeID).(idKey); ok {
			s.ids[id] = struct{}{}
		}
	}
}

// semiExpr is field [NOT] IN (sub-select).
type semiExpr struct {
	field  FieldRef
	negate bool
	sub    *Semijoin
}

func (e *semiExpr) eval(r Record) bool {
	id, ok := normalize(Value(r, e.field), TypeID).(idKey)
	_, in := e.sub.ids[id]
	return (ok && in) != e.negate
}

// subquery reads ( SELECT field FROM object [WHERE condition] ) after IN.
func (p *parser) subquery(depth int) (*rawSub, *Error) {
	open, err := p.expect(tokLParen)
	if err != nil {
		return nil, err
	}
	if p.inSub {
		return nil, p.fail(CodeMalformedQuery, open, "Nesting of semi join sub-selects is not supported")
	}
	p.next() // SELECT, checked by the caller
	sub := &rawSub{}
	if sub.field, err = p.fieldPath(); err != nil {
		return nil, err
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	if sub.object, err = p.objectName(); err != nil {
		return nil, err
	}
	if p.acceptKeyword("WHERE") {
		p.inSub = true
		sub.where, err = p.condition(depth + 1)
		p.inSub = false
		if err != nil {
			return nil, err
		}
	}
	if _, err := p.expect(tokRParen); err != nil {
		return nil, err
	}
	return sub, nil
}

// compileSemijoin checks both sides are Ids and compiles the sub-select.
func (p *parser) compileSemijoin(ref FieldRef, typ FieldType, c *rawCond) (expr, *Error) {
	if typ != TypeID {
		return nil, p.fail(CodeMalformedQuery, c.field, "semi join sub selects can only filter on Id or reference fields: "+c.field.text)
	}
	obj, ok := p.schema.Object(c.sub.object.text)
	if !ok {
		return nil, p.fail(CodeInvalidType, c.sub.object, "sObject type '"+c.sub.object.text+"' is not supported.")
	}
	alias := p.alias
	p.alias = ""
	defer func() { p.alias = alias }()
	field, ftyp, err := p.resolve(obj, c.sub.field)
	if err != nil {
		return nil, err
	}
	if ftyp != TypeID {
		return nil, p.fail(CodeMalformedQuery, c.sub.field, "semi join sub selects can only query id fields, cannot use: '"+c.sub.field.text+"'")
	}
	s := &Semijoin{Object: obj, field: field}
	if c.sub.where != nil {
		if s.where, err = p.compile(obj, c.sub.where); err != nil {
			return nil, err
		}
	}
	p.semijoins = append(p.semijoins, s)
	return &semiExpr{field: ref, negate: c.opName == "NOT IN", sub: s}, nil
}

package soql

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SOQL treats null as a value of its own: `= null` matches nulls, `!= 'x'`
// matches them too, an ordering comparison (< > <= >=) or LIKE never does. A
// boolean field is never null: a null reads as false, and `= null` means `= false`.

// opKind is a comparison operator.
type opKind int

const (
	opEq opKind = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

func opFromText(s string) opKind {
	switch s {
	case "!=":
		return opNe
	case "<":
		return opLt
	case "<=":
		return opLe
	case ">":
		return opGt
	case ">=":
		return opGe
	}
	return opEq
}

type andExpr []expr

func (a andExpr) eval(r Record) bool {
	for _, e := range a {
		if !e.eval(r) {
			return false
		}
	}
	return true
}

type orExpr []expr

func (o orExpr) eval(r Record) bool {
	for _, e := range o {
		if e.eval(r) {
			return true
		}
	}
	return false
}

type notExpr struct{ e expr }

func (n notExpr) eval(r Record) bool { return !n.e.eval(r) }

// compareExpr is field <op> literal, the literal already converted to the field's
// type (strings folded to lower case); lit is nil for the null literal.
type compareExpr struct {
	field FieldRef
	typ   FieldType
	op    opKind
	lit   any
}

func (c *compareExpr) eval(r Record) bool {
	v := normalize(Value(r, c.field), c.typ)
	if v == nil || c.lit == nil {
		both := v == nil && c.lit == nil
		switch c.op {
		case opEq:
			return both
		case opNe:
			return !both
		}
		return false
	}
	d, ok := compareTyped(v, c.lit)
	if !ok {
		return c.op == opNe
	}
	switch c.op {
	case opEq:
		return d == 0
	case opNe:
		return d != 0
	case opLt:
		return d < 0
	case opLe:
		return d <= 0
	case opGt:
		return d > 0
	}
	return d >= 0
}

// inExpr is field [NOT] IN (literals). String literals are kept folded in a set so
// that long lists cost one map lookup per record.
type inExpr struct {
	field   FieldRef
	typ     FieldType
	negate  bool
	hasNull bool
	strs    map[string]struct{} // folded strings
	ids     map[idKey]struct{}
	others  []any
}

func (in *inExpr) eval(r Record) bool {
	return in.contains(normalize(Value(r, in.field), in.typ)) != in.negate
}

func (in *inExpr) contains(v any) bool {
	if v == nil {
		return in.hasNull
	}
	if s, ok := v.(string); ok {
		// Fold into a stack buffer: a map lookup by string(bytes) does not allocate.
		var buf [128]byte
		folded := buf[:0]
		for _, r := range s {
			folded = utf8.AppendRune(folded, unicode.ToLower(r))
		}
		_, found := in.strs[string(folded)]
		return found
	}
	if id, ok := v.(idKey); ok {
		_, found := in.ids[id]
		return found
	}
	for _, lit := range in.others {
		if d, ok := compareTyped(v, lit); ok && d == 0 {
			return true
		}
	}
	return false
}

// likeExpr is field LIKE pattern, matched case-insensitively without regular
// expressions: the pattern is compiled once into runes and wildcards.
type likeExpr struct {
	field   FieldRef
	pattern []likeElem
	minLen  int // runes any match needs: the pattern's elements other than %
}

// likeElem is one element of a compiled LIKE pattern: a lower-case rune, or a
// wildcard.
type likeElem struct {
	r    rune
	kind likeKind
}

type likeKind uint8

const (
	likeRune likeKind = iota
	likeOne           // _
	likeAny           // %
)

func compileLike(s string, escaped []int) []likeElem {
	var out []likeElem
	for i, r := range s {
		lit := slices.Contains(escaped, i)
		switch {
		case r == '%' && !lit:
			if len(out) > 0 && out[len(out)-1].kind == likeAny {
				continue // %% is %
			}
			out = append(out, likeElem{kind: likeAny})
		case r == '_' && !lit:
			out = append(out, likeElem{kind: likeOne})
		default:
			out = append(out, likeElem{r: unicode.ToLower(r)})
		}
	}
	return out
}

func newLike(field FieldRef, pattern string, escaped []int) *likeExpr {
	l := &likeExpr{field: field, pattern: compileLike(pattern, escaped)}
	for _, e := range l.pattern {
		if e.kind != likeAny {
			l.minLen++
		}
	}
	return l
}

func (l *likeExpr) eval(r Record) bool {
	s, ok := Value(r, l.field).(string)
	// The length check bounds the matcher's worst case by the value's length,
	// however long a hostile pattern is.
	return ok && utf8.RuneCountInString(s) >= l.minLen && likeMatch(l.pattern, s)
}

// likeMatch is the classic wildcard match with one backtrack point: linear for
// most patterns, O(len(s)·len(pattern)) at worst, never exponential.
func likeMatch(p []likeElem, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		r, n := utf8.DecodeRuneInString(s[si:])
		if pi < len(p) {
			switch e := p[pi]; e.kind {
			case likeAny:
				starP, starS = pi, si
				pi++
				continue
			case likeOne:
				pi++
				si += n
				continue
			default:
				if e.r == unicode.ToLower(r) {
					pi++
					si += n
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last % swallow one more rune and retry from there.
		_, n = utf8.DecodeRuneInString(s[starS:])
		starS += n
		pi, si = starP+1, starS
	}
	for pi < len(p) && p[pi].kind == likeAny {
		pi++
	}
	return pi == len(p)
}

// idKey is a record id reduced to its case-sensitive 15-character form, the
// form in which the 15- and 18-character spellings of an id are equal.
type idKey string

func toIDKey(s string) idKey {
	if len(s) > 15 {
		s = s[:15]
	}
	return idKey(s)
}

// normalize brings a record's value to the Go type the field's literals use:
// strings, idKeys, bools, float64 for numbers, time.Time. A null boolean is false.
func normalize(v any, t FieldType) any {
	switch x := v.(type) {
	case nil:
		if t == TypeBoolean {
			return false
		}
		return nil
	case string:
		if t == TypeID {
			return toIDKey(x)
		}
	case int64:
		return float64(x)
	case int:
		return float64(x)
	case int32:
		return float64(x)
	}
	return v
}

// compareTyped orders two non-null values of the same kind; ok is false when
// their kinds differ (a record holding a value of the wrong type).
func compareTyped(a, b any) (int, bool) {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return compareFold(x, y), true
	case bool:
		y, ok := b.(bool)
		if !ok {
			return 0, false
		}
		switch {
		case x == y:
			return 0, true
		case !x:
			return -1, true
		}
		return 1, true
	case idKey:
		y, ok := b.(idKey)
		if !ok {
			return 0, false
		}
		return strings.Compare(string(x), string(y)), true
	case float64:
		y, ok := b.(float64)
		if !ok {
			return 0, false
		}
		return cmp.Compare(x, y), true
	case time.Time:
		y, ok := b.(time.Time)
		if !ok {
			return 0, false
		}
		return x.Compare(y), true
	}
	return 0, false
}

// compareFold compares a with b, where b is already lower case, as if a were
// lower-cased too, without allocating.
func compareFold(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		ra = unicode.ToLower(ra)
		if ra != rb {
			return cmp.Compare(ra, rb)
		}
		a, b = a[na:], b[nb:]
	}
	return cmp.Compare(len(a), len(b))
}

// Run filters, sorts and then applies OFFSET and LIMIT, returning the selected
// records. It does not modify rows. Without ORDER BY the input order is kept;
// with it, records that tie keep their input order too.
func (q *Query) Run(rows []Record) []Record {
	var out []Record
	if q.where == nil {
		out = slices.Clone(rows)
	} else {
		for _, r := range rows {
			if q.where.eval(r) {
				out = append(out, r)
			}
		}
	}
	if len(q.OrderBy) > 0 && len(out) > 1 {
		out = q.sort(out)
	}
	offset := max(q.Offset, 0)
	if offset >= len(out) {
		return []Record{}
	}
	out = out[offset:]
	if q.Limit >= 0 && q.Limit < len(out) {
		out = out[:q.Limit]
	}
	return out
}

// sort orders records by the ORDER BY items, extracting each sort key once.
func (q *Query) sort(rows []Record) []Record {
	type keyed struct {
		keys []any
		r    Record
	}
	n := len(q.OrderBy)
	flat := make([]any, len(rows)*n)
	items := make([]keyed, len(rows))
	for i, r := range rows {
		keys := flat[i*n : (i+1)*n : (i+1)*n]
		for j, o := range q.OrderBy {
			k := normalize(Value(r, o.Field), q.orderType(j))
			if s, ok := k.(string); ok {
				k = strings.ToLower(s)
			}
			keys[j] = k
		}
		items[i] = keyed{keys: keys, r: r}
	}
	slices.SortStableFunc(items, func(a, b keyed) int {
		for j, o := range q.OrderBy {
			if d := compareKeys(a.keys[j], b.keys[j], o); d != 0 {
				return d
			}
		}
		return 0
	})
	out := make([]Record, len(items))
	for i, it := range items {
		out[i] = it.r
	}
	return out
}

// orderType is the type of the j-th ORDER BY field; a Query built by hand rather
// than by Parse has none recorded, and its keys then compare as they come.
func (q *Query) orderType(j int) FieldType {
	if j < len(q.orderTypes) {
		return q.orderTypes[j]
	}
	return TypeString
}

// compareKeys orders two sort keys under one ORDER BY item.
func compareKeys(a, b any, o Order) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		if o.NullsLast {
			return 1
		}
		return -1
	case b == nil:
		if o.NullsLast {
			return -1
		}
		return 1
	}
	d, ok := compareTyped(a, b)
	if !ok {
		return 0
	}
	if o.Descending {
		return -d
	}
	return d
}

package soql

// This file holds the contract between the parser and the simulator; lexer.go,
// parser.go, compile.go and eval.go implement it.

// FieldType is the SOQL type of a field. It decides which literals a field may be
// compared with and how values order.
type FieldType int

// The field types the simulator's objects use. Email, picklist, phone and textarea
// fields are all TypeString to the parser: they compare as strings,
// case-insensitively. Id and reference fields may be TypeString too, or TypeID to
// get Salesforce's handling of record ids.
const (
	TypeString FieldType = iota
	TypeBoolean
	TypeInt
	TypeDouble
	TypeDate
	TypeDateTime
	// TypeID is an Id or reference field. Its literals must be 15 or 18
	// alphanumeric characters (else MALFORMED_QUERY "invalid ID field: x"), and
	// ids compare case-sensitively on their first 15 characters, so the 15- and
	// 18-character forms of one id are equal. LIKE does not apply.
	TypeID
)

// Field is one field of an object.
type Field struct {
	Name string // canonical API name, e.g. "FederationIdentifier"
	Type FieldType
}

// Relationship is a parent reference that SELECT and WHERE may traverse, e.g.
// {Name: "Profile", Field: "ProfileId", Object: "Profile"} on User.
type Relationship struct {
	Name   string // relationship name as written in SOQL, e.g. "Profile"
	Field  string // the Id field that holds the reference, e.g. "ProfileId"
	Object string // the parent object's name, e.g. "Profile"
}

// Object describes one sObject type to the parser.
type Object struct {
	Name    string // canonical API name, e.g. "User"
	Fields  []Field
	Parents []Relationship
}

// Schema resolves object names. Lookups are case-insensitive, as in SOQL.
type Schema interface {
	Object(name string) (*Object, bool)
}

// FieldRef names a selected, filtered or sorted field: ["Email"] or ["Profile", "Name"].
// Each element carries the canonical case from the schema, whatever case the query used.
type FieldRef []string

// Order is the direction and null ordering of one ORDER BY item.
type Order struct {
	Field      FieldRef
	Descending bool
	NullsLast  bool // SOQL's default is NULLS FIRST for ASC and NULLS LAST for DESC
}

// Query is a parsed SELECT, checked against the schema.
type Query struct {
	Object  *Object
	Fields  []FieldRef // in SELECT order (a field selected twice is INVALID_FIELD); empty when Count is set
	Count   bool       // SELECT COUNT()
	OrderBy []Order
	Limit   int // -1 when absent
	Offset  int // 0 when absent
	// Conditions are the WHERE clause's comparisons in the order written, each with
	// its literals as the parser decoded them, so a test can check that a client's
	// values arrived as values and never as SOQL of their own.
	Conditions []Condition
	// Semijoins are the WHERE clause's sub-selects; Run needs each resolved.
	Semijoins []*Semijoin

	where      expr        // nil when there is no WHERE clause
	orderTypes []FieldType // the type of each OrderBy field
}

// Condition is one comparison of a WHERE clause: a field, its operator (=, !=, <,
// LIKE, IN, NOT IN ...) and its literals. A string literal is given decoded (its
// escapes undone, its case kept), any other literal as written.
type Condition struct {
	Field    FieldRef
	Operator string
	Values   []string
}

// expr is a node of the WHERE tree. Its implementation is the parser's own.
type expr interface {
	eval(r Record) bool
}

// Record is one row as the evaluator sees it.
type Record interface {
	// Field returns the value of the named field (canonical name) of this record:
	// nil (null), string, bool, int64, float64 or time.Time. Date fields hold a
	// time.Time at midnight UTC.
	Field(name string) any
	// Parent returns the parent record reached through the named relationship
	// (canonical name), or nil when the reference is null.
	Parent(relationship string) Record
}

// Error is a query the simulator must refuse. Code is the Salesforce errorCode the
// simulator answers with: MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE,
// NUMBER_OUTSIDE_VALID_RANGE or QUERY_TOO_COMPLICATED (the Code* constants).
// Message follows Salesforce's wording where known.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Match reports whether the record satisfies the WHERE clause (true when there is none).
func (q *Query) Match(r Record) bool {
	if q.where == nil {
		return true
	}
	return q.where.eval(r)
}

// Value returns the value of a field reference on a record, following parents; nil
// when any parent on the way is null.
func Value(r Record, f FieldRef) any {
	for _, rel := range f[:len(f)-1] {
		if r == nil {
			return nil
		}
		r = r.Parent(rel)
	}
	if r == nil {
		return nil
	}
	return r.Field(f[len(f)-1])
}

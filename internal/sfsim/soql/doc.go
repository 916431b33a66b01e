// Package soql parses and evaluates the subset of SOQL that the simulator serves:
// SELECT lists with parent fields, WHERE, ORDER BY, LIMIT and OFFSET over one object.
// It knows nothing of HTTP or JSON; the simulator renders what it selects.
//
// The grammar, keywords in any case:
//
//	query      = SELECT selection FROM object [alias] [WHERE condition]
//	             [ORDER BY order {, order}] [LIMIT integer] [OFFSET integer]
//	selection  = COUNT() | path {, path}
//	path       = [alias. | object.] {relationship.} field    (Profile.UserLicense.Name)
//	condition  = NOT simple | simple {AND simple} | simple {OR simple}
//	simple     = ( condition ) | path op literal | path LIKE string
//	           | path IN ( literal {, literal} ) | path NOT IN ( literal {, literal} )
//	op         = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//	literal    = string | number | true | false | null | date | datetime
//	order      = path [ASC | DESC] [NULLS FIRST | NULLS LAST]
//
// Mixing AND, OR and NOT without parentheses is an error, as in Salesforce. Strings
// are single-quoted with the escapes \' \" \\ \n \r \t \b \f (also upper case) and
// \uXXXX; \% and \_ only in LIKE patterns. Numbers are optionally signed decimals;
// dates are YYYY-MM-DD and datetimes YYYY-MM-DDThh:mm:ss[.SSS](Z|+hh:mm|-hh:mm),
// unquoted. A literal's type must match its field's.
//
// Refused with MALFORMED_QUERY as not served by the simulator, never silently
// misread: GROUP BY, HAVING, WITH, USING SCOPE, FOR VIEW/REFERENCE/UPDATE, ALL
// ROWS, TYPEOF, subqueries and semi-joins, functions and aggregates other than
// COUNT(), INCLUDES/EXCLUDES and relative date literals such as TODAY.
//
// Evaluation follows SOQL rather than SQL: string comparisons (=, IN, LIKE,
// ordering) ignore case; null is a value of its own, so `= null` and `!= 'x'`
// match null fields while < > <= >= and LIKE never do; a null boolean is false;
// a missing parent makes its fields null. ORDER BY puts nulls first ascending and
// last descending unless told otherwise, and ties keep their input order.
//
// Errors are *Error values with Salesforce's errorCode and, where Salesforce
// positions them, its message shape: the query line (or a window of it), a caret,
// "ERROR at Row:R:Column:C" and the detail.
package soql

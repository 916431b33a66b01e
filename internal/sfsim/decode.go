package sfsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// readBody reads a request body up to the server's limit.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "REQUEST_ENTITY_TOO_LARGE",
				Message: fmt.Sprintf("Request body is larger than the limit of %d bytes", limit)}
		}
		e := badRequest("JSON_PARSER_ERROR", "Unable to read the request body: "+err.Error())
		return nil, &e
	}
	return body, nil
}

// jsonError words a JSON decoding failure as Salesforce's parser does.
func jsonError(err error) apiError {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return badRequest("JSON_PARSER_ERROR", fmt.Sprintf("Unexpected character or end of input at [line:1, column:%d]: %v", syn.Offset, err))
	}
	return badRequest("JSON_PARSER_ERROR", "Cannot deserialize the request body: "+err.Error())
}

// decodeJSONObject parses a body that must be one JSON object.
func decodeJSONObject(body []byte) (map[string]json.RawMessage, *apiError) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		e := jsonError(err)
		return nil, &e
	}
	if dec.More() {
		e := badRequest("JSON_PARSER_ERROR", "Unexpected content after the JSON object")
		return nil, &e
	}
	if m == nil {
		e := badRequest("JSON_PARSER_ERROR", "The request body must be a JSON object, not null")
		return nil, &e
	}
	return m, nil
}

// decodeFields turns the fields of a record body into typed values by position,
// refusing unknown fields, read-only fields and values of the wrong JSON type. Keys
// for which skip returns true (attributes, the id of an update) are left out.
func decodeFields(d *objectDef, raw map[string]json.RawMessage, skip func(string) bool) (map[int]any, []apiError) {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		if !skip(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	values := make(map[int]any, len(keys))
	var refused []string
	for _, k := range keys {
		i, fd, ok := d.field(k)
		if !ok {
			return nil, []apiError{badRequest("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, d.name))}
		}
		if fd.access == readOnly {
			refused = append(refused, fd.name)
			continue
		}
		v, err := decodeValue(fd, raw[k])
		if err != nil {
			return nil, []apiError{*err}
		}
		values[i] = v
	}
	if len(refused) > 0 {
		return nil, []apiError{fieldsNotWritable(refused)}
	}
	return values, nil
}

// decodeValue converts one JSON value for a field. Like Salesforce, text fields take
// numbers and booleans as their text, and an empty string means null.
func decodeValue(fd *fieldDef, raw json.RawMessage) (any, *apiError) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		e := jsonError(err)
		return nil, &e
	}
	fail := func(want string) (any, *apiError) {
		e := badRequest("JSON_PARSER_ERROR", fmt.Sprintf(
			"Cannot deserialize instance of %s from %s value %s or request may be missing a required field",
			want, jsonKind(v), truncate(string(raw), 40)))
		return nil, &e
	}
	if fd.kind == kindBool {
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(strings.ToLower(x)); err == nil && (strings.EqualFold(x, "true") || strings.EqualFold(x, "false")) {
				return b, nil
			}
		}
		return fail("boolean")
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if x == "" {
			return nil, nil
		}
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return fail("string")
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "VALUE_NULL"
	case string:
		return "VALUE_STRING"
	case json.Number:
		return "VALUE_NUMBER"
	case bool:
		return "VALUE_BOOLEAN"
	case []any:
		return "START_ARRAY"
	default:
		return "START_OBJECT"
	}
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

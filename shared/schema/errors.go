package schema

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Errors is the tree of field errors that validation produces, shaped like
// the input: a field maps to its message (string), to an Errors of its
// sub-fields (records, foreign keys) or to a []any of per-element messages
// with nil holes (arrays and sets). Entity-check messages go under the key
// "@entity" as a []string.
type Errors map[string]any

// EntityKey is the key of entity-check messages in an Errors tree.
const EntityKey = "@entity"

func (e Errors) addEntity(msg string) {
	list, _ := e[EntityKey].([]string)
	e[EntityKey] = append(list, msg)
}

// Messages flattens the tree into Kong's message parts: @entity messages
// first, then "field: message" sorted by field name, with nested fields
// joined by dots and array elements numbered from 1
// ("snis.1: must not be an IP"). A nested record's own entity checks read
// "config: <message>".
func (e Errors) Messages() []string {
	var out []string
	appendMessages(&out, "", e)
	return out
}

func appendMessages(out *[]string, prefix string, e Errors) {
	if list, ok := e[EntityKey].([]string); ok {
		for _, msg := range list {
			if prefix == "" {
				*out = append(*out, msg)
			} else {
				*out = append(*out, strings.TrimSuffix(prefix, ".")+": "+msg)
			}
		}
	}
	for _, k := range sortedKeys(e) {
		if k == EntityKey {
			continue
		}
		appendValue(out, prefix+k, e[k])
	}
}

func appendValue(out *[]string, path string, v any) {
	switch t := v.(type) {
	case string:
		*out = append(*out, path+": "+t)
	case Errors:
		appendMessages(out, path+".", t)
	case map[string]any:
		appendMessages(out, path+".", Errors(t))
	case []any:
		for i, el := range t {
			if el != nil {
				appendValue(out, path+"."+strconv.Itoa(i+1), el)
			}
		}
	case []string:
		for _, msg := range t {
			*out = append(*out, path+": "+msg)
		}
	}
}

// Kong's error codes (kong/db/errors.lua).
const (
	CodeInvalidPrimaryKey     = 1
	CodeSchemaViolation       = 2
	CodePrimaryKeyViolation   = 3
	CodeForeignKeyViolation   = 4
	CodeUniqueViolation       = 5
	CodeNotFound              = 6
	CodeInvalidOffset         = 7
	CodeDatabaseError         = 8
	CodeInvalidSize           = 9
	CodeInvalidUnique         = 10
	CodeInvalidOptions        = 11
	CodeOperationUnsupported  = 12
	CodeForeignKeysUnresolved = 13
	CodeDeclarativeConfig     = 14
	CodeTransformationError   = 15
	CodeInvalidForeignKey     = 16
	CodeReferencedByOthers    = 19
)

var codeNames = map[int]string{
	CodeInvalidPrimaryKey:     "invalid primary key",
	CodeSchemaViolation:       "schema violation",
	CodePrimaryKeyViolation:   "primary key violation",
	CodeForeignKeyViolation:   "foreign key violation",
	CodeUniqueViolation:       "unique constraint violation",
	CodeNotFound:              "not found",
	CodeInvalidOffset:         "invalid offset",
	CodeDatabaseError:         "database error",
	CodeInvalidSize:           "invalid size",
	CodeInvalidUnique:         "invalid unique %s",
	CodeInvalidOptions:        "invalid options",
	CodeOperationUnsupported:  "operation unsupported",
	CodeForeignKeysUnresolved: "foreign keys unresolved",
	CodeDeclarativeConfig:     "invalid declarative configuration",
	CodeTransformationError:   "transformation error",
	CodeInvalidForeignKey:     "invalid foreign key",
	CodeReferencedByOthers:    "referenced by others",
}

// Error is Kong's structured DAO error ("err_t"): the body the Admin API
// answers with, and the error type validation and storage return.
type Error struct {
	Code    int    `json:"code"`
	Name    string `json:"name"`
	Message string `json:"message"`
	// Fields holds per-field detail (an Errors tree, a primary key, a
	// unique key...). Options replaces it for code 11.
	Fields  map[string]any `json:"fields,omitempty"`
	Options map[string]any `json:"options,omitempty"`
	// FlattenedErrors is set by POST /config with flatten_errors.
	FlattenedErrors []any `json:"flattened_errors,omitempty"`
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// HTTPStatus is the status Kong's Admin API answers this error with
// (kong/api/endpoints.lua).
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case CodeUniqueViolation:
		return http.StatusConflict
	case CodeNotFound:
		return http.StatusNotFound
	case CodeOperationUnsupported:
		return http.StatusMethodNotAllowed
	case CodeInvalidPrimaryKey, CodeSchemaViolation, CodePrimaryKeyViolation,
		CodeForeignKeyViolation, CodeInvalidOffset, CodeInvalidSize,
		CodeInvalidUnique, CodeInvalidOptions, CodeForeignKeysUnresolved,
		CodeDeclarativeConfig, CodeReferencedByOthers:
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

func newError(code int, msg string, fields map[string]any) *Error {
	return &Error{Code: code, Name: codeNames[code], Message: msg, Fields: fields}
}

// SchemaViolation builds the code-2 error for a tree of field errors, with
// Kong's message composition: "schema violation (X)" for one message,
// "N schema violations (X; Y)" for several.
func SchemaViolation(errs Errors) *Error { //nolint:revive // named after Kong's error (code 2, "schema violation")
	msgs := errs.Messages()
	var msg string
	if len(msgs) == 1 {
		msg = "schema violation (" + msgs[0] + ")"
	} else {
		msg = fmt.Sprintf("%d schema violations (%s)", len(msgs), strings.Join(msgs, "; "))
	}
	return newError(CodeSchemaViolation, msg, errs.toMap())
}

// toMap converts the tree into plain maps for JSON encoding.
func (e Errors) toMap() map[string]any {
	out := make(map[string]any, len(e))
	for k, v := range e {
		out[k] = plain(v)
	}
	return out
}

func plain(v any) any {
	switch t := v.(type) {
	case Errors:
		return t.toMap()
	case []any:
		out := make([]any, len(t))
		for i, el := range t {
			out[i] = plain(el)
		}
		return out
	default:
		return v
	}
}

// InvalidPrimaryKey is code 1: `invalid primary key: '{id="expected a valid UUID"}'`.
func InvalidPrimaryKey(pk map[string]any) *Error {
	return newError(CodeInvalidPrimaryKey, "invalid primary key: '"+LuaPretty(pk)+"'", pk)
}

// PrimaryKeyViolation is code 3.
func PrimaryKeyViolation(pk map[string]any) *Error {
	return newError(CodePrimaryKeyViolation, "primary key violation on key '"+LuaPretty(pk)+"'", pk)
}

// ForeignKeyViolation is code 4 for a reference to a missing entity: the
// foreign key '{id="..."}' does not reference an existing 'services' entity.
func ForeignKeyViolation(field string, fk map[string]any, parent string) *Error {
	msg := fmt.Sprintf("the foreign key '%s' does not reference an existing '%s' entity.", LuaPretty(fk), parent)
	return newError(CodeForeignKeyViolation, msg, map[string]any{field: fk})
}

// ForeignKeyRestricted is code 4 for deleting a parent still referenced:
// an existing 'routes' entity references this 'services' entity.
func ForeignKeyRestricted(parent, child string) *Error {
	msg := fmt.Sprintf("an existing '%s' entity references this '%s' entity", child, parent)
	return newError(CodeForeignKeyViolation, msg, map[string]any{"@referenced_by": child})
}

// UniqueViolation is code 5 (HTTP 409): UNIQUE violation detected on '{name="foo"}'.
func UniqueViolation(key map[string]any) *Error {
	return newError(CodeUniqueViolation, "UNIQUE violation detected on '"+LuaPretty(key)+"'", key)
}

// NotFound is code 6 by primary key.
func NotFound(pk map[string]any) *Error {
	return newError(CodeNotFound, "could not find the entity with primary key '"+LuaPretty(pk)+"'", pk)
}

// NotFoundByField is code 6 by an endpoint key: could not find the entity with '{name="x"}'.
func NotFoundByField(filter map[string]any) *Error {
	return newError(CodeNotFound, "could not find the entity with '"+LuaPretty(filter)+"'", filter)
}

// InvalidOffset is code 7.
func InvalidOffset(offset, reason string) *Error {
	return newError(CodeInvalidOffset, fmt.Sprintf("'%s' is not a valid offset: %s", offset, reason), nil)
}

// DatabaseError is code 8 (answered as a generic 500).
func DatabaseError(msg string) *Error {
	if msg == "" {
		msg = codeNames[CodeDatabaseError]
	}
	return newError(CodeDatabaseError, msg, nil)
}

// InvalidSize is code 9.
func InvalidSize(msg string) *Error { return newError(CodeInvalidSize, msg, nil) }

// InvalidOptions is code 11, whose detail goes under "options":
// invalid option (tags: invalid filter syntax).
func InvalidOptions(opts map[string]any) *Error {
	var msgs []string
	for _, k := range sortedKeys(opts) {
		switch t := opts[k].(type) {
		case map[string]any:
			for _, sk := range sortedKeys(t) {
				msgs = append(msgs, fmt.Sprintf("%s.%s: %v", k, sk, t[sk]))
			}
		default:
			msgs = append(msgs, fmt.Sprintf("%s: %v", k, t))
		}
	}
	msg := "invalid option (" + strings.Join(msgs, "; ") + ")"
	if len(msgs) != 1 {
		msg = fmt.Sprintf("%d option violations (%s)", len(msgs), strings.Join(msgs, "; "))
	}
	return &Error{Code: CodeInvalidOptions, Name: codeNames[CodeInvalidOptions], Message: msg, Options: opts}
}

// OperationUnsupported is code 12 (HTTP 405).
func OperationUnsupported(msg string) *Error {
	return newError(CodeOperationUnsupported, msg, nil)
}

// ForeignKeysUnresolved is code 13 for a foreign key given by an endpoint
// key that matches no entity: field is the foreign field ("service"), key
// the endpoint key ("name"), value what was given, parent the table.
func ForeignKeysUnresolved(field, key string, value any, parent string) *Error {
	detail := fmt.Sprintf("the foreign key cannot be resolved with '%s' for an existing '%s' entity",
		LuaPretty(map[string]any{key: value}), parent)
	msg := fmt.Sprintf("foreign key unresolved (%s.%s: %s)", field, key, detail)
	return newError(CodeForeignKeysUnresolved, msg, map[string]any{field: map[string]any{key: detail}})
}

// DeclarativeConfig is code 14: declarative config is invalid: {...}.
func DeclarativeConfig(errs map[string]any) *Error {
	return newError(CodeDeclarativeConfig, "declarative config is invalid: "+LuaPretty(errs), errs)
}

// TransformationError is code 15.
func TransformationError(msg string) *Error {
	return newError(CodeTransformationError, msg, nil)
}

// ReferencedByOthers is code 19.
func ReferencedByOthers(msg string) *Error {
	return newError(CodeReferencedByOthers, msg, nil)
}

// LuaPretty renders a value as Kong's messages print Lua tables
// (pl.pretty.write with no indentation): {id="x"}, with sorted keys, strings
// quoted, null as null, arrays as {"a","b"}.
func LuaPretty(v any) string {
	var b strings.Builder
	writeLua(&b, v)
	return b.String()
}

func writeLua(b *strings.Builder, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(strconv.Quote(t))
	case Errors:
		writeLua(b, map[string]any(t))
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(t) {
			if i > 0 {
				b.WriteByte(',')
			}
			if isLuaIdent(k) {
				b.WriteString(k)
			} else {
				b.WriteString(`["` + k + `"]`)
			}
			b.WriteByte('=')
			writeLua(b, t[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('{')
		for i, el := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeLua(b, el)
		}
		b.WriteByte('}')
	case []string:
		b.WriteByte('{')
		for i, el := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(el))
		}
		b.WriteByte('}')
	default:
		b.WriteString(FormatValue(v))
	}
}

func isLuaIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

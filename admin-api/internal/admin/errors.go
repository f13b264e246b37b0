package admin

import (
	"errors"
	"net/http"

	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
)

// ErrNotFound is Kong's plain 404: {"message":"Not found"}.
var ErrNotFound = errors.New("Not found") //nolint:staticcheck // ST1005: Kong's message, sent as is

// ErrMethodNotAllowed is Kong's plain 405: {"message":"Method not allowed"}
// (DELETE on a foreign-entity endpoint such as /routes/{r}/service).
var ErrMethodNotAllowed = errors.New("Method not allowed") //nolint:staticcheck // ST1005: Kong's message

// ErrUnavailable marks errors that mean the database cannot be reached:
// the Admin API answers 503.
var ErrUnavailable = store.ErrUnavailable

// MessageError is a plain {"message": ...} answer with its status, for the
// errors Kong's endpoints raise outside the DAO ("SNI not found").
type MessageError struct {
	Status  int
	Message string
}

// Error returns the message.
func (e *MessageError) Error() string { return e.Message }

func message(status int, msg string) *MessageError {
	return &MessageError{Status: status, Message: msg}
}

// errSNINotFound is the certificates endpoint's 404 for an unknown SNI.
var errSNINotFound = message(http.StatusNotFound, "SNI not found")

// invalidUnique is Kong's code 10: a path segment that is not a valid
// value for the type's endpoint key ("invalid unique name").
func invalidUnique(field string, msg any) *schema.Error {
	text, ok := msg.(string)
	if !ok {
		text = schema.SchemaViolation(schema.Errors{field: msg}).Message
	}
	return &schema.Error{Code: schema.CodeInvalidUnique, Name: "invalid unique " + field, Message: text}
}

// invalidOptions is code 11 for one option.
func invalidOptions(name, msg string) *schema.Error {
	return schema.InvalidOptions(map[string]any{name: msg})
}

// isNotFound reports whether err is the store's not-found.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

package broadcasts

import (
	"database/sql"
	"fmt"
)

// ErrNotFound is an unknown broadcast id. It matches sql.ErrNoRows so that
// PocketBase answers 404 if it is returned as is.
var ErrNotFound error = notFound{}

type notFound struct{}

func (notFound) Error() string        { return "broadcast not found" }
func (notFound) Is(target error) bool { return target == sql.ErrNoRows }

// FieldError is bad input in one field of a broadcast or a request: the
// API answers 400 naming Field.
type FieldError struct {
	Field string
	Code  string
	Msg   string
}

func (e *FieldError) Error() string { return e.Msg }

func fieldErr(field, code, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// StateError is an action the broadcast's status does not allow (send a
// completed broadcast, pause a draft): the API answers 409.
type StateError struct{ Msg string }

func (e *StateError) Error() string { return e.Msg }

func stateErr(format string, args ...any) *StateError {
	return &StateError{Msg: fmt.Sprintf(format, args...)}
}

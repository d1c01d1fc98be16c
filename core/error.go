// Package core holds Trovato's domain types and the interfaces that consume
// them. It has no dependency on HTTP, a GUI, PostgreSQL or Redis; adapters
// live in the subpackages (postgres, redis, memory, plugin, render) and the
// composition root in kernel.
package core

import (
	"errors"
	"fmt"
)

// Error codes. They are part of the API and plugin ABI: clients switch on
// them, and the server maps each to exactly one HTTP status.
const (
	EConflict     = "conflict"
	EInternal     = "internal"
	EInvalid      = "invalid"
	ENotFound     = "not_found"
	ENotImpl      = "not_implemented"
	EUnauthorized = "unauthorized"
	EForbidden    = "forbidden"
	ETooLarge     = "too_large"
	ERateLimit    = "rate_limited"
	EUnavailable  = "unavailable"
)

// FieldError names one bad input path (for example "fields.body[2].alt")
// and why it was refused.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Error is the one error type that crosses package boundaries with a code.
// Message is safe to show to the caller; wrapped internal errors are not.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	s := e.Message
	for i, f := range e.Fields {
		if i == 0 {
			s += ": "
		} else {
			s += "; "
		}
		s += f.Path + ": " + f.Message
	}
	return s
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidFields returns an EInvalid error listing every bad field.
func InvalidFields(msg string, fields []FieldError) *Error {
	return &Error{Code: EInvalid, Message: msg, Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the safe message of the first *Error in err's chain,
// or a generic message for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorFields returns the field errors of the first *Error in err's chain.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

package events

import (
	"errors"
	"fmt"
)

// Error codes. Only the api package maps them to HTTP statuses.
const (
	Conflict    = "conflict"    // expected version did not match
	NotFound    = "not_found"   // stream, event or key does not exist
	Invalid     = "invalid"     // input failed validation; nothing was written
	Unavailable = "unavailable" // backend unreachable, closed, or subscriber fell behind
	Internal    = "internal"    // anything else; a bug or an untranslated driver error
)

// Error is the error type of the ledger. Backends translate driver errors into
// an Error before returning them.
type Error struct {
	Code    string // one of the codes above
	Message string // human-readable, lowercase, never contains personal data

	// Field names the offending field of an Invalid error, as a JSON path
	// ("data.channel", "data.items[2].score").
	Field string
	// Template and Args are the format and arguments of Message for an
	// Invalid error (InvalidField): a user interface translates the
	// template and formats the arguments in its own language.
	Template string
	Args     []any

	// Stream and ActualVersion describe a Conflict: the stream's version at
	// the time of the append, or NoStreamVersion when the stream did not exist.
	Stream        string
	ActualVersion int64

	// Err is the underlying cause, if any.
	Err error
}

// NoStreamVersion is the ActualVersion of a conflict on a stream that does not exist.
const NoStreamVersion int64 = -1

// Error returns the message with its code and field.
func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return e.Code + ": " + msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, ErrFellBehind) and similar sentinel checks match by
// code and message rather than by pointer.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == e.Message && t.Field == "" && t.Stream == ""
}

// ErrorCode returns the code of err, Internal for errors that are not an
// *Error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidField returns an Invalid error naming field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...), Template: format, Args: args}
}

// ConflictError returns the Conflict error for stream with its actual version.
func ConflictError(stream string, expected ExpectedVersion, actual int64) *Error {
	return &Error{
		Code:          Conflict,
		Message:       fmt.Sprintf("expected version %s, stream is at %d", expected, actual),
		Stream:        stream,
		ActualVersion: actual,
	}
}

// ErrFellBehind ends a subscription whose consumer did not keep up with live
// events. Nothing was skipped: resubscribe from the last position received.
var ErrFellBehind = &Error{Code: Unavailable, Message: "subscriber fell behind"}

// ErrClosed is returned by a store after Close.
var ErrClosed = &Error{Code: Unavailable, Message: "store closed"}

package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/dangol/dangol/events"
)

// Codes of the API beyond events' own (shared/API.md, "Errors").
const (
	codeUnauthenticated = "unauthenticated"
	codeForbidden       = "forbidden"
	codeTooLarge        = "too_large"
)

// apiError is an error answered with a status of its own.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

var (
	errUnauthenticated = &apiError{http.StatusUnauthorized, codeUnauthenticated, "a valid bearer token is required"}
	errForbidden       = &apiError{http.StatusForbidden, codeForbidden, "your role may not do this"}
	errTooLarge        = &apiError{http.StatusRequestEntityTooLarge, codeTooLarge, "request body too large"}
)

func forbidden(msg string) error { return &apiError{http.StatusForbidden, codeForbidden, msg} }

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details,omitempty"`
	} `json:"error"`
}

// statusOf maps an error to its HTTP status, code and details. This is the
// only place events' codes become statuses.
func statusOf(err error) (int, errorBody) {
	var body errorBody
	var ae *apiError
	var mbe *http.MaxBytesError
	var ee *events.Error
	var me *MergedError
	switch {
	case errors.As(err, &me):
		return mergedBody(me)
	case errors.As(err, &ae):
		body.Error.Code, body.Error.Message = ae.code, ae.message
		return ae.status, body
	case errors.As(err, &mbe):
		body.Error.Code, body.Error.Message = codeTooLarge, errTooLarge.message
		return http.StatusRequestEntityTooLarge, body
	case errors.As(err, &ee):
		body.Error.Code, body.Error.Message = ee.Code, ee.Message
		if ee.Field != "" {
			body.Error.Details = map[string]any{"field": ee.Field}
		}
		switch ee.Code {
		case events.Invalid:
			return http.StatusBadRequest, body
		case events.NotFound:
			return http.StatusNotFound, body
		case events.Conflict:
			body.Error.Details = map[string]any{"stream": ee.Stream, "actualVersion": ee.ActualVersion}
			return http.StatusConflict, body
		case events.Unavailable:
			return http.StatusServiceUnavailable, body
		}
	}
	// Internal errors never leak their text: it may hold driver details.
	body.Error.Code, body.Error.Message = events.Internal, "internal error"
	return http.StatusInternalServerError, body
}

// writeError answers err and records it for the request log.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := statusOf(err)
	if rec := recordOf(r); rec != nil {
		rec.err = err
	}
	writeJSON(w, status, body)
}

// writeJSON writes every JSON answer of the API. None is stored by a cache
// or the browser: most carry personal data (customer views, lists,
// timelines, audit reads), and telling which do not is not worth a leak.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

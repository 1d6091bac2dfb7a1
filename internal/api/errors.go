package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/runhook/runhook/internal/ruleservice"
	"github.com/runhook/runhook/internal/runs"
)

// apiError is a failed request: its status, a message for the client, the
// field of the request it is about, and for 5xx the cause that is logged.
type apiError struct {
	status     int
	msg        string
	field      string
	retryAfter int // seconds; 0 sends no Retry-After
	cause      error
	// problems are each problem of a refused rules file.
	problems []ruleservice.Problem
}

func (e *apiError) Error() string { return e.msg }

type errorBody struct {
	Error  string                `json:"error"`
	Field  string                `json:"field,omitempty"`
	Errors []ruleservice.Problem `json:"errors,omitempty"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.status, errorBody{Error: e.msg, Field: e.field, Errors: e.problems})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := runs.MarshalJSON(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// invalid is a 422 about one field: "post[3].start_time: ... ".
func invalid(field, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &apiError{status: http.StatusUnprocessableEntity, msg: msg, field: field}
}

// badRequest is a 400 for a body that cannot be read at all.
func badRequest(field, format string, args ...any) *apiError {
	e := invalid(field, format, args...)
	e.status = http.StatusBadRequest
	return e
}

func internal(what string, err error) *apiError {
	return &apiError{status: http.StatusInternalServerError, msg: what + " failed; see the server log", cause: fmt.Errorf("%s: %w", what, err)}
}

// fieldError turns a decoding error of runs into a 422 naming the field
// under prefix ("post[3]" + "start_time").
func fieldError(prefix string, err error) *apiError {
	var fe *runs.FieldError
	if errors.As(err, &fe) {
		return invalid(join(prefix, fe.Field), "%v", fe.Err)
	}
	return invalid(prefix, "%v", err)
}

func join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

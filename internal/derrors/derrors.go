// Package derrors defines the kinds of domain errors and the one table that
// turns them into HTTP statuses.
//
// Domain packages declare their errors with New (a kind, a stable code that
// clients may switch on, and a human message). Handlers return them, wrapped
// with context as they travel up; httpapi finds the *Error with errors.As and
// writes RFC 9457 problem+json. Anything that is not an *Error is an internal
// error: logged, and shown to the client only as INTERNAL.
package derrors

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies a domain error; it decides the HTTP status.
type Kind int

// The kinds, roughly in order of HTTP status.
const (
	Internal      Kind = iota // a bug or an outage we did not classify: 500
	Invalid                   // malformed or out-of-range input: 400
	Unauthorized              // missing or bad credentials: 401
	Forbidden                 // authenticated, but not allowed: 403
	NotFound                  // no such thing, or not yours to see: 404
	Conflict                  // state does not allow it (sold out, duplicate): 409
	TooLarge                  // request body too large: 413
	Unprocessable             // well-formed but semantically refused: 422
	RateLimited               // slow down: 429
	Unavailable               // a dependency is down; retry later: 503
)

var statuses = map[Kind]int{
	Internal:      http.StatusInternalServerError,
	Invalid:       http.StatusBadRequest,
	Unauthorized:  http.StatusUnauthorized,
	Forbidden:     http.StatusForbidden,
	NotFound:      http.StatusNotFound,
	Conflict:      http.StatusConflict,
	TooLarge:      http.StatusRequestEntityTooLarge,
	Unprocessable: http.StatusUnprocessableEntity,
	RateLimited:   http.StatusTooManyRequests,
	Unavailable:   http.StatusServiceUnavailable,
}

// Status is the HTTP status of a kind.
func (k Kind) Status() int { return statuses[k] }

// Error is a domain error with a stable code.
type Error struct {
	Kind   Kind
	Code   string // stable, SCREAMING_SNAKE, e.g. SOLD_OUT
	Detail string // for people; never contains internals
	// Fields carries per-field validation messages, when there are any.
	Fields map[string]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Detail }

// Is makes errors.Is match two errors with the same code, so a copy made by
// WithDetail still matches the sentinel it came from.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// New returns a domain error.
func New(kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// WithDetail returns a copy of e with another message; errors.Is still
// matches e.
func (e *Error) WithDetail(format string, args ...any) *Error {
	c := *e
	c.Detail = fmt.Sprintf(format, args...)
	return &c
}

// Invalidf is a 400 with code VALIDATION_FAILED and one field message.
func Invalidf(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Kind: Invalid, Code: "VALIDATION_FAILED", Detail: field + ": " + msg, Fields: map[string]string{field: msg}}
}

// As returns the domain error in err's chain, if there is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Errors shared by every package.
var (
	ErrUnauthenticated = New(Unauthorized, "UNAUTHENTICATED", "a valid access token is required")
	ErrForbidden       = New(Forbidden, "FORBIDDEN", "you may not do this")
	ErrNotFound        = New(NotFound, "NOT_FOUND", "no such resource")
	ErrInvalidLocation = New(Invalid, "INVALID_LOCATION", "lat must be within [-90, 90] and lng within [-180, 180]")
	ErrUnavailable     = New(Unavailable, "SERVICE_UNAVAILABLE", "a dependency is unavailable; retry later")
)

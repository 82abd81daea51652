package fcmfake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// ErrorCode is an FCM v1 ErrorCode: the value FCM puts in the
// google.firebase.fcm.v1.FcmError detail of an error body, and the value the
// SDK's messaging.IsXxx predicates compare against.
type ErrorCode string

// The FCM v1 error codes the fake can answer with
// (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode).
const (
	CodeInvalidArgument   ErrorCode = "INVALID_ARGUMENT"
	CodeUnregistered      ErrorCode = "UNREGISTERED"
	CodeSenderIDMismatch  ErrorCode = "SENDER_ID_MISMATCH"
	CodeQuotaExceeded     ErrorCode = "QUOTA_EXCEEDED"
	CodeUnavailable       ErrorCode = "UNAVAILABLE"
	CodeInternal          ErrorCode = "INTERNAL"
	CodeThirdPartyAuthErr ErrorCode = "THIRD_PARTY_AUTH_ERROR"
)

// Failure is one error answer of the fake, rendered as the google.rpc.Status
// JSON that FCM v1 sends:
//
//	{"error": {"code": 404, "message": "...", "status": "NOT_FOUND",
//	  "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
//	               "errorCode": "UNREGISTERED"}]}}
//
// The SDK takes the platform code (errorutils.IsNotFound, ...) from Status and
// the messaging code (messaging.IsUnregistered, ...) from the FcmError
// detail, so both must be right for a worker's classification to be tested.
// Use the constructors below for the shapes FCM really sends; build one by
// hand only for shapes they do not cover.
type Failure struct {
	// HTTPStatus is the HTTP status code, also repeated as error.code.
	HTTPStatus int
	// Status is the canonical google.rpc code name (NOT_FOUND, ...).
	Status string
	// ErrorCode goes into an FcmError detail; empty means no such detail,
	// which is what FCM does for JSON-level errors.
	ErrorCode ErrorCode
	// Message is error.message.
	Message string
	// Field, when set, adds a google.rpc.BadRequest detail whose one field
	// violation names it, with Message as its description.
	Field string
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds (rounded up), as FCM does on 429 and 503.
	RetryAfter time.Duration
}

// Unregistered is FCM's answer for a token whose app instance is gone
// (uninstalled, token expired): 404 NOT_FOUND / UNREGISTERED.
func Unregistered() *Failure {
	return &Failure{
		HTTPStatus: http.StatusNotFound,
		Status:     "NOT_FOUND",
		ErrorCode:  CodeUnregistered,
		Message:    "Requested entity was not found.",
	}
}

// InvalidToken is FCM's answer for a malformed registration token:
// 400 INVALID_ARGUMENT / INVALID_ARGUMENT.
func InvalidToken() *Failure {
	return InvalidArgument("message.token", "The registration token is not a valid FCM registration token")
}

// InvalidArgument is a 400 INVALID_ARGUMENT with an FcmError detail (so
// messaging.IsInvalidArgument holds) and a BadRequest violation on field.
func InvalidArgument(field, message string) *Failure {
	return &Failure{
		HTTPStatus: http.StatusBadRequest,
		Status:     "INVALID_ARGUMENT",
		ErrorCode:  CodeInvalidArgument,
		Message:    message,
		Field:      field,
	}
}

// SenderIDMismatch is FCM's answer for a token that belongs to another
// sender (Firebase project): 403 PERMISSION_DENIED / SENDER_ID_MISMATCH.
func SenderIDMismatch() *Failure {
	return &Failure{
		HTTPStatus: http.StatusForbidden,
		Status:     "PERMISSION_DENIED",
		ErrorCode:  CodeSenderIDMismatch,
		Message:    "SenderId mismatch",
	}
}

// QuotaExceeded is FCM's answer when the project, a device or a topic is
// over its sending rate: 429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED, with a
// Retry-After header when retryAfter is positive.
func QuotaExceeded(retryAfter time.Duration) *Failure {
	return &Failure{
		HTTPStatus: http.StatusTooManyRequests,
		Status:     "RESOURCE_EXHAUSTED",
		ErrorCode:  CodeQuotaExceeded,
		Message:    "Quota exceeded for quota metric 'Send requests' of service 'fcm.googleapis.com'.",
		RetryAfter: retryAfter,
	}
}

// Unavailable is FCM's answer when it is overloaded: 503 UNAVAILABLE /
// UNAVAILABLE, with a Retry-After header when retryAfter is positive.
//
// The SDK retries 503 by itself (see the package doc): a Retry-After above
// two minutes makes it give up at once, which is how tests get a single
// deterministic 503 through to the caller.
func Unavailable(retryAfter time.Duration) *Failure {
	return &Failure{
		HTTPStatus: http.StatusServiceUnavailable,
		Status:     "UNAVAILABLE",
		ErrorCode:  CodeUnavailable,
		Message:    "The service is currently unavailable.",
		RetryAfter: retryAfter,
	}
}

// Internal is FCM's answer for an unknown server error: 500 INTERNAL /
// INTERNAL.
func Internal() *Failure {
	return &Failure{
		HTTPStatus: http.StatusInternalServerError,
		Status:     "INTERNAL",
		ErrorCode:  CodeInternal,
		Message:    "Internal error encountered.",
	}
}

// ThirdPartyAuthError is FCM's answer when APNs or Web Push refused the
// project's credentials: 401 UNAUTHENTICATED / THIRD_PARTY_AUTH_ERROR.
func ThirdPartyAuthError() *Failure {
	return &Failure{
		HTTPStatus: http.StatusUnauthorized,
		Status:     "UNAUTHENTICATED",
		ErrorCode:  CodeThirdPartyAuthErr,
		Message:    "Auth error from APNS or Web Push Service",
	}
}

// badJSON is what FCM's front end answers for a body it cannot map onto the
// Message proto (wrong types, unknown fields, a second target): a 400 with
// only a BadRequest detail and no FcmError, so messaging.IsInvalidArgument
// is false for it while errorutils.IsInvalidArgument is true.
func badJSON(field, message string) *Failure {
	return &Failure{
		HTTPStatus: http.StatusBadRequest,
		Status:     "INVALID_ARGUMENT",
		Message:    message,
		Field:      field,
	}
}

type rpcStatus struct {
	Error rpcError `json:"error"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []any  `json:"details,omitempty"`
}

type fcmErrorDetail struct {
	Type      string    `json:"@type"`
	ErrorCode ErrorCode `json:"errorCode"`
}

type badRequestDetail struct {
	Type            string           `json:"@type"`
	FieldViolations []fieldViolation `json:"fieldViolations"`
}

type fieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// body renders f as FCM's JSON error body.
func (f *Failure) body() []byte {
	e := rpcError{Code: f.HTTPStatus, Message: f.Message, Status: f.Status}
	if f.ErrorCode != "" {
		e.Details = append(e.Details, fcmErrorDetail{
			Type:      "type.googleapis.com/google.firebase.fcm.v1.FcmError",
			ErrorCode: f.ErrorCode,
		})
	}
	if f.Field != "" {
		e.Details = append(e.Details, badRequestDetail{
			Type:            "type.googleapis.com/google.rpc.BadRequest",
			FieldViolations: []fieldViolation{{Field: f.Field, Description: f.Message}},
		})
	}
	// Only strings and ints go in, so Marshal cannot fail.
	b, _ := json.Marshal(rpcStatus{Error: e})
	return b
}

// write sends f as the response.
func (f *Failure) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	if f.RetryAfter > 0 {
		secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	w.WriteHeader(f.HTTPStatus)
	w.Write(f.body()) //nolint:errcheck // the client went away; nothing to do
}

package push

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
)

// outcome is what a send's result means for the worker.
type outcome int

const (
	// delivered: FCM accepted the message.
	delivered outcome = iota
	// gone: the token is dead (app uninstalled); delete it, never retry.
	gone
	// rejected: FCM will never accept this message for this token
	// (malformed, another project's token); dead-letter it, never retry.
	rejected
	// transient: FCM or the network failed this time; retry with backoff.
	transient
)

// classify reads one send's error. It must see the error exactly as the
// SDK returned it: the SDK's predicates and errorutils.HTTPResponse use a
// plain type assertion on its unexported error type, so a wrapped error
// classifies as unknown. reason is a short code for metrics and history.
//
// Anything not known to be permanent is transient: retrying a mistake costs
// a few sends and ends in the dead-letter queue anyway, while dropping a
// retryable push loses it.
func classify(err error) (o outcome, reason string, retryAfter time.Duration) {
	if err == nil {
		return delivered, "", 0
	}
	retryAfter = retryAfterOf(err)
	switch {
	case messaging.IsUnregistered(err):
		return gone, "UNREGISTERED", 0
	case messaging.IsInvalidArgument(err):
		return rejected, "INVALID_ARGUMENT", 0
	case messaging.IsSenderIDMismatch(err):
		return rejected, "SENDER_ID_MISMATCH", 0
	case messaging.IsUnavailable(err):
		return transient, "UNAVAILABLE", retryAfter
	case messaging.IsInternal(err):
		return transient, "INTERNAL", retryAfter
	case messaging.IsQuotaExceeded(err):
		return transient, "QUOTA_EXCEEDED", retryAfter
	case messaging.IsThirdPartyAuthError(err):
		return transient, "THIRD_PARTY_AUTH_ERROR", retryAfter
	case errorutils.IsNotFound(err):
		// A 404 without an FcmError detail: FCM's older answer for a token
		// that is no longer registered.
		return gone, "NOT_FOUND", 0
	case errorutils.IsInvalidArgument(err):
		// A 400 from FCM's front end (a body it could not map onto a
		// message) has no FcmError detail but is as permanent.
		return rejected, "INVALID_ARGUMENT", 0
	case errors.Is(err, context.DeadlineExceeded), errorutils.IsDeadlineExceeded(err):
		return transient, "TIMEOUT", retryAfter
	case errors.Is(err, context.Canceled):
		return transient, "CANCELED", 0
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return transient, "NETWORK", 0
	}
	if r := errorutils.HTTPResponse(err); r != nil {
		return transient, "HTTP_" + strconv.Itoa(r.StatusCode), retryAfter
	}
	return transient, "UNKNOWN", retryAfter
}

// retryAfterOf is the server's Retry-After, in seconds or as an HTTP date.
func retryAfterOf(err error) time.Duration {
	r := errorutils.HTTPResponse(err)
	if r == nil {
		return 0
	}
	v := r.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

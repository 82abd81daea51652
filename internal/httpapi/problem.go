package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/couponpop/couponpop/internal/derrors"
)

// Problem is an RFC 9457 problem detail with the stable code clients switch on.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Code      string            `json:"code"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    map[string]string `json:"errors,omitempty"`
}

// ProblemOf converts any error to the problem a client sees. This is the one
// place where domain errors become HTTP statuses; anything that is not a
// domain error is a 500 whose detail stays in the log.
func ProblemOf(err error) Problem {
	if errors.Is(err, context.DeadlineExceeded) {
		err = derrors.ErrUnavailable.WithDetail("the request timed out; retry later")
	}
	e, ok := derrors.As(err)
	if !ok {
		e = derrors.New(derrors.Internal, "INTERNAL", "something went wrong on our side")
	}
	status := e.Kind.Status()
	return Problem{
		Type:   "https://couponpop.dev/problems/" + e.Code,
		Title:  http.StatusText(status),
		Status: status,
		Code:   e.Code,
		Detail: e.Detail,
		Errors: e.Fields,
	}
}

// WriteError writes err as problem+json. 5xx are logged with the whole
// error chain; 4xx are the client's business and only counted.
func WriteError(c *gin.Context, log *slog.Logger, err error) {
	p := ProblemOf(err)
	p.Instance = c.Request.URL.Path
	p.RequestID = RequestID(c)
	if p.Status >= 500 {
		log.ErrorContext(c.Request.Context(), "request failed",
			"err", err, "status", p.Status, "code", p.Code,
			"method", c.Request.Method, "route", c.FullPath(), "request_id", p.RequestID)
	}
	if p.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "1")
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}

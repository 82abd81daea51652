package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/couponpop/couponpop/internal/derrors"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

var (
	errBodyTooLarge = derrors.New(derrors.TooLarge, "BODY_TOO_LARGE", "the request body is larger than 64 KiB")
	errBadJSON      = derrors.New(derrors.Invalid, "MALFORMED_JSON", "the request body is not valid JSON")
)

// Bind decodes a JSON body into v strictly: unknown fields, wrong types,
// trailing data and oversized bodies are 400/413 domain errors with a clear
// message, never 500s.
func Bind(c *gin.Context, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errBodyTooLarge
		}
		return errBadJSON.WithDetail("reading the body: %v", err)
	}
	return DecodeJSON(body, v)
}

// DecodeJSON is Bind's decoder, exposed for fuzzing.
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errBadJSON.WithDetail("the request body is empty; a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errBadJSON.WithDetail("the body has data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBadJSON.WithDetail("the body has data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return errBadJSON.WithDetail("invalid JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		if field == "lat" || field == "lng" {
			// Coordinates have one error code whatever is wrong with them.
			return derrors.ErrInvalidLocation.WithDetail("%s must be a number, not %s", field, typ.Value)
		}
		return derrors.Invalidf(field, "must be %s, not %s", jsonType(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errBadJSON.WithDetail("the JSON body ends early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return derrors.Invalidf(name, "unknown field")
	}
	return errBadJSON.WithDetail("%v", err)
}

func jsonType(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return fmt.Sprintf("a %s", kind)
}

// ParamID parses a positive int64 path parameter; anything else is a 404
// (no such resource), since ids are not guessable input worth a 400.
func ParamID(c *gin.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, derrors.ErrNotFound
	}
	return id, nil
}

// QueryInt parses an optional integer query parameter within [min, max].
func QueryInt(c *gin.Context, name string, def, min, max int) (int, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < min || v > max {
		return 0, derrors.Invalidf(name, "must be an integer between %d and %d", min, max)
	}
	return v, nil
}

// Reply returns a function that writes a service call's result as JSON with
// status, or passes its error on, so a handler ends in one line:
//
//	return httpapi.Reply(c, http.StatusOK)(svc.GetEvent(ctx, id))
func Reply(c *gin.Context, status int) func(any, error) error {
	return func(v any, err error) error {
		if err != nil {
			return err
		}
		c.JSON(status, v)
		return nil
	}
}

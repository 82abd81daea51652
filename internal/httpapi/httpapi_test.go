package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/httpapi"
)

// echoBody is what the test route binds: one field of each JSON type the
// domain packages use.
type echoBody struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
	Lat   *float64 `json:"lat"`
	Lng   *float64 `json:"lng"`
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newServer builds the real platform engine with a few routes that exercise
// the middleware: strict binding, a panic, and an error carrying internals.
func newServer(t *testing.T, checks ...httpapi.Check) (*httpapi.Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	s := httpapi.New(slog.New(slog.NewJSONHandler(logs, nil)), reg, reg, checks)
	s.Engine.POST("/echo", s.H(func(c *gin.Context) error {
		var in echoBody
		if err := httpapi.Bind(c, &in); err != nil {
			return err
		}
		c.JSON(http.StatusOK, in)
		return nil
	}))
	s.Engine.GET("/panic", s.H(func(*gin.Context) error {
		panic("secret internals: password=hunter2")
	}))
	s.Engine.GET("/fail", s.H(func(*gin.Context) error {
		return fmt.Errorf("query members: %w", errors.New("pq: password authentication failed for hunter2"))
	}))
	s.Engine.GET("/slow", s.H(func(*gin.Context) error {
		return fmt.Errorf("load: %w", context.DeadlineExceeded)
	}))
	s.Engine.GET("/conflict", s.H(func(*gin.Context) error {
		return fmt.Errorf("issue: %w", derrors.New(derrors.Conflict, "SOLD_OUT", "all gone"))
	}))
	return s, logs
}

func do(t *testing.T, h http.Handler, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// problemOf decodes a problem+json answer, failing the test when the
// response is not one.
func problemOf(t *testing.T, w *httptest.ResponseRecorder) httpapi.Problem {
	t.Helper()
	require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"), "body: %s", w.Body)
	var p httpapi.Problem
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p), "body: %s", w.Body)
	return p
}

func TestBindStrictJSON(t *testing.T) {
	s, _ := newServer(t)
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantCode   string
		wantField  string // named in errors and in detail
		wantDetail string // substring of detail
	}{
		{name: "valid", body: `{"name":"a","count":2,"tags":["x"],"lat":37.5,"lng":127}`, wantStatus: 200},
		{name: "valid with surrounding whitespace", body: "\n {\"name\":\"a\"} \n", wantStatus: 200},
		{name: "unknown field", body: `{"name":"a","nmae":"b"}`, wantStatus: 400, wantCode: "VALIDATION_FAILED", wantField: "nmae", wantDetail: "unknown field"},
		{name: "wrong type string for int", body: `{"count":"two"}`, wantStatus: 400, wantCode: "VALIDATION_FAILED", wantField: "count", wantDetail: "must be an integer"},
		{name: "wrong type number for string", body: `{"name":5}`, wantStatus: 400, wantCode: "VALIDATION_FAILED", wantField: "name", wantDetail: "must be a string"},
		{name: "wrong type object for array", body: `{"tags":{}}`, wantStatus: 400, wantCode: "VALIDATION_FAILED", wantField: "tags", wantDetail: "must be an array"},
		{name: "fraction for int", body: `{"count":1.5}`, wantStatus: 400, wantCode: "VALIDATION_FAILED", wantField: "count"},
		{name: "coordinate as text", body: `{"lat":"37.5","lng":127}`, wantStatus: 400, wantCode: "INVALID_LOCATION", wantDetail: "lat"},
		{name: "array instead of object", body: `[1,2]`, wantStatus: 400, wantCode: "VALIDATION_FAILED", wantField: "body"},
		{name: "trailing object", body: `{"name":"a"}{"name":"b"}`, wantStatus: 400, wantCode: "MALFORMED_JSON", wantDetail: "after the JSON object"},
		{name: "trailing garbage", body: `{"name":"a"} x`, wantStatus: 400, wantCode: "MALFORMED_JSON"},
		{name: "trailing brace", body: `{"name":"a"}}`, wantStatus: 400, wantCode: "MALFORMED_JSON"},
		{name: "empty body", body: "", wantStatus: 400, wantCode: "MALFORMED_JSON", wantDetail: "empty"},
		{name: "whitespace body", body: "  \n\t", wantStatus: 400, wantCode: "MALFORMED_JSON", wantDetail: "empty"},
		{name: "truncated", body: `{"name":"a"`, wantStatus: 400, wantCode: "MALFORMED_JSON", wantDetail: "ends early"},
		{name: "syntax error", body: `{"name":'a'}`, wantStatus: 400, wantCode: "MALFORMED_JSON", wantDetail: "invalid JSON"},
		{name: "just over 64 KiB", body: `{"name":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`, wantStatus: 413, wantCode: "BODY_TOO_LARGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			s.Engine.ServeHTTP(w, req)
			require.Equal(t, tt.wantStatus, w.Code, "body: %s", w.Body)
			if tt.wantStatus == 200 {
				return
			}
			p := problemOf(t, w)
			assert.Equal(t, tt.wantCode, p.Code)
			assert.Equal(t, tt.wantStatus, p.Status)
			if tt.wantField != "" {
				assert.Contains(t, p.Errors, tt.wantField, "errors should name the field")
				assert.Contains(t, p.Detail, tt.wantField, "detail should name the field")
			}
			assert.Contains(t, p.Detail, tt.wantDetail)
		})
	}
}

func TestBindAtTheLimit(t *testing.T) {
	// Exactly 64 KiB is allowed; the limit is "larger than", not "at".
	s, _ := newServer(t)
	pad := httpapi.MaxBodyBytes - len(`{"name":""}`)
	body := `{"name":"` + strings.Repeat("a", pad) + `"}`
	require.Len(t, body, httpapi.MaxBodyBytes)
	w := do(t, s.Engine, http.MethodPost, "/echo", body)
	assert.Equal(t, http.StatusOK, w.Code)
}

func TestProblemShape(t *testing.T) {
	s, _ := newServer(t)
	w := do(t, s.Engine, http.MethodGet, "/conflict", "", "X-Request-Id", "req-123")
	require.Equal(t, http.StatusConflict, w.Code)

	// The wire shape, field by field, as clients read it.
	var raw map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &raw))
	want := map[string]any{
		"type":       "https://couponpop.dev/problems/SOLD_OUT",
		"title":      "Conflict",
		"status":     float64(409),
		"code":       "SOLD_OUT",
		"detail":     "all gone",
		"instance":   "/conflict",
		"request_id": "req-123",
	}
	assert.Equal(t, want, raw)
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
}

func TestProblemOf(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{"invalid", derrors.Invalidf("name", "is required"), 400, "VALIDATION_FAILED"},
		{"unauthenticated", derrors.ErrUnauthenticated, 401, "UNAUTHENTICATED"},
		{"forbidden", derrors.ErrForbidden, 403, "FORBIDDEN"},
		{"not found wrapped", fmt.Errorf("get: %w", derrors.ErrNotFound), 404, "NOT_FOUND"},
		{"too large", derrors.New(derrors.TooLarge, "BODY_TOO_LARGE", "x"), 413, "BODY_TOO_LARGE"},
		{"unprocessable", derrors.New(derrors.Unprocessable, "NOT_IN_WINDOW", "x"), 422, "NOT_IN_WINDOW"},
		{"rate limited", derrors.New(derrors.RateLimited, "SLOW_DOWN", "x"), 429, "SLOW_DOWN"},
		{"unavailable", derrors.ErrUnavailable, 503, "SERVICE_UNAVAILABLE"},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 503, "SERVICE_UNAVAILABLE"},
		{"plain error", errors.New("boom"), 500, "INTERNAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := httpapi.ProblemOf(tt.err)
			assert.Equal(t, tt.wantStatus, p.Status)
			assert.Equal(t, tt.wantCode, p.Code)
			assert.Equal(t, http.StatusText(tt.wantStatus), p.Title)
			assert.Equal(t, "https://couponpop.dev/problems/"+tt.wantCode, p.Type)
			assert.NotContains(t, p.Detail, "boom", "internals must not reach the client")
		})
	}
}

func TestUnknownRoute(t *testing.T) {
	s, _ := newServer(t)
	w := do(t, s.Engine, http.MethodGet, "/api/v1/nope", "")
	require.Equal(t, http.StatusNotFound, w.Code)
	p := problemOf(t, w)
	assert.Equal(t, "ROUTE_NOT_FOUND", p.Code)
	assert.Equal(t, 404, p.Status)
	assert.NotEmpty(t, p.RequestID, "the platform middleware runs for unknown routes too")
	assert.Equal(t, w.Header().Get("X-Request-Id"), p.RequestID)
}

func TestMethodNotAllowed(t *testing.T) {
	s, _ := newServer(t)
	w := do(t, s.Engine, http.MethodDelete, "/echo", "")
	require.Equal(t, http.StatusMethodNotAllowed, w.Code, "body: %s", w.Body)
	p := problemOf(t, w)
	assert.Equal(t, "METHOD_NOT_ALLOWED", p.Code)
	assert.Equal(t, http.StatusMethodNotAllowed, p.Status, "the body's status must match the response's")
	assert.Equal(t, "POST", w.Header().Get("Allow"))
}

func TestPanicIsInternal(t *testing.T) {
	s, logs := newServer(t)
	w := do(t, s.Engine, http.MethodGet, "/panic", "")
	require.Equal(t, http.StatusInternalServerError, w.Code)
	p := problemOf(t, w)
	assert.Equal(t, "INTERNAL", p.Code)
	assert.NotContains(t, w.Body.String(), "hunter2", "the panic value must stay in the log")
	assert.NotContains(t, w.Body.String(), "secret")
	assert.Contains(t, logs.String(), "hunter2", "the panic must be logged for operators")

	// The server keeps serving after a panic.
	w = do(t, s.Engine, http.MethodPost, "/echo", `{"name":"still here"}`)
	assert.Equal(t, http.StatusOK, w.Code)
}

func TestInternalErrorHidden(t *testing.T) {
	s, logs := newServer(t)
	w := do(t, s.Engine, http.MethodGet, "/fail", "")
	require.Equal(t, http.StatusInternalServerError, w.Code)
	p := problemOf(t, w)
	assert.Equal(t, "INTERNAL", p.Code)
	assert.NotContains(t, w.Body.String(), "hunter2")
	assert.Contains(t, logs.String(), "hunter2", "5xx are logged with the whole chain")
}

func TestTimeoutIsRetryable(t *testing.T) {
	s, _ := newServer(t)
	w := do(t, s.Engine, http.MethodGet, "/slow", "")
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
	assert.Equal(t, "SERVICE_UNAVAILABLE", problemOf(t, w).Code)
}

func TestRequestID(t *testing.T) {
	s, _ := newServer(t)
	generated := regexp.MustCompile(`^[0-9a-f]{16}$`)
	tests := []struct {
		name  string
		sent  string
		check func(t *testing.T, got string)
	}{
		{"echoed", "abc-123", func(t *testing.T, got string) { assert.Equal(t, "abc-123", got) }},
		{"generated when absent", "", func(t *testing.T, got string) { assert.Regexp(t, generated, got) }},
		{"replaced when too long", strings.Repeat("x", 65), func(t *testing.T, got string) { assert.Regexp(t, generated, got) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.sent != "" {
				hdr = []string{"X-Request-Id", tt.sent}
			}
			w := do(t, s.Engine, http.MethodGet, "/conflict", "", hdr...)
			got := w.Header().Get("X-Request-Id")
			tt.check(t, got)
			assert.Equal(t, got, problemOf(t, w).RequestID, "the problem carries the same id")
		})
	}
}

func TestMetrics(t *testing.T) {
	s, _ := newServer(t)
	do(t, s.Engine, http.MethodPost, "/echo", `{"name":"a"}`)
	do(t, s.Engine, http.MethodGet, "/no/such/route/12345", "")

	w := do(t, s.Engine, http.MethodGet, "/metrics", "")
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	for _, want := range []string{
		"# TYPE http_request_duration_seconds histogram",
		"# TYPE http_requests_total counter",
		`http_requests_total{method="POST",route="/echo",status="200"} 1`,
		`http_request_duration_seconds_count{method="POST",route="/echo"} 1`,
		// Unknown paths share one label value, so a scanner cannot blow up
		// the series count.
		`http_requests_total{method="GET",route="unmatched",status="404"} 1`,
	} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, "/no/such/route")
}

func TestHealthz(t *testing.T) {
	s, _ := newServer(t)
	w := do(t, s.Engine, http.MethodGet, "/healthz", "")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"status":"ok"}`, w.Body.String())
}

func TestReadyz(t *testing.T) {
	ok := httpapi.Check{Name: "postgres", Ping: func(context.Context) error { return nil }}
	down := httpapi.Check{Name: "redis", Ping: func(context.Context) error { return errors.New("connection refused") }}
	tests := []struct {
		name       string
		checks     []httpapi.Check
		wantStatus int
		wantBody   string
	}{
		{"all up", []httpapi.Check{ok}, 200, `{"status":"ok","checks":{"postgres":"ok"}}`},
		{"one down", []httpapi.Check{ok, down}, 503,
			`{"status":"unavailable","checks":{"postgres":"ok","redis":"down: connection refused"}}`},
		{"no checks", nil, 200, `{"status":"ok","checks":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, tt.checks...)
			w := do(t, s.Engine, http.MethodGet, "/readyz", "")
			assert.Equal(t, tt.wantStatus, w.Code)
			assert.JSONEq(t, tt.wantBody, w.Body.String())
		})
	}
}

func TestParamIDAndQueryInt(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := httpapi.New(slog.New(slog.NewTextHandler(io.Discard, nil)), reg, reg, nil)
	s.Engine.GET("/things/:id", s.H(func(c *gin.Context) error {
		id, err := httpapi.ParamID(c, "id")
		if err != nil {
			return err
		}
		n, err := httpapi.QueryInt(c, "limit", 20, 1, 100)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"id": id, "limit": n})
		return nil
	}))
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
		wantCode   string
	}{
		{"/things/7", 200, `{"id":7,"limit":20}`, ""},
		{"/things/7?limit=100", 200, `{"id":7,"limit":100}`, ""},
		{"/things/0", 404, "", "NOT_FOUND"},
		{"/things/-3", 404, "", "NOT_FOUND"},
		{"/things/abc", 404, "", "NOT_FOUND"},
		{"/things/99999999999999999999", 404, "", "NOT_FOUND"},
		{"/things/7?limit=0", 400, "", "VALIDATION_FAILED"},
		{"/things/7?limit=101", 400, "", "VALIDATION_FAILED"},
		{"/things/7?limit=ten", 400, "", "VALIDATION_FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := do(t, s.Engine, http.MethodGet, tt.path, "")
			require.Equal(t, tt.wantStatus, w.Code, "body: %s", w.Body)
			if tt.wantCode == "" {
				assert.JSONEq(t, tt.wantBody, w.Body.String())
				return
			}
			assert.Equal(t, tt.wantCode, problemOf(t, w).Code)
		})
	}
}

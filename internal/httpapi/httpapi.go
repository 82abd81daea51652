// Package httpapi is the thin HTTP layer every domain package mounts its
// routes on: the gin engine, request ids, JSON logs, Prometheus metrics,
// health checks, strict JSON binding and problem+json errors.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/couponpop/couponpop/internal/derrors"
)

// HandlerFunc is a gin handler that returns its error instead of writing it.
type HandlerFunc func(*gin.Context) error

// Check is a readiness probe of one dependency.
type Check struct {
	Name string
	Ping func(context.Context) error
}

// Server holds the engine and what its middleware needs.
type Server struct {
	Engine *gin.Engine
	log    *slog.Logger
}

// New builds the engine with the platform middleware and the ops routes
// (/healthz, /readyz, /metrics). reg receives the HTTP metrics; gatherer
// serves /metrics.
func New(log *slog.Logger, reg prometheus.Registerer, gatherer prometheus.Gatherer, checks []Check) *Server {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	s := &Server{Engine: e, log: log}

	m := newMetrics(reg)
	e.Use(requestID(), m.observe(), s.accessLog(), s.recover())
	e.NoRoute(func(c *gin.Context) {
		WriteError(c, log, derrors.New(derrors.NotFound, "ROUTE_NOT_FOUND", "no such route: "+c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		// No domain error is a 405, so derrors has no kind for it: the
		// router is its only source. Build the problem here, status and all
		// (setting the status after WriteError has written is too late).
		p := ProblemOf(derrors.New(derrors.Invalid, "METHOD_NOT_ALLOWED", c.Request.Method+" is not allowed here"))
		p.Status, p.Title = http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed)
		p.Instance, p.RequestID = c.Request.URL.Path, RequestID(c)
		c.Header("Content-Type", "application/problem+json")
		c.AbortWithStatusJSON(p.Status, p)
	})

	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.H(func(c *gin.Context) error { return ready(c, checks) }))
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
	return s
}

// H adapts a HandlerFunc: a returned error becomes problem+json.
func (s *Server) H(fn HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := fn(c); err != nil {
			WriteError(c, s.log, err)
		}
	}
}

// Log is the server's logger, for middleware defined elsewhere.
func (s *Server) Log() *slog.Logger { return s.log }

func ready(c *gin.Context, checks []Check) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	res := make(map[string]string, len(checks))
	errs := make([]error, len(checks))
	var g errgroup.Group
	for i, ch := range checks {
		g.Go(func() error {
			errs[i] = ch.Ping(ctx)
			return nil
		})
	}
	_ = g.Wait()
	failed := false
	for i, ch := range checks {
		if errs[i] != nil {
			failed = true
			res[ch.Name] = "down: " + errs[i].Error()
		} else {
			res[ch.Name] = "ok"
		}
	}
	if failed {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": res})
		return nil
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "checks": res})
	return nil
}

const requestIDKey = "request_id"

// RequestID is the request's id (from X-Request-Id when the caller sent a
// sane one, else generated).
func RequestID(c *gin.Context) string { return c.GetString(requestIDKey) }

func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(requestIDKey, id)
		c.Header("X-Request-Id", id)
		c.Next()
	}
}

// accessLog logs every request at debug and slow or failed ones at info.
// At ten thousand requests a second, an info line per request would cost
// more than the request.
func (s *Server) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		d := time.Since(start)
		level := slog.LevelDebug
		if d > time.Second || c.Writer.Status() >= 500 {
			level = slog.LevelInfo
		}
		if !s.log.Enabled(c.Request.Context(), level) {
			return
		}
		s.log.LogAttrs(c.Request.Context(), level, "http",
			slog.String("method", c.Request.Method), slog.String("route", c.FullPath()),
			slog.String("path", c.Request.URL.Path), slog.Int("status", c.Writer.Status()),
			slog.Duration("took", d), slog.String("request_id", RequestID(c)))
	}
}

func (s *Server) recover() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(r)
				}
				s.log.ErrorContext(c.Request.Context(), "panic", "panic", r, "route", c.FullPath(), "request_id", RequestID(c))
				WriteError(c, s.log, derrors.New(derrors.Internal, "INTERNAL", "something went wrong on our side"))
			}
		}()
		c.Next()
	}
}

type metrics struct {
	duration *prometheus.HistogramVec
	requests *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(m.duration, m.requests)
	return m
}

func (m *metrics) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched" // bounded label set: never the raw path
		}
		m.duration.WithLabelValues(route, c.Request.Method).Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
	}
}

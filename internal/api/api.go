// Package api assembles the HTTP API: the platform engine from httpapi and
// every domain package's routes. cmd/api builds the dependencies and calls
// New; tests call New with the same dependencies on real services.
package api

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/member"
	"github.com/couponpop/couponpop/internal/store"
	"github.com/couponpop/couponpop/openapi"
)

// Deps are the services the API serves.
type Deps struct {
	Log      *slog.Logger
	Registry *prometheus.Registry
	Checks   []httpapi.Check
	Tokens   *auth.Tokens
	Members  *member.Service
	Stores   *store.Service
	Issue    *issue.Service
}

// New returns the API server with every route mounted.
func New(d Deps) *httpapi.Server {
	s := httpapi.New(d.Log, d.Registry, d.Registry, d.Checks)
	s.Engine.GET("/openapi.yaml", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/yaml", openapi.Spec)
	})
	v1 := s.Engine.Group("/api/v1", d.Tokens.Authenticate(func(c *gin.Context, err error) {
		httpapi.WriteError(c, d.Log, err)
	}))
	member.Routes(v1, s, d.Members)
	store.Routes(v1, s, d.Stores)
	issue.Routes(v1, s, d.Issue)
	return s
}

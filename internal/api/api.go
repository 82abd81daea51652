// Package api assembles the HTTP API: the platform engine from httpapi and
// every domain package's routes. cmd/api builds the dependencies and calls
// New; tests call New with the same dependencies on real services.
package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/dashboard"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/member"
	"github.com/couponpop/couponpop/internal/push"
	"github.com/couponpop/couponpop/internal/search"
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
	Geo      *geo.Service
	Push     *push.Service
	Search   *search.Service
	Stats    *dashboard.Service
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
	geo.Routes(v1, s, d.Geo)
	push.Routes(v1, s, d.Push)
	search.Routes(v1, s, d.Search)
	dashboard.Routes(v1, s, d.Stats)
	dashboard.Page(s.Engine)
	return s
}

// GeoStores adapts the geo index to store.Listener: package store imports
// geo (for Point), so geo cannot name store.Store and listens by id.
type GeoStores struct{ Geo *geo.Service }

// StoreChanged re-indexes a created, edited or moved store.
func (g GeoStores) StoreChanged(ctx context.Context, s store.Store) error {
	return g.Geo.StoreChanged(ctx, s.ID)
}

// StoreDeleted takes a store out of the index.
func (g GeoStores) StoreDeleted(ctx context.Context, id int64) error {
	return g.Geo.StoreDeleted(ctx, id)
}

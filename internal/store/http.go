package store

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/httpapi"
)

// Routes mounts the store routes on api (/api/v1). The viewport listing
// (GET /stores?bbox=) belongs to the geo package.
func Routes(api *gin.RouterGroup, s *httpapi.Server, svc *Service) {
	api.POST("/stores", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c, auth.Owner, auth.Admin)
		if err != nil {
			return err
		}
		var in Input
		if err := httpapi.Bind(c, &in); err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusCreated)(svc.Create(c.Request.Context(), p, in))
	}))
	api.GET("/stores/:id", s.H(func(c *gin.Context) error {
		id, err := httpapi.ParamID(c, "id")
		if err != nil {
			return ErrNotFound
		}
		return httpapi.Reply(c, http.StatusOK)(svc.Get(c.Request.Context(), id))
	}))
	api.PATCH("/stores/:id", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		id, err := httpapi.ParamID(c, "id")
		if err != nil {
			return ErrNotFound
		}
		var in Input
		if err := httpapi.Bind(c, &in); err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusOK)(svc.Update(c.Request.Context(), p, id, in))
	}))
	api.DELETE("/stores/:id", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		id, err := httpapi.ParamID(c, "id")
		if err != nil {
			return ErrNotFound
		}
		if err := svc.Delete(c.Request.Context(), p, id); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}))
	api.GET("/members/me/stores", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c, auth.Owner, auth.Admin)
		if err != nil {
			return err
		}
		st, err := svc.ListOwned(c.Request.Context(), p.MemberID)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"items": st})
		return nil
	}))
}

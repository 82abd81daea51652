package member

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/httpapi"
)

// Routes mounts the auth and profile routes on api (/api/v1).
func Routes(api *gin.RouterGroup, s *httpapi.Server, svc *Service) {
	api.POST("/auth/signup", s.H(func(c *gin.Context) error {
		var in SignupInput
		if err := httpapi.Bind(c, &in); err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusCreated)(svc.Signup(c.Request.Context(), in))
	}))
	api.POST("/auth/login", s.H(func(c *gin.Context) error {
		var in struct {
			Email    string `json:"email"`
			Password string `json:"password"`
		}
		if err := httpapi.Bind(c, &in); err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusOK)(svc.Login(c.Request.Context(), in.Email, in.Password))
	}))
	api.POST("/auth/refresh", s.H(func(c *gin.Context) error {
		var in struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := httpapi.Bind(c, &in); err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusOK)(svc.Refresh(c.Request.Context(), in.RefreshToken))
	}))
	api.POST("/auth/logout", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		var in struct {
			RefreshToken string `json:"refresh_token"`
		}
		if c.Request.ContentLength != 0 {
			if err := httpapi.Bind(c, &in); err != nil {
				return err
			}
		}
		if err := svc.Logout(c.Request.Context(), p, in.RefreshToken); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}))
	api.GET("/members/me", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		if p.Role == auth.System {
			c.JSON(http.StatusOK, gin.H{"role": auth.System})
			return nil
		}
		m, err := svc.Get(c.Request.Context(), p.MemberID)
		if errors.Is(err, derrors.ErrNotFound) {
			return errMemberGone
		}
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, m)
		return nil
	}))
}

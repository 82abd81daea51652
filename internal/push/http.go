package push

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/httpapi"
)

// Routes mounts devices, follows, preferences and history on api (/api/v1).
func Routes(api *gin.RouterGroup, s *httpapi.Server, svc *Service) {
	api.POST("/devices", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		var in DeviceInput
		if err := httpapi.Bind(c, &in); err != nil {
			return err
		}
		d, created, err := svc.RegisterDevice(c.Request.Context(), p.MemberID, in)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		c.JSON(status, d)
		return nil
	}))
	api.DELETE("/devices", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		// The token may come as ?token= or as a {"token": ...} body:
		// clients differ on whether DELETE carries a body.
		token := c.Query("token")
		if token == "" {
			var in struct {
				Token    string `json:"token"`
				DeviceID string `json:"device_id"`
			}
			if err := httpapi.Bind(c, &in); err != nil {
				return err
			}
			token = in.Token
		}
		if token == "" {
			return errTokenRequired
		}
		if err := svc.RemoveDevice(c.Request.Context(), p.MemberID, token); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}))
	api.PUT("/stores/:id/subscription", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		id, err := httpapi.ParamID(c, "id")
		if err != nil {
			return ErrStoreMissing
		}
		if err := svc.Subscribe(c.Request.Context(), p.MemberID, id); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}))
	api.DELETE("/stores/:id/subscription", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		id, err := httpapi.ParamID(c, "id")
		if err != nil {
			return ErrStoreMissing
		}
		if err := svc.Unsubscribe(c.Request.Context(), p.MemberID, id); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}))
	api.GET("/members/me/notifications", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		limit, err := httpapi.QueryInt(c, "limit", 20, 1, 100)
		if err != nil {
			return err
		}
		items, next, err := svc.Notifications(c.Request.Context(), p.MemberID, c.Query("cursor"), limit)
		if err != nil {
			return err
		}
		body := gin.H{"items": items}
		if next != "" {
			body["next_cursor"] = next
		}
		c.JSON(http.StatusOK, body)
		return nil
	}))
	api.GET("/members/me/notification-preferences", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusOK)(svc.Preferences(c.Request.Context(), p.MemberID))
	}))
	api.PUT("/members/me/notification-preferences", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		var in PreferencesInput
		if err := httpapi.Bind(c, &in); err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusOK)(svc.SetPreferences(c.Request.Context(), p.MemberID, in))
	}))
}

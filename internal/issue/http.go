package issue

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/httpapi"
)

// Routes mounts the event, issue and coupon routes on api (/api/v1).
func Routes(api *gin.RouterGroup, s *httpapi.Server, svc *Service) {
	api.POST("/stores/:id/coupon-events", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c, auth.Owner, auth.Admin)
		if err != nil {
			return err
		}
		storeID, err := httpapi.ParamID(c, "id")
		if err != nil {
			return err
		}
		var in EventInput
		if err := httpapi.Bind(c, &in); err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusCreated)(svc.CreateEvent(c.Request.Context(), p, storeID, in))
	}))
	api.GET("/stores/:id/coupon-events", s.H(func(c *gin.Context) error {
		storeID, err := httpapi.ParamID(c, "id")
		if err != nil {
			return err
		}
		evs, err := svc.ListStoreEvents(c.Request.Context(), storeID)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, Page[Event]{Items: evs})
		return nil
	}))
	api.POST("/stores/:id/coupon-events/suspend", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c, auth.Owner, auth.Admin)
		if err != nil {
			return err
		}
		storeID, err := httpapi.ParamID(c, "id")
		if err != nil {
			return err
		}
		evs, err := svc.SuspendStore(c.Request.Context(), p, storeID)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, Page[Event]{Items: evs})
		return nil
	}))
	api.GET("/coupon-events/:id", s.H(func(c *gin.Context) error {
		id, err := httpapi.ParamID(c, "id")
		if err != nil {
			return ErrEventNotFound
		}
		return httpapi.Reply(c, http.StatusOK)(svc.GetEvent(c.Request.Context(), id))
	}))
	api.PATCH("/coupon-events/:id", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c, auth.Owner, auth.Admin)
		if err != nil {
			return err
		}
		id, err := httpapi.ParamID(c, "id")
		if err != nil {
			return ErrEventNotFound
		}
		var in EventInput
		if err := httpapi.Bind(c, &in); err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusOK)(svc.PatchEvent(c.Request.Context(), p, id, in))
	}))
	for path, to := range map[string]string{"suspend": Suspended, "resume": Active} {
		api.POST("/coupon-events/:id/"+path, s.H(func(c *gin.Context) error {
			p, err := auth.Require(c, auth.Owner, auth.Admin)
			if err != nil {
				return err
			}
			id, err := httpapi.ParamID(c, "id")
			if err != nil {
				return ErrEventNotFound
			}
			return httpapi.Reply(c, http.StatusOK)(svc.SetStatus(c.Request.Context(), p, id, to))
		}))
	}
	api.POST("/coupon-events/:id/issue", s.H(func(c *gin.Context) error { return issueHandler(c, s, svc) }))

	api.GET("/members/me/coupons", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		limit, err := httpapi.QueryInt(c, "limit", 20, 1, 100)
		if err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusOK)(svc.ListMine(c.Request.Context(), p.MemberID, c.Query("status"), c.Query("cursor"), limit))
	}))
	api.GET("/coupons/:id/qr", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		id, err := httpapi.ParamID(c, "id")
		if err != nil {
			return ErrCouponNotFound
		}
		return httpapi.Reply(c, http.StatusOK)(svc.NewQR(c.Request.Context(), p.MemberID, id))
	}))
	api.POST("/coupons/redeem", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		var in struct {
			Code    string `json:"code"`
			QRToken string `json:"qr_token"`
		}
		if err := httpapi.Bind(c, &in); err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusOK)(svc.Redeem(c.Request.Context(), p, in.Code, in.QRToken))
	}))
	api.POST("/coupons/:id/cancel-use", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		id, err := httpapi.ParamID(c, "id")
		if err != nil {
			return ErrCouponNotFound
		}
		return httpapi.Reply(c, http.StatusOK)(svc.CancelUse(c.Request.Context(), p, id))
	}))
}

// issueHandler is POST /coupon-events/:id/issue with its Idempotency-Key
// handling: the first answer (2xx or 4xx) is stored and replayed; a 5xx is
// forgotten so that a retry is processed.
func issueHandler(c *gin.Context, s *httpapi.Server, svc *Service) error {
	p, err := auth.Require(c, auth.Customer)
	if err != nil {
		return err
	}
	id, err := httpapi.ParamID(c, "id")
	if err != nil {
		return ErrEventNotFound
	}
	var in struct {
		Lat *float64 `json:"lat"`
		Lng *float64 `json:"lng"`
	}
	if err := httpapi.Bind(c, &in); err != nil {
		return err
	}
	at, err := geo.PointPtr(in.Lat, in.Lng)
	if err != nil {
		return err
	}
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		return httpapi.Reply(c, http.StatusCreated)(svc.Issue(c.Request.Context(), p, id, at))
	}
	if err := ValidIdemKey(key); err != nil {
		return err
	}
	ctx := c.Request.Context()
	replay, err := svc.BeginIdem(ctx, p.MemberID, id, key)
	if err != nil {
		return err
	}
	if replay != nil {
		c.Header("Idempotent-Replayed", "true")
		ct := "application/json"
		if replay.Status >= 400 {
			ct = "application/problem+json"
		}
		c.Data(replay.Status, ct, replay.Body)
		return nil
	}
	cp, ierr := svc.Issue(ctx, p, id, at)
	status, body := http.StatusCreated, []byte(nil)
	if ierr == nil {
		body, _ = json.Marshal(cp)
	} else {
		prob := httpapi.ProblemOf(ierr)
		prob.Instance = c.Request.URL.Path
		status = prob.Status
		body, _ = json.Marshal(prob)
	}
	// Record with a fresh context: the answer must be stored even if the
	// client hung up, or its retry would find the key stuck in flight.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if status >= 500 {
		_ = svc.AbortIdem(rctx, p.MemberID, key)
		return ierr
	}
	if err := svc.FinishIdem(rctx, p.MemberID, id, key, status, body); err != nil {
		s.Log().WarnContext(ctx, "store idempotent answer", "err", err)
	}
	// The first answer is byte for byte the one replays will give.
	ct := "application/json"
	if ierr != nil {
		ct = "application/problem+json"
	}
	c.Data(status, ct, body)
	return nil
}

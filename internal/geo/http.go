package geo

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/httpapi"
)

// Routes mounts nearby, the map viewport and location reports on api
// (/api/v1).
func Routes(api *gin.RouterGroup, s *httpapi.Server, svc *Service) {
	api.GET("/coupons/nearby", s.H(func(c *gin.Context) error {
		q, err := ParseQuery(c.Query("lat"), c.Query("lng"), c.Query("radius_m"), c.Query("category"), c.Query("limit"))
		if err != nil {
			return err
		}
		n, err := svc.Nearby(c.Request.Context(), q)
		if err != nil {
			return err
		}
		bp := svc.buf()
		*bp = n.AppendJSON((*bp)[:0])
		c.Data(http.StatusOK, "application/json; charset=utf-8", *bp)
		svc.bufs.Put(bp)
		return nil
	}))

	api.GET("/stores", s.H(func(c *gin.Context) error {
		raw, ok := c.GetQuery("bbox")
		if !ok {
			return ErrInvalidBBox.WithDetail("bbox=minLng,minLat,maxLng,maxLat is required")
		}
		box, err := ParseBBox(raw)
		if err != nil {
			return err
		}
		zoom, err := httpapi.QueryInt(c, "zoom", box.DefaultZoom(), 0, 22)
		if err != nil {
			return err
		}
		cat := c.Query("category")
		if cat != "" && !slices.Contains(Categories, cat) {
			return derrors.Invalidf("category", "must be one of %s", strings.Join(Categories, ", "))
		}
		v, err := svc.Viewport(c.Request.Context(), ViewportQuery{Box: box, Zoom: zoom, Category: cat})
		if err != nil {
			return err
		}
		c.Header("Vary", "Accept")
		if strings.Contains(c.GetHeader("Accept"), GeoJSONType) {
			fc, err := v.GeoJSON(box)
			if err != nil {
				return err
			}
			b, err := json.Marshal(fc)
			if err != nil {
				return err
			}
			c.Data(http.StatusOK, GeoJSONType, b)
			return nil
		}
		c.JSON(http.StatusOK, v)
		return nil
	}))

	api.POST("/members/me/location", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c)
		if err != nil {
			return err
		}
		if p.MemberID <= 0 {
			return derrors.ErrForbidden.WithDetail("only members report a location")
		}
		var in struct {
			Lat *float64 `json:"lat"`
			Lng *float64 `json:"lng"`
		}
		if err := httpapi.Bind(c, &in); err != nil {
			return err
		}
		at, err := PointPtr(in.Lat, in.Lng)
		if err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusOK)(svc.ReportLocation(c.Request.Context(), p.MemberID, at))
	}))
}

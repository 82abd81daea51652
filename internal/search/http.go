package search

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/httpapi"
)

// MaxRadiusM bounds radius_m: Seoul is about 40 km across.
const MaxRadiusM = 50_000

// Routes mounts GET /search and GET /search/suggest on api (/api/v1).
// Both are open to anyone, signed in or not.
func Routes(api *gin.RouterGroup, s *httpapi.Server, svc *Service) {
	api.GET("/search", s.H(func(c *gin.Context) error {
		r, err := parseRequest(c)
		if err != nil {
			return err
		}
		return httpapi.Reply(c, http.StatusOK)(svc.Search(c.Request.Context(), r))
	}))
	api.GET("/search/suggest", s.H(func(c *gin.Context) error {
		q, err := queryText(c, 50)
		if err != nil {
			return err
		}
		limit, err := httpapi.QueryInt(c, "limit", 10, 1, 20)
		if err != nil {
			return err
		}
		items, err := svc.Suggest(c.Request.Context(), q, limit)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"items": items})
		return nil
	}))
}

// parseRequest validates the query string of GET /search once, at the edge.
func parseRequest(c *gin.Context) (Request, error) {
	var r Request
	var err error
	if r.Text, err = queryText(c, 200); err != nil {
		return r, err
	}
	if r.Mode, err = ParseMode(c.Query("mode")); err != nil {
		return r, err
	}
	if r.Limit, err = httpapi.QueryInt(c, "limit", 20, 1, 50); err != nil {
		return r, err
	}
	// A position is optional, but half of one is a client bug worth a 400
	// (INVALID_LOCATION, like every other coordinate error), not a silent
	// search without distances.
	lat, lng := c.Query("lat"), c.Query("lng")
	if lat != "" || lng != "" {
		p, err := geo.ParsePoint(lat, lng)
		if err != nil {
			return r, err
		}
		r.Near = &p
	}
	if rs := c.Query("radius_m"); rs != "" {
		v, err := strconv.ParseFloat(rs, 64)
		if err != nil || math.IsNaN(v) || v <= 0 || v > MaxRadiusM {
			return r, derrors.Invalidf("radius_m", "must be a number of metres in (0, %d]", MaxRadiusM)
		}
		if r.Near == nil {
			// A radius around nothing: refuse rather than ignore it, or
			// the client would believe its results are local.
			return r, derrors.Invalidf("radius_m", "needs lat and lng")
		}
		r.RadiusM = v
	}
	return r, nil
}

// queryText is the trimmed q parameter. Limits are in characters, not
// bytes: a Korean syllable is three bytes of UTF-8.
func queryText(c *gin.Context, maxRunes int) (string, error) {
	q := strings.TrimSpace(c.Query("q"))
	if q == "" {
		return "", derrors.Invalidf("q", "is required")
	}
	if !utf8.ValidString(q) || utf8.RuneCountInString(q) > maxRunes {
		return "", derrors.Invalidf("q", "must be valid text of at most %d characters", maxRunes)
	}
	return q, nil
}

package dashboard

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/store"
)

// Routes mounts GET /stores/:id/dashboard on api (/api/v1). The answer is
// JSON, or the series as CSV with `Accept: text/csv` or `format=csv`.
func Routes(api *gin.RouterGroup, s *httpapi.Server, svc *Service) {
	api.GET("/stores/:id/dashboard", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c, auth.Owner, auth.Admin)
		if err != nil {
			return err
		}
		id, err := httpapi.ParamID(c, "id")
		if err != nil {
			return store.ErrNotFound
		}
		asCSV, err := wantsCSV(c)
		if err != nil {
			return err
		}
		d, err := svc.Get(c.Request.Context(), p, id, Query{
			From: c.Query("from"), To: c.Query("to"), Bucket: c.Query("bucket"), TZ: c.Query("tz"),
		})
		if err != nil {
			return err
		}
		// Owners' numbers: private, and stale within the minute.
		c.Header("Cache-Control", "private, no-store")
		c.Header("Vary", "Accept, Authorization")
		if asCSV {
			return writeCSV(c, d)
		}
		c.JSON(http.StatusOK, d)
		return nil
	}))
}

// wantsCSV decides the representation: format=csv|json wins, else the
// first of text/csv or application/json in Accept.
func wantsCSV(c *gin.Context) (bool, error) {
	switch f := strings.ToLower(c.Query("format")); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, derrors.Invalidf("format", "must be csv or json")
	}
	for _, part := range strings.Split(c.GetHeader("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv":
			return true, nil
		case "application/json", "application/*", "*/*":
			return false, nil
		}
	}
	return false, nil
}

// csvHeader is the CSV export's first line.
var csvHeader = []string{"bucket_start", "issued", "used", "canceled", "expired"}

// writeCSV writes the series, one bucket a line, with bucket_start in
// RFC 3339 in the dashboard's zone so a spreadsheet shows local times.
func writeCSV(c *gin.Context, d Dashboard) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(csvHeader)
	for _, p := range d.Series {
		_ = w.Write([]string{
			p.BucketStart.Format(time.RFC3339),
			strconv.FormatInt(p.Issued, 10), strconv.FormatInt(p.Used, 10),
			strconv.FormatInt(p.Canceled, 10), strconv.FormatInt(p.Expired, 10),
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	name := fmt.Sprintf("store-%d-%s-%s-%s.csv", d.StoreID, d.Bucket,
		d.From.Format("20060102T1504"), d.To.Format("20060102T1504"))
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
	return nil
}

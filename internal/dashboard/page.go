package dashboard

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/gin-gonic/gin"
)

// web holds the merchant page: one HTML file, one script, one stylesheet.
// Embedded so the API binary serves it offline, with nothing from a CDN.
//
//go:embed web
var web embed.FS

// pageCSP allows only this origin: the page loads its own script and style
// and talks to its own API; the chart and heatmap are inline SVG.
const pageCSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Page serves the merchant dashboard page at /merchant and its assets under
// /merchant/assets/ on e.
func Page(e *gin.Engine) {
	assets, _ := fs.Sub(web, "web") // cannot fail: "web" is embedded above
	index, _ := fs.ReadFile(assets, "index.html")
	serveIndex := func(c *gin.Context) {
		c.Header("Content-Security-Policy", pageCSP)
		c.Header("X-Content-Type-Options", "nosniff")
		c.Header("Referrer-Policy", "no-referrer")
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/html; charset=utf-8", index)
	}
	e.GET("/merchant", serveIndex)
	e.GET("/merchant/", serveIndex)
	files := http.StripPrefix("/merchant/assets/", http.FileServer(http.FS(assets)))
	e.GET("/merchant/assets/*file", func(c *gin.Context) {
		if c.Param("file") == "/index.html" || c.Param("file") == "/" {
			c.Redirect(http.StatusMovedPermanently, "/merchant")
			return
		}
		c.Header("X-Content-Type-Options", "nosniff")
		c.Header("Cache-Control", "no-cache")
		files.ServeHTTP(c.Writer, c.Request)
	})
}

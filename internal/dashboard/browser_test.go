package dashboard_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/dashboard"
)

// chromium finds the browser scripts/chromium.sh installs (or CHROME_PATH).
// A missing browser fails the test: `make test` installs it first.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: run `scripts/chromium.sh ensure` (make test does) or set CHROME_PATH")
	return ""
}

// TestMerchantPageInChromium signs in on the merchant page in a real
// headless Chromium and checks what the owner would see: a drawn chart, the
// totals the API reports, and the heatmap's hottest cell on the Tuesday
// noon hour where the seeded uses are. It leaves a screenshot in the
// test's temp dir (and in DASHBOARD_SCREENSHOT_DIR when set).
func TestMerchantPageInChromium(t *testing.T) {
	e := newEnv(t)
	p, token, email := e.owner(t)
	st := e.store(t, p, "Asia/Seoul")
	seoul := mustLoc(t, "Asia/Seoul")

	// A Tuesday 4 to 10 days ago in Seoul: inside the default 30-day window.
	now := time.Now().In(seoul)
	tue := time.Date(now.Year(), now.Month(), now.Day()-4, 0, 0, 0, 0, seoul)
	for tue.Weekday() != time.Tuesday {
		tue = tue.AddDate(0, 0, -1)
	}
	ev := insertEvent(t, st.ID, eventSpec{Title: "Lunch Latte", Total: 300, Issued: 40, Used: 24,
		Starts: tue.AddDate(0, 0, -7), Ends: now.Add(7 * 24 * time.Hour)})
	_ = insertEvent(t, st.ID, eventSpec{Title: "Weekend Scone", Total: 100, Issued: 0, Used: 0,
		Starts: tue.AddDate(0, 0, -7), Ends: now.Add(7 * 24 * time.Hour)})
	people := customers(t, 40)
	var cs []coupon
	use := func(i int, issued, used time.Time) {
		cs = append(cs, coupon{Event: ev, Store: st.ID, Member: people[i], Seq: 1, Status: "USED",
			Issued: issued, Used: &used, Expires: issued.Add(72 * time.Hour)})
	}
	// 12 uses on Tuesday 12:00-13:00, then at most 3 uses in any other hour.
	for i := range 12 {
		use(i, tue.Add(9*time.Hour+time.Duration(i)*time.Minute), tue.Add(12*time.Hour+time.Duration(i*4)*time.Minute))
	}
	for i := range 12 {
		day := tue.AddDate(0, 0, 1+i%3) // Wednesday to Friday
		use(12+i, day.Add(8*time.Hour), day.Add(time.Duration(15+i/3)*time.Hour+20*time.Minute))
	}
	for i := range 16 { // issued, not used yet
		cs = append(cs, coupon{Event: ev, Store: st.ID, Member: people[24+i], Seq: 1, Status: "ISSUED",
			Issued: tue.Add(10 * time.Hour), Expires: now.Add(48 * time.Hour)})
	}
	insertCoupons(t, cs)

	// What the API says, for the page's default window.
	var api dashboard.Dashboard
	res := e.get(t, "/api/v1/stores/"+itoa(st.ID)+"/dashboard?bucket=day", token, nil, &api)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, int64(40), api.Totals.Issued)
	require.Equal(t, int64(24), api.Totals.Used)

	dir := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(1280, 1700),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first Run starts the browser and must not carry a timeout;
	// later steps get one each.
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(e.srv.URL+"/merchant")))
	ctx, cancel := context.WithTimeout(bctx, 45*time.Second)
	defer cancel()

	// Sign in like a person: type, click, wait for the numbers.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), "s3cret-pass"),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"]`)),
	))

	// Totals on screen equal the API's.
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries(
		[...document.querySelectorAll('#totals .value')].map(e => [e.id, e.textContent + '|' + e.dataset.value]))`))
	require.NoError(t, err)
	num := func(v int64) string { return strconv.FormatInt(v, 10) }
	for id, want := range map[string]int64{
		"total-issued": api.Totals.Issued, "total-used": api.Totals.Used, "total-remaining": api.Totals.Remaining,
		"total-unique": api.Totals.UniqueMembers, "total-repeat": api.Totals.RepeatMembers,
	} {
		text, value, _ := strings.Cut(shown[id], "|")
		assert.Equal(t, num(want), strings.ReplaceAll(text, ",", ""), "%s as shown", id)
		assert.Equal(t, num(want), value, "%s data-value", id)
	}
	assert.Equal(t, "60.0%|0.6", shown["total-conversion"])
	require.NotNil(t, api.Totals.MedianMinutesToUse)
	assert.True(t, strings.HasSuffix(shown["total-median"], "|"+strconv.FormatFloat(*api.Totals.MedianMinutesToUse, 'f', -1, 64)),
		"median shown %q, API %v", shown["total-median"], *api.Totals.MedianMinutesToUse)

	// The chart is drawn: one point per bucket, and the lines have height.
	type chart struct {
		Points  int     `json:"points"`
		Vertex  int     `json:"vertex"`
		Height  float64 `json:"height"`
		Circles int     `json:"circles"`
	}
	ch, err := chromedp.Run(ctx, chromedp.Evaluate[chart](`(() => {
		const svg = document.querySelector('#chart svg');
		const used = svg.querySelector('path[data-series="used"]');
		return { points: +svg.dataset.points, vertex: (used.getAttribute('d').match(/[ML]/g) || []).length,
		         height: used.getBBox().height, circles: svg.querySelectorAll('circle').length };
	})()`))
	require.NoError(t, err)
	assert.Equal(t, len(api.Series), ch.Points)
	assert.Equal(t, len(api.Series), ch.Vertex, "one vertex per bucket")
	assert.Greater(t, ch.Height, 20.0, "the used line rises off the axis")
	assert.Equal(t, 2*len(api.Series), ch.Circles, "issued and used markers")

	// The hottest heatmap cell is Tuesday 12:00, the darkest one on screen.
	type cell struct {
		Weekday int    `json:"weekday"`
		Hour    int    `json:"hour"`
		Uses    int    `json:"uses"`
		Fill    string `json:"fill"`
		Darkest string `json:"darkest"`
	}
	hot, err := chromedp.Run(ctx, chromedp.Evaluate[cell](`(() => {
		const cells = [...document.querySelectorAll('#heatmap rect.cell')];
		const lum = (c) => c.match(/\d+/g).slice(0, 3).reduce((a, b) => a + +b, 0);
		const darkest = cells.reduce((a, b) => lum(getComputedStyle(b).fill) < lum(getComputedStyle(a).fill) ? b : a);
		const h = document.querySelector('#heatmap rect.hot');
		return { weekday: +h.dataset.weekday, hour: +h.dataset.hour, uses: +h.dataset.uses,
		         fill: getComputedStyle(h).fill, darkest: darkest.dataset.weekday + ':' + darkest.dataset.hour };
	})()`))
	require.NoError(t, err)
	assert.Equal(t, 1, hot.Weekday, "Tuesday")
	assert.Equal(t, 12, hot.Hour)
	assert.Equal(t, 12, hot.Uses)
	assert.Equal(t, "1:12", hot.Darkest, "the hottest cell is the darkest")
	assert.Equal(t, int64(12), api.Heatmap[1][12])

	// The suggestion and the event table read as the API says.
	best, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#best-hours li")))
	require.NoError(t, err)
	assert.Equal(t, "Tuesday 12:00–13:00 · 12 uses", best)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#events tbody tr')].map(r => r.innerText.replace(/\s+/g, ' ').trim())`))
	require.NoError(t, err)
	assert.Equal(t, []string{"Lunch Latte ACTIVE 300 40 260 24 16", "Weekend Scone ACTIVE 100 0 100 0 0"}, rows)

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	path := filepath.Join(dir, "merchant.png")
	require.NoError(t, os.WriteFile(path, shot, 0o644))
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
	if keep := os.Getenv("DASHBOARD_SCREENSHOT_DIR"); keep != "" {
		require.NoError(t, os.WriteFile(filepath.Join(keep, "merchant.png"), shot, 0o644))
	}
}

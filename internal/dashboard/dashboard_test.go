package dashboard_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/dashboard"
)

// TestEventFormula is the seed's case: an event of 2,300 coupons with
// 1,840 issued and 1,000 used shows 460 unclaimed and 840 unused, and the
// totals count each coupon once however many events and members there are
// (a seed once summed across a join and inflated them).
func TestEventFormula(t *testing.T) {
	e := newEnv(t)
	p, token, _ := e.owner(t)
	st := e.store(t, p, "Asia/Seoul")
	seoul := mustLoc(t, "Asia/Seoul")
	day := time.Date(2024, 5, 14, 0, 0, 0, 0, seoul)

	big := insertEvent(t, st.ID, eventSpec{Title: "Latte 1+1", Total: 2300, Issued: 1840, Used: 1000,
		Starts: day, Ends: day.Add(24 * time.Hour)})
	small := insertEvent(t, st.ID, eventSpec{Title: "Scone", Total: 500, Issued: 200, Used: 50,
		Starts: day, Ends: day.Add(24 * time.Hour)})
	people := customers(t, 400)
	var cs []coupon
	add := func(ev int64, issued, used int) {
		for i := range issued {
			m := people[i%len(people)]
			at := day.Add(time.Duration(8*60+i%600) * time.Minute)
			c := coupon{Event: ev, Store: st.ID, Member: m, Seq: i/len(people) + 1, Status: "ISSUED",
				Issued: at, Expires: at.Add(72 * time.Hour)}
			if i < used {
				c.Status, c.Used = "USED", ptr(at.Add(30*time.Minute))
			}
			cs = append(cs, c)
		}
	}
	add(big, 1840, 1000)
	add(small, 200, 50)
	for i := 0; i < len(cs); i += 500 { // issuance-sized batches
		insertCoupons(t, cs[i:min(i+500, len(cs))])
	}

	var d dashboard.Dashboard
	res := e.get(t, "/api/v1/stores/"+itoa(st.ID)+"/dashboard?from=2024-05-14&to=2024-05-21&bucket=day", token, nil, &d)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Len(t, d.Events, 2)
	assert.Equal(t, dashboard.EventSummary{ID: big, Title: "Latte 1+1", Status: "ACTIVE",
		Total: 2300, Issued: 1840, Unclaimed: 460, Used: 1000, Unused: 840}, d.Events[0])
	assert.Equal(t, dashboard.EventSummary{ID: small, Title: "Scone", Status: "ACTIVE",
		Total: 500, Issued: 200, Unclaimed: 300, Used: 50, Unused: 150}, d.Events[1])
	assert.Equal(t, int64(2040), d.Totals.Issued)
	assert.Equal(t, int64(1050), d.Totals.Used)
	assert.Equal(t, int64(760), d.Totals.Remaining)
	assert.InDelta(t, 1050.0/2040.0, d.Totals.Conversion, 1e-12)
	assert.Equal(t, int64(400), d.Totals.UniqueMembers)
	assert.Equal(t, int64(400), d.Totals.RepeatMembers, "2,040 coupons over 400 members: everyone has at least two")
	require.NotNil(t, d.Totals.MedianMinutesToUse)
	assert.Equal(t, 30.0, *d.Totals.MedianMinutesToUse)
	assert.Equal(t, int64(2040), d.Series[0].Issued, "all issued on the first day")

	// The pure formula, for any reader of the type.
	assert.Equal(t, dashboard.EventSummary{ID: 1, Title: "x", Status: "ACTIVE", Total: 2300, Issued: 1840, Unclaimed: 460, Used: 1000, Unused: 840},
		dashboard.NewEventSummary(1, "x", "ACTIVE", 2300, 1840, 1000))
}

// TestZeroFill: a store with no coupons gets one zero point per bucket, a
// zero heatmap, no best hours and no median.
func TestZeroFill(t *testing.T) {
	e := newEnv(t)
	p, token, _ := e.owner(t)
	st := e.store(t, p, "America/New_York")
	tests := []struct {
		query  string
		points int
		first  string
	}{
		{"from=2024-03-09&to=2024-03-12&bucket=day", 3, "2024-03-09T00:00:00-05:00"},
		{"from=2024-03-10T00:00&to=2024-03-10T05:00&bucket=hour", 4, "2024-03-10T00:00:00-05:00"}, // 02:00 never happened
		{"from=2024-03-04&to=2024-03-18&bucket=week", 2, "2024-03-04T00:00:00-05:00"},
		{"from=2024-03-01&to=2024-03-02&bucket=hour&tz=Asia/Seoul", 24, "2024-03-01T00:00:00+09:00"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var d dashboard.Dashboard
			res := e.get(t, "/api/v1/stores/"+itoa(st.ID)+"/dashboard?"+tt.query, token, nil, &d)
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.Len(t, d.Series, tt.points)
			assert.Equal(t, tt.first, d.Series[0].BucketStart.Format(time.RFC3339))
			for _, pt := range d.Series {
				assert.Zero(t, pt.Issued+pt.Used+pt.Canceled+pt.Expired, "bucket %s", pt.BucketStart)
			}
			assert.Equal(t, [7][24]int64{}, d.Heatmap)
			assert.Empty(t, d.BestHours)
			assert.NotNil(t, d.BestHours, "best_hours is [] in JSON, not null")
			assert.Nil(t, d.Totals.MedianMinutesToUse)
			assert.Zero(t, d.Totals.Conversion)
		})
	}
}

// TestDashboardHTTP covers who may look, the 400s of bad windows and the
// CSV export.
func TestDashboardHTTP(t *testing.T) {
	e := newEnv(t)
	p, token, _ := e.owner(t)
	_, otherToken, _ := e.owner(t)
	st := e.store(t, p, "Asia/Seoul")
	custToken := customerToken(t, e)
	path := "/api/v1/stores/" + itoa(st.ID) + "/dashboard"

	ev := insertEvent(t, st.ID, eventSpec{Title: "Americano", Total: 10, Issued: 3, Used: 1,
		Starts: rfc(t, "2024-03-01T00:00:00+09:00"), Ends: rfc(t, "2024-03-02T00:00:00+09:00")})
	people := customers(t, 3)
	at := rfc(t, "2024-03-01T09:10:00+09:00")
	insertCoupons(t, []coupon{
		{Event: ev, Store: st.ID, Member: people[0], Seq: 1, Status: "USED", Issued: at, Used: ptr(at.Add(2 * time.Hour)), Expires: at.Add(24 * time.Hour)},
		{Event: ev, Store: st.ID, Member: people[1], Seq: 1, Status: "ISSUED", Issued: at.Add(time.Hour), Expires: at.Add(24 * time.Hour)},
		{Event: ev, Store: st.ID, Member: people[2], Seq: 1, Status: "EXPIRED", Issued: at.Add(time.Hour), Expires: at.Add(25 * time.Hour)},
	})

	access := []struct {
		name, token string
		status      int
		code        string
	}{
		{"anonymous", "", http.StatusUnauthorized, "UNAUTHENTICATED"},
		{"a customer", custToken, http.StatusForbidden, "FORBIDDEN_ROLE"},
		{"another owner", otherToken, http.StatusForbidden, "NOT_STORE_OWNER"},
	}
	for _, tt := range access {
		t.Run(tt.name, func(t *testing.T) {
			res := e.get(t, path+"?from=2024-03-01&to=2024-03-03", tt.token, nil, nil)
			assert.Equal(t, tt.status, res.StatusCode)
			assert.Equal(t, tt.code, problemCode(t, res))
		})
	}
	t.Run("no such store", func(t *testing.T) {
		res := e.get(t, "/api/v1/stores/999999999/dashboard", token, nil, nil)
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
		assert.Equal(t, "STORE_NOT_FOUND", problemCode(t, res))
	})

	bad := []struct{ query, code string }{
		{"from=2024-03-03&to=2024-03-01", "INVALID_WINDOW"},
		{"from=2024-03-01&to=2024-03-01", "INVALID_WINDOW"},
		{"from=2024-01-01&to=2024-03-01&bucket=hour", "WINDOW_TOO_LARGE"},
		{"from=2023-01-01&to=2024-03-01&bucket=day", "WINDOW_TOO_LARGE"},
		{"bucket=fortnight", "VALIDATION_FAILED"},
		{"tz=Nowhere/City", "VALIDATION_FAILED"},
		{"from=soon", "VALIDATION_FAILED"},
		{"format=xml", "VALIDATION_FAILED"},
	}
	for _, tt := range bad {
		t.Run(tt.query, func(t *testing.T) {
			res := e.get(t, path+"?"+tt.query, token, nil, nil)
			assert.Equal(t, http.StatusBadRequest, res.StatusCode)
			assert.Equal(t, tt.code, problemCode(t, res))
		})
	}

	var d dashboard.Dashboard
	res := e.get(t, path+"?from=2024-03-01&to=2024-03-03", token, nil, &d)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "private, no-store", res.Header.Get("Cache-Control"))
	want := []dashboard.Point{
		{BucketStart: rfc(t, "2024-03-01T00:00:00+09:00"), Issued: 3, Used: 1},
		{BucketStart: rfc(t, "2024-03-02T00:00:00+09:00"), Expired: 2}, // one EXPIRED, one ISSUED past expiry
	}
	require.Len(t, d.Series, 2)
	for i := range want {
		assert.True(t, want[i].BucketStart.Equal(d.Series[i].BucketStart))
		want[i].BucketStart = d.Series[i].BucketStart
	}
	assert.Equal(t, want, d.Series)
	assert.Equal(t, int64(1), d.Heatmap[4][11], "used Friday 11:10 in Seoul")

	csvWant := [][]string{
		{"bucket_start", "issued", "used", "canceled", "expired"},
		{"2024-03-01T00:00:00+09:00", "3", "1", "0", "0"},
		{"2024-03-02T00:00:00+09:00", "0", "0", "0", "2"},
	}
	for name, req := range map[string]struct {
		query  string
		header map[string]string
	}{
		"Accept: text/csv": {"", map[string]string{"Accept": "text/csv"}},
		"format=csv":       {"&format=csv", nil},
	} {
		t.Run(name, func(t *testing.T) {
			res := e.get(t, path+"?from=2024-03-01&to=2024-03-03"+req.query, token, req.header, nil)
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
			assert.Contains(t, res.Header.Get("Content-Disposition"), "attachment")
			got, err := csv.NewReader(res.Body).ReadAll()
			require.NoError(t, err)
			assert.Equal(t, csvWant, got)
		})
	}
}

// TestCanceledAndUsedFollowRedeemAndUndo drives the real transitions the
// issue package makes (redeem, cancel-use, expiry batch) as SQL updates and
// checks the buckets they land in, before and after folding.
func TestCanceledAndUsedFollowRedeemAndUndo(t *testing.T) {
	e := newEnv(t)
	p, _, _ := e.owner(t)
	st := e.store(t, p, "UTC")
	ctx := context.Background()
	now := time.Now()
	ev := insertEvent(t, st.ID, eventSpec{Title: "Now", Total: 10, Starts: now.Add(-time.Hour), Ends: now.Add(time.Hour)})
	people := customers(t, 3)
	issued := now.Add(-50 * time.Minute)
	insertCoupons(t, []coupon{
		{Event: ev, Store: st.ID, Member: people[0], Seq: 1, Status: "ISSUED", Issued: issued, Expires: now.Add(48 * time.Hour)},
		{Event: ev, Store: st.ID, Member: people[1], Seq: 1, Status: "ISSUED", Issued: issued, Expires: now.Add(48 * time.Hour)},
		{Event: ev, Store: st.ID, Member: people[2], Seq: 1, Status: "ISSUED", Issued: issued, Expires: now.Add(-time.Minute)},
	})
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	// Redeem both live coupons, undo one: the issue package's statements.
	exec(`UPDATE coupons SET status = 'USED', used_at = now(), updated_at = now() WHERE store_id = $1 AND member_id = ANY($2)`, st.ID, people[:2])
	exec(`UPDATE coupons SET status = 'ISSUED', used_at = NULL, updated_at = now() WHERE store_id = $1 AND member_id = $2`, st.ID, people[1])
	exec(`UPDATE coupons SET status = 'EXPIRED', updated_at = now() WHERE store_id = $1 AND status = 'ISSUED' AND expires_at <= now()`, st.ID)

	w, err := dashboard.NewWindow(now.Add(-2*time.Hour), now.Add(time.Hour), dashboard.Day, time.UTC)
	require.NoError(t, err)
	check := func(stage string) {
		t.Helper()
		d, err := e.dash.Compute(ctx, st.ID, w, time.Now())
		require.NoError(t, err)
		assert.Equal(t, int64(3), d.Totals.Issued, stage)
		assert.Equal(t, int64(1), d.Totals.Used, stage)
		assert.Equal(t, int64(1), d.Totals.Canceled, stage)
		assert.Equal(t, int64(1), d.Totals.Expired, stage)
		require.NotNil(t, d.Totals.MedianMinutesToUse, stage)
		assert.InDelta(t, 50, *d.Totals.MedianMinutesToUse, 1, stage)
		raw, err := e.dash.Raw(ctx, st.ID, w, time.Now())
		require.NoError(t, err)
		d.Totals.Canceled, d.Series = 0, zeroCanceled(d.Series)
		assert.Equal(t, raw, d, stage)
	}
	check("unfolded")
	_, err = e.dash.FoldAll(ctx)
	require.NoError(t, err)
	check("folded")
	require.NoError(t, e.dash.Rebuild(ctx, st.ID))
	check("rebuilt, unfolded")
	_, err = e.dash.FoldAll(ctx)
	require.NoError(t, err)
	check("rebuilt, folded")
}

func zeroCanceled(ps []dashboard.Point) []dashboard.Point {
	out := make([]dashboard.Point, len(ps))
	for i, p := range ps {
		p.Canceled = 0
		out[i] = p
	}
	return out
}

// customerToken signs up and logs in a CUSTOMER.
func customerToken(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	email := "cust-" + itoa(seq.Add(1)) + "-" + itoa(time.Now().UnixNano()) + "@example.com"
	_, err := e.members.Signup(ctx, memberSignup(email))
	require.NoError(t, err)
	tok, err := e.members.Login(ctx, email, "s3cret-pass")
	require.NoError(t, err)
	return tok.AccessToken
}

// TestPageServed: the page and its assets come from the binary with the
// right types and a strict CSP.
func TestPageServed(t *testing.T) {
	e := newEnv(t)
	for path, ctype := range map[string]string{
		"/merchant":                "text/html; charset=utf-8",
		"/merchant/assets/app.js":  "text/javascript; charset=utf-8",
		"/merchant/assets/app.css": "text/css; charset=utf-8",
	} {
		res := e.get(t, path, "", nil, nil)
		assert.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.Equal(t, ctype, res.Header.Get("Content-Type"), path)
	}
	res := e.get(t, "/merchant", "", nil, nil)
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'self'")
	res = e.get(t, "/merchant/assets/nope.js", "", nil, nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

package issue_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/issue"
)

func TestRedeemAndCancelUse(t *testing.T) {
	e := newEnv(t, issue.Options{})
	f := newFixture(t, e)
	ev := f.event(t, e, 10, nil)
	cust := members(t, auth.Customer, 1)[0]
	ctok := e.token(t, cust, auth.Customer)
	otok := e.token(t, f.owner.MemberID, auth.Owner)
	stranger := e.token(t, members(t, auth.Owner, 1)[0], auth.Owner)

	got := e.issue(t, ev.ID, ctok, hongdae.Lat, hongdae.Lng, nil)
	require.Equal(t, http.StatusCreated, got.Status, "%s", got.Raw)
	code := got.Body["code"].(string)
	id := int64(got.Body["id"].(float64))

	r := e.do(t, http.MethodPost, "/api/v1/coupons/redeem", stranger, map[string]string{"code": code}, nil)
	assert.Equal(t, http.StatusForbidden, r.Status)
	assert.Equal(t, "NOT_STORE_OWNER", r.code())
	r = e.do(t, http.MethodPost, "/api/v1/coupons/redeem", ctok, map[string]string{"code": code}, nil)
	assert.Equal(t, "NOT_STORE_OWNER", r.code(), "a customer cannot redeem their own coupon")

	// Two concurrent redeems: exactly one wins.
	var wg sync.WaitGroup
	var c tally
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.add(e.do(t, http.MethodPost, "/api/v1/coupons/redeem", otok, map[string]string{"code": code}, nil))
		}()
	}
	wg.Wait()
	assert.Equal(t, map[string]int{"200": 1, "COUPON_ALREADY_USED": 1}, c.m)

	evNow, err := e.svc.GetEvent(context.Background(), ev.ID)
	require.NoError(t, err)
	assert.Equal(t, issue.Summary{Total: 10, Issued: 1, Unclaimed: 9, Used: 1, Unused: 0}, evNow.Summary)

	back := e.do(t, http.MethodPost, fmt.Sprintf("/api/v1/coupons/%d/cancel-use", id), otok, nil, nil)
	assert.Equal(t, http.StatusOK, back.Status, "%s", back.Raw)
	assert.Equal(t, "ISSUED", back.Body["status"])
	again := e.do(t, http.MethodPost, fmt.Sprintf("/api/v1/coupons/%d/cancel-use", id), otok, nil, nil)
	assert.Equal(t, "COUPON_NOT_USED", again.code())

	// QR: the holder asks for a token; the store scans it once.
	qr := e.do(t, http.MethodGet, fmt.Sprintf("/api/v1/coupons/%d/qr", id), ctok, nil, nil)
	require.Equal(t, http.StatusOK, qr.Status, "%s", qr.Raw)
	notMine := e.do(t, http.MethodGet, fmt.Sprintf("/api/v1/coupons/%d/qr", id), e.token(t, members(t, auth.Customer, 1)[0], auth.Customer), nil, nil)
	assert.Equal(t, http.StatusNotFound, notMine.Status, "someone else's coupon does not exist for you")
	tok := qr.Body["qr_token"].(string)
	first := e.do(t, http.MethodPost, "/api/v1/coupons/redeem", otok, map[string]string{"qr_token": tok}, nil)
	assert.Equal(t, http.StatusOK, first.Status, "%s", first.Raw)
	second := e.do(t, http.MethodPost, "/api/v1/coupons/redeem", otok, map[string]string{"qr_token": tok}, nil)
	assert.Equal(t, "QR_TOKEN_INVALID", second.code())

	// Expired coupons cannot be redeemed.
	got2 := e.issue(t, f.event(t, e, 1, nil).ID, ctok, hongdae.Lat, hongdae.Lng, nil)
	require.Equal(t, http.StatusCreated, got2.Status)
	_, err = pool.Exec(context.Background(), `UPDATE coupons SET expires_at = now() - interval '1 minute' WHERE code = $1`, got2.Body["code"])
	require.NoError(t, err)
	exp := e.do(t, http.MethodPost, "/api/v1/coupons/redeem", otok, map[string]string{"code": got2.Body["code"].(string)}, nil)
	assert.Equal(t, http.StatusConflict, exp.Status)
	assert.Equal(t, "COUPON_EXPIRED", exp.code())

	both := e.do(t, http.MethodPost, "/api/v1/coupons/redeem", otok, map[string]string{"code": code, "qr_token": "x"}, nil)
	assert.Equal(t, http.StatusBadRequest, both.Status)
}

func TestMyCouponsPaging(t *testing.T) {
	e := newEnv(t, issue.Options{})
	f := newFixture(t, e)
	cust := members(t, auth.Customer, 1)[0]
	tok := e.token(t, cust, auth.Customer)
	var want []float64
	for range 5 {
		a := e.issue(t, f.event(t, e, 3, nil).ID, tok, hongdae.Lat, hongdae.Lng, nil)
		require.Equal(t, http.StatusCreated, a.Status)
		want = append([]float64{a.Body["id"].(float64)}, want...) // newest first
	}
	var got []float64
	cursor := ""
	for page := 0; page < 5; page++ {
		a := e.do(t, http.MethodGet, "/api/v1/members/me/coupons?limit=2&status=ISSUED&cursor="+cursor, tok, nil, nil)
		require.Equal(t, http.StatusOK, a.Status, "%s", a.Raw)
		for _, it := range a.Body["items"].([]any) {
			got = append(got, it.(map[string]any)["id"].(float64))
		}
		next, ok := a.Body["next_cursor"].(string)
		if !ok {
			break
		}
		cursor = next
	}
	assert.Equal(t, want, got)
	bad := e.do(t, http.MethodGet, "/api/v1/members/me/coupons?status=NOPE", tok, nil, nil)
	assert.Equal(t, http.StatusBadRequest, bad.Status)
}

func TestExpireIsIdempotentAndShared(t *testing.T) {
	e := newEnv(t, issue.Options{})
	f := newFixture(t, e)
	ev := f.event(t, e, 50, nil)
	for _, id := range members(t, auth.Customer, 30) {
		require.Equal(t, http.StatusCreated, e.issue(t, ev.ID, e.token(t, id, auth.Customer), hongdae.Lat, hongdae.Lng, nil).Status)
	}
	ctx := context.Background()
	_, err := pool.Exec(ctx, `UPDATE coupons SET expires_at = now() - interval '1 second' WHERE event_id = $1`, ev.ID)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE coupon_events SET issue_starts_at = now() - interval '2 hours', issue_ends_at = now() - interval '1 hour' WHERE id = $1`, ev.ID)
	require.NoError(t, err)

	// Two runners at once, small chunks: together they expire each coupon once.
	var wg sync.WaitGroup
	res := make([]issue.ExpireResult, 2)
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			res[i], err = e.svc.Expire(ctx, 7)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.GreaterOrEqual(t, res[0].Coupons+res[1].Coupons, int64(30))
	var expired int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM coupons WHERE event_id = $1 AND status = 'EXPIRED'`, ev.ID).Scan(&expired))
	assert.Equal(t, 30, expired)
	got, err := e.svc.GetEvent(ctx, ev.ID)
	require.NoError(t, err)
	assert.Equal(t, issue.Ended, got.Status)

	second, err := e.svc.Expire(ctx, 7)
	require.NoError(t, err)
	assert.Equal(t, issue.ExpireResult{}, second, "a second run changes nothing")
}

package issue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/issue"
)

// Every issue outcome of DESIGN.md, in the documented order of checks.
func TestIssueOutcomes(t *testing.T) {
	e := newEnv(t, issue.Options{})
	f := newFixture(t, e)
	now := time.Now()
	live := f.event(t, e, 10, nil)
	upcoming := f.event(t, e, 10, func(in *issue.EventInput) {
		in.IssueStartsAt, in.IssueEndsAt = ptr(now.Add(time.Hour)), ptr(now.Add(2*time.Hour))
	})
	suspended := f.event(t, e, 10, nil)
	_, err := e.svc.SetStatus(context.Background(), f.owner, suspended.ID, issue.Suspended)
	require.NoError(t, err)
	fenced := f.event(t, e, 10, func(in *issue.EventInput) { in.GeofenceM = ptr(100) })
	one := f.event(t, e, 1, nil)
	e.issue(t, one.ID, e.token(t, members(t, auth.Customer, 1)[0], auth.Customer), hongdae.Lat, hongdae.Lng, nil)

	cust := members(t, auth.Customer, 1)[0]
	tok := e.token(t, cust, auth.Customer)
	held := f.event(t, e, 10, nil)
	require.Equal(t, http.StatusCreated, e.issue(t, held.ID, tok, hongdae.Lat, hongdae.Lng, nil).Status)

	// 0.001° of latitude is about 111 m.
	tests := []struct {
		name       string
		event      int64
		token      string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"issued", live.ID, tok, map[string]float64{"lat": hongdae.Lat, "lng": hongdae.Lng}, 201, ""},
		{"already issued", held.ID, tok, map[string]float64{"lat": hongdae.Lat, "lng": hongdae.Lng}, 409, "ALREADY_ISSUED"},
		{"sold out", one.ID, tok, map[string]float64{"lat": hongdae.Lat, "lng": hongdae.Lng}, 409, "SOLD_OUT"},
		{"inside the geofence", fenced.ID, tok, map[string]float64{"lat": hongdae.Lat + 0.0008, "lng": hongdae.Lng}, 201, ""},
		{"outside the geofence", fenced.ID, e.token(t, members(t, auth.Customer, 1)[0], auth.Customer), map[string]float64{"lat": hongdae.Lat + 0.001, "lng": hongdae.Lng}, 403, "OUT_OF_RANGE"},
		{"not yet open", upcoming.ID, tok, map[string]float64{"lat": hongdae.Lat, "lng": hongdae.Lng}, 422, "NOT_IN_WINDOW"},
		{"suspended", suspended.ID, tok, map[string]float64{"lat": hongdae.Lat, "lng": hongdae.Lng}, 422, "EVENT_SUSPENDED"},
		{"suspended beats out of range", suspended.ID, tok, map[string]float64{"lat": 0, "lng": 0}, 422, "EVENT_SUSPENDED"},
		{"no such event", 1 << 40, tok, map[string]float64{"lat": hongdae.Lat, "lng": hongdae.Lng}, 404, "EVENT_NOT_FOUND"},
		{"latitude out of range", live.ID, tok, map[string]float64{"lat": 91, "lng": 0}, 400, "INVALID_LOCATION"},
		{"longitude missing", live.ID, tok, map[string]float64{"lat": 37}, 400, "INVALID_LOCATION"},
		{"latitude is text", live.ID, tok, map[string]any{"lat": "north", "lng": 127}, 400, "INVALID_LOCATION"},
		{"unknown field", live.ID, tok, map[string]any{"lat": 37, "lng": 127, "x": 1}, 400, "VALIDATION_FAILED"},
		{"anonymous", live.ID, "", map[string]float64{"lat": hongdae.Lat, "lng": hongdae.Lng}, 401, "UNAUTHENTICATED"},
		{"owners cannot take coupons", live.ID, e.token(t, f.owner.MemberID, auth.Owner), map[string]float64{"lat": hongdae.Lat, "lng": hongdae.Lng}, 403, "FORBIDDEN_ROLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.do(t, http.MethodPost, fmt.Sprintf("/api/v1/coupon-events/%d/issue", tt.event), tt.token, tt.body, nil)
			assert.Equal(t, tt.wantStatus, got.Status, "status; body %s", got.Raw)
			assert.Equal(t, tt.wantCode, got.code(), "code; body %s", got.Raw)
			if tt.wantStatus == 201 {
				assert.Regexp(t, `^[A-Z0-9]{16}$`, got.Body["code"])
				assert.Equal(t, "ISSUED", got.Body["status"])
			}
		})
	}
	// Refusals changed nothing (invariant 6).
	for _, ev := range []issue.Event{upcoming, suspended} {
		rows, issued := dbCounts(t, ev.ID)
		assert.Zero(t, rows+issued, "event %d has coupons after refusals", ev.ID)
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, issue.Options{})
	f := newFixture(t, e)
	ev := f.event(t, e, 5, nil)
	other := f.event(t, e, 5, nil)
	cust := members(t, auth.Customer, 1)[0]
	tok := e.token(t, cust, auth.Customer)
	key := map[string]string{"Idempotency-Key": "tap-42"}

	first := e.issue(t, ev.ID, tok, hongdae.Lat, hongdae.Lng, key)
	require.Equal(t, http.StatusCreated, first.Status, "%s", first.Raw)
	replay := e.issue(t, ev.ID, tok, hongdae.Lat, hongdae.Lng, key)
	assert.Equal(t, http.StatusCreated, replay.Status, "the replay repeats the status")
	assert.JSONEq(t, string(first.Raw), string(replay.Raw), "the replay repeats the body")
	rows, _ := dbCounts(t, ev.ID)
	assert.Equal(t, 1, rows, "a replay issues nothing")

	reused := e.issue(t, other.ID, tok, hongdae.Lat, hongdae.Lng, key)
	assert.Equal(t, http.StatusUnprocessableEntity, reused.Status)
	assert.Equal(t, "IDEMPOTENCY_KEY_REUSED", reused.code())

	// A refusal is an answer too, and is replayed.
	refusedKey := map[string]string{"Idempotency-Key": "tap-43"}
	a := e.issue(t, ev.ID, tok, hongdae.Lat, hongdae.Lng, refusedKey)
	b := e.issue(t, ev.ID, tok, hongdae.Lat, hongdae.Lng, refusedKey)
	assert.Equal(t, "ALREADY_ISSUED", a.code())
	assert.Equal(t, a.Status, b.Status)
	assert.JSONEq(t, string(a.Raw), string(b.Raw))

	// In flight: the key is claimed but has no answer yet.
	claim, _ := json.Marshal(issue.Replay{EventID: ev.ID})
	require.NoError(t, rdb.Set(context.Background(), fmt.Sprintf("issue:idem:{m:%d}:busy", cust), claim, time.Minute).Err())
	busy := e.issue(t, ev.ID, tok, hongdae.Lat, hongdae.Lng, map[string]string{"Idempotency-Key": "busy"})
	assert.Equal(t, http.StatusConflict, busy.Status)
	assert.Equal(t, "IDEMPOTENCY_IN_FLIGHT", busy.code())

	bad := e.issue(t, ev.ID, tok, hongdae.Lat, hongdae.Lng, map[string]string{"Idempotency-Key": "has space"})
	assert.Equal(t, http.StatusBadRequest, bad.Status)
	ttl, err := rdb.TTL(context.Background(), fmt.Sprintf("issue:idem:{m:%d}:tap-42", cust)).Result()
	require.NoError(t, err)
	assert.InDelta(t, issue.IdemTTL.Seconds(), ttl.Seconds(), 60, "keys live 24 h")
}

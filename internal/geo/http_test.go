package geo_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
)

func TestNearbyHTTP(t *testing.T) {
	reset(t)
	e := newEnv(t, envOpts{})
	e.waitReady(t)
	owner := newMember(t, auth.Owner, "")
	st := e.newStore(t, owner, "명동 \"칼국수\" <본점>", "FOOD", 37.5637, 126.9870)
	ev := e.newEvent(t, owner, st.ID, "점심 20% 할인", 30, nil)

	r := e.do(t, http.MethodGet, "/api/v1/coupons/nearby?lat=37.5636&lng=126.9869", "", "", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r)
	assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))
	// The contract's shape, field by field.
	var got map[string]any
	require.NoError(t, json.Unmarshal(r.body, &got))
	items := got["items"].([]any)
	require.Len(t, items, 1)
	item := items[0].(map[string]any)
	assert.ElementsMatch(t, []string{"store", "distance_m", "events"}, keys(item))
	store := item["store"].(map[string]any)
	assert.ElementsMatch(t, []string{"id", "name", "category", "lat", "lng", "address"}, keys(store))
	assert.Equal(t, float64(st.ID), store["id"])
	assert.Equal(t, st.Name, store["name"])
	assert.InDelta(t, 14.1, item["distance_m"], 0.1)
	events := item["events"].([]any)
	require.Len(t, events, 1)
	event := events[0].(map[string]any)
	assert.ElementsMatch(t, []string{"id", "title", "discount_type", "discount_value", "remaining", "issue_ends_at"}, keys(event))
	assert.Equal(t, float64(ev.ID), event["id"])
	assert.Equal(t, float64(30), event["remaining"])
	assert.Equal(t, ev.IssueEndsAt.UTC().Format("2006-01-02T15:04:05.999999Z07:00"), event["issue_ends_at"])

	r = e.do(t, http.MethodGet, "/api/v1/coupons/nearby?lat=37.5636&lng=126.9869&radius_m=5&category=FOOD&limit=1", "", "", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r)
	assert.JSONEq(t, `{"items":[]}`, string(r.body), "an empty answer is an empty list, not null")

	tests := []struct{ query, code string }{
		{"", "INVALID_LOCATION"},
		{"lat=37.5", "INVALID_LOCATION"},
		{"lat=91&lng=127", "INVALID_LOCATION"},
		{"lat=37.5&lng=-181", "INVALID_LOCATION"},
		{"lat=abc&lng=127", "INVALID_LOCATION"},
		{"lat=NaN&lng=127", "INVALID_LOCATION"},
		{"lat=37.5&lng=127&radius_m=0", "INVALID_RADIUS"},
		{"lat=37.5&lng=127&radius_m=-5", "INVALID_RADIUS"},
		{"lat=37.5&lng=127&radius_m=20000.5", "INVALID_RADIUS"},
		{"lat=37.5&lng=127&radius_m=NaN", "INVALID_RADIUS"},
		{"lat=37.5&lng=127&radius_m=far", "INVALID_RADIUS"},
		{"lat=37.5&lng=127&limit=0", "VALIDATION_FAILED"},
		{"lat=37.5&lng=127&limit=101", "VALIDATION_FAILED"},
		{"lat=37.5&lng=127&limit=ten", "VALIDATION_FAILED"},
		{"lat=37.5&lng=127&category=cafe", "VALIDATION_FAILED"},
	}
	for _, tt := range tests {
		r := e.do(t, http.MethodGet, "/api/v1/coupons/nearby?"+tt.query, "", "", nil)
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", tt.query, r)
		assert.Equal(t, tt.code, r.code(), "%s: %s", tt.query, r)
	}
	for _, q := range []string{"radius_m=20000", "radius_m=0.5", "limit=100", "category=CAFE"} {
		r := e.do(t, http.MethodGet, "/api/v1/coupons/nearby?lat=37.5&lng=127&"+q, "", "", nil)
		assert.Equal(t, http.StatusOK, r.status, "%s: %s", q, r)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

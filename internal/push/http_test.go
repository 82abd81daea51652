package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/push"
	"github.com/couponpop/couponpop/internal/store"
)

// api is the real gin engine with the push routes, as internal/api mounts
// them.
type api struct {
	t      *testing.T
	h      http.Handler
	tokens *auth.Tokens
}

func newAPI(t *testing.T) *api {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	tokens := auth.NewTokens("test-secret", "", time.Hour, nil)
	s := httpapi.New(log, reg, reg, nil)
	v1 := s.Engine.Group("/api/v1", tokens.Authenticate(func(c *gin.Context, err error) { httpapi.WriteError(c, log, err) }))
	svc := push.NewService(pool, store.NewService(pool, func(context.Context, string, error) {}))
	push.Routes(v1, s, svc)
	return &api{t: t, h: s.Engine, tokens: tokens}
}

// do sends a request as member (0: anonymous) and decodes the answer into
// out when given.
func (a *api) do(member int64, method, path, body string, out any) int {
	a.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if member > 0 {
		tok, _, err := a.tokens.Issue(member, auth.Customer)
		require.NoError(a.t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	if out != nil && rec.Body.Len() > 0 {
		require.NoError(a.t, json.Unmarshal(rec.Body.Bytes(), out), "body %s", rec.Body)
	}
	return rec.Code
}

func TestDevicesRoutes(t *testing.T) {
	a := newAPI(t)
	alice, bob := member(t), member(t)
	tok := token(t)
	body := func(tok, platform, dev string) string {
		return fmt.Sprintf(`{"token":%q,"platform":%q,"device_id":%q}`, tok, platform, dev)
	}
	owner := func(tok string) int64 {
		var m int64
		_ = pool.QueryRow(context.Background(), `SELECT member_id FROM devices WHERE token = $1`, tok).Scan(&m)
		return m
	}

	tests := []struct {
		name   string
		member int64
		method string
		path   string
		body   string
		want   int
		owner  int64 // who has tok afterwards (0: nobody)
	}{
		{"anonymous", 0, "POST", "/api/v1/devices", body(tok, "ANDROID", "d1"), 401, 0},
		{"bad platform", alice, "POST", "/api/v1/devices", body(tok, "BLACKBERRY", "d1"), 400, 0},
		{"no token", alice, "POST", "/api/v1/devices", body("", "IOS", "d1"), 400, 0},
		{"no device id", alice, "POST", "/api/v1/devices", body(tok, "IOS", ""), 400, 0},
		{"unknown field", alice, "POST", "/api/v1/devices", `{"token":"x","platform":"IOS","device_id":"d","extra":1}`, 400, 0},
		{"register", alice, "POST", "/api/v1/devices", body(tok, "ANDROID", "d1"), 201, alice},
		{"register again", alice, "POST", "/api/v1/devices", body(tok, "ANDROID", "d1"), 200, alice},
		{"another member takes the token", bob, "POST", "/api/v1/devices", body(tok, "ANDROID", "d9"), 201, bob},
		{"the old owner cannot remove it", alice, "DELETE", "/api/v1/devices?token=" + tok, "", 204, bob},
		{"remove without a token", bob, "DELETE", "/api/v1/devices", `{}`, 400, bob},
		{"remove", bob, "DELETE", "/api/v1/devices", fmt.Sprintf(`{"token":%q}`, tok), 204, 0},
		{"remove again", bob, "DELETE", "/api/v1/devices?token=" + tok, "", 204, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			code := a.do(tt.member, tt.method, tt.path, tt.body, &got)
			assert.Equal(t, tt.want, code, "status; body %v", got)
			assert.Equal(t, tt.owner, owner(tok), "owner of the token")
			if code == 201 || code == 200 {
				assert.Equal(t, tok, got["token"])
				assert.NotZero(t, got["id"])
			}
		})
	}

	t.Run("a new token for the same device replaces the old one", func(t *testing.T) {
		old, fresh := token(t), token(t)
		require.Equal(t, 201, a.do(alice, "POST", "/api/v1/devices", body(old, "IOS", "phone"), nil))
		require.Equal(t, 201, a.do(alice, "POST", "/api/v1/devices", body(fresh, "IOS", "phone"), nil))
		assert.Zero(t, owner(old), "old token")
		assert.Equal(t, alice, owner(fresh), "new token")
	})

	t.Run("logout removes the member's devices", func(t *testing.T) {
		m := member(t, token(t), token(t))
		svc := push.NewService(pool, nil)
		require.NoError(t, svc.RemoveMemberDevices(context.Background(), m))
		var n int
		require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM devices WHERE member_id = $1`, m).Scan(&n))
		assert.Zero(t, n)
	})
}

func TestSubscriptionRoutes(t *testing.T) {
	a := newAPI(t)
	store, _ := fixture(t, time.Now())
	m := member(t)
	follows := func() bool {
		var n int
		require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM store_subscriptions WHERE member_id = $1 AND store_id = $2`, m, store).Scan(&n))
		return n == 1
	}
	path := fmt.Sprintf("/api/v1/stores/%d/subscription", store)
	tests := []struct {
		name        string
		member      int64
		method      string
		path        string
		want        int
		wantFollows bool
	}{
		{"anonymous", 0, "PUT", path, 401, false},
		{"unknown store", m, "PUT", "/api/v1/stores/999999999/subscription", 404, false},
		{"bad id", m, "PUT", "/api/v1/stores/abc/subscription", 404, false},
		{"follow", m, "PUT", path, 204, true},
		{"follow again", m, "PUT", path, 204, true},
		{"unfollow", m, "DELETE", path, 204, false},
		{"unfollow again", m, "DELETE", path, 204, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, a.do(tt.member, tt.method, tt.path, "", nil), "status")
			assert.Equal(t, tt.wantFollows, follows(), "follows")
		})
	}
}

func TestPreferencesRoutes(t *testing.T) {
	a := newAPI(t)
	m := member(t)
	const path = "/api/v1/members/me/notification-preferences"

	var got push.Preferences
	require.Equal(t, 200, a.do(m, "GET", path, "", &got))
	assert.Equal(t, push.Preferences{Timezone: "Asia/Seoul"}, got, "defaults: no quiet hours, the member's zone")

	tests := []struct {
		name string
		body string
		want int
		get  push.Preferences // what GET shows afterwards
	}{
		{"set quiet hours", `{"quiet_hours":{"start":"22:00","end":"07:30"},"timezone":"Europe/Paris"}`, 200,
			push.Preferences{QuietHours: &push.QuietHours{Start: "22:00", End: "07:30"}, Timezone: "Europe/Paris"}},
		{"bad time", `{"quiet_hours":{"start":"25:00","end":"07:00"}}`, 400,
			push.Preferences{QuietHours: &push.QuietHours{Start: "22:00", End: "07:30"}, Timezone: "Europe/Paris"}},
		{"start equals end", `{"quiet_hours":{"start":"07:00","end":"07:00"}}`, 400,
			push.Preferences{QuietHours: &push.QuietHours{Start: "22:00", End: "07:30"}, Timezone: "Europe/Paris"}},
		{"bad zone", `{"timezone":"Mars/Olympus"}`, 400,
			push.Preferences{QuietHours: &push.QuietHours{Start: "22:00", End: "07:30"}, Timezone: "Europe/Paris"}},
		{"turn off, member's zone", `{"quiet_hours":null}`, 200, push.Preferences{Timezone: "Asia/Seoul"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, a.do(m, "PUT", path, tt.body, nil), "status")
			var got push.Preferences
			require.Equal(t, 200, a.do(m, "GET", path, "", &got))
			assert.Equal(t, tt.get, got)
		})
	}
	assert.Equal(t, 401, a.do(0, "GET", path, "", nil), "anonymous")
}

func TestNotificationsRoute(t *testing.T) {
	a := newAPI(t)
	m, other := member(t), member(t)
	ctx := context.Background()
	for i := range 5 {
		_, err := pool.Exec(ctx, `
			INSERT INTO notifications (member_id, trace_id, kind, title, body, data, status)
			VALUES ($1, $2, 'COUPON_ISSUED', $3, 'b', '{"kind":"COUPON_ISSUED"}', 'SENT')`,
			m, trace("T"), fmt.Sprintf("n%d", i))
		require.NoError(t, err)
	}
	_, err := pool.Exec(ctx, `INSERT INTO notifications (member_id, trace_id, kind, title, body, status) VALUES ($1, $2, 'X', 'theirs', 'b', 'SENT')`, other, trace("T"))
	require.NoError(t, err)

	type page struct {
		Items []push.Notification `json:"items"`
		Next  *string             `json:"next_cursor"`
	}
	var titles []string
	cursor := ""
	for range 3 {
		var p page
		path := "/api/v1/members/me/notifications?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		require.Equal(t, 200, a.do(m, "GET", path, "", &p))
		for _, n := range p.Items {
			titles = append(titles, n.Title)
			assert.Equal(t, map[string]string{"kind": "COUPON_ISSUED"}, n.Data)
		}
		if p.Next == nil {
			break
		}
		cursor = *p.Next
	}
	assert.Equal(t, []string{"n4", "n3", "n2", "n1", "n0"}, titles, "newest first, every page, only mine")

	var p page
	require.Equal(t, 200, a.do(member(t), "GET", "/api/v1/members/me/notifications", "", &p))
	assert.NotNil(t, p.Items, "items is [] not null")
	assert.Empty(t, p.Items)
	assert.Nil(t, p.Next, "no cursor on the last page")
	assert.Equal(t, 400, a.do(m, "GET", "/api/v1/members/me/notifications?cursor=xyz", "", nil), "bad cursor")
	assert.Equal(t, 400, a.do(m, "GET", "/api/v1/members/me/notifications?limit=0", "", nil), "bad limit")
}

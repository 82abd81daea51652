package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func do(h http.Handler, method, path, token, body string, header map[string]string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// findRoute finds the operation of the description that serves a concrete
// path, preferring literal segments over {params} as gin does.
func findRoute(doc *openapi3.T, method, path string) (*routers.Route, map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *routers.Route
	var bestParams map[string]string
	bestLiterals := -1
	for tmpl, item := range doc.Paths.Map() {
		op := item.GetOperation(method)
		if op == nil {
			continue
		}
		tsegs := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		params, literals, ok := map[string]string{}, 0, true
		for i, ts := range tsegs {
			switch {
			case strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}"):
				params[ts[1:len(ts)-1]] = segs[i]
			case ts == segs[i]:
				literals++
			default:
				ok = false
			}
		}
		if ok && literals > bestLiterals {
			best = &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: method, Operation: op}
			bestParams, bestLiterals = params, literals
		}
	}
	return best, bestParams, best != nil
}

// contract sends requests to the real API and checks each request and its
// answer against openapi.yaml: the status must be documented for the
// operation and the body must match its schema.
type contract struct {
	t   *testing.T
	doc *openapi3.T
	h   http.Handler
}

type call struct {
	method, path, token, body string
	header                    map[string]string
	wantStatus                int
	wantCode                  string // problem code, for errors
}

func (c *contract) send(k call) []byte {
	t := c.t
	t.Helper()
	route, params, ok := findRoute(c.doc, k.method, strings.SplitN(k.path, "?", 2)[0])
	require.True(t, ok, "%s %s is not in openapi.yaml", k.method, k.path)
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true, // an undocumented status is a failure
		MultiError:            true,
	}

	req := httptest.NewRequest(k.method, k.path, strings.NewReader(k.body))
	if k.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if k.token != "" {
		req.Header.Set("Authorization", "Bearer "+k.token)
	}
	for key, v := range k.header {
		req.Header.Set(key, v)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	// Requests meant to be refused are allowed to break the schema; the
	// ones meant to succeed must follow it, or the description is wrong.
	if k.wantStatus < 400 {
		require.NoError(t, openapi3filter.ValidateRequest(context.Background(), in), "%s %s: request does not match openapi.yaml", k.method, k.path)
	}

	req = httptest.NewRequest(k.method, k.path, strings.NewReader(k.body))
	req.Header = in.Request.Header
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, req)
	require.Equal(t, k.wantStatus, w.Code, "%s %s: %s", k.method, k.path, w.Body)
	if k.wantCode != "" {
		var p struct{ Code string }
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
		assert.Equal(t, k.wantCode, p.Code, "%s %s", k.method, k.path)
	}

	body := w.Body.Bytes()
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 w.Code,
		Header:                 w.Header(),
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	})
	assert.NoError(t, err, "%s %s → %d: the answer does not match openapi.yaml\n%s", k.method, k.path, w.Code, body)
	return body
}

// id reads the id of a JSON resource.
func id(t *testing.T, body []byte) int64 {
	t.Helper()
	var v struct{ ID int64 }
	require.NoError(t, json.Unmarshal(body, &v), "%s", body)
	require.NotZero(t, v.ID, "%s", body)
	return v.ID
}

// TestResponsesMatchOpenAPI walks a merchant and a customer through the
// API, from signup to redeem, validating every exchange against the
// description.
func TestResponsesMatchOpenAPI(t *testing.T) {
	a := newAPI(t)
	c := &contract{t: t, doc: loadSpec(t), h: a.srv.Engine}
	tokens := func(body []byte) (access, refresh string) {
		var v struct{ AccessToken, RefreshToken string }
		require.NoError(t, json.Unmarshal(body, &struct {
			A *string `json:"access_token"`
			R *string `json:"refresh_token"`
		}{&v.AccessToken, &v.RefreshToken}))
		return v.AccessToken, v.RefreshToken
	}

	// Accounts.
	c.send(call{method: "POST", path: "/api/v1/auth/signup", body: `{"email":"owner@contract.test","password":"abcd1234","nickname":"사장님","role":"OWNER"}`, wantStatus: 201})
	c.send(call{method: "POST", path: "/api/v1/auth/signup", body: `{"email":"Owner@Contract.test","password":"abcd1234","nickname":"x"}`, wantStatus: 409, wantCode: "EMAIL_TAKEN"})
	c.send(call{method: "POST", path: "/api/v1/auth/signup", body: `{"email":"admin@contract.test","password":"abcd1234","nickname":"x","role":"ADMIN"}`, wantStatus: 400, wantCode: "VALIDATION_FAILED"})
	c.send(call{method: "POST", path: "/api/v1/auth/signup", body: `{"email":"guest@contract.test","password":"abcd1234","nickname":"손님"}`, wantStatus: 201})
	owner, ownerRefresh := tokens(c.send(call{method: "POST", path: "/api/v1/auth/login", body: `{"email":"OWNER@contract.test","password":"abcd1234"}`, wantStatus: 200}))
	guest, _ := tokens(c.send(call{method: "POST", path: "/api/v1/auth/login", body: `{"email":"guest@contract.test","password":"abcd1234"}`, wantStatus: 200}))
	c.send(call{method: "POST", path: "/api/v1/auth/login", body: `{"email":"guest@contract.test","password":"wrong1234"}`, wantStatus: 401, wantCode: "INVALID_CREDENTIALS"})
	owner, ownerRefresh = tokens(c.send(call{method: "POST", path: "/api/v1/auth/refresh", body: fmt.Sprintf(`{"refresh_token":%q}`, ownerRefresh), wantStatus: 200}))
	c.send(call{method: "GET", path: "/api/v1/members/me", token: owner, wantStatus: 200})
	c.send(call{method: "GET", path: "/api/v1/members/me", wantStatus: 401, wantCode: "UNAUTHENTICATED"})
	system, _, err := a.tokens.IssueSystem(time.Minute)
	require.NoError(t, err)
	c.send(call{method: "GET", path: "/api/v1/members/me", token: system, wantStatus: 200})

	// A store.
	store := id(t, c.send(call{method: "POST", path: "/api/v1/stores", token: owner, wantStatus: 201,
		body: `{"name":"계약 카페","category":"CAFE","description":"테스트","address":"서울 강남구 강남대로 396","lat":37.4979,"lng":127.0276,"phone":"02-555-0000"}`}))
	storePath := fmt.Sprintf("/api/v1/stores/%d", store)
	c.send(call{method: "POST", path: "/api/v1/stores", token: guest, body: `{"name":"x","category":"CAFE","lat":1,"lng":1}`, wantStatus: 403, wantCode: "FORBIDDEN_ROLE"})
	c.send(call{method: "POST", path: "/api/v1/stores", token: owner, body: `{"name":"x","category":"CAFE","lat":91,"lng":1}`, wantStatus: 400, wantCode: "INVALID_LOCATION"})
	c.send(call{method: "POST", path: "/api/v1/stores", token: owner, body: `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, wantStatus: 413, wantCode: "BODY_TOO_LARGE"})
	c.send(call{method: "GET", path: storePath, wantStatus: 200})
	c.send(call{method: "PATCH", path: storePath, token: owner, body: `{"description":"리뉴얼"}`, wantStatus: 200})
	c.send(call{method: "PATCH", path: storePath, token: guest, body: `{"description":"x"}`, wantStatus: 403, wantCode: "NOT_STORE_OWNER"})
	c.send(call{method: "GET", path: "/api/v1/members/me/stores", token: owner, wantStatus: 200})
	c.send(call{method: "GET", path: "/api/v1/stores/999999", wantStatus: 404, wantCode: "STORE_NOT_FOUND"})

	// An event, and a coupon from it.
	start := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	end := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	event := id(t, c.send(call{method: "POST", path: storePath + "/coupon-events", token: owner, wantStatus: 201,
		body: fmt.Sprintf(`{"title":"아메리카노 1000원 할인","discount_type":"AMOUNT","discount_value":1000,"min_order_amount":4000,"total_quantity":3,"issue_starts_at":%q,"issue_ends_at":%q,"valid_hours":24}`, start, end)}))
	eventPath := fmt.Sprintf("/api/v1/coupon-events/%d", event)
	c.send(call{method: "POST", path: storePath + "/coupon-events", token: owner, wantStatus: 400, wantCode: "VALIDATION_FAILED",
		body: fmt.Sprintf(`{"title":"x","discount_type":"PERCENT","discount_value":120,"total_quantity":3,"issue_starts_at":%q,"issue_ends_at":%q,"valid_hours":24}`, start, end)})
	c.send(call{method: "GET", path: eventPath, wantStatus: 200})
	c.send(call{method: "GET", path: storePath + "/coupon-events", wantStatus: 200})
	c.send(call{method: "PATCH", path: eventPath, token: owner, body: `{"total_quantity":5}`, wantStatus: 200})
	c.send(call{method: "POST", path: eventPath + "/suspend", token: owner, wantStatus: 200})
	c.send(call{method: "POST", path: eventPath + "/issue", token: guest, body: `{"lat":37.4979,"lng":127.0276}`, wantStatus: 422, wantCode: "EVENT_SUSPENDED"})
	c.send(call{method: "POST", path: eventPath + "/resume", token: owner, wantStatus: 200})

	key := map[string]string{"Idempotency-Key": "contract-1"}
	coupon := id(t, c.send(call{method: "POST", path: eventPath + "/issue", token: guest, header: key, body: `{"lat":37.4979,"lng":127.0276}`, wantStatus: 201}))
	assert.Equal(t, coupon, id(t, c.send(call{method: "POST", path: eventPath + "/issue", token: guest, header: key, body: `{"lat":37.4979,"lng":127.0276}`, wantStatus: 201})), "a replay answers the same coupon")
	c.send(call{method: "POST", path: eventPath + "/issue", token: guest, body: `{"lat":37.4979,"lng":127.0276}`, wantStatus: 409, wantCode: "ALREADY_ISSUED"})
	c.send(call{method: "POST", path: eventPath + "/issue", token: guest, body: `{"lat":"here"}`, wantStatus: 400, wantCode: "INVALID_LOCATION"})
	c.send(call{method: "POST", path: eventPath + "/issue", token: owner, body: `{"lat":37.4979,"lng":127.0276}`, wantStatus: 403, wantCode: "FORBIDDEN_ROLE"})
	c.send(call{method: "GET", path: "/api/v1/members/me/coupons?status=ISSUED&limit=10", token: guest, wantStatus: 200})
	c.send(call{method: "GET", path: "/api/v1/members/me/coupons?status=LOST", token: guest, wantStatus: 400, wantCode: "VALIDATION_FAILED"})

	var qr struct {
		QRToken string `json:"qr_token"`
	}
	require.NoError(t, json.Unmarshal(c.send(call{method: "GET", path: fmt.Sprintf("/api/v1/coupons/%d/qr", coupon), token: guest, wantStatus: 200}), &qr))
	c.send(call{method: "POST", path: "/api/v1/coupons/redeem", token: guest, body: fmt.Sprintf(`{"qr_token":%q}`, qr.QRToken), wantStatus: 403, wantCode: "NOT_STORE_OWNER"})
	require.NoError(t, json.Unmarshal(c.send(call{method: "GET", path: fmt.Sprintf("/api/v1/coupons/%d/qr", coupon), token: guest, wantStatus: 200}), &qr))
	c.send(call{method: "POST", path: "/api/v1/coupons/redeem", token: owner, body: fmt.Sprintf(`{"qr_token":%q}`, qr.QRToken), wantStatus: 200})
	c.send(call{method: "POST", path: "/api/v1/coupons/redeem", token: owner, body: `{"code":"AAAAAAAAAAAAAAAA"}`, wantStatus: 404, wantCode: "COUPON_NOT_FOUND"})
	c.send(call{method: "POST", path: fmt.Sprintf("/api/v1/coupons/%d/cancel-use", coupon), token: owner, wantStatus: 200})
	c.send(call{method: "POST", path: fmt.Sprintf("/api/v1/coupons/%d/cancel-use", coupon), token: owner, wantStatus: 409, wantCode: "COUPON_NOT_USED"})
	c.send(call{method: "POST", path: storePath + "/coupon-events/suspend", token: owner, wantStatus: 200})

	// Session end, store close, ops.
	c.send(call{method: "POST", path: "/api/v1/auth/logout", token: guest, wantStatus: 204})
	c.send(call{method: "GET", path: "/api/v1/members/me", token: guest, wantStatus: 401, wantCode: "INVALID_TOKEN"})
	c.send(call{method: "DELETE", path: storePath, token: owner, wantStatus: 204})
	c.send(call{method: "GET", path: storePath, wantStatus: 404, wantCode: "STORE_NOT_FOUND"})
	c.send(call{method: "GET", path: "/healthz", wantStatus: 200})
	c.send(call{method: "GET", path: "/readyz", wantStatus: 200})
	c.send(call{method: "GET", path: "/metrics", wantStatus: 200})
	c.send(call{method: "GET", path: "/openapi.yaml", wantStatus: 200})
}

// TestPushResponsesMatchOpenAPI does the same for the push routes.
func TestPushResponsesMatchOpenAPI(t *testing.T) {
	a := newAPI(t)
	c := &contract{t: t, doc: loadSpec(t), h: a.srv.Engine}

	ctx := context.Background()
	var memberID, ownerID, storeID int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO members (email, password_hash, nickname, role)
		VALUES ('push@contract.test', 'x', '푸시', 'CUSTOMER') RETURNING id`).Scan(&memberID))
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO members (email, password_hash, nickname, role)
		VALUES ('push-owner@contract.test', 'x', '사장', 'OWNER') RETURNING id`).Scan(&ownerID))
	owner, _, err := a.tokens.Issue(ownerID, "OWNER")
	require.NoError(t, err)
	storeID = id(t, c.send(call{method: "POST", path: "/api/v1/stores", token: owner, wantStatus: 201,
		body: `{"name":"구독 카페","category":"CAFE","lat":37.5446,"lng":127.0559}`}))
	member, _, err := a.tokens.Issue(memberID, "CUSTOMER")
	require.NoError(t, err)
	system, _, err := a.tokens.IssueSystem(time.Minute)
	require.NoError(t, err)

	device := `{"token":"fcm-token-contract-1","platform":"ANDROID","device_id":"pixel-8"}`
	c.send(call{method: "POST", path: "/api/v1/devices", token: member, body: device, wantStatus: 201})
	c.send(call{method: "POST", path: "/api/v1/devices", token: member, body: device, wantStatus: 200})
	c.send(call{method: "POST", path: "/api/v1/devices", token: member, body: `{"token":"x","platform":"PALM","device_id":"p"}`, wantStatus: 400, wantCode: "VALIDATION_FAILED"})
	c.send(call{method: "POST", path: "/api/v1/devices", token: system, body: device, wantStatus: 403, wantCode: "MEMBER_REQUIRED"})
	c.send(call{method: "POST", path: "/api/v1/devices", body: device, wantStatus: 401, wantCode: "UNAUTHENTICATED"})

	sub := fmt.Sprintf("/api/v1/stores/%d/subscription", storeID)
	c.send(call{method: "PUT", path: sub, token: member, wantStatus: 204})
	c.send(call{method: "PUT", path: sub, token: member, wantStatus: 204})
	c.send(call{method: "PUT", path: "/api/v1/stores/999999/subscription", token: member, wantStatus: 404, wantCode: "STORE_NOT_FOUND"})
	c.send(call{method: "DELETE", path: sub, token: member, wantStatus: 204})

	c.send(call{method: "GET", path: "/api/v1/members/me/notifications?limit=5", token: member, wantStatus: 200})
	c.send(call{method: "GET", path: "/api/v1/members/me/notifications?cursor=nope", token: member, wantStatus: 400, wantCode: "VALIDATION_FAILED"})
	c.send(call{method: "GET", path: "/api/v1/members/me/notification-preferences", token: member, wantStatus: 200})
	c.send(call{method: "PUT", path: "/api/v1/members/me/notification-preferences", token: member,
		body: `{"quiet_hours":{"start":"22:00","end":"07:00"},"timezone":"Asia/Seoul"}`, wantStatus: 200})
	c.send(call{method: "PUT", path: "/api/v1/members/me/notification-preferences", token: member, body: `{}`, wantStatus: 200})
	c.send(call{method: "PUT", path: "/api/v1/members/me/notification-preferences", token: member,
		body: `{"quiet_hours":{"start":"25:00","end":"07:00"}}`, wantStatus: 400, wantCode: "VALIDATION_FAILED"})

	c.send(call{method: "DELETE", path: "/api/v1/devices?token=fcm-token-contract-1", token: member, wantStatus: 204})
	c.send(call{method: "DELETE", path: "/api/v1/devices", token: member, body: `{"token":"fcm-token-contract-1"}`, wantStatus: 204})
	c.send(call{method: "DELETE", path: "/api/v1/devices", token: member, body: `{}`, wantStatus: 400, wantCode: "VALIDATION_FAILED"})
}

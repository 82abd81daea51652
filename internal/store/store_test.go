package store_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/store"
)

// with returns validBody with some fields replaced (raw JSON values) or,
// for a nil value, removed.
func with(fields map[string]*string) string {
	order := []string{"name", "category", "description", "address", "lat", "lng", "phone", "timezone"}
	base := map[string]string{
		"name": `"홍대 커피"`, "category": `"CAFE"`, "description": `"라떼 맛집"`,
		"address": `"서울 마포구 양화로 1"`, "lat": `37.5563`, "lng": `126.9236`,
	}
	for k, v := range fields {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = *v
		}
	}
	var parts []string
	for _, k := range order {
		if v, ok := base[k]; ok {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func raw(s string) *string { return &s }

func TestCreateValidation(t *testing.T) {
	e := newEnv(t)
	owner := e.newCaller(t, auth.Owner)
	tests := []struct {
		name      string
		body      string
		wantCode  string
		wantField string // for VALIDATION_FAILED
	}{
		{"lat missing", with(map[string]*string{"lat": nil}), "INVALID_LOCATION", ""},
		{"lng missing", with(map[string]*string{"lng": nil}), "INVALID_LOCATION", ""},
		{"both missing", with(map[string]*string{"lat": nil, "lng": nil}), "INVALID_LOCATION", ""},
		{"lat null", with(map[string]*string{"lat": raw(`null`)}), "INVALID_LOCATION", ""},
		{"lat above 90", with(map[string]*string{"lat": raw(`90.000001`)}), "INVALID_LOCATION", ""},
		{"lat below -90", with(map[string]*string{"lat": raw(`-91`)}), "INVALID_LOCATION", ""},
		{"lng above 180", with(map[string]*string{"lng": raw(`180.5`)}), "INVALID_LOCATION", ""},
		{"lng below -180", with(map[string]*string{"lng": raw(`-181`)}), "INVALID_LOCATION", ""},
		{"lat as text", with(map[string]*string{"lat": raw(`"37.5"`)}), "INVALID_LOCATION", ""},
		{"lng as bool", with(map[string]*string{"lng": raw(`true`)}), "INVALID_LOCATION", ""},
		// JSON has no NaN or Infinity; what a client sends for them is either
		// malformed or overflows float64, and neither may reach PostGIS.
		{"lat NaN literal", with(map[string]*string{"lat": raw(`NaN`)}), "MALFORMED_JSON", ""},
		{"lat Infinity literal", with(map[string]*string{"lat": raw(`Infinity`)}), "MALFORMED_JSON", ""},
		{"lat overflows float64", with(map[string]*string{"lat": raw(`1e999`)}), "INVALID_LOCATION", ""},
		{"lat NaN as text", with(map[string]*string{"lat": raw(`"NaN"`)}), "INVALID_LOCATION", ""},
		{"name missing", with(map[string]*string{"name": nil}), "VALIDATION_FAILED", "name"},
		{"name empty", with(map[string]*string{"name": raw(`""`)}), "VALIDATION_FAILED", "name"},
		{"name blank", with(map[string]*string{"name": raw(`"   "`)}), "VALIDATION_FAILED", "name"},
		{"name 101 runes", with(map[string]*string{"name": raw(`"` + strings.Repeat("가", 101) + `"`)}), "VALIDATION_FAILED", "name"},
		{"category missing", with(map[string]*string{"category": nil}), "VALIDATION_FAILED", "category"},
		{"category lower case", with(map[string]*string{"category": raw(`"cafe"`)}), "VALIDATION_FAILED", "category"},
		{"category unknown", with(map[string]*string{"category": raw(`"CASINO"`)}), "VALIDATION_FAILED", "category"},
		{"timezone unknown", with(map[string]*string{"timezone": raw(`"Mars/Olympus_Mons"`)}), "VALIDATION_FAILED", "timezone"},
		{"timezone Local", with(map[string]*string{"timezone": raw(`"Local"`)}), "VALIDATION_FAILED", "timezone"},
		{"timezone empty", with(map[string]*string{"timezone": raw(`""`)}), "VALIDATION_FAILED", "timezone"},
		{"timezone offset", with(map[string]*string{"timezone": raw(`"+09:00"`)}), "VALIDATION_FAILED", "timezone"},
		{"description too long", with(map[string]*string{"description": raw(`"` + strings.Repeat("a", 2001) + `"`)}), "VALIDATION_FAILED", "description"},
		{"address too long", with(map[string]*string{"address": raw(`"` + strings.Repeat("a", 201) + `"`)}), "VALIDATION_FAILED", "address"},
		{"phone letters", with(map[string]*string{"phone": raw(`"call me"`)}), "VALIDATION_FAILED", "phone"},
		{"unknown field", `{"name":"a","category":"CAFE","lat":1,"lng":1,"owner_id":7}`, "VALIDATION_FAILED", "owner_id"},
	}
	before := countStores(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, owner, http.MethodPost, "/api/v1/stores", tt.body)
			require.Equal(t, http.StatusBadRequest, r.status, "body %s: %s", tt.body, r)
			assert.Equal(t, tt.wantCode, r.code(), "%s", r)
			if tt.wantField != "" {
				var p struct{ Errors map[string]string }
				r.json(t, &p)
				assert.Contains(t, p.Errors, tt.wantField, "%s", r)
			}
		})
	}
	assert.Equal(t, before, countStores(t), "bad input changes nothing")
}

func TestCreateAcceptsBoundaries(t *testing.T) {
	e := newEnv(t)
	owner := e.newCaller(t, auth.Owner)
	tests := []struct {
		name string
		body string
	}{
		{"poles and antimeridian", with(map[string]*string{"lat": raw(`90`), "lng": raw(`-180`)})},
		{"south-east corner", with(map[string]*string{"lat": raw(`-90`), "lng": raw(`180`)})},
		{"null island", with(map[string]*string{"lat": raw(`0`), "lng": raw(`0`)})},
		{"100-rune name", with(map[string]*string{"name": raw(`"` + strings.Repeat("가", 100) + `"`)})},
		{"every category", with(map[string]*string{"category": raw(`"ENTERTAINMENT"`)})},
		{"IANA timezone", with(map[string]*string{"timezone": raw(`"America/New_York"`)})},
		{"phone with dashes", with(map[string]*string{"phone": raw(`"02-123-4567"`)})},
		{"international phone", with(map[string]*string{"phone": raw(`"+82 10 1234 5678"`)})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, owner, http.MethodPost, "/api/v1/stores", tt.body)
			assert.Equal(t, http.StatusCreated, r.status, "%s", r)
		})
	}
}

func TestCreateResponse(t *testing.T) {
	e := newEnv(t)
	owner := e.newCaller(t, auth.Owner)
	r := e.do(t, owner, http.MethodPost, "/api/v1/stores", validBody)
	require.Equal(t, http.StatusCreated, r.status, "%s", r)
	var got map[string]any
	r.json(t, &got)
	assert.IsType(t, float64(0), got["id"], "ids are JSON numbers")
	assert.Equal(t, float64(owner.id), got["owner_id"])
	assert.Equal(t, "홍대 커피", got["name"])
	assert.Equal(t, "CAFE", got["category"])
	assert.Equal(t, "라떼 맛집", got["description"])
	assert.Equal(t, "서울 마포구 양화로 1", got["address"])
	assert.Equal(t, "Asia/Seoul", got["timezone"], "the default timezone")
	assert.Equal(t, 37.5563, got["lat"])
	assert.Equal(t, 126.9236, got["lng"])
	assert.NotContains(t, got, "phone", "an absent phone is omitted")
	assert.NotEmpty(t, got["created_at"])

	// Listed among the owner's stores.
	r = e.do(t, owner, http.MethodGet, "/api/v1/members/me/stores", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r)
	var list struct{ Items []store.Store }
	r.json(t, &list)
	require.Len(t, list.Items, 1)
	assert.Equal(t, int64(got["id"].(float64)), list.Items[0].ID)
}

// TestAuthorizationMatrix checks who may do what to a store (DESIGN.md
// invariant 7), over HTTP through the real middleware.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	callers := map[string]caller{
		"owner":       e.newCaller(t, auth.Owner),
		"other owner": e.newCaller(t, auth.Owner),
		"customer":    e.newCaller(t, auth.Customer),
		"admin":       e.newCaller(t, auth.Admin),
		"anonymous":   anonymous,
	}
	type want struct {
		status int
		code   string
	}
	tests := []struct {
		method, path string // path "" means /stores/{the owner's store}
		body         string
		want         map[string]want
	}{
		{http.MethodPost, "/api/v1/stores", validBody, map[string]want{
			"owner":       {201, ""},
			"other owner": {201, ""},
			"admin":       {201, ""},
			"customer":    {403, "FORBIDDEN_ROLE"},
			"anonymous":   {401, "UNAUTHENTICATED"},
		}},
		{http.MethodGet, "", "", map[string]want{
			"owner":       {200, ""},
			"other owner": {200, ""},
			"admin":       {200, ""},
			"customer":    {200, ""},
			"anonymous":   {200, ""},
		}},
		{http.MethodPatch, "", `{"name":"새 이름"}`, map[string]want{
			"owner":       {200, ""},
			"other owner": {403, "NOT_STORE_OWNER"},
			"admin":       {200, ""},
			"customer":    {403, "NOT_STORE_OWNER"},
			"anonymous":   {401, "UNAUTHENTICATED"},
		}},
		{http.MethodDelete, "", "", map[string]want{
			"owner":       {204, ""},
			"other owner": {403, "NOT_STORE_OWNER"},
			"admin":       {204, ""},
			"customer":    {403, "NOT_STORE_OWNER"},
			"anonymous":   {401, "UNAUTHENTICATED"},
		}},
		{http.MethodGet, "/api/v1/members/me/stores", "", map[string]want{
			"owner":       {200, ""},
			"other owner": {200, ""},
			"admin":       {200, ""},
			"customer":    {403, "FORBIDDEN_ROLE"},
			"anonymous":   {401, "UNAUTHENTICATED"},
		}},
	}
	for _, tt := range tests {
		for who, w := range tt.want {
			t.Run(tt.method+" "+tt.path+" as "+who, func(t *testing.T) {
				// A fresh store per case, so a DELETE does not change the next case.
				st := e.createStore(t, callers["owner"])
				path := tt.path
				if path == "" {
					path = fmt.Sprintf("/api/v1/stores/%d", st.ID)
				}
				r := e.do(t, callers[who], tt.method, path, tt.body)
				assert.Equal(t, w.status, r.status, "%s", r)
				assert.Equal(t, w.code, r.code(), "%s", r)

				// A refused write leaves the store as it was.
				if r.status >= 400 && tt.path == "" {
					got, err := e.svc.Get(context.Background(), st.ID)
					require.NoError(t, err)
					assert.Equal(t, st, got)
				}
			})
		}
	}
}

func TestPatch(t *testing.T) {
	e := newEnv(t)
	owner := e.newCaller(t, auth.Owner)
	r := e.do(t, owner, http.MethodPost, "/api/v1/stores", with(map[string]*string{"phone": raw(`"02-123-4567"`)}))
	require.Equal(t, http.StatusCreated, r.status, "%s", r)
	var st store.Store
	r.json(t, &st)
	path := fmt.Sprintf("/api/v1/stores/%d", st.ID)

	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantCode   string
		check      func(t *testing.T, got store.Store)
	}{
		{"rename keeps the rest", `{"name":"  새 이름 "}`, 200, "", func(t *testing.T, got store.Store) {
			assert.Equal(t, "새 이름", got.Name)
			assert.Equal(t, "CAFE", got.Category)
			assert.Equal(t, st.Lat, got.Lat)
			require.NotNil(t, got.Phone)
			assert.Equal(t, "02-123-4567", *got.Phone)
		}},
		{"empty phone clears it", `{"phone":""}`, 200, "", func(t *testing.T, got store.Store) {
			assert.Nil(t, got.Phone)
		}},
		{"move", `{"lat":37.5446,"lng":127.0559}`, 200, "", func(t *testing.T, got store.Store) {
			assert.Equal(t, 37.5446, got.Lat)
			assert.Equal(t, 127.0559, got.Lng)
		}},
		{"empty patch changes nothing", `{}`, 200, "", func(t *testing.T, got store.Store) {
			assert.Equal(t, "새 이름", got.Name)
		}},
		{"lat without lng", `{"lat":37.5}`, 400, "INVALID_LOCATION", nil},
		{"lng out of range", `{"lat":37.5,"lng":200}`, 400, "INVALID_LOCATION", nil},
		{"bad category", `{"category":"NOPE"}`, 400, "VALIDATION_FAILED", nil},
		{"bad timezone", `{"timezone":"Seoul"}`, 400, "VALIDATION_FAILED", nil},
		{"empty name", `{"name":""}`, 400, "VALIDATION_FAILED", nil},
		{"unknown field", `{"owner_id":1}`, 400, "VALIDATION_FAILED", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := e.svc.Get(context.Background(), st.ID)
			require.NoError(t, err)
			r := e.do(t, owner, http.MethodPatch, path, tt.body)
			require.Equal(t, tt.wantStatus, r.status, "%s", r)
			if tt.wantCode != "" {
				assert.Equal(t, tt.wantCode, r.code())
				after, err := e.svc.Get(context.Background(), st.ID)
				require.NoError(t, err)
				assert.Equal(t, before, after, "a refused PATCH changes nothing")
				return
			}
			var got store.Store
			r.json(t, &got)
			tt.check(t, got)
			again := e.do(t, anonymous, http.MethodGet, path, "")
			var read store.Store
			again.json(t, &read)
			assert.Equal(t, got, read, "GET returns what PATCH answered")
		})
	}
}

func TestSoftDelete(t *testing.T) {
	e := newEnv(t)
	owner := e.newCaller(t, auth.Owner)
	st := e.createStore(t, owner)
	path := fmt.Sprintf("/api/v1/stores/%d", st.ID)

	r := e.do(t, owner, http.MethodDelete, path, "")
	require.Equal(t, http.StatusNoContent, r.status, "%s", r)
	assert.Empty(t, r.body)

	for _, tt := range []struct {
		method, body string
		who          caller
	}{
		{http.MethodGet, "", anonymous},
		{http.MethodGet, "", owner},
		{http.MethodPatch, `{"name":"zombie"}`, owner},
		{http.MethodDelete, "", owner},
	} {
		r := e.do(t, tt.who, tt.method, path, tt.body)
		assert.Equal(t, http.StatusNotFound, r.status, "%s after delete: %s", tt.method, r)
		assert.Equal(t, "STORE_NOT_FOUND", r.code())
	}

	// Soft: the row stays (coupons issued there still point at it), marked.
	var deleted bool
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT deleted_at IS NOT NULL FROM stores WHERE id = $1`, st.ID).Scan(&deleted))
	assert.True(t, deleted)
	owned, err := e.svc.ListOwned(context.Background(), owner.id)
	require.NoError(t, err)
	assert.Empty(t, owned)
}

func TestUnknownStore(t *testing.T) {
	e := newEnv(t)
	owner := e.newCaller(t, auth.Owner)
	for _, path := range []string{"/api/v1/stores/999999999", "/api/v1/stores/0", "/api/v1/stores/abc", "/api/v1/stores/-1"} {
		for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
			body := ""
			if method == http.MethodPatch {
				body = `{"name":"x"}`
			}
			r := e.do(t, owner, method, path, body)
			assert.Equal(t, http.StatusNotFound, r.status, "%s %s: %s", method, path, r)
			assert.Equal(t, "STORE_NOT_FOUND", r.code(), "%s %s", method, path)
		}
	}
}

// TestLocationRoundTrip checks that coordinates survive go-geom EWKB →
// PostGIS geography → EWKB → JSON bit for bit: a map pin must not drift.
func TestLocationRoundTrip(t *testing.T) {
	e := newEnv(t)
	owner := e.newCaller(t, auth.Owner)
	points := []struct{ lat, lng float64 }{
		{37.5563, 126.9236},
		{37.556344123456789, 126.923612345678901},
		{-33.8688197, 151.2092955},
		{0, 0},
		{89.99999999, -179.99999999},
		{-90, 180},
		{1e-9, -1e-9},
		{37.49794199999999, 127.02762099999999},
	}
	for _, p := range points {
		t.Run(fmt.Sprintf("%v,%v", p.lat, p.lng), func(t *testing.T) {
			body := fmt.Sprintf(`{"name":"pin","category":"ETC","lat":%v,"lng":%v}`, p.lat, p.lng)
			r := e.do(t, owner, http.MethodPost, "/api/v1/stores", body)
			require.Equal(t, http.StatusCreated, r.status, "%s", r)
			var created store.Store
			r.json(t, &created)
			assert.Equal(t, p.lat, created.Lat)
			assert.Equal(t, p.lng, created.Lng)

			r = e.do(t, anonymous, http.MethodGet, fmt.Sprintf("/api/v1/stores/%d", created.ID), "")
			var read store.Store
			r.json(t, &read)
			assert.Equal(t, p.lat, read.Lat)
			assert.Equal(t, p.lng, read.Lng)

			// PostGIS holds the same doubles, x = lng and y = lat.
			var x, y float64
			require.NoError(t, pool.QueryRow(context.Background(),
				`SELECT ST_X(location::geometry), ST_Y(location::geometry) FROM stores WHERE id = $1`, created.ID).Scan(&x, &y))
			assert.Equal(t, p.lng, x)
			assert.Equal(t, p.lat, y)
		})
	}
}

func TestListeners(t *testing.T) {
	e := newEnv(t)
	owner := e.newCaller(t, auth.Owner)
	st := e.createStore(t, owner)
	r := e.do(t, owner, http.MethodPatch, fmt.Sprintf("/api/v1/stores/%d", st.ID), `{"name":"바뀐 이름"}`)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, []int64{st.ID, st.ID}, e.listener.changed, "create and update are heard")

	// A failing listener (the index is down) does not fail the request:
	// PostgreSQL is the truth and the index rebuilds from it.
	e.listener.fail = true
	r = e.do(t, owner, http.MethodDelete, fmt.Sprintf("/api/v1/stores/%d", st.ID), "")
	assert.Equal(t, http.StatusNoContent, r.status, "%s", r)
	assert.Equal(t, []int64{st.ID}, e.listener.deleted)
	require.Len(t, e.errs, 1)
	assert.Contains(t, e.errs[0], "index down")
}

func TestCreateNeedsAnOwner(t *testing.T) {
	// The service refuses a customer on its own, whatever the handler did.
	e := newEnv(t)
	customer := e.newCaller(t, auth.Customer)
	name, cat := "x", "CAFE"
	lat, lng := 37.5, 127.0
	_, err := e.svc.Create(context.Background(), customer.principal(), store.Input{Name: &name, Category: &cat, Lat: &lat, Lng: &lng})
	assert.ErrorIs(t, err, auth.ErrWrongRole)
}

func TestCategories(t *testing.T) {
	assert.Equal(t, []string{"CAFE", "FOOD", "BAKERY", "BAR", "CONVENIENCE", "BEAUTY", "FASHION", "ENTERTAINMENT", "ETC"}, store.Categories,
		"the categories are part of the HTTP contract (DESIGN.md)")
	for _, c := range store.Categories {
		assert.True(t, store.ValidCategory(c), c)
	}
	assert.False(t, store.ValidCategory("cafe"))
}

// Every change writes its outbox row in the change's own transaction, so
// search hears about it within the relay's latency (each edit is its own
// news: distinct trace ids).
func TestChangesWriteOutbox(t *testing.T) {
	e := newEnv(t)
	owner := e.newCaller(t, auth.Owner)
	st := e.createStore(t, owner)
	r := e.do(t, owner, http.MethodPatch, fmt.Sprintf("/api/v1/stores/%d", st.ID), `{"name":"새 이름"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r)
	r = e.do(t, owner, http.MethodDelete, fmt.Sprintf("/api/v1/stores/%d", st.ID), "")
	require.Equal(t, http.StatusNoContent, r.status, "%s", r)

	rows, err := pool.Query(context.Background(), `
		SELECT kind, count(DISTINCT trace_id) FROM outbox
		WHERE (payload->>'store_id')::bigint = $1 GROUP BY kind ORDER BY kind`, st.ID)
	require.NoError(t, err)
	got := map[string]int{}
	for rows.Next() {
		var kind string
		var n int
		require.NoError(t, rows.Scan(&kind, &n))
		got[kind] = n
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, map[string]int{"STORE_CHANGED": 2, "STORE_DELETED": 1}, got)
}

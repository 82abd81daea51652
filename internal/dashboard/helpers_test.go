package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/dashboard"
	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/member"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/redisx/redistest"
	"github.com/couponpop/couponpop/internal/store"
)

// Redis database 6 belongs to this package's tests.
const redisDB = 6

var (
	pool *pgxpool.Pool
	rdb  *redis.Client
)

func TestMain(m *testing.M) {
	var err error
	rdb, err = redistest.Open(redisDB)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pgtest.Main(m, "dashboard", &pool)
}

// env is the API as cmd/api builds it, reduced to what the dashboard needs:
// the platform engine, auth, members, stores, the dashboard and its page.
type env struct {
	members *member.Service
	stores  *store.Service
	dash    *dashboard.Service
	srv     *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	tokens := auth.NewTokens("dashboard-test-secret-0123456789abcdef", "", 15*time.Minute, auth.NewRedisDenyList(rdb))
	e := &env{
		members: member.NewService(pool, tokens, 24*time.Hour),
		stores:  store.NewService(pool, func(context.Context, string, error) {}),
	}
	e.dash = dashboard.NewService(pool, e.stores)
	s := httpapi.New(log, reg, reg, nil)
	v1 := s.Engine.Group("/api/v1", tokens.Authenticate(func(c *gin.Context, err error) {
		httpapi.WriteError(c, log, err)
	}))
	member.Routes(v1, s, e.members)
	store.Routes(v1, s, e.stores)
	dashboard.Routes(v1, s, e.dash)
	dashboard.Page(s.Engine)
	e.srv = httptest.NewServer(s.Engine)
	t.Cleanup(e.srv.Close)
	return e
}

var seq atomic.Int64

// owner signs up an OWNER through the member service and logs them in.
func (e *env) owner(t *testing.T) (auth.Principal, string, string) {
	t.Helper()
	ctx := context.Background()
	email := fmt.Sprintf("owner%d-%d@example.com", seq.Add(1), time.Now().UnixNano())
	const password = "s3cret-pass"
	m, err := e.members.Signup(ctx, member.SignupInput{Email: email, Password: password, Nickname: "Owner", Role: "OWNER"})
	require.NoError(t, err)
	tok, err := e.members.Login(ctx, email, password)
	require.NoError(t, err)
	return auth.Principal{MemberID: m.ID, Role: auth.Owner}, tok.AccessToken, email
}

// store creates a store of p's in zone tz through the store service.
func (e *env) store(t *testing.T, p auth.Principal, tz string) store.Store {
	t.Helper()
	name, cat, lat, lng := "Cafe "+tz, "CAFE", 37.5563, 126.9236
	st, err := e.stores.Create(context.Background(), p, store.Input{Name: &name, Category: &cat, Lat: &lat, Lng: &lng, Timezone: &tz})
	require.NoError(t, err)
	return st
}

// get calls the API and decodes a JSON answer into out (when not nil).
func (e *env) get(t *testing.T, path, token string, header map[string]string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { res.Body.Close() })
	if out != nil {
		require.NoError(t, json.NewDecoder(res.Body).Decode(out))
	}
	return res
}

// customers inserts n CUSTOMER members straight into members (coupon
// holders need no password) and returns their ids.
func customers(t *testing.T, n int) []int64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		INSERT INTO members (email, password_hash, nickname, role)
		SELECT 'c' || $2::text || '-' || g || '@example.com', 'x', 'Customer', 'CUSTOMER'
		FROM generate_series(1, $1) g
		RETURNING id`, n, fmt.Sprint(seq.Add(1), "-", time.Now().UnixNano()))
	require.NoError(t, err)
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

// event inserts a coupon event with its counters as given (the issue
// package keeps them in production; seeds set them directly).
type eventSpec struct {
	Title               string
	Total, Issued, Used int
	Starts, Ends        time.Time
	ValidHours          int
	PerMemberLimit      int
}

func insertEvent(t *testing.T, storeID int64, ev eventSpec) int64 {
	t.Helper()
	if ev.ValidHours == 0 {
		ev.ValidHours = 72
	}
	if ev.PerMemberLimit == 0 {
		ev.PerMemberLimit = 100
	}
	var id int64
	err := pool.QueryRow(context.Background(), `
		INSERT INTO coupon_events (store_id, title, discount_type, discount_value, total_quantity,
		                           issued_count, used_count, issue_starts_at, issue_ends_at, valid_hours, per_member_limit)
		VALUES ($1, $2, 'AMOUNT', 1000, $3, $4, $5, $6, $7, $8, $9)
		RETURNING id`, storeID, ev.Title, ev.Total, ev.Issued, ev.Used, ev.Starts, ev.Ends, ev.ValidHours, ev.PerMemberLimit).Scan(&id)
	require.NoError(t, err)
	return id
}

// coupon is one coupons row to seed.
type coupon struct {
	Event, Store, Member int64
	Seq                  int
	Status               string
	Issued               time.Time
	Used                 *time.Time
	Expires              time.Time
}

// insertCoupons writes coupons in one multi-row INSERT, the way issuance
// does, so the statement trigger sees them as one batch.
func insertCoupons(t *testing.T, cs []coupon) {
	t.Helper()
	require.NoError(t, insertCouponsErr(cs))
}

// insertCouponsErr is insertCoupons for goroutines, which must not FailNow.
func insertCouponsErr(cs []coupon) error {
	if len(cs) == 0 {
		return nil
	}
	n := len(cs)
	ev, st, mem, sq := make([]int64, n), make([]int64, n), make([]int64, n), make([]int32, n)
	status, issued, used, expires := make([]string, n), make([]time.Time, n), make([]*time.Time, n), make([]time.Time, n)
	for i, c := range cs {
		ev[i], st[i], mem[i], sq[i] = c.Event, c.Store, c.Member, int32(c.Seq)
		status[i], issued[i], used[i], expires[i] = c.Status, c.Issued, c.Used, c.Expires
	}
	_, err := pool.Exec(context.Background(), `
		INSERT INTO coupons (event_id, store_id, member_id, seq, code, status, issued_at, used_at, expires_at)
		SELECT e, s, m, q, upper(substr(md5(gen_random_uuid()::text), 1, 16)), st, i, u, x
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::smallint[], $5::text[],
		            $6::timestamptz[], $7::timestamptz[], $8::timestamptz[]) AS r (e, s, m, q, st, i, u, x)`,
		ev, st, mem, sq, status, issued, used, expires)
	return err
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func memberSignup(email string) member.SignupInput {
	return member.SignupInput{Email: email, Password: "s3cret-pass", Nickname: "Customer", Role: "CUSTOMER"}
}

func ptr[T any](v T) *T { return &v }

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// problemCode reads the stable code of a problem+json answer.
func problemCode(t *testing.T, res *http.Response) string {
	t.Helper()
	require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json"),
		"content type %q", res.Header.Get("Content-Type"))
	var p httpapi.Problem
	require.NoError(t, json.NewDecoder(res.Body).Decode(&p))
	return p.Code
}
